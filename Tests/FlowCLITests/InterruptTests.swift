import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGINT and SIGTERM during `flow run`, on a pseudo-terminal (`TerminalSession`): while a prompt
/// waits for a password, while an IP call waits for a server that accepted the connection and
/// never answers, and while an extension sleeps with a child process of its own.
///
/// What flow does (README "flow run", "Extensions"; `Interruption` in TerminalInput.swift): it
/// puts the terminal back and exits with 128 + the signal, 130 for SIGINT with
/// `flow: interrupted`, 143 for SIGTERM with `flow: terminated`; an extension's whole process
/// group is ended first (SIGTERM, then SIGKILL after 2 seconds). Each test checks the exit code
/// and the message, that echo and canonical mode are on again (read through a descriptor of the
/// test's own on the same terminal), and, for extensions, that no process of theirs is left.
///
/// Every wait is bounded: the terminal session has a deadline after which flow is killed, and the
/// signal must end the run within a few seconds.
final class InterruptTests: XCTestCase {
    private var directory: URL!
    private var server: HoldingServer?

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-interrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        server = nil
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    // MARK: - At a prompt

    static let pin = """
        flow Ask {
          question PIN: password {
            prompt "Your PIN?"
          }
          response "thanks"
        }

        """

    func testSIGINTAtAPasswordPromptRestoresTheTerminalAndExits130() throws {
        try assertSignalAtThePrompt(SIGINT, exit: 130, message: "flow: interrupted\n")
    }

    func testSIGTERMAtAPasswordPromptRestoresTheTerminalAndExits143() throws {
        try assertSignalAtThePrompt(SIGTERM, exit: 143, message: "flow: terminated\n")
    }

    /// SIGHUP (the terminal window closed, an ssh session dropped) ends the run as the others
    /// do, saying so where standard error still goes (a log, or here the pseudo-terminal).
    func testSIGHUPAtAPasswordPromptRestoresTheTerminalAndExits129() throws {
        try assertSignalAtThePrompt(SIGHUP, exit: 129, message: "flow: hung up\n")
    }

    private func assertSignalAtThePrompt(_ signal: Int32, exit: Int32, message: String, line: UInt = #line) throws {
        let terminal = try TerminalSession(["run", try write("pin.flow", Self.pin)], timeout: 30)
        try terminal.expect("Your PIN? (not shown as you type)\n> ")
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running", line: line)
        let probe = try TerminalProbe(of: flow)
        XCTAssertFalse(probe.echo, "echo should be off while a password is typed", line: line)
        terminal.type("12")
        // The kernel hands typed bytes to the line discipline asynchronously: let it take them
        // while echo is still off, or the restored terminal would echo them after the signal.
        Thread.sleep(forTimeInterval: 0.2)
        let sent = Date()
        kill(flow, signal)
        try terminal.expect(message)
        XCTAssertEqual(try terminal.waitForExit(), exit, terminal.output, line: line)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5, line: line)
        XCTAssertTrue(probe.echo, "the terminal was left with echo off", line: line)
        XCTAssertTrue(probe.canonical, "the terminal was left out of canonical mode", line: line)
        XCTAssertFalse(terminal.output.contains("thanks") || terminal.output.contains("12"), terminal.output, line: line)
    }

    /// Scripted (standard input a pipe that stays open): SIGTERM while flow waits for a line.
    func testSIGTERMWhileAScriptedRunWaitsForAnAnswer() throws {
        let path = try write("name.flow", "flow A {\n  question Name: text\n  response \"Hello {Name}\"\n}\n")
        let process = Process()
        process.executableURL = FlowProcess.binary
        process.arguments = ["run", path]
        process.environment = FlowProcess.environment([:])
        let input = Pipe()
        let errors = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? input.fileHandleForWriting.close()
        }
        // Flow's handler is in just before it asks; then it waits for the line.
        let until = Date().addingTimeInterval(10)
        while Date() < until && !FlowProcesses.catches(process.processIdentifier, SIGTERM) { usleep(10_000) }
        XCTAssertTrue(FlowProcesses.catches(process.processIdentifier, SIGTERM), "flow never got ready for its answer")
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertFalse(process.isRunning, "flow did not end within 5 s of SIGTERM")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 143)
        XCTAssertEqual(try String(contentsOf: errors, encoding: .utf8), "\nflow: terminated\n")
    }

    // MARK: - During an IP call

    private func holdFlow() throws -> String {
        let server = try HoldingServer()
        self.server = server
        return try write("hold.flow", """
            ip Hold() {
              GET "http://127.0.0.1:\(server.port)/hold"
              timeout 120
              output x: text = json "x"
            }

            flow Call {
              ip Hold() -> (x: x)
              response "got {x}"
            }

            """)
    }

    func testControlCDuringAnIPCallThatNeverAnswersExits130() throws {
        let path = try holdFlow()
        let terminal = try TerminalSession(["run", path], timeout: 30)
        try XCTUnwrap(server).waitForRequest(timeout: 10)
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running")
        let probe = try TerminalProbe(of: flow)
        let sent = Date()
        terminal.type("\u{03}")  // Ctrl-C: SIGINT to the foreground job, flow
        try terminal.expect("flow: interrupted\n")
        XCTAssertEqual(try terminal.waitForExit(), 130, terminal.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5)
        XCTAssertTrue(probe.echo && probe.canonical, "the terminal was not restored")
        XCTAssertFalse(terminal.output.contains("got"), terminal.output)
    }

    func testSIGTERMDuringAnIPCallThatNeverAnswersExits143() throws {
        let path = try holdFlow()
        let terminal = try TerminalSession(["run", path], timeout: 30)
        try XCTUnwrap(server).waitForRequest(timeout: 10)
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running")
        let probe = try TerminalProbe(of: flow)
        let sent = Date()
        kill(flow, SIGTERM)
        try terminal.expect("flow: terminated\n")
        XCTAssertEqual(try terminal.waitForExit(), 143, terminal.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5)
        XCTAssertTrue(probe.echo && probe.canonical, "the terminal was not restored")
    }

    // MARK: - During an extension

    /// An extension that records its pid and its child's, starts the child (a `sleep`, which
    /// ignores SIGTERM when `stubborn`), turns echo and canonical mode off, says so, and waits.
    private func sleeperFlow(stubborn: Bool = false) throws -> String {
        // The stubborn child says when its trap is set, and the script waits for that before it
        // says it is waiting: a SIGTERM sent earlier would end the child before it ignores it.
        let child = stubborn
            ? #"sh -c 'trap "" TERM INT; : > "$0/trapped"; exec sleep 300' "$dir" &"#
            : "sleep 300 &"
        let ready = stubborn ? #"while [ ! -e "$dir/trapped" ]; do sleep 0.01; done"# : ""
        let script = try write("sleeper.sh", """
            #!/bin/sh
            dir=$(dirname "$0")
            echo $$ > "$dir/extension.pid"
            \(child)
            echo $! > "$dir/child.pid"
            \(ready)
            stty -echo -icanon
            echo "sleeper is waiting"
            wait

            """)
        chmod(script, 0o755)
        return try write("sleeper.flow", """
            extension Sleeper {
              run "sleeper.sh"
              output done: text
            }

            flow Wait {
              extension Sleeper -> (done: done)
              response "woke up: {done}"
            }

            """)
    }

    func testControlCDuringAnExtensionEndsItAndItsChildAndExits130() throws {
        let terminal = try TerminalSession(["run", try sleeperFlow()], timeout: 30)
        try terminal.expect("sleeper is waiting\n")
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running")
        let probe = try TerminalProbe(of: flow)
        XCTAssertFalse(probe.echo || probe.canonical, "the extension should have turned echo and canonical mode off")
        let sent = Date()
        // Ctrl-C reaches the extension (the foreground job), not flow; its child, started in
        // the background by a script, ignores SIGINT and is ended by flow with the group.
        terminal.type("\u{03}")
        try terminal.expect("flow: interrupted\n")
        XCTAssertEqual(try terminal.waitForExit(), 130, terminal.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5)
        XCTAssertTrue(probe.echo, "the terminal was left with echo off")
        XCTAssertTrue(probe.canonical, "the terminal was left out of canonical mode")
        try assertNothingLeft()
    }

    func testSIGINTToFlowDuringAnExtensionEndsItAndItsChildAndExits130() throws {
        let terminal = try TerminalSession(["run", try sleeperFlow()], timeout: 30)
        try terminal.expect("sleeper is waiting\n")
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running")
        let probe = try TerminalProbe(of: flow)
        let sent = Date()
        kill(flow, SIGINT)
        try terminal.expect("flow: interrupted\n")
        XCTAssertEqual(try terminal.waitForExit(), 130, terminal.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5)
        XCTAssertTrue(probe.echo && probe.canonical, "the terminal was not restored")
        try assertNothingLeft()
    }

    /// The child ignores SIGTERM, so it is ended by the SIGKILL that follows 2 seconds later.
    func testSIGTERMToFlowDuringAnExtensionEndsEvenAChildThatIgnoresItAndExits143() throws {
        let terminal = try TerminalSession(["run", try sleeperFlow(stubborn: true)], timeout: 30)
        try terminal.expect("sleeper is waiting\n")
        let flow = try XCTUnwrap(FlowProcesses.flow(), "flow is not running")
        let probe = try TerminalProbe(of: flow)
        let sent = Date()
        kill(flow, SIGTERM)
        try terminal.expect("flow: terminated\n")
        XCTAssertEqual(try terminal.waitForExit(), 143, terminal.output)
        let took = Date().timeIntervalSince(sent)
        XCTAssertGreaterThan(took, 1.5, "the grace period before SIGKILL was skipped")
        XCTAssertLessThan(took, 8)
        XCTAssertTrue(probe.echo && probe.canonical, "the terminal was not restored")
        try assertNothingLeft()
    }

    // MARK: - Helpers

    private func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The extension and its child, by the pids they wrote, are gone (or zombies, already dead).
    private func assertNothingLeft(line: UInt = #line) throws {
        for name in ["extension.pid", "child.pid"] {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let pid = try XCTUnwrap(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), name, line: line)
            // Killed processes may take a moment to be reaped by whoever adopted them.
            let until = Date().addingTimeInterval(3)
            while FlowProcesses.isAlive(pid) && Date() < until { usleep(20_000) }
            XCTAssertFalse(FlowProcesses.isAlive(pid), "\(name) \(pid) outlived flow: \(FlowProcesses.commandLine(pid))", line: line)
        }
    }
}

/// Processes looked at through /proc.
enum FlowProcesses {
    /// The `flow` this test process started and that is still running (the newest, if several).
    static func flow() -> pid_t? {
        let binary = FlowProcess.binary.resolvingSymlinksInPath().path
        // `flow run` and `flow ip` replace the process with flow-net beside flow (the same pid).
        let network = FlowProcess.binary.deletingLastPathComponent().appendingPathComponent("flow-net").resolvingSymlinksInPath().path
        let me = getpid()
        var found: [(pid: pid_t, start: Int)] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = stat(pid), stat.parent == me, stat.state != "Z" else { continue }
            let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
            guard exe == binary || exe == network else { continue }
            found.append((pid, stat.start))
        }
        return found.max { $0.start < $1.start }?.pid
    }

    /// State, parent and start time from /proc/PID/stat (the command name, in parentheses, may
    /// hold spaces, so the fields are read after its closing parenthesis).
    static func stat(_ pid: pid_t) -> (state: Character, parent: pid_t, start: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let parent = pid_t(fields[1]), let start = Int(fields[19]) else {
            return nil
        }
        return (state, parent, start)
    }

    /// Alive: in /proc and not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let state = stat(pid)?.state else { return false }
        return state != "Z" && state != "X"
    }

    /// Whether the process has a handler for `signal` (its bit in `SigCgt` of /proc/PID/status).
    static func catches(_ pid: pid_t, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        for line in status.split(separator: "\n") where line.hasPrefix("SigCgt:") {
            let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
            return mask & (1 << UInt64(signal - 1)) != 0
        }
        return false
    }

    static func commandLine(_ pid: pid_t) -> String {
        guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "?" }
        return String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}

/// The terminal a process has as standard input, opened again by the test (through
/// /proc/PID/fd/0) so its settings can be read after the process has gone.
final class TerminalProbe {
    private let descriptor: Int32

    init(of pid: pid_t) throws {
        descriptor = open("/proc/\(pid)/fd/0", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard descriptor >= 0, isatty(descriptor) != 0 else {
            throw FlowProcessError("cannot open the terminal of \(pid): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    private var flags: tcflag_t? {
        var settings = termios()
        guard tcgetattr(descriptor, &settings) == 0 else { return nil }
        return settings.c_lflag
    }

    var echo: Bool { (flags ?? 0) & tcflag_t(ECHO) != 0 }
    var canonical: Bool { (flags ?? 0) & tcflag_t(ICANON) != 0 }
}

/// A server on 127.0.0.1 that accepts connections, reads what comes, and never answers: an IP
/// call to it stays in flight until the caller gives up. Its sockets are close-on-exec, so no
/// process the test starts keeps one open.
final class HoldingServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [Int32] = []
    private var stopped = false
    private let requested = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        (listener, port) = try listenOnLoopback(backlog: 16)
        Thread { [self] in serve() }.start()
    }

    /// Accepts and reads until stopped, polling so that `stop` is noticed within 100 ms.
    private func serve() {
        defer { finished.signal() }
        var open: [Int32] = []
        var signalled = false
        while !isStopped {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] + open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 100) > 0 else { continue }
            if fds[0].revents != 0 {
                let connection = accept(listener, nil, nil)
                if connection >= 0 {
                    _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                    open.append(connection)
                    lock.withLock { connections.append(connection) }
                }
            }
            for item in fds.dropFirst() where item.revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = buffer.withUnsafeMutableBytes { read(item.fd, $0.baseAddress, $0.count) }
                if n > 0 && !signalled {
                    signalled = true
                    requested.signal()
                } else if n <= 0 {
                    open.removeAll { $0 == item.fd }  // the caller went away; closed in stop()
                }
            }
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Waits until a request has arrived (the call is in flight).
    func waitForRequest(timeout: TimeInterval) throws {
        guard requested.wait(timeout: .now() + timeout) == .success else {
            throw FlowProcessError("no request reached the server within \(Int(timeout)) s")
        }
    }

    func stop() {
        lock.withLock { stopped = true }
        _ = finished.wait(timeout: .now() + 5)
        lock.withLock { connections.forEach { close($0) } }
        close(listener)
    }
}
