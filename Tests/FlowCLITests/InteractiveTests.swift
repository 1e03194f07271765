import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow run` at a terminal, end to end: the binary runs in its own session with a pseudo-terminal
/// as its controlling terminal and as standard input, output and error; the test types into the
/// master side and reads what the terminal shows. Every wait is bounded, so a test can fail but
/// never hang.
final class InteractiveTests: XCTestCase {
    static let interview = """
        flow Interview {
          page Who {
            title "About you"
            question Name: text {
              prompt "What is your name?"
            }
          }
          question Amount: currency {
            prompt "How much would you like to pay?"
            min 0.50
            default 5
          }
          question PIN: password {
            prompt "Your PIN?"
            pattern "[0-9]\\{4\\}"
          }
          question Colour: choice {
            prompt "Pick a colour"
            options "Red", "Green"
          }
          response "Thanks {Who.Name}, that is {Amount}. You picked {Colour}."
        }

        """

    func interviewFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-pty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("interview.flow").path
        try Self.interview.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testAConversationWithBackARefusedAnswerAndAPassword() throws {
        let terminal = try TerminalSession(["run", try interviewFile()])
        try terminal.expect("About you\nWhat is your name?\n> ")
        terminal.type("back\n")
        try terminal.expect("there is no earlier page to go back to\nWhat is your name?\n> ")
        terminal.type("Ann\n")
        try terminal.expect("How much would you like to pay? [5.00]\n> ")
        terminal.type("back\n")
        try terminal.expect("About you\nWhat is your name?\n> ")
        terminal.type("Bea\n")
        try terminal.expect("How much would you like to pay? [5.00]\n> ")
        terminal.type("0.10\n")
        try terminal.expect("not accepted: enter at least 0.50\nHow much would you like to pay? [5.00]\n> ")
        terminal.type("2.50\n")
        try terminal.expect("Your PIN? (not shown as you type)\n> ")
        terminal.type("9753\n")
        try terminal.expect("Pick a colour\n  1. Red\n  2. Green\n> ")
        terminal.type("2\n")
        try terminal.expect("Thanks Bea, that is 2.50. You picked Green.\nfinished: success\n")
        XCTAssertEqual(try terminal.waitForExit(), 0)
        // What was typed is echoed by the terminal, except the PIN.
        XCTAssertTrue(terminal.output.contains("> Bea\n"), terminal.output)
        XCTAssertTrue(terminal.output.contains("> 0.10\n"), terminal.output)
        XCTAssertFalse(terminal.output.contains("9753"), terminal.output)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")
    }

    /// Issue 14: "maybe" for a yes/no was refused only after every question of the page had been
    /// asked; now it is refused as soon as it is typed, and the same question is asked again.
    func testAnAnswerIsRefusedAsSoonAsItIsTyped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-pty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("outage.flow").path
        try """
            flow Outage {
              page Service {
                question Down: yesno {
                  prompt "Is the service down?"
                }
                question Since: text {
                  prompt "Since when?"
                }
              }
              response "Noted, since {Service.Since}."
            }

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let terminal = try TerminalSession(["run", path])
        try terminal.expect("Is the service down? (yes/no)\n> ")
        terminal.type("maybe\n")
        try terminal.expect("not accepted: answer yes or no\nIs the service down? (yes/no)\n> ")
        XCTAssertFalse(terminal.output.contains("Since when?"), terminal.output)
        terminal.type("yes\n")
        try terminal.expect("Since when?\n> ")
        terminal.type("Monday\n")
        try terminal.expect("Noted, since Monday.\nfinished: success\n")
        XCTAssertEqual(try terminal.waitForExit(), 0)
    }

    func testARefusedPasswordIsAskedAgainWithoutShowingIt() throws {
        let terminal = try TerminalSession(["run", try interviewFile()])
        try terminal.expect("What is your name?\n> ")
        terminal.type("Ann\n")
        try terminal.expect("> ")
        terminal.type("\n")  // the default
        try terminal.expect("Your PIN? (not shown as you type)\n> ")
        terminal.type("12a4\n")
        try terminal.expect("not accepted: enter an answer that matches the pattern '[0-9]{4}'\nYour PIN? (not shown as you type)\n> ")
        terminal.type("1234\n")
        try terminal.expect("Pick a colour\n  1. Red\n  2. Green\n> ")
        terminal.type("red\n")
        try terminal.expect("Thanks Ann, that is 5.00. You picked Red.\nfinished: success\n")
        XCTAssertEqual(try terminal.waitForExit(), 0)
        XCTAssertFalse(terminal.output.contains("12a4") || terminal.output.contains("1234"), terminal.output)
    }

    func testControlDEndsTheRunWithAMessage() throws {
        let terminal = try TerminalSession(["run", try interviewFile()])
        try terminal.expect("What is your name?\n> ")
        terminal.type("\u{04}")
        try terminal.expect("flow: input ended before the flow finished\n")
        XCTAssertEqual(try terminal.waitForExit(), 1)
        XCTAssertFalse(terminal.output.contains("Fatal") || terminal.output.contains("backtrace"), terminal.output)
    }

    func testControlCAtThePasswordRestoresTheTerminalAndExits130() throws {
        let terminal = try TerminalSession(["run", try interviewFile(), "--answer", "Who.Name=Ann", "--answer", "Amount=1"])
        // Scripted answers are used first, and shown.
        try terminal.expect("About you\nWhat is your name?\n> Ann (given)\nHow much would you like to pay? [5.00]\n> 1 (given)\n")
        try terminal.expect("Your PIN? (not shown as you type)\n> ")
        XCTAssertFalse(terminal.echoIsOn, "echo should be off while a password is typed")
        terminal.type("\u{03}")
        try terminal.expect("flow: interrupted\n")
        XCTAssertEqual(try terminal.waitForExit(), 130)
        XCTAssertTrue(terminal.echoIsOn, "the terminal was left with echo off")
    }

    func testThePaymentExampleAtATerminal() throws {
        let terminal = try TerminalSession([
            "run", FlowProcess.packageRoot.appendingPathComponent("flows/payment.flow").path,
            "--stub", #"Tokenize={"token": "tok_visa"}"#,
            "--stub", #"StripeCharge={"error": {"status": 402, "message": "Your card was declined."}}"#,
        ])
        try terminal.expect("How much would you like to pay today, in US dollars?\n> ")
        terminal.type("twelve\n")
        try terminal.expect("not accepted: enter an amount like 12.50\n")
        try terminal.expect("> ")
        terminal.type("12\n")
        try terminal.expect(
            "Your card was declined: Your card was declined.\nfinished: failure: charge failed: Your card was declined.\n")
        XCTAssertEqual(try terminal.waitForExit(), 1)
    }

    func testJSONAtATerminalKeepsTheConversationOffStandardOutput() throws {
        // Here standard output is the terminal too, so this only checks that the object comes last.
        let terminal = try TerminalSession([
            "run", FlowProcess.packageRoot.appendingPathComponent("flows/payment.flow").path, "--json",
            "--stub", #"Tokenize={"token": "tok_visa"}"#,
            "--stub", #"StripeCharge={"id": "ch_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": ""}"#,
        ])
        try terminal.expect("> ")
        terminal.type("4\n")
        try terminal.expect(#"{"responses": ["You paid 4.00. Your charge reference is ch_1."], "outcome": "success", "reason": "charged 400 cents as ch_1", "steps": "#)
        XCTAssertEqual(try terminal.waitForExit(), 0)
    }
}

/// `flow` running on a pseudo-terminal: spawned with `posix_spawn` in a new session
/// (`POSIX_SPAWN_SETSID`), opening the terminal's slave side as standard input, which makes it
/// the controlling terminal (so Ctrl-C sends SIGINT), then duplicating it to standard output and
/// error. The test keeps the master side to type and read, and a slave descriptor of its own to
/// look at the terminal's settings.
final class TerminalSession {
    private let master: Int32
    private let slave: Int32
    private let pid: pid_t
    private var exited: Int32?
    /// Everything the terminal showed so far, without the `\r` of the terminal's line ends.
    private var bytes: [UInt8] = []
    var output: String { String(decoding: bytes, as: UTF8.self) }
    /// Where the next `expect` starts looking, in `bytes`.
    private var cursor = 0

    init(_ arguments: [String], timeout: TimeInterval = 20) throws {
        let pty = try PseudoTerminalFunctions()
        let master = pty.openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, pty.grantpt(master) == 0, pty.unlockpt(master) == 0, let name = pty.ptsname(master) else {
            throw XCTSkip("no pseudo-terminal available")
        }
        let slavePath = String(cString: name)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else {
            close(master)
            throw XCTSkip("cannot open the pseudo-terminal")
        }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slave, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        #if os(Linux)
            let newSession: Int32 = 0x80  // POSIX_SPAWN_SETSID, hidden behind _GNU_SOURCE
        #else
            let newSession = Int32(POSIX_SPAWN_SETSID)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(newSession | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)))
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let binary = FlowProcess.binary.path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw FlowProcessError("no flow executable at '\(binary)': run 'swift build --product flow' first")
        }
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = FlowProcess.environment(["TERM": "xterm"]).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        guard status == 0 else {
            close(master)
            close(slave)
            throw FlowProcessError("posix_spawn failed: \(status)")
        }
        self.master = master
        self.slave = slave
        self.pid = pid
        self.deadline = Date().addingTimeInterval(timeout)
    }

    /// The whole session must end by then.
    private let deadline: Date

    deinit {
        if exited == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
        close(slave)
    }

    func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Waits until the terminal has shown `text` after what earlier expectations matched.
    func expect(_ text: String, timeout: TimeInterval = 10, file: StaticString = #filePath, line: UInt = #line) throws {
        let until = min(deadline, Date().addingTimeInterval(timeout))
        let wanted = Array(text.utf8)
        while true {
            if let found = Self.find(wanted, in: bytes, from: cursor) {
                cursor = found + wanted.count
                return
            }
            let left = until.timeIntervalSinceNow
            guard left > 0, readSome(waiting: left) else {
                XCTFail("the terminal never showed \(String(reflecting: text)); it showed:\n\(output)", file: file, line: line)
                throw FlowProcessError("timed out")
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count - start >= needle.count else { return needle.isEmpty ? start : nil }
        for i in start...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    /// Reads what is there, waiting at most `seconds` (and at most one second); false when the
    /// terminal has closed.
    private func readSome(waiting seconds: TimeInterval) -> Bool {
        var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(max(1, min(seconds, 1) * 1000)))
        if ready < 0 { return errno == EINTR }
        if ready == 0 { return true }  // nothing yet; the caller checks its deadline
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        guard n > 0 else { return false }
        bytes += buffer[..<n].filter { $0 != UInt8(ascii: "\r") }
        return true
    }

    /// Whether the terminal echoes what is typed (looked at through the test's own descriptor).
    var echoIsOn: Bool {
        var settings = termios()
        guard tcgetattr(slave, &settings) == 0 else { return false }
        return settings.c_lflag & tcflag_t(ECHO) != 0
    }

    /// The exit status, once the process has exited (killed after the deadline).
    func waitForExit() throws -> Int32 {
        if let exited { return exited }
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                exited = -1
                throw FlowProcessError("flow did not exit in time; the terminal showed:\n\(output)")
            }
            _ = readSome(waiting: 0.05)
        }
        // Exited normally: the status; killed by a signal: 128 + its number, as a shell shows it.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exited = code
        return code
    }
}
