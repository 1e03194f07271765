import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// End-to-end tests of `flow run` through the built binary, scripted (standard input is a file or
/// /dev/null, never a terminal; `InteractiveTests` covers the terminal).
///
/// Every example flow in `flows/` (not `flows/lib/`) has at least one scripted run in
/// `Self.examples`: answers and stubs written here, and the exact responses and outcome expected.
final class RunTests: XCTestCase {
    /// One scripted run of an example flow. `answers` and `stubs` are JSON texts, written to files
    /// and given as `--answers` and `--stubs`.
    struct Example {
        var flow: String
        var title: String
        var answers: String?
        var stubs: String?
        var options: [String] = []
        var input: String?
        var responses: [String]
        var outcome: String
        var reason: String?

        var status: Int32 { outcome == "success" ? 0 : 1 }
    }

    static let paymentStubs = #"""
        {
          "Tokenize": {"token": "tok_visa"},
          "StripeCharge": {"id": "ch_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": ""}
        }
        """#

    static let examples: [Example] = [
        Example(
            flow: "payment", title: "paid",
            answers: #"{"Embedded Payment.Embedded Payment": "4.00"}"#,
            stubs: paymentStubs,
            responses: ["You paid 4.00. Your charge reference is ch_1."],
            outcome: "success", reason: "charged 400 cents as ch_1"),
        Example(
            flow: "payment", title: "declined (402)",
            // A number in the answers file, and the bare name of a lone question.
            answers: #"{"Embedded Payment": 12.5}"#,
            stubs: #"""
                {
                  "Tokenize": {"token": "tok_visa"},
                  "StripeCharge": {"error": {"kind": "http", "status": 402, "message": "Your card was declined.", "code": "card_declined"}}
                }
                """#,
            responses: ["Your card was declined: Your card was declined."],
            outcome: "failure", reason: "charge failed: Your card was declined."),
        Example(
            flow: "payment", title: "service down (503)",
            answers: #"{"Embedded Payment": "$10"}"#,
            stubs: #"""
                {
                  "Tokenize": {"token": "tok_visa"},
                  "StripeCharge": {"error": {"status": 503, "message": "Service Unavailable"}}
                }
                """#,
            responses: ["The payment service is not available right now. Please try again later."],
            outcome: "failure", reason: "charge failed: Service Unavailable"),
        Example(
            flow: "payment", title: "not paid",
            answers: #"{"Embedded Payment": "25"}"#,
            stubs: #"""
                {
                  "Tokenize": {"token": "tok_visa"},
                  "StripeCharge": {"id": "ch_2", "status": "failed", "paid": false, "amount": 2500, "failure message": "insufficient funds"}
                }
                """#,
            responses: ["The payment did not go through: insufficient funds"],
            outcome: "failure", reason: "charge ch_2 not paid"),
        Example(
            flow: "payment", title: "card capture failed",
            answers: #"{"Embedded Payment": "1"}"#,
            stubs: #"{"Tokenize": {"error": {"kind": "timeout", "message": "the pad timed out"}}}"#,
            responses: ["Sorry, we could not read your card details: the pad timed out"],
            outcome: "failure", reason: "card capture failed: timeout"),
        Example(
            flow: "balance", title: "in credit",
            answers: #"{"Account.Account number": "12345678", "Account.Include pending": true}"#,
            stubs: #"{"Get Balance": {"balance": "120.50", "pending": 20.25, "as of": "2024-03-31 10:00"}}"#,
            responses: ["Your available balance is 100.25.", "This balance was last updated 2024-03-31 10:00."],
            outcome: "success"),
        Example(
            flow: "balance", title: "overdrawn beyond a limit given with --define",
            answers: #"{"Account.Account number": "12345678", "Account.Include pending": false}"#,
            stubs: #"{"Get Balance": {"balance": -80, "pending": 0, "as of": "today"}}"#,
            options: ["--define", "OVERDRAFT_LIMIT=50"],
            responses: [
                "Your account is overdrawn by 80.00, which is more than your limit of 50.",
                "This balance was last updated today.",
            ],
            outcome: "success"),
        Example(
            flow: "balance", title: "overdrawn within the limit, answers on standard input",
            stubs: #"{"Get Balance": {"balance": -80, "pending": 0, "as of": "today"}}"#,
            input: "12345678\n\n",
            responses: ["Your account is overdrawn by 80.00.", "This balance was last updated today."],
            outcome: "success"),
        Example(
            flow: "balance", title: "SOAP fault",
            answers: #"{"Account.Account number": "87654321", "Account.Include pending": "y"}"#,
            stubs: #"{"Get Balance": {"error": {"kind": "soapFault", "message": "unknown account", "status": 500}}}"#,
            responses: ["Sorry, we cannot reach your account right now. Please try again later."],
            outcome: "failure", reason: "balance service unavailable"),
        Example(
            flow: "order-status", title: "cancelled",
            answers: #"""
                {
                  "Order Lookup.Order #": " ab12cd34 ",
                  "Order Lookup.Order date": "2024-03-01",
                  "Topics.Topics": "1, 2, 3",
                  "Next step.Next step": "Cancel order"
                }
                """#,
            stubs: #"""
                {
                  "Get Order": {
                    "status": "processing", "placed": "2024-03-01", "total": 59.90, "eta minutes": 150,
                    "items": [{"name": "Kettle", "quantity": 2}], "request id": "req-77"
                  },
                  "Cancel Order": {"refund": "59.90"}
                }
                """#,
            responses: [
                "Order AB12CD34 is processing.",
                "It should arrive in about 2 hours and 30 minutes.",
                "It contains 2 of Kettle, 59.90 in total.",
                "Your order is cancelled. We will refund 59.90 within five working days.",
                "Thank you for calling. Your call reference is req-77.",
            ],
            outcome: "success"),
        Example(
            flow: "order-status", title: "not found, then a new e-mail",
            answers: #"""
                {
                  "Order Lookup.Order #": ["XX0000", "AB12CD34"],
                  "Order Lookup.Order date": "2024-03-01",
                  "Topics.Topics": [["Items", "Status"]],
                  "Next step.Next step": 1,
                  "New email.New email": "new@example.com"
                }
                """#,
            stubs: #"""
                {
                  "Get Order": [
                    {"error": {"status": 404, "message": "Not Found"}},
                    {
                      "status": "Delayed", "placed": "2024-03-01", "total": 12, "eta minutes": 30,
                      "items": [{"name": "Cup"}, {"name": "Plate"}, {"name": "Bowl"}], "request id": "req-78"
                    }
                  ],
                  "Update Order Email": {"updated": true}
                }
                """#,
            responses: [
                "We could not find order XX0000. Let's try again.",
                "Order AB12CD34 is delayed.",
                "We are sorry for the delay.",
                "It contains 3 items, from Cup to Bowl, 12.00 in total.",
                "Done: we will write to new@example.com from now on.",
                "Thank you for calling. Your call reference is req-78.",
            ],
            outcome: "success"),
        Example(
            flow: "support", title: "urgent router case handed to an engineer",
            answers: #"""
                {
                  "Issue.Product": "1",
                  "Issue.Service down": "yes",
                  "Issue.Devices affected": null,
                  "Issue.Contact email": "ann@example.com",
                  "Issue.Details": ""
                }
                """#,
            stubs: #"""
                {
                  "Create Ticket": {"ticket number": 4711, "sla hours": "4", "http status": 201},
                  "Screen Pop": {"agent": "Sam", "accepted": true}
                }
                """#,
            responses: [
                "Your case number is T-4711. We will reply within 4 hours.",
                "Please hold: I am connecting you to Sam.",
            ],
            outcome: "success", reason: "case T-4711 handed to Sam"),
        Example(
            flow: "support", title: "billing case with a text message",
            answers: #"""
                {
                  "Issue.Product": "Billing",
                  "Issue.Service down": "no",
                  "Issue.Devices affected": 2,
                  "Issue.Contact email": "ann@example.com",
                  "Issue.Details": "The bill is wrong",
                  "Text me.Text me": true,
                  "Mobile number.Mobile number": "+4917012345678"
                }
                """#,
            stubs: #"""
                {
                  "Create Ticket": {"ticket number": 12, "sla hours": "100", "http status": 202},
                  "Send SMS": {"receipt": "SM1"}
                }
                """#,
            responses: [
                "Your case is being registered and will show in your account within the hour.",
                "Your case number is T-12. We will reply within 72 hours.",
                "Done. The text message is on its way.",
            ],
            outcome: "success", reason: "case T-12; sms SM1"),
        Example(
            flow: "support", title: "no ticket system",
            answers: #"""
                {
                  "Issue.Product": "Mobile app", "Issue.Service down": "no", "Issue.Devices affected": "1",
                  "Issue.Contact email": "ann@example.com", "Issue.Details": null
                }
                """#,
            stubs: #"{"Create Ticket": {"error": {"kind": "connection", "message": "connection refused"}}}"#,
            responses: ["Sorry, we could not open a case for you just now. Please call again later."],
            outcome: "failure", reason: "no ticket: ticket system: connection refused"),
        Example(
            flow: "retry-pin", title: "right the second time",
            answers: #"{"Customer number.Customer number": "12345678", "PIN.PIN": ["0000", "1234"]}"#,
            stubs: #"{"Verify PIN": [{"valid": false, "tries left": 2}, {"valid": true, "tries left": 2}]}"#,
            responses: ["That PIN is not correct. You have 2 tries left.", "Thank you, your PIN is correct."],
            outcome: "success"),
        Example(
            flow: "retry-pin", title: "locked after three wrong PINs",
            answers: #"{"Customer number": "12345678", "PIN": "1111"}"#,
            stubs: #"{"Verify PIN": {"valid": false, "tries left": 5}, "Lock Card": {"reference": "L-9"}}"#,
            responses: [
                "That PIN is not correct. You have 2 tries left.",
                "That PIN is not correct. You have 1 tries left.",
                "For your security the card is now locked. Your reference is L-9.",
            ],
            outcome: "failure", reason: "card locked after 3 wrong PINs"),
    ]

    // MARK: - Helpers

    /// A fresh directory holding `files` (relative path: contents), removed after the test.
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-run-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    /// The one JSON object `--json` prints.
    struct Summary: Decodable, Equatable {
        var responses: [String]
        var outcome: String
        var reason: String?
        var steps: Int
    }

    func summary(_ run: FlowRun, file: StaticString = #filePath, line: UInt = #line) throws -> Summary {
        XCTAssertEqual(run.stdout.filter { $0 == "\n" }.count, 1, "--json prints one line: \(run)", file: file, line: line)
        return try JSONDecoder().decode(Summary.self, from: Data(run.stdout.utf8))
    }

    func run(_ example: Example, extra: [String] = []) throws -> FlowRun {
        var files: [String: String] = [:]
        if let answers = example.answers { files["answers.json"] = answers }
        if let stubs = example.stubs { files["stubs.json"] = stubs }
        let directory = try makeDirectory(files)
        var arguments = ["run", "flows/\(example.flow).flow"]
        if example.answers != nil { arguments += ["--answers", directory.appendingPathComponent("answers.json").path] }
        if example.stubs != nil { arguments += ["--stubs", directory.appendingPathComponent("stubs.json").path] }
        return try FlowProcess.run(arguments + example.options + extra, input: example.input)
    }

    /// A flow written to a temporary directory; returns its path.
    func flowFile(_ source: String, name: String = "test.flow") throws -> String {
        try makeDirectory([name: source]).appendingPathComponent(name).path
    }

    // MARK: - The example flows

    func testEveryExampleFlowRunsAsScripted() throws {
        for example in Self.examples {
            let label = "\(example.flow): \(example.title)"
            let run = try self.run(example, extra: ["--json"])
            XCTAssertEqual(run.status, example.status, "\(label)\n\(run)")
            XCTAssertEqual(run.stderr, "", label)
            guard let result = try? summary(run) else {
                XCTFail("\(label): --json did not print one JSON object\n\(run)")
                continue
            }
            XCTAssertEqual(result.responses, example.responses, label)
            XCTAssertEqual(result.outcome, example.outcome, label)
            XCTAssertEqual(result.reason, example.reason, label)
            XCTAssertGreaterThan(result.steps, 0, label)
        }
    }

    func testEveryFlowInFlowsHasAScriptedRun() throws {
        let directory = FlowProcess.packageRoot.appendingPathComponent("flows")
        let flows = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".flow") }
            .map { String($0.dropLast(".flow".count)) }
        XCTAssertFalse(flows.isEmpty)
        let covered = Set(Self.examples.map(\.flow))
        for flow in flows {
            XCTAssertTrue(covered.contains(flow), "flows/\(flow).flow has no run in RunTests.examples")
        }
    }

    /// The README's first command runs this, so it must keep working exactly as documented.
    func testTheReadmeMainJob() throws {
        let run = try FlowProcess.run([
            "run", "flows/payment.flow", "--answers", "flows/payment.answers.json", "--stubs", "flows/payment.stubs.json",
        ])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "You paid 4.00. Your charge reference is ch_demo_1.\nfinished: success: charged 400 cents as ch_demo_1\n")
        let readme = try String(contentsOf: FlowProcess.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("flow run flows/payment.flow --answers flows/payment.answers.json --stubs flows/payment.stubs.json"))
    }

    func testHumanOutputShowsResponsesThenTheOutcome() throws {
        let run = try self.run(Self.examples[0])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(
            run.stdout, "You paid 4.00. Your charge reference is ch_1.\nfinished: success: charged 400 cents as ch_1\n")
        XCTAssertEqual(run.stderr, "")
        let declined = try self.run(Self.examples[1])
        XCTAssertEqual(declined.status, 1, "\(declined)")
        XCTAssertEqual(
            declined.stdout,
            "Your card was declined: Your card was declined.\nfinished: failure: charge failed: Your card was declined.\n")
    }

    /// A gateway's text reaches the terminal inside responses and reasons; the control characters
    /// in it (a window-title sequence, a colour that hides text, a carriage return that would
    /// write over the line, a right-to-left override) are shown as escapes, not obeyed. `--json`
    /// keeps the exact text, JSON-escaped.
    func testControlCharactersFromAGatewayAreShownNotObeyed() throws {
        var example = Self.examples[1]
        let hostile = #"\u001b]0;pwned\u0007Declined\u001b[8m hidden\rPAID \u202eyap\u009b2J"#
        example.stubs = #"""
            {
              "Tokenize": {"token": "tok_visa"},
              "StripeCharge": {"error": {"kind": "http", "status": 402, "message": "\#(hostile)", "code": "card_declined"}}
            }
            """#
        let run = try self.run(example)
        XCTAssertEqual(run.status, 1, "\(run)")
        let shown = #"\u{1B}]0;pwned\u{7}Declined\u{1B}[8m hidden\u{D}PAID \u{202E}yap\u{9B}2J"#
        XCTAssertEqual(run.stdout, "Your card was declined: \(shown)\nfinished: failure: charge failed: \(shown)\n")
        for control in ["\u{1B}", "\u{7}", "\r", "\u{202E}", "\u{9B}"] {
            XCTAssertFalse(run.stdout.contains(control) || run.stderr.contains(control), "\(control.unicodeScalars.first!.value) written")
        }
        let json = try summary(try self.run(example, extra: ["--json"]))
        XCTAssertEqual(json.responses, ["Your card was declined: \u{1B}]0;pwned\u{7}Declined\u{1B}[8m hidden\rPAID \u{202E}yap\u{9B}2J"])
    }

    func testAnswerOptionsWinOverTheAnswersFile() throws {
        var example = Self.examples[0]
        let run = try self.run(example, extra: ["--json", "--answer", "Embedded Payment.Embedded Payment=7", "--stub",
                                           #"StripeCharge={"id": "ch_9", "status": "succeeded", "paid": true, "amount": 700, "failure message": ""}"#])
        example.responses = ["You paid 7.00. Your charge reference is ch_9."]
        XCTAssertEqual(try summary(run).responses, example.responses, "\(run)")
    }

    func testScriptedAnswersThenStandardInput() throws {
        // The card number from --answer, the PIN from standard input.
        let run = try FlowProcess.run(
            ["run", "flows/retry-pin.flow", "--answer", "Customer number=12345678",
             "--stub", #"Verify PIN={"valid": true, "tries left": 3}"#],
            input: "1234\n")
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "Thank you, your PIN is correct.\nfinished: success\n")
    }

    func testFlowOptionRunsASubFlowWithArguments() throws {
        let run = try FlowProcess.run(
            ["run", "flows/support.flow", "--flow", "Triage", "--arg", "product=Router", "--arg", "down=true", "--json"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(try summary(run), Summary(responses: [], outcome: "success", reason: nil, steps: 4))
    }

    // MARK: - Trace

    static let traceFields: Set<String> = [
        "event", "kind", "question", "variable", "name", "arguments", "outputs", "error", "text", "outcome", "reason",
        "value", "file", "line", "column", "endLine", "endColumn",
    ]
    static let traceEvents: Set<String> = ["enter", "answer", "set", "call", "result", "failure", "response", "back", "finish"]

    func testTraceIsJSONLinesAndNeverShowsThePassword() throws {
        let pin = "9753"
        let directory = try makeDirectory([:])
        let tracePath = directory.appendingPathComponent("trace.jsonl").path
        let arguments = [
            "run", "flows/retry-pin.flow", "--answer", "Customer number=12345678",
            "--answer", "PIN=0000", "--answer", "PIN=\(pin)",
            "--stub", #"Verify PIN=[{"valid": false, "tries left": 2}, {"valid": true, "tries left": 2}]"#,
        ]
        let run = try FlowProcess.run(arguments + ["--trace", tracePath])
        XCTAssertEqual(run.status, 0, "\(run)")
        let trace = try String(contentsOfFile: tracePath, encoding: .utf8)
        XCTAssertTrue(trace.hasSuffix("\n"))
        var events: [String] = []
        for line in trace.split(separator: "\n") {
            let object = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
            let event = try XCTUnwrap(object["event"] as? String, "no event: \(line)")
            events.append(event)
            XCTAssertTrue(Self.traceEvents.contains(event), "unknown event: \(line)")
            XCTAssertTrue(Set(object.keys).isSubset(of: Self.traceFields), "undocumented field: \(line)")
            XCTAssertEqual(object["file"] as? String, "flows/retry-pin.flow", line.description)
            for field in ["line", "column", "endLine", "endColumn"] {
                XCTAssertNotNil(object[field] as? Int, "\(field) in \(line)")
            }
        }
        XCTAssertEqual(events.first, "enter")
        XCTAssertEqual(events.last, "finish")
        for event in ["answer", "set", "call", "result", "response"] {
            XCTAssertTrue(events.contains(event), "no '\(event)' event in\n\(trace)")
        }
        XCTAssertTrue(trace.contains(#""question": "PIN.PIN", "value": "***""#), trace)
        XCTAssertTrue(trace.contains(#""pin": "***""#), trace)
        for text in [trace, run.stdout, run.stderr] {
            XCTAssertFalse(text.contains(pin), "the PIN appears in\n\(text)")
        }

        // The same on standard output, between the responses.
        let toStdout = try FlowProcess.run(arguments + ["--trace", "-"])
        XCTAssertEqual(toStdout.status, 0, "\(toStdout)")
        XCTAssertFalse(toStdout.stdout.contains(pin))
        XCTAssertTrue(toStdout.stdout.hasSuffix("Thank you, your PIN is correct.\nfinished: success\n"), toStdout.stdout)
        XCTAssertEqual(toStdout.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.count, trace.split(separator: "\n").count)
    }

    /// Regression: FlowKit's `result` events carry secure outputs in clear; the host redacts them.
    func testASecureOutputIsNotTraced() throws {
        let path = try flowFile(
            """
            extension Pad {
              run "pad"
              output pin: secure
            }
            ip Check(pin: secure) {
              POST "https://pins.example/check"
              json { "pin": pin }
              output ok: bool = json "ok"
            }
            flow Secure {
              extension Pad -> (pin: pin)
              ip Check(pin) -> (ok: ok)
              if ok {
                response "fine"
              }
            }

            """)
        let run = try FlowProcess.run(
            ["run", path, "--stub", #"Pad={"pin": "5555"}"#, "--stub", #"Check={"ok": true}"#, "--trace", "-"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertFalse(run.stdout.contains("5555"), run.stdout)
        XCTAssertTrue(run.stdout.contains(#"{"event": "result", "name": "Pad", "outputs": {"pin": "***"}"#), run.stdout)
        XCTAssertTrue(run.stdout.contains(#""arguments": {"pin": "***"}"#), run.stdout)
    }

    func testATraceOfAFailedCallHasTheError() throws {
        let directory = try makeDirectory([:])
        let tracePath = directory.appendingPathComponent("trace.jsonl").path
        let run = try self.run(Self.examples[1], extra: ["--trace", tracePath])
        XCTAssertEqual(run.status, 1, "\(run)")
        let trace = try String(contentsOfFile: tracePath, encoding: .utf8)
        XCTAssertTrue(
            trace.contains(
                #"{"event": "failure", "name": "StripeCharge", "error": {"body":null,"code":"card_declined","codeNamespace":null,"kind":"http","message":"Your card was declined.","status":402}, "file": "flows/payment.flow""#),
            trace)
        XCTAssertTrue(
            trace.hasSuffix(#"{"event": "finish", "outcome": "failure", "reason": "charge failed: Your card was declined.", "file": "flows/payment.flow", "line": 66, "column": 5, "endLine": 66, "endColumn": 52}"# + "\n"),
            trace)
    }

    func testARefusedPasswordIsNotShownInTheError() throws {
        let run = try FlowProcess.run(
            ["run", "flows/retry-pin.flow", "--answer", "Customer number=12345678", "--answer", "PIN=97a3"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stderr, "error: answer for 'PIN.PIN' refused: enter an answer that matches the pattern '^[0-9]{4}$'\n")
        XCTAssertFalse(run.stdout.contains("97a3") || run.stderr.contains("97a3"))
    }

    // MARK: - Scripted answers that do not fit

    func testMissingAnswerNamesTheQuestion() throws {
        let run = try FlowProcess.run(["run", "flows/balance.flow", "--answer", "Account.Account number=12345678"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(
            run.stderr,
            """
            error: no answer for 'Account.Include pending'
            hint: give one with --answer 'Account.Include pending=…', in the --answers file, or as a line on standard input

            """)
        XCTAssertEqual(run.stdout, "")
    }

    func testMissingAnswerWhenStandardInputEnds() throws {
        let run = try FlowProcess.run(
            ["run", "flows/retry-pin.flow", "--stub", #"Verify PIN={"valid": false, "tries left": 2}"#],
            input: "12345678\n1234\n")
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "That PIN is not correct. You have 2 tries left.\n")
        XCTAssertTrue(run.stderr.hasPrefix("error: no answer for 'PIN.PIN'\n"), run.stderr)
    }

    func testRefusedAnswerNamesTheQuestionAndTheReason() throws {
        let run = try FlowProcess.run(["run", "flows/payment.flow", "--answer", "Embedded Payment=0.10"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stderr, "error: answer for 'Embedded Payment.Embedded Payment' refused: enter at least 0.50\n")
        let choice = try FlowProcess.run(["run", "flows/support.flow"], input: "Fax\nyes\n\nann@example.com\n\n")
        XCTAssertEqual(choice.status, 65, "\(choice)")
        XCTAssertEqual(choice.stderr, "error: answer for 'Issue.Product' refused: choose 1 to 3, or type an option\n")
    }

    func testUnknownNamesSuggestTheClosest() throws {
        let cases: [([String], String)] = [
            (["--answer", "Embeded Payment.Embedded Payment=4"],
             "error: unknown question 'Embeded Payment.Embedded Payment' in --answer\nhint: did you mean 'Embedded Payment.Embedded Payment'?\n"),
            (["--stub", "Tokenise={}"],
             "error: no integration point or extension 'Tokenise' in this flow\nhint: did you mean 'Tokenize'?\n"),
            (["--stub", #"Tokenize={"tokn": "x"}"#],
             "error: the stub for 'Tokenize' gives 'tokn', which is not one of its outputs\nhint: did you mean 'token'?\n"),
            (["--define", "STRIPE_BAS=http://localhost"],
             "error: no config 'STRIPE_BAS' to define\nhint: did you mean 'STRIPE_BASE'?\n"),
            (["--flow", "Paymnt"], "error: no flow 'Paymnt' to run\nhint: did you mean 'Payment'?\n"),
            (["--arg", "amount=1"],
             "error: flow 'Payment' has no parameter 'amount'\nhint: this flow has no parameters\n"),
        ]
        for (options, expected) in cases {
            let run = try FlowProcess.run(["run", "flows/payment.flow"] + options)
            XCTAssertEqual(run.status, 65, "\(options): \(run)")
            XCTAssertEqual(run.stderr, expected, "\(options)")
        }
    }

    func testDefinedValuesAndArgumentsMustFitTheirType() throws {
        let define = try FlowProcess.run(["run", "flows/balance.flow", "--define", "OVERDRAFT_LIMIT=lots"])
        XCTAssertEqual(define.status, 65, "\(define)")
        XCTAssertEqual(
            define.stderr,
            "error: invalid value 'lots' for config 'OVERDRAFT_LIMIT': expected a number\nhint: for example: --define 'OVERDRAFT_LIMIT=12.50'\n")
        let argument = try FlowProcess.run(["run", "flows/support.flow", "--flow", "Triage", "--arg", "down=maybe"])
        XCTAssertEqual(argument.status, 65, "\(argument)")
        XCTAssertEqual(
            argument.stderr,
            "error: invalid value 'maybe' for parameter 'down': expected true or false\nhint: for example: --arg 'down=true'\n")
        let missing = try FlowProcess.run(["run", "flows/support.flow", "--flow", "Triage", "--arg", "prodct=Router"])
        XCTAssertEqual(missing.status, 65, "\(missing)")
        XCTAssertEqual(missing.stderr, "error: flow 'Triage' has no parameter 'prodct'\nhint: did you mean 'product'?\n")
    }

    func testAnswersFileWithAnUnknownQuestion() throws {
        let directory = try makeDirectory(["a.json": #"{"Embedded Payment.Amount": "4"}"#])
        let path = directory.appendingPathComponent("a.json").path
        let run = try FlowProcess.run(["run", "flows/payment.flow", "--answers", path])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(
            run.stderr,
            "error: unknown question 'Embedded Payment.Amount' in '\(path)'\nhint: the questions are: 'Embedded Payment.Embedded Payment'\n")
        let typo = try makeDirectory(["a.json": #"{"Embedded Payment.Embedded Paymnt": "4"}"#]).appendingPathComponent("a.json").path
        let close = try FlowProcess.run(["run", "flows/payment.flow", "--answers", typo])
        XCTAssertEqual(
            close.stderr,
            "error: unknown question 'Embedded Payment.Embedded Paymnt' in '\(typo)'\nhint: did you mean 'Embedded Payment.Embedded Payment'?\n")
        // Of several bad names, the first in the names' order is reported, whatever order the
        // file's object is read in (a dictionary's, which changes from process to process).
        let several = try makeDirectory(["a.json": #"{"Zeta.Z": "1", "Kappa.K": "1", "Embedded Payment.Embedded Payment": "4", "Delta.D": "1", "Alpha.A": "1", "Mu.M": "1"}"#])
            .appendingPathComponent("a.json").path
        for _ in 0..<4 {
            let first = try FlowProcess.run(["run", "flows/payment.flow", "--answers", several])
            XCTAssertEqual(first.status, 65, "\(first)")
            XCTAssertEqual(first.stderr, "error: unknown question 'Alpha.A' in '\(several)'\nhint: the questions are: 'Embedded Payment.Embedded Payment'\n")
        }
    }

    /// The names of an answers file are checked by marking the answers questions name (no set
    /// of every question's names is made unless one is unknown): a lone question's bare name and
    /// its `Page.Question` both count; of a bad value and an unknown name, the first in the
    /// names' order is reported.
    func testAnswersFileNamesAreCheckedAgainstTheQuestions() throws {
        let flow = "flow F {\n  question Age: number\n  page Contact {\n    question Email: email\n    question Phone: text\n  }\n  response \"{Age} {Contact.Email} {Contact.Phone}\"\n}\n"
        let directory = try makeDirectory([
            "f.flow": flow,
            "both.json": #"{"Age": 30, "Age.Age": 31, "Contact.Email": "a@example.com", "Contact.Phone": ["555", "556"]}"#,
            "value-first.json": #"{"Zeta.Z": "1", "Contact.Email": {"no": 1}, "Age": 3}"#,
            "name-first.json": #"{"Age": {"no": 1}, "Aaa.A": "1"}"#,
            "bare-page.json": #"{"Contact": "x", "Age": 3}"#,
            // Two flows with a page of the same name: its questions' names are counted once.
            "two.flow": flow + "flow G {\n  page Contact {\n    question Email: email\n    question Phone: text\n  }\n}\n",
            "twice.json": #"{"Contact.Email": "a@example.com", "Bogus.B": "1"}"#,
        ])
        func run(_ answers: String, flow: String = "f.flow") throws -> FlowRun {
            try FlowProcess.run(["run", directory.appendingPathComponent(flow).path, "--answers", directory.appendingPathComponent(answers).path])
        }
        let both = try run("both.json")
        XCTAssertEqual(both.status, 0, "\(both)")
        XCTAssertTrue(both.stdout.contains("31 a@example.com 555"), both.stdout)
        // `--answer` wins over the file for its name.
        let overridden = try FlowProcess.run(["run", directory.appendingPathComponent("f.flow").path, "--answers",
                                              directory.appendingPathComponent("both.json").path, "--answer", "Age.Age=40"])
        XCTAssertEqual(overridden.status, 0, "\(overridden)")
        XCTAssertTrue(overridden.stdout.contains("40 a@example.com 555"), overridden.stdout)
        // Refused, with the first problem in the names' order; a page of two questions has no
        // bare name.
        let refused: [(flow: String, answers: String, message: String)] = [
            ("f.flow", "value-first.json", "the answer for 'Contact.Email' is an object"),
            ("f.flow", "name-first.json", "error: unknown question 'Aaa.A'"),
            ("f.flow", "bare-page.json", "error: unknown question 'Contact'"),
            ("two.flow", "twice.json", "error: unknown question 'Bogus.B'"),
        ]
        for c in refused {
            let result = try run(c.answers, flow: c.flow)
            XCTAssertEqual(result.status, 65, "\(c.answers): \(result)")
            XCTAssertTrue(result.stderr.contains(c.message), "\(c.answers): \(result.stderr)")
        }
    }

    func testBadAnswersAndStubFiles() throws {
        let directory = try makeDirectory(["bad.json": #"{"Embedded Payment": "#, "list.json": "[1]"])
        let bad = directory.appendingPathComponent("bad.json").path
        let list = directory.appendingPathComponent("list.json").path
        let cases: [([String], Int32, String)] = [
            (["--answers", bad], 65, "error: the answers file '\(bad)' is not valid: the JSON text ends too early at byte 21\n"),
            (["--answers", list], 65, "error: the answers file '\(list)' is not valid: it is not a JSON object\n"),
            (["--stubs", "no/such.json"], 66, "error: cannot read 'no/such.json': no such file\n"),
            (["--stub", "Tokenize={"], 65, "error: the stub '--stub Tokenize=…' is not valid: the JSON text ends too early at byte 1\n"),
            (["--stub", #"Tokenize={"error": {"status": 402}}"#], 65,
             "error: the stub for 'Tokenize' is not valid: 'error' needs a 'message' (text)\nhint: a stub is an object of outputs, {\"error\": {\"kind\": \"http\", \"status\": 402, \"message\": \"…\"}}, or a list of those, one per call\n"),
            (["--stub", #"Tokenize={}"#], 65,
             "error: the stub for 'Tokenize' has no value for its output 'token'\nhint: a stub gives every output, or fails with {\"error\": {\"message\": \"…\"}}\n"),
        ]
        for (options, status, expected) in cases {
            let run = try FlowProcess.run(["run", "flows/payment.flow"] + options)
            XCTAssertEqual(run.status, status, "\(options): \(run)")
            XCTAssertEqual(run.stderr, expected, "\(options)")
        }
    }

    func testAStubOfTheWrongType() throws {
        let run = try FlowProcess.run(["run", "flows/retry-pin.flow", "--stub", #"Verify PIN={"valid": "perhaps", "tries left": 1}"#])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertTrue(
            run.stderr.hasPrefix("error: the stub for 'Verify PIN' is not valid: its output 'valid' should be bool, not text\n"),
            run.stderr)
    }

    /// Without a stub an IP is called for real; its secret must be given first, and nothing is sent
    /// without it.
    func testWithoutAStubTheIPNeedsItsSecret() throws {
        let run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--answer", "Embedded Payment=4", "--stub", #"Tokenize={"token": "tok"}"#,
             "--define", "STRIPE_BASE=http://127.0.0.1:9"],
            environment: ["STRIPE_SECRET_KEY": nil])
        XCTAssertEqual(run.status, 70, "\(run)")
        XCTAssertTrue(
            run.stderr.hasPrefix("error[run.missingSecret]: secret 'STRIPE_SECRET_KEY' is needed by 'StripeCharge' but was not given\n"),
            run.stderr)
    }

    func testABadSecretsFileIsReportedWithItsLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).env")
        try "# keys\nSTRIPE_SECRET_KEY\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try FlowProcess.run(["run", "flows/payment.flow", "--secrets", file.path, "--answer", "Embedded Payment=4"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: \(file.path):2: expected KEY=VALUE\n"), run.stderr)
    }

    func testAStubListThatRunsOut() throws {
        let run = try FlowProcess.run(
            ["run", "flows/retry-pin.flow", "--answer", "Customer number=12345678", "--answer", "PIN=1111",
             "--stub", #"Verify PIN=[{"valid": false, "tries left": 3}]"#])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(
            run.stderr,
            "error: 'Verify PIN' was called more often than its stub has results (1)\nhint: give one result per call in the stub's list\n")
    }

    // MARK: - Flows that fail to check or to run

    func testAFlowThatDoesNotCheckExits65WithCheckDiagnostics() throws {
        let path = try flowFile("flow Greeting {\n  response \"Hello\n}\n")
        let run = try FlowProcess.run(["run", path])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error[lex.unterminatedString]: unterminated text literal\n"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("error: found 1 error in 1 file\n"), run.stderr)
        XCTAssertEqual(run.stdout, "")
    }

    func testAMissingFileExits66() throws {
        let run = try FlowProcess.run(["run", "no/such.flow"])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertEqual(run.stderr, "error: cannot read 'no/such.flow': no such file\n")
    }

    func testStepLimit() throws {
        let path = try flowFile(
            """
            flow Spin {
              set n = 0
              label Top
              set n += 1
              if n < 0 {
                finish success
              }
              goto Top
            }

            """)
        let run = try FlowProcess.run(["run", path, "--max-steps", "50"])
        XCTAssertEqual(run.status, 70, "\(run)")
        XCTAssertEqual(
            run.stderr,
            """
            error[run.stepLimit]: the flow ran 50 elements without finishing
             --> \(path):4:3
              |
            4 |   set n += 1
              |   ^^^^^^^^^^
              = hint: raise the limit with --max-steps, or give the loop a way out


            """)
    }

    func testARuntimeErrorIsRenderedLikeADiagnostic() throws {
        let path = try flowFile("flow Divide {\n  question Divisor: number\n  response \"{10 / Divisor}\"\n}\n")
        let run = try FlowProcess.run(["run", path], input: "0\n")
        XCTAssertEqual(run.status, 70, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error[run.divisionByZero]: division by zero\n --> \(path):3:"), run.stderr)
        let fine = try FlowProcess.run(["run", path], input: "4\n")
        XCTAssertEqual(fine.stdout, "2.5\nfinished: success\n", "\(fine)")
    }

    func testAnUnreadableTraceFileExits73() throws {
        let run = try FlowProcess.run(["run", "flows/payment.flow", "--trace", "no/such/dir/trace.jsonl"])
        XCTAssertEqual(run.status, 73, "\(run)")
        XCTAssertEqual(run.stderr, "error: cannot write the trace to 'no/such/dir/trace.jsonl': no such file or directory\n")
    }

    /// `--trace PATH` writes where PATH is: through a symlink to its target, into a FIFO and a
    /// device, into a file with another hard link (both names see the trace); never a new file in
    /// their place. A write error is exit 73, not a run that looks fine.
    func testTheTraceIsWrittenWhereThePathIs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = ["run", "flows/payment.flow", "--answers", "flows/payment.answers.json", "--stubs", "flows/payment.stubs.json"]
        func isTrace(_ text: String) -> Bool { text.hasPrefix(#"{"event": "enter""#) && text.contains(#""event": "finish""#) }

        // A symlink: the target gets the trace, the link stays a link.
        let target = directory.appendingPathComponent("target.jsonl").path
        let link = directory.appendingPathComponent("link.jsonl").path
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(try FlowProcess.run(base + ["--trace", link]).status, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertTrue(isTrace(try String(contentsOfFile: target, encoding: .utf8)))

        // A hard link: one file with two names, both showing the trace.
        let first = directory.appendingPathComponent("first.jsonl").path
        let second = directory.appendingPathComponent("second.jsonl").path
        try "old\n".write(toFile: first, atomically: false, encoding: .utf8)
        XCTAssertEqual(Glibc.link(first, second), 0)
        XCTAssertEqual(try FlowProcess.run(base + ["--trace", second]).status, 0)
        XCTAssertTrue(isTrace(try String(contentsOfFile: first, encoding: .utf8)))
        var info = stat()
        XCTAssertEqual(stat(first, &info), 0)
        XCTAssertEqual(info.st_nlink, 2, "the hard link was broken")

        // A FIFO: read by another process, still a FIFO afterwards.
        let fifo = directory.appendingPathComponent("trace.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        let pipe = Pipe()
        reader.standardOutput = pipe
        try reader.run()
        XCTAssertEqual(try FlowProcess.run(base + ["--trace", fifo]).status, 0)
        let read = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        reader.waitUntilExit()
        XCTAssertTrue(isTrace(read), read)
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO was replaced")

        // A device: /dev/null stays a device; /dev/full fails every write: exit 73.
        XCTAssertEqual(try FlowProcess.run(base + ["--trace", "/dev/null"]).status, 0)
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)
        let full = try FlowProcess.run(base + ["--trace", "/dev/full"])
        XCTAssertEqual(full.status, 73, "\(full)")
        XCTAssertEqual(full.stderr, "error: cannot write the trace to '/dev/full': no space left on device\n")

        // A directory is refused.
        let folder = try FlowProcess.run(base + ["--trace", directory.path])
        XCTAssertEqual(folder.status, 73, "\(folder)")
        XCTAssertTrue(folder.stderr.hasSuffix(": it is a directory\n"), folder.stderr)
    }

    /// Responses shown before a run-time error are printed before it.
    func testResponsesBeforeARuntimeErrorAreShown() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-err-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("late.flow").path
        try """
            flow Main {
              set zero = 0
              response "Your payment was taken"
              set x = 1 / zero
              response "{x}"
            }

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try FlowProcess.run(["run", path])
        XCTAssertEqual(run.status, 70, "\(run)")
        XCTAssertEqual(run.stdout, "Your payment was taken\n")
        XCTAssertTrue(run.stderr.hasPrefix("error[run.divisionByZero]"), run.stderr)
    }

    /// `--session FILE`: kept after every step, resumed from, refused when it is not a session of
    /// this flow, never replacing what is not a regular file.
    func testASessionFileIsKeptResumedAndChecked() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-session-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let flowPath = directory.appendingPathComponent("two.flow").path
        try """
            flow Main {
              question First: number
              question Second: number
              response "{First.First + Second.Second}"
            }

            """.write(toFile: flowPath, atomically: true, encoding: .utf8)
        let session = directory.appendingPathComponent("s.json").path
        // The input ends at the second question: the session waits there, on disk.
        let stopped = try FlowProcess.run(["run", flowPath, "--session", session], input: "4\n")
        XCTAssertEqual(stopped.status, 65, "\(stopped)")
        var info = stat()
        XCTAssertEqual(stat(session, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "the session holds answers: its owner's only")
        // Resumed: only the second question is asked.
        let resumed = try FlowProcess.run(["run", flowPath, "--session", session], input: "5\n")
        XCTAssertEqual(resumed.stdout, "9\nfinished: success\n", "\(resumed)")
        XCTAssertEqual(resumed.status, 0)

        // Not a session file; a session of another flow; a FIFO; a directory.
        let notes = directory.appendingPathComponent("notes.txt").path
        try "shopping list\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let bad = try FlowProcess.run(["run", flowPath, "--session", notes])
        XCTAssertEqual(bad.status, 65, "\(bad)")
        XCTAssertEqual(bad.stderr, "error: cannot go on with the session in '\(notes)': it is not a flow session file\n"
            + "hint: give another --session file to start a new session; this one is left as it is\n")
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "shopping list\n")
        try "flow Main {\n  question First: number\n  response \"{First.First}\"\n}\n".write(toFile: flowPath, atomically: true, encoding: .utf8)
        let changed = try FlowProcess.run(["run", flowPath, "--session", session], input: "1\n")
        XCTAssertEqual(changed.status, 65, "\(changed)")
        XCTAssertTrue(changed.stderr.contains("it was started with another version of the flow file"), changed.stderr)
        let fifo = directory.appendingPathComponent("s.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let onFIFO = try FlowProcess.run(["run", flowPath, "--session", fifo], input: "1\n")
        XCTAssertEqual(onFIFO.status, 73, "\(onFIFO)")
        XCTAssertTrue(onFIFO.stderr.hasSuffix("it is not a regular file\n"), onFIFO.stderr)
    }

    // MARK: - Usage

    func assertUsageError(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try FlowProcess.run(arguments)
        XCTAssertEqual(run.status, 64, "\(run)", file: file, line: line)
        XCTAssertEqual(run.stderr, expected, file: file, line: line)
        XCTAssertEqual(run.stdout, "", file: file, line: line)
    }

    func testUnknownOptionSuggestsTheClosest() throws {
        try assertUsageError(
            ["run", "flows/payment.flow", "--answr", "x=1"], "error: unknown option '--answr'\nhint: did you mean '--answer'?\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--max-step=3"], "error: unknown option '--max-step=3'\nhint: did you mean '--max-steps'?\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--zzzzzzzz"],
            "error: unknown option '--zzzzzzzz'\nhint: the options of 'run' are: --answers, --answer, --stubs, --stub, --extension, --define, --arg, --flow, --max-steps, --secrets, --plan, --test, --trace, --session, --json, --color, --help\n")
        try assertUsageError(["--stub", "x"], "error: unknown option '--stub'\nhint: '--stub' is an option of 'run': flow run --stub …\n")
        try assertUsageError(["rnu", "x.flow"], "error: unknown command 'rnu'\nhint: did you mean 'run'?\n")
    }

    func testBadOptionValues() throws {
        try assertUsageError(
            ["run", "flows/payment.flow", "--answer", "Amount"],
            "error: invalid value 'Amount' for '--answer': expected NAME=VALUE\nhint: for example: --answer 'Amount.Amount=4.00'\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--max-steps", "lots"],
            "error: invalid value 'lots' for '--max-steps'\nhint: give a whole number of at least 1: '--max-steps 1000'\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--answers"], "error: missing value for '--answers'\nhint: for example: '--answers answers.json'\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--json=yes"], "error: option '--json' takes no value\nhint: write '--json' on its own\n")
        try assertUsageError(
            ["run", "flows/payment.flow", "--json", "--trace", "-"],
            "error: '--trace -' and '--json' both write to standard output\nhint: write the trace to a file: '--trace run.jsonl'\n")
        try assertUsageError(["run"], "error: no flow file to run\nhint: give the file to run: 'flow run main.flow'\n")
        try assertUsageError(
            ["run", "a.flow", "b.flow"],
            "error: unexpected argument 'b.flow'\nhint: 'flow run' takes one file; use '--' before a file whose name starts with '-'\n")
    }

    func testRunHelpListsOptionsAndExitStatuses() throws {
        for arguments in [["run", "--help"], ["run", "-h"], ["help", "run"], ["run", "x.flow", "--bogus", "--help"]] {
            let run = try FlowProcess.run(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run)")
            for word in RunArgumentsNames.all + ["64", "65", "66", "70", "73", "130", "back", "Ctrl-D"] {
                XCTAssertTrue(run.stdout.contains(word), "\(arguments): no '\(word)' in \(run)")
            }
            XCTAssertEqual(run.stderr, "")
        }
        let general = try FlowProcess.run(["--help"])
        XCTAssertTrue(general.stdout.contains("  run "), general.stdout)
    }
}

/// The options `flow run --help` must mention (kept here, not read from the binary, so a dropped
/// option fails the test).
enum RunArgumentsNames {
    static let all = [
        "--answers", "--answer", "--stubs", "--stub", "--define", "--arg", "--flow", "--max-steps", "--trace", "--json",
        "--color", "--help",
    ]
}
