import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flows/payment.flow` end to end: `flow run` at a pseudo-terminal, the real Tokenize extension
/// (`flows/extensions/tokenize`) reading a test card from that terminal, and localstripe
/// (https://github.com/adrienverge/localstripe, a fake Stripe server) as the gateway.
///
/// Each test that needs the gateway starts a fresh localstripe (`LocalStripe`), installed from
/// PyPI into a virtual environment in the build folder the first time, and stops it in its
/// teardown. When `CI=true`, a gateway that cannot be installed or started fails the test with the
/// reason; elsewhere the test is skipped with the reason.
///
/// What localstripe does with test cards (read from its `resources.py`, version 1.15.10):
/// - Tokenization (`POST /v1/payment_methods`) refuses nothing for a well-formed card; it refuses
///   a malformed one with 400 (an expiry year before 2019: `invalid_expiry_year`).
/// - `POST /v1/charges` with a `pm_` source declines, with 402 `card_declined` "Your card was
///   declined." (and a stored charge with status `failed`), only 4000000000000341,
///   4000008260003178 and 4000008400001629. It charges 4000000000000002 successfully: it
///   declines that card only when it is attached to a customer. So the declined-card test uses
///   4000000000000341, which Stripe also declines when charged.
/// - It accepts no `tok_` source on charges, and a publishable key only in the form body of
///   `/v1/tokens`; `support/localstripe-server.py` lets `Bearer pk_…` create payment methods, as
///   Stripe does.
///
/// The pseudo-terminal is flow's standard input, output and error at once, so `terminal.output`
/// holds everything flow and the extension wrote to any of them.
final class PaymentEndToEndTests: XCTestCase {
    static let publishableKey = "pk_test_flowEndToEnd51HqLyjWDarjtT1zdp7dc"
    static let secretKey = "sk_test_flowEndToEnd4eC39HqLyjWDarjtT1zdp7dc"
    static let card = "4242424242424242"
    static let declinedCard = "4000000000000341"
    static let cvc = "123"

    private var server: LocalStripe?
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-pay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        server = nil
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    // MARK: - With the real charge (the StripeCharge integration point called over HTTP)

    func testAPaymentWithATestCardIsChargedOnceAndNothingSecretIsWritten() throws {
        let gateway = try startGateway()
        let trace = directory.appendingPathComponent("trace.jsonl").path
        let terminal = try TerminalSession(runArguments(gateway, ["--trace", trace]), timeout: 60)
        try terminal.expect("How much would you like to pay today, in US dollars?\n> ")
        terminal.type("4\n")
        try typeCard(Self.card, expiry: "12/34", cvc: Self.cvc, on: terminal)
        try terminal.expect("You paid 4.00. Your charge reference is ch_")
        try terminal.expect("finished: success: charged 400 cents as ch_")
        XCTAssertEqual(try terminal.waitForExit(), 0, terminal.output)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")

        let chargeID = try XCTUnwrap(Self.first(#"Your charge reference is (ch_[A-Za-z0-9]+)\."#, in: terminal.output), terminal.output)
        let charges = try gateway.charges().filter { $0["id"] as? String == chargeID }
        XCTAssertEqual(charges.count, 1, "localstripe should hold exactly one charge \(chargeID)")
        let charge = try XCTUnwrap(charges.first)
        XCTAssertEqual(charge["amount"] as? Int, 400)
        XCTAssertEqual(charge["currency"] as? String, "usd")
        XCTAssertEqual(charge["status"] as? String, "succeeded")
        XCTAssertEqual((charge["metadata"] as? [String: Any])?["channel"] as? String, "ivr")
        let paymentMethod = try XCTUnwrap(charge["payment_method"] as? String)
        XCTAssertTrue(paymentMethod.hasPrefix("pm_"), paymentMethod)
        // Only one charge was made in this run, of the card typed.
        XCTAssertEqual(try gateway.charges().count, 1)
        let card = try XCTUnwrap(try gateway.paymentMethod(paymentMethod)?["card"] as? [String: Any])
        XCTAssertEqual(card["last4"] as? String, "4242")

        try assertNothingSecret(in: [terminal.output, try String(contentsOfFile: trace, encoding: .utf8)],
                                card: Self.card, ids: [chargeID, paymentMethod])
    }

    func testADeclinedCardTakesTheFlowsDeclinePath() throws {
        let gateway = try startGateway()
        let trace = directory.appendingPathComponent("trace.jsonl").path
        let terminal = try TerminalSession(runArguments(gateway, ["--trace", trace, "--json"]), timeout: 60)
        try terminal.expect("How much would you like to pay today, in US dollars?\n> ")
        terminal.type("4\n")
        try typeCard(Self.declinedCard, expiry: "12/34", cvc: Self.cvc, on: terminal)
        try terminal.expect("Your card was declined: ")
        try terminal.expect(#""outcome": "failure", "reason": "charge failed: "#)
        XCTAssertEqual(try terminal.waitForExit(), 1, terminal.output)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")
        XCTAssertFalse(terminal.output.contains("Your charge reference"), terminal.output)

        // localstripe keeps the declined attempt as a failed charge; nothing was charged.
        let charges = try gateway.charges()
        XCTAssertEqual(charges.map { $0["status"] as? String }, ["failed"])
        XCTAssertEqual(charges.first?["amount"] as? Int, 400)
        let ids = charges.compactMap { $0["id"] as? String } + charges.compactMap { $0["payment_method"] as? String }
        try assertNothingSecret(in: [terminal.output, try String(contentsOfFile: trace, encoding: .utf8)],
                                card: Self.declinedCard, ids: ids)
    }

    // MARK: - A run killed while the charge is on the wire

    /// `flow run --session`: killed (SIGKILL) after localstripe made the charge and before its
    /// response arrived, then started again with the same session file. The resumed run sends
    /// the charge again with the same Idempotency-Key, gets the first response, and the card is
    /// charged once. A new session (another file) is another charge: the key is what makes the
    /// difference, so this test fails when the key changes between runs.
    func testARunKilledDuringTheChargeResumesWithTheSameKeyAndChargesOnce() throws {
        let gateway = try startGateway()
        guard let (made, method) = gateway.post("/v1/payment_methods", [
            ("type", "card"), ("card[number]", Self.card), ("card[exp_month]", "12"), ("card[exp_year]", "2034"),
            ("card[cvc]", Self.cvc),
        ]), made == 200, let token = method["id"] as? String else { return XCTFail("cannot make a payment method") }
        let sessionFile = directory.appendingPathComponent("payment.session.json").path
        let arguments = try runArguments(gateway, [
            "--answer", "Embedded Payment.Embedded Payment=4", "--stub", #"Tokenize={"token": "\#(token)"}"#,
            "--session", sessionFile,
        ])
        XCTAssertEqual(gateway.post("/_test/hold_charges", [("seconds", "60")])?.0, 200)

        let process = Process()
        process.executableURL = FlowProcess.binary
        process.arguments = arguments
        process.environment = FlowProcess.environment([:])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The charge is made and its response held: the run is waiting for it.
        let until = Date().addingTimeInterval(30)
        while try gateway.charges().isEmpty && Date() < until && process.isRunning { usleep(50_000) }
        XCTAssertEqual(try gateway.charges().count, 1, "the charge should have been made")
        let saved = try String(contentsOfFile: sessionFile, encoding: .utf8)
        XCTAssertTrue(saved.contains(#""inFlight":{"#), "the call is saved as in flight before it is sent:\n\(saved)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(gateway.post("/_test/hold_charges", [("seconds", "0")])?.0, 200)

        let resumed = try FlowProcess.run(arguments)
        XCTAssertEqual(resumed.status, 0, "\(resumed)")
        let charges = try gateway.charges()
        XCTAssertEqual(charges.count, 1, "charged once")
        let chargeID = try XCTUnwrap(charges.first?["id"] as? String)
        XCTAssertEqual(resumed.stdout, "You paid 4.00. Your charge reference is \(chargeID).\nfinished: success: charged 400 cents as \(chargeID)\n")
        // Started again once more, the finished session says how it ended and calls nothing.
        let again = try FlowProcess.run(arguments)
        XCTAssertEqual(again.status, 0, "\(again)")
        XCTAssertEqual(again.stdout, "finished: success: charged 400 cents as \(chargeID)\n")
        XCTAssertEqual(try gateway.charges().count, 1)

        // The control: another session is another call, with another key, and another charge.
        let other = try FlowProcess.run(arguments.dropLast(2) + ["--session", sessionFile + ".other"])
        XCTAssertEqual(other.status, 0, "\(other)")
        XCTAssertEqual(try gateway.charges().count, 2)
    }

    // MARK: - The extension alone (the charge is a stub)

    func testTokenizeHandsTheFlowOnlyAPaymentMethodIdFromTheGateway() throws {
        let gateway = try startGateway()
        let trace = directory.appendingPathComponent("trace.jsonl").path
        let stub = #"StripeCharge={"id": "ch_stub", "status": "succeeded", "paid": true, "amount": 400, "failure message": ""}"#
        let terminal = try TerminalSession(
            runArguments(gateway, ["--trace", trace, "--stub", stub], secrets: false), timeout: 60)
        try terminal.expect("How much would you like to pay today, in US dollars?\n> ")
        terminal.type("4\n")
        try typeCard(Self.card, expiry: "12/34", cvc: Self.cvc, on: terminal)
        try terminal.expect("You paid 4.00. Your charge reference is ch_stub.\nfinished: success: charged 400 cents as ch_stub\n")
        XCTAssertEqual(try terminal.waitForExit(), 0, terminal.output)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")

        // The token the flow got is a payment method the gateway made from the card typed.
        let traced = try String(contentsOfFile: trace, encoding: .utf8)
        let token = try XCTUnwrap(Self.first(#""token": ?"(pm_[A-Za-z0-9]+)""#, in: traced), traced)
        let method = try XCTUnwrap(try gateway.paymentMethod(token), "localstripe has no \(token)")
        let card = try XCTUnwrap(method["card"] as? [String: Any])
        XCTAssertEqual(card["last4"] as? String, "4242")
        XCTAssertEqual(card["exp_month"] as? Int, 12)
        XCTAssertEqual(card["exp_year"] as? Int, 2034)
        try assertNothingSecret(in: [terminal.output, traced], card: Self.card, ids: [token])
    }

    func testACardTheGatewayRefusesTakesTheCardCapturePath() throws {
        let gateway = try startGateway()
        let terminal = try TerminalSession(runArguments(gateway, [], secrets: false), timeout: 60)
        try terminal.expect("> ")
        terminal.type("4\n")
        // localstripe refuses an expiry year before 2019 at tokenization.
        try typeCard(Self.card, expiry: "12/18", cvc: Self.cvc, on: terminal)
        try terminal.expect("tokenize: the card was not accepted: Bad request\n")
        try terminal.expect(
            "Sorry, we could not read your card details: extension 'Tokenize' exited with status 1\n"
                + "finished: failure: card capture failed: extension\n")
        XCTAssertEqual(try terminal.waitForExit(), 1, terminal.output)
        XCTAssertTrue(try gateway.charges().isEmpty)
        try assertNothingSecret(in: [terminal.output], card: Self.card, ids: [])
    }

    func testControlCAtTheCardPromptStopsTheRunAndLeavesNothingRunning() throws {
        // No gateway: nothing is sent before the card is complete.
        let terminal = try TerminalSession(
            ["run", FlowProcess.packageRoot.appendingPathComponent("flows/payment.flow").path], timeout: 30)
        try terminal.expect("> ")
        terminal.type("4\n")
        try terminal.expect("Card number (not shown): ")
        XCTAssertFalse(terminal.echoIsOn, "echo should be off while the card number is typed")
        terminal.type("4242\u{03}")
        try terminal.expect("flow: interrupted\n")
        XCTAssertEqual(try terminal.waitForExit(), 130, terminal.output)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")
        XCTAssertFalse(terminal.output.contains("4242"), terminal.output)
        XCTAssertEqual(Self.processes(running: "flows/extensions/tokenize"), [], "the extension outlived flow")
    }

    // MARK: - `--extension` (scripted, no terminal, no gateway)

    /// Writes an executable shell script into the test's folder.
    private func script(_ name: String, _ body: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private static let chargeStub =
        #"StripeCharge={"id": "ch_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": ""}"#

    func testExtensionRunsAnotherProgramWithTheArgumentsOnDescriptor3() throws {
        // The pad copies its arguments next to itself and hands back a fixed token.
        let pad = try script("pad.sh", #"cat <&3 >"$(dirname "$0")/arguments.json"; echo "pad says hello"; printf '{"token": "pm_pad"}' >&4"#)
        let run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--answer", "Embedded Payment=4", "--extension", "Tokenize=\(pad)",
             "--define", "STRIPE_PUBLISHABLE_KEY=pk_test_pad", "--stub", Self.chargeStub, "--trace", "-"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("}\npad says hello\n{"), run.stdout)
        XCTAssertTrue(run.stdout.contains(#"{"event": "result", "name": "Tokenize", "outputs": {"token": "pm_pad"}"#), run.stdout)
        XCTAssertTrue(run.stdout.hasSuffix("You paid 4.00. Your charge reference is ch_1.\nfinished: success: charged 400 cents as ch_1\n"), run.stdout)
        let arguments = try String(contentsOf: directory.appendingPathComponent("arguments.json"), encoding: .utf8)
        XCTAssertEqual(arguments, #"{"gateway":"https://api.stripe.com","publishable key":"pk_test_pad"}"#)
    }

    func testWithJSONWhatTheExtensionPrintsGoesToStandardError() throws {
        let pad = try script("pad.sh", #"echo "pad says hello"; printf '{"token": "pm_pad"}' >&4"#)
        let run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--json", "--answer", "Embedded Payment=4", "--extension", "Tokenize=\(pad)",
             "--stub", Self.chargeStub])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stderr, "pad says hello\n")
        XCTAssertTrue(run.stdout.hasPrefix(#"{"responses": ["You paid 4.00. Your charge reference is ch_1."]"#), run.stdout)
    }

    func testAFailingExtensionTakesTheFlowsOnError() throws {
        let pad = try script("pad.sh", #"echo "the pad is unplugged" >&2; exit 3"#)
        let run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--answer", "Embedded Payment=4", "--extension", "Tokenize=\(pad)"])
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(run.stderr, "the pad is unplugged\n")
        XCTAssertEqual(
            run.stdout,
            "Sorry, we could not read your card details: extension 'Tokenize' exited with status 3\n"
                + "finished: failure: card capture failed: extension\n")
    }

    func testAStubWinsOverRunningTheExtension() throws {
        let pad = try script("pad.sh", #"touch "$(dirname "$0")/ran"; printf '{"token": "pm_pad"}' >&4"#)
        let run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--answer", "Embedded Payment=4", "--extension", "Tokenize=\(pad)",
             "--stub", #"Tokenize={"token": "pm_stub"}"#, "--stub", Self.chargeStub])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("ran").path))
    }

    func testAnUnknownExtensionNameIsRefusedBeforeTheRun() throws {
        let run = try FlowProcess.run(["run", "flows/payment.flow", "--extension", "Tokenise=./pad"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stderr, "error: no extension 'Tokenise' to run with --extension\nhint: did you mean 'Tokenize'?\n")
        XCTAssertEqual(run.stdout, "")
    }

    // MARK: - flow ip

    /// `flow ip` calls StripeCharge once against the gateway, prints its outputs, and shows the
    /// exchange with `--verbose` without the secret key, which the gateway itself never echoes
    /// here but which is in the request's Authorization header.
    func testFlowIPChargesOnceAndHidesTheKey() throws {
        let gateway = try startGateway()
        let secrets = directory.appendingPathComponent("secrets.env")
        try "STRIPE_SECRET_KEY=\(Self.secretKey)\n".write(to: secrets, atomically: true, encoding: .utf8)
        let run = try FlowProcess.run([
            "ip", "flows/payment.flow", "StripeCharge", "--arg", "amount=12.34", "--arg", "token=pm_card_visa",
            "--arg", "description=flow ip test", "--define", "STRIPE_BASE=http://127.0.0.1:\(gateway.port)",
            "--secrets", secrets.path, "--verbose",
        ])
        XCTAssertEqual(run.status, 0, "\(run)")
        let id = try XCTUnwrap(Self.first("id: (ch_[A-Za-z0-9]+)", in: run.stdout), run.stdout)
        XCTAssertTrue(run.stdout.contains("paid: yes"), run.stdout)
        XCTAssertTrue(run.stdout.contains("amount: 1234\n"), run.stdout)
        XCTAssertTrue(run.stderr.contains("> Authorization: Bearer ***"), run.stderr)
        XCTAssertTrue(run.stderr.contains("amount=1234&currency=usd&source=pm_card_visa"), run.stderr)
        XCTAssertFalse((run.stdout + run.stderr).contains(Self.secretKey))
        let charges = try gateway.charges().filter { $0["id"] as? String == id }
        XCTAssertEqual(charges.count, 1)
        XCTAssertEqual(charges.first?["amount"] as? Int, 1234)
    }

    func testFlowIPReportsADeclineAndExitsOne() throws {
        let gateway = try startGateway()
        let run = try FlowProcess.run(
            ["ip", "flows/payment.flow", "StripeCharge", "--arg", "amount=5", "--arg", "token=tok_visa",
             "--define", "STRIPE_BASE=http://127.0.0.1:\(gateway.port)"],
            environment: ["STRIPE_SECRET_KEY": Self.secretKey])
        // localstripe refuses a tok_ id as a charge source: a 4xx the call reports as an http failure.
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: the call of 'StripeCharge' failed (http 4"), run.stderr)
        XCTAssertFalse((run.stdout + run.stderr).contains(Self.secretKey))
    }

    // MARK: - Helpers

    private func startGateway() throws -> LocalStripe {
        let gateway = try LocalStripe.start(secretKey: Self.secretKey)
        server = gateway
        return gateway
    }

    /// `flow run flows/payment.flow` against `gateway`, with the secret key in a secrets file.
    private func runArguments(_ gateway: LocalStripe, _ extra: [String], secrets: Bool = true) throws -> [String] {
        var arguments = [
            "run", FlowProcess.packageRoot.appendingPathComponent("flows/payment.flow").path,
            "--define", "STRIPE_BASE=http://127.0.0.1:\(gateway.port)",
            "--define", "STRIPE_PUBLISHABLE_KEY=\(Self.publishableKey)",
        ]
        if secrets {
            let file = directory.appendingPathComponent("secrets.env")
            try "STRIPE_SECRET_KEY=\(Self.secretKey)\n".write(to: file, atomically: true, encoding: .utf8)
            arguments += ["--secrets", file.path]
        }
        return arguments + extra
    }

    /// Answers Tokenize's three questions as they are asked.
    private func typeCard(_ number: String, expiry: String, cvc: String, on terminal: TerminalSession) throws {
        try terminal.expect("Card number (not shown): ")
        XCTAssertFalse(terminal.echoIsOn, "echo should be off while the card number is typed")
        terminal.type(number + "\n")
        try terminal.expect("Expiry date (MM/YY): ")
        terminal.type(expiry + "\n")
        try terminal.expect("Security code (CVC, not shown): ")
        XCTAssertFalse(terminal.echoIsOn, "echo should be off while the CVC is typed")
        terminal.type(cvc + "\n")
    }

    /// Neither the card number (also in groups of four), nor the CVC, nor the secret key, in any
    /// of `texts`. Ids the gateway made at random are taken out first, so a CVC inside one of
    /// them is no false alarm.
    private func assertNothingSecret(in texts: [String], card: String, ids: [String], line: UInt = #line) throws {
        let grouped = stride(from: 0, to: card.count, by: 4).map { i in
            String(card.dropFirst(i).prefix(4))
        }.joined(separator: " ")
        for text in texts {
            var cleaned = text
            for id in ids where !id.isEmpty { cleaned = cleaned.replacingOccurrences(of: id, with: "<id>") }
            for needle in [card, grouped, Self.secretKey, "sk_test_"] {
                XCTAssertFalse(cleaned.contains(needle), "'\(needle)' was written:\n\(text)", line: line)
            }
            XCTAssertFalse(cleaned.contains(Self.cvc), "the CVC was written:\n\(text)", line: line)
        }
    }

    private static func first(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }

    /// Processes (not zombies) whose command line contains `text`.
    static func processes(running text: String) -> [String] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [String] = []
        for pid in entries where Int(pid) != nil {
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            else { continue }
            let command = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            let state = stat.lastIndex(of: ")").map { stat[stat.index(after: $0)...].trimmingCharacters(in: .whitespaces) } ?? ""
            if command.contains(text) && !state.hasPrefix("Z") { found.append("\(pid): \(command)") }
        }
        return found
    }
}

/// A localstripe server for one test: installed into `<build folder>/localstripe-venv` once
/// (`FLOW_LOCALSTRIPE_VENV` overrides the place), started by `support/localstripe-server.py` on a
/// free port of 127.0.0.1, and stopped by `stop()` (its standard input closed, then SIGTERM, then
/// SIGKILL). The server also exits by itself when the test process goes away.
final class LocalStripe {
    static let requirement = "localstripe==1.15.10"

    let port: Int
    private let secretKey: String
    private let process: Process
    private let input: Pipe
    private let log: URL

    private init(port: Int, secretKey: String, process: Process, input: Pipe, log: URL) {
        self.port = port
        self.secretKey = secretKey
        self.process = process
        self.input = input
        self.log = log
    }

    /// Under CI a gateway that is not available fails the test; elsewhere it skips it.
    private static func unavailable(_ reason: String) -> Error {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            return FlowProcessError("localstripe is not available (CI=true, so this is a failure): \(reason)")
        }
        return XCTSkip("localstripe is not available: \(reason)")
    }

    static func start(secretKey: String) throws -> LocalStripe {
        let python: URL
        do {
            python = try installed()
        } catch let error as XCTSkip {
            throw error
        } catch let error as FlowProcessError where error.description.hasPrefix("localstripe is not available") {
            throw error
        } catch {
            throw unavailable("installing it failed: \(error)")
        }
        let script = FlowProcess.packageRoot.appendingPathComponent("Tests/FlowCLITests/support/localstripe-server.py")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("localstripe-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: log)
        do {
            try process.run()
        } catch {
            throw unavailable("cannot start \(python.path): \(error)")
        }
        let server: LocalStripe
        do {
            let line = try readLine(output.fileHandleForReading, timeout: 30)
            guard let port = line.split(separator: " ").last.flatMap({ Int($0) }), line.hasPrefix("port ") else {
                throw FlowProcessError("it said '\(line)' instead of 'port N'")
            }
            server = LocalStripe(port: port, secretKey: secretKey, process: process, input: input, log: log)
        } catch {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            process.terminate()
            process.waitUntilExit()
            throw unavailable("it did not start: \(error)\n\(text)")
        }
        // It answers once it is listening; wait for an answer all the same.
        let until = Date().addingTimeInterval(20)
        while Date() < until {
            if let (status, _) = server.get("/v1/charges"), status == 200 { return server }
            usleep(100_000)
        }
        server.stop()
        throw unavailable("it never answered GET /v1/charges on port \(server.port)")
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        let until = Date().addingTimeInterval(5)
        while process.isRunning && Date() < until { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            let later = Date().addingTimeInterval(5)
            while process.isRunning && Date() < later { usleep(20_000) }
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }

    /// Every charge localstripe holds, newest first.
    func charges() throws -> [[String: Any]] {
        guard let (status, data) = get("/v1/charges?limit=100"), status == 200,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = object["data"] as? [[String: Any]]
        else { throw FlowProcessError("GET /v1/charges failed") }
        return list
    }

    func paymentMethod(_ id: String) throws -> [String: Any]? {
        guard let (status, data) = get("/v1/payment_methods/\(id)") else { throw FlowProcessError("GET \(id) failed") }
        guard status == 200 else { return nil }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// A form POST with the secret key: (status, body as JSON), or nil without an answer.
    func post(_ path: String, _ form: [(String, String)]) -> (Int, [String: Any])? {
        let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        guard let (status, data) = get(path, method: "POST", body: Data(body.utf8)) else { return nil }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// A GET (or another method) with the secret key: (status, body), or nil without an answer.
    func get(_ path: String, method: String = "GET", body: Data? = nil) -> (Int, Data)? {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return nil }
        var request = URLRequest(url: url, timeoutInterval: 5)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        let box = Answer()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, _ in
            box.status = (response as? HTTPURLResponse)?.statusCode
            box.data = data ?? Data()
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 10) == .success, let status = box.status else { return nil }
        return (status, box.data)
    }

    private final class Answer: @unchecked Sendable {
        var status: Int?
        var data = Data()
    }

    // MARK: Installing

    /// The venv's python, with localstripe importable: reused when it is, else made with
    /// `python3 -m venv` and `pip install`. A lock file keeps test processes that run in parallel
    /// from installing at once.
    static func installed() throws -> URL {
        let venv = venvDirectory
        let python = venv.appendingPathComponent("bin/python")
        try FileManager.default.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = open(venv.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw unavailable("cannot create \(venv.path).lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }

        if FileManager.default.isExecutableFile(atPath: python.path),
            (try? Command.run([python.path, "-c", "import localstripe, aiohttp"], timeout: 60))?.status == 0
        {
            return python
        }
        let made = try Command.run(["/usr/bin/env", "python3", "-m", "venv", "--clear", venv.path], timeout: 120)
        guard made.status == 0 else { throw unavailable("python3 -m venv \(venv.path) failed:\n\(made.output)") }
        let pip = try Command.run(
            [python.path, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", requirement], timeout: 600)
        guard pip.status == 0 else { throw unavailable("pip install \(requirement) failed:\n\(pip.output)") }
        return python
    }

    /// `<scratch path>/localstripe-venv`: the build folder is the nearest folder above the
    /// products directory that holds SwiftPM's `workspace-state.json`.
    private static var venvDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_LOCALSTRIPE_VENV"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var folder = FlowProcess.productsDirectory.resolvingSymlinksInPath()
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("workspace-state.json").path) {
                return folder.appendingPathComponent("localstripe-venv")
            }
        }
        return FlowProcess.productsDirectory.deletingLastPathComponent().appendingPathComponent("localstripe-venv")
    }

    /// The first line `handle` gives within `timeout` seconds.
    private static func readLine(_ handle: FileHandle, timeout: TimeInterval) throws -> String {
        var bytes: [UInt8] = []
        let until = Date().addingTimeInterval(timeout)
        while !bytes.contains(UInt8(ascii: "\n")) {
            let left = until.timeIntervalSinceNow
            guard left > 0 else { throw FlowProcessError("no line within \(Int(timeout)) s") }
            var poller = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 || errno == EINTR else { throw FlowProcessError("poll failed") }
            guard poller.revents != 0 else { continue }
            var byte: UInt8 = 0
            guard read(handle.fileDescriptor, &byte, 1) == 1 else { throw FlowProcessError("it closed its output") }
            bytes.append(byte)
        }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }
}

/// A command run to its end, with its standard output and error together.
enum Command {
    static func run(_ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("flow-cmd-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        let until = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < until { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw FlowProcessError("\(arguments.joined(separator: " ")) ran longer than \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
