import FlowIntegration
import FlowKit
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `ExtensionRunner` with small shell extensions: each test writes a flow that calls one
/// extension and the script beside it, runs the session to its `runExtension` step and hands
/// that call to the runner, as `flow run` does. The runner does not take the terminal here
/// (`takesTerminal` off); the terminal is tested through the binary (PaymentEndToEndTests).
final class ExtensionRunnerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-ext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let directory = self.directory!
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: - Helpers

    /// Writes an executable `/bin/sh` script named `name` into the test's folder.
    @discardableResult
    private func script(_ name: String, _ body: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// An extension `Pad(name: text, amount: number)` with `declaration` inside its braces,
    /// called once with "Ann" and 12.50.
    private func flow(_ declaration: String) -> String {
        """
        extension Pad(name: text, amount: number) {
        \(declaration)
        }

        flow Main {
          extension Pad("Ann", 12.50) -> result
          on error {
            finish failure "{error.kind}: {error.message}"
          }
          finish success "done"
        }

        """
    }

    private struct Ran {
        var reply: Reply
        var seconds: Double
    }

    /// Compiles `source` (as `main.flow` in the test's folder), runs the session to the
    /// extension call and hands it to a runner.
    private func run(
        _ source: String, configure: (inout ExtensionRunner.Configuration) -> Void = { _ in },
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Ran {
        let path = directory.appendingPathComponent("main.flow").path
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        let compilation = try Frontend.compile(path: path)
        let program = try XCTUnwrap(compilation.program, "\(compilation.diagnostics.map(\.message))", file: file, line: line)
        let session = try Session(program: program)
        guard case .runExtension(let call) = try session.start().step else {
            XCTFail("the flow did not call its extension", file: file, line: line)
            throw CancellationError()
        }
        var configuration = ExtensionRunner.Configuration()
        configuration.takesTerminal = false
        configuration.gracePeriod = 0.5
        configure(&configuration)
        let runner = ExtensionRunner(
            program: program, sources: compilation.sources, configs: try program.configValues(overrides: [:]),
            configuration: configuration)
        let start = Date()
        let reply = try runner.run(call)
        return Ran(reply: reply, seconds: Date().timeIntervalSince(start))
    }

    private func outputs(_ reply: Reply, file: StaticString = #filePath, line: UInt = #line) -> [String: Value]? {
        guard case .result(let outputs) = reply else {
            XCTFail("expected a result, got \(reply)", file: file, line: line)
            return nil
        }
        return outputs
    }

    private func failure(_ reply: Reply, file: StaticString = #filePath, line: UInt = #line) -> CallFailure? {
        guard case .failure(let failure) = reply else {
            XCTFail("expected a failure, got \(reply)", file: file, line: line)
            return nil
        }
        XCTAssertEqual(failure.kind, "extension", file: file, line: line)
        return failure
    }

    /// Whether `pid` is a process that has not ended (a zombie has ended).
    private func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // `pid (name) S …`: the state follows the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return true }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    private func pid(in file: String) throws -> pid_t {
        let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
        return try XCTUnwrap(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), "no pid in \(file): \(text)")
    }

    // MARK: - The protocol

    func testTheArgumentsArriveOnDescriptor3AndTheOutputsComeBackFrom4() throws {
        try script("echo.sh", "cat <&3 >&4")
        let ran = try run(
            flow("""
                  run "echo.sh"
                  output name: text
                  output amount: number
                """))
        let result = try XCTUnwrap(outputs(ran.reply))
        XCTAssertEqual(result["name"], .text("Ann"))
        // Exact: 12.50 is the decimal 12.5, not a binary fraction.
        XCTAssertEqual(result["amount"], .number(Number(parsing: "12.5")!))
    }

    func testTheInputIsOneJSONObjectByParameterNameWithExactNumbers() throws {
        try script("copy.sh", #"cat <&3 >"$(dirname "$0")/input.json"; printf '{"name": "x"}' >&4"#)
        _ = try run(flow("  run \"copy.sh\"\n  output name: text"))
        let input = try String(contentsOf: directory.appendingPathComponent("input.json"), encoding: .utf8)
        XCTAssertEqual(input, #"{"amount":12.5,"name":"Ann"}"#)
    }

    func testTheEnvironmentNamesTheExtension() throws {
        try script("env.sh", #"printf '{"name": "%s", "amount": 1}' "$FLOW_EXTENSION" >&4"#)
        let ran = try run(
            flow("""
                  run "env.sh"
                  output name: text
                  output amount: number
                """))
        XCTAssertEqual(outputs(ran.reply)?["name"], .text("Pad"))
    }

    func testStandardOutputGoesToTheTerminalNotIntoTheResult() throws {
        try script("talk.sh", #"echo "Please swipe your card"; echo "on stderr" >&2; printf '{"name": "t", "amount": 2}' >&4"#)
        let terminal = directory.appendingPathComponent("terminal.txt").path
        _ = FileManager.default.createFile(atPath: terminal, contents: nil)
        let fd = open(terminal, O_WRONLY | O_APPEND)
        defer { close(fd) }
        let ran = try run(
            flow("""
                  run "talk.sh"
                  output name: text
                  output amount: number
                """),
            configure: {
                $0.standardOutput = fd
                $0.standardError = fd
            })
        XCTAssertEqual(outputs(ran.reply), ["name": .text("t"), "amount": .number(2)])
        XCTAssertEqual(try String(contentsOfFile: terminal, encoding: .utf8), "Please swipe your card\non stderr\n")
    }

    func testOutputsAreConvertedToTheirTypesAndNullIsAccepted() throws {
        try script("types.sh", #"printf '{"name": 42, "amount": "7.25", "extra": true}' >&4"#)
        let ran = try run(
            flow("""
                  run "types.sh"
                  output name: text
                  output amount: number
                """))
        XCTAssertEqual(outputs(ran.reply), ["name": .text("42"), "amount": .number(Number(parsing: "7.25")!)])

        try script("null.sh", #"printf '{"name": null}' >&4"#)
        let null = try run(flow("  run \"null.sh\"\n  output name: text"))
        XCTAssertEqual(outputs(null.reply), ["name": .null])
    }

    func testTheRunPathIsRelativeToTheFlowFileAndCanBeOverridden() throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("extensions"), withIntermediateDirectories: true)
        try script("extensions/pad", #"printf '{"name": "declared"}' >&4"#)
        try script("other.sh", #"printf '{"name": "override"}' >&4"#)
        let source = flow("  run \"extensions/pad\"\n  output name: text")
        // The test's working directory is not the flow's folder.
        XCTAssertNotEqual(FileManager.default.currentDirectoryPath, directory.path)
        XCTAssertEqual(outputs(try run(source).reply), ["name": .text("declared")])
        let other = directory.appendingPathComponent("other.sh").path
        XCTAssertEqual(outputs(try run(source, configure: { $0.executables["Pad"] = other }).reply), ["name": .text("override")])
    }

    func testARunTemplateMayNameAConfig() throws {
        try script("pad-v2", #"printf '{"name": "v2"}' >&4"#)
        let source = "config VERSION = \"v2\"\n" + flow("  run \"pad-{VERSION}\"\n  output name: text")
        XCTAssertEqual(outputs(try run(source).reply), ["name": .text("v2")])
    }

    // MARK: - Failures

    func testANonZeroExitIsAFailure() throws {
        try script("fail.sh", #"echo "declined" >&2; printf '{"name": "x"}' >&4; exit 3"#)
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        let ran = try run(flow("  run \"fail.sh\"\n  output name: text"), configure: { $0.standardError = null })
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' exited with status 3")
    }

    func testDeathByASignalIsAFailure() throws {
        try script("crash.sh", "kill -9 $$")
        let ran = try run(flow("  run \"crash.sh\"\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' was ended by signal 9 (SIGKILL)")
    }

    func testBadJSONIsAFailure() throws {
        try script("bad.sh", #"printf '{"name": ' >&4"#)
        let ran = try run(flow("  run \"bad.sh\"\n  output name: text"))
        let message = try XCTUnwrap(failure(ran.reply)?.message)
        XCTAssertTrue(message.hasPrefix("extension 'Pad' wrote invalid JSON to file descriptor 4: "), message)
    }

    func testNothingWrittenIsAFailure() throws {
        try script("quiet.sh", "exit 0")
        let ran = try run(flow("  run \"quiet.sh\"\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' wrote nothing to file descriptor 4")
    }

    func testAListInsteadOfAnObjectIsAFailure() throws {
        try script("list.sh", #"printf '["x"]' >&4"#)
        let ran = try run(flow("  run \"list.sh\"\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' wrote a list to file descriptor 4, not an object of outputs")
    }

    func testAMissingOutputIsAFailure() throws {
        try script("typo.sh", #"printf '{"nmae": "x"}' >&4"#)
        let ran = try run(flow("  run \"typo.sh\"\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' gave no value for its output 'name'")
    }

    func testAValueOfTheWrongTypeIsAFailure() throws {
        try script("maybe.sh", #"printf '{"paid": "maybe"}' >&4"#)
        let ran = try run(flow("  run \"maybe.sh\"\n  output paid: bool"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' gave text for its output 'paid', which is bool")
    }

    func testAMissingExecutableIsAFailure() throws {
        let ran = try run(flow("  run \"nowhere.sh\"\n  output name: text"))
        let expected = directory.appendingPathComponent("nowhere.sh").path
        XCTAssertEqual(failure(ran.reply)?.message, "cannot start extension 'Pad' from '\(expected)': there is no such file")

        try "not a program".write(to: directory.appendingPathComponent("plain.txt"), atomically: true, encoding: .utf8)
        let plain = try run(flow("  run \"plain.txt\"\n  output name: text"))
        XCTAssertEqual(
            failure(plain.reply)?.message,
            "cannot start extension 'Pad' from '\(directory.appendingPathComponent("plain.txt").path)': it is not an executable file")
    }

    func testTooMuchOutputIsAFailure() throws {
        try script("flood.sh", "yes | head -c 5000 >&4")
        let ran = try run(flow("  run \"flood.sh\"\n  output name: text"), configure: { $0.maxOutputBytes = 1000 })
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' wrote more than 1000 bytes to file descriptor 4")
    }

    func testTheFlowsOnErrorReceivesTheFailure() throws {
        try script("fail.sh", "exit 1")
        let path = directory.appendingPathComponent("main.flow").path
        try flow("  run \"fail.sh\"\n  output name: text").write(toFile: path, atomically: true, encoding: .utf8)
        let compilation = try Frontend.compile(path: path)
        let program = try XCTUnwrap(compilation.program)
        let session = try Session(program: program)
        guard case .runExtension(let call) = try session.start().step else { return XCTFail("no extension call") }
        var configuration = ExtensionRunner.Configuration()
        configuration.takesTerminal = false
        let runner = ExtensionRunner(program: program, sources: compilation.sources, configs: [], configuration: configuration)
        guard case .finished(let outcome) = try session.resume(try runner.run(call)).step else { return XCTFail("not finished") }
        XCTAssertEqual(outcome, Outcome(success: false, reason: "extension: extension 'Pad' exited with status 1"))
    }

    // MARK: - Time limits and processes left behind

    func testATimeoutEndsTheExtensionAndWhatItStarted() throws {
        try script("slow.sh", #"sleep 60 & echo $! >"$(dirname "$0")/child.pid"; wait"#)
        let ran = try run(flow("  run \"slow.sh\"\n  timeout 1\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' did not finish within its timeout of 1 second")
        XCTAssertLessThan(ran.seconds, 10)
        let child = try pid(in: "child.pid")
        XCTAssertFalse(isRunning(child), "the extension's 'sleep 60' (pid \(child)) is still running")
    }

    func testATimeoutKillsWhatIgnoresSIGTERM() throws {
        // An ignored signal stays ignored across exec, so the sleep ignores SIGTERM too.
        try script("stubborn.sh", #"trap '' TERM; sleep 60 & echo $! >"$(dirname "$0")/child.pid"; wait"#)
        let ran = try run(flow("  run \"stubborn.sh\"\n  timeout 0.5\n  output name: text"))
        XCTAssertEqual(failure(ran.reply)?.message, "extension 'Pad' did not finish within its timeout of 0.5 seconds")
        XCTAssertGreaterThanOrEqual(ran.seconds, 1.0, "the grace period (0.5 s) comes before SIGKILL")
        XCTAssertFalse(isRunning(try pid(in: "child.pid")))
    }

    func testProcessesLeftRunningAfterASuccessfulExitAreEnded() throws {
        // The sleep also holds fd 4 open: the runner must not wait for its end of file.
        try script("leaves.sh", #"sleep 60 & echo $! >"$(dirname "$0")/child.pid"; printf '{"name": "ok"}' >&4"#)
        let ran = try run(flow("  run \"leaves.sh\"\n  output name: text"))
        XCTAssertEqual(outputs(ran.reply), ["name": .text("ok")])
        XCTAssertLessThan(ran.seconds, 10)
        XCTAssertFalse(isRunning(try pid(in: "child.pid")))
    }

    /// A process that leaves the extension's group (`setsid`) is not ended with the group; it
    /// used to outlive the run. Now it is found as the host's child once the extension exits, and
    /// ended; so is what it started in its own group, and one that ignores SIGTERM.
    func testProcessesThatLeftTheGroupAreEndedToo() throws {
        try script("escapes.sh", #"""
            dir=$(dirname "$0")
            setsid sh -c 'sleep 60 & echo $! >"$1/grandchild.pid"; trap "" TERM; echo $$ >"$1/child.pid"; wait' sh "$dir" </dev/null >/dev/null 2>&1 &
            while [ ! -s "$dir/child.pid" ] || [ ! -s "$dir/grandchild.pid" ]; do sleep 0.01; done
            printf '{"name": "ok"}' >&4
            """#)
        let ran = try run(flow("  run \"escapes.sh\"\n  output name: text"))
        XCTAssertEqual(outputs(ran.reply), ["name": .text("ok")])
        XCTAssertLessThan(ran.seconds, 10)
        let child = try pid(in: "child.pid")
        let grandchild = try pid(in: "grandchild.pid")
        XCTAssertFalse(isRunning(child), "the process that left the group with setsid (pid \(child)) is still running")
        XCTAssertFalse(isRunning(grandchild), "what it started (pid \(grandchild)) is still running")
    }

    func testAnExtensionThatNeverReadsItsArgumentsDoesNotStopTheHost() throws {
        // 200 kB of arguments fill the pipe; the extension closes fd 3 unread (EPIPE, no SIGPIPE).
        try script("deaf.sh", #"exec 3<&-; printf '{"name": "ok"}' >&4"#)
        let big = String(repeating: "x", count: 200_000)
        let source = """
            extension Pad(blob: text) {
              run "deaf.sh"
              output name: text
            }

            flow Main {
              extension Pad("\(big)") -> (name: result)
              finish success "{result}"
            }

            """
        XCTAssertEqual(outputs(try run(source).reply), ["name": .text("ok")])
    }

    func testASIGTERMToTheHostEndsTheExtensionGroupThenReachesTheHostsHandler() throws {
        try script("slow.sh", #"sleep 60 & echo $! >"$(dirname "$0")/child.pid"; wait"#)
        // The host's own handler: records the signal and returns (flow's exits instead).
        var previous = sigaction()
        var mine = sigaction()
        mine.__sigaction_handler.sa_handler = { _ in hostGotSIGTERM = 1 }
        sigemptyset(&mine.sa_mask)
        sigaction(SIGTERM, &mine, &previous)
        defer { sigaction(SIGTERM, &previous, nil) }
        hostGotSIGTERM = 0

        let childFile = directory.appendingPathComponent("child.pid").path
        let sender = Thread {
            // Once the extension has started its child, the host is told to stop.
            let until = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: childFile) && Date() < until { usleep(10_000) }
            usleep(50_000)
            kill(getpid(), SIGTERM)
        }
        sender.start()
        let start = Date()
        XCTAssertThrowsError(try run(flow("  run \"slow.sh\"\n  timeout 30\n  output name: text"))) { error in
            XCTAssertEqual(error as? ExtensionInterrupted, ExtensionInterrupted(signal: SIGTERM))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertEqual(hostGotSIGTERM, 1, "the host's own SIGTERM handler did not run")
        XCTAssertFalse(isRunning(try pid(in: "child.pid")))
        // The runner's handler is gone again: the host's is back.
        var now = sigaction()
        sigaction(SIGTERM, nil, &now)
        XCTAssertEqual(
            unsafeBitCast(now.__sigaction_handler.sa_handler, to: Int.self),
            unsafeBitCast(mine.__sigaction_handler.sa_handler, to: Int.self))
    }
}

nonisolated(unsafe) private var hostGotSIGTERM: sig_atomic_t = 0
