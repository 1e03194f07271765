import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a flow's extension as a process on the user's side and turns what it hands back into the
/// session's `Reply`.
///
/// The protocol (README "Extensions"):
/// - The executable is the declaration's `run "path"`, relative to the folder of the file that
///   declares the extension (an absolute path stays as is), unless the host names another one
///   (`flow run --extension Name=PATH`).
/// - Standard input, output and error are the host's (the user's terminal), so the extension can
///   talk to the user; the host writes nothing to the terminal while it runs.
/// - File descriptor 3: the arguments, one JSON object keyed by parameter name (numbers exact,
///   as the flow has them), then end of file.
/// - File descriptor 4: the extension writes one JSON object keyed by output name and exits 0.
///   Keys that are not outputs are ignored; `null` is accepted for any output, as from an API.
/// - Environment: the host's, without the program's secrets, plus `FLOW_EXTENSION=<name>`.
/// - A non-zero exit, death by a signal, nothing or invalid JSON on fd 4, a missing output, a value
///   that does not fit its output's type, or running longer than `timeout` seconds (default 300)
///   is a failure with `error.kind` "extension" and a message saying which.
///
/// Process design note: the extension is started with `posix_spawn` in a process group of its own
/// (so it, and whatever it starts, can be ended together), with default signal dispositions and
/// an empty signal mask. When the host is the foreground job of a controlling terminal, the
/// extension's group becomes the foreground job while it runs (as a shell does for a job), so it
/// can read the terminal and Ctrl-C reaches it; afterwards the host takes the terminal back and
/// restores the terminal settings saved before, so an extension killed with echo off does not
/// leave echo off. On Linux the host becomes a child subreaper, so processes the extension leaves
/// behind are reparented to the host and can be reaped, not left as zombies.
///
/// The group is ended (SIGTERM, then SIGKILL after `gracePeriod`) when the extension times out,
/// when it has exited and left processes behind, and when the host gets SIGINT, SIGTERM or SIGHUP
/// while it runs: handlers installed for the run end the group, put the terminal back, then
/// restore the host's own handlers and raise the signal again, so the host ends as it would have.
/// One extension runs at a time per process.
public struct ExtensionRunner: Sendable {
    public struct Configuration: Sendable {
        /// Executables by extension name, instead of the declaration's `run` (`--extension`);
        /// relative paths are relative to the current directory.
        public var executables: [String: String] = [:]
        /// The environment the extension gets, with `FLOW_EXTENSION` added.
        public var environment: [String: String] = ProcessInfo.processInfo.environment
        /// The descriptors the extension gets as its standard input, output and error.
        public var standardInput: Int32 = 0
        public var standardOutput: Int32 = 1
        public var standardError: Int32 = 2
        /// Whether to make the extension the foreground job of the controlling terminal, when the
        /// host is the foreground job. Tests that run in-process turn this off.
        public var takesTerminal = true
        /// Seconds between SIGTERM and SIGKILL when the extension's group is ended.
        public var gracePeriod: Double = 2
        /// When a declaration has no `timeout`.
        public var defaultTimeout: Double = 300
        /// More than this on file descriptor 4 is a failure.
        public var maxOutputBytes = 1 << 20

        public init() {}
    }

    let program: Program
    let sources: SourceManager
    let configs: [Value]
    let configuration: Configuration

    /// `configs` are the program's config values in declaration order
    /// (`Program.configValues(overrides:)`), for a `run` or `timeout` that names a config.
    public init(program: Program, sources: SourceManager, configs: [Value], configuration: Configuration = Configuration()) {
        self.program = program
        self.sources = sources
        self.configs = configs
        self.configuration = configuration
    }

    /// Runs the extension `call` asks for and waits for it. Throws only when the run was
    /// interrupted: the extension died of SIGINT (Ctrl-C typed while it had the terminal), or the
    /// host got a signal and its own handler returned; the host should stop as for that signal.
    public func run(_ call: CallRequest) throws(ExtensionInterrupted) -> Reply {
        let declaration = program.extensions[call.index]
        let name = declaration.name
        let arguments = Dictionary(call.arguments.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })

        let path: String
        switch executable(declaration, arguments) {
        case .success(let p): path = p
        case .failure(let problem): return .failure(problem.failure)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(ExtensionProblem.cannotStart(name, path, "there is no such file").failure)
        }
        guard !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: path) else {
            return .failure(ExtensionProblem.cannotStart(name, path, "it is not an executable file").failure)
        }
        let timeout: Double
        switch self.timeout(declaration, arguments) {
        case .success(let t): timeout = t
        case .failure(let problem): return .failure(problem.failure)
        }

        let input = Array(Value.object(arguments).jsonText().utf8)
        var environment = configuration.environment
        // A flow's secrets are for its integration points' requests alone: an extension runs on
        // the customer's side, so it does not get those given through the environment.
        for secret in program.secrets { environment[secret.name] = nil }
        environment["FLOW_EXTENSION"] = name
        let end: ChildEnd
        do throws(ExtensionProblem) {
            end = try ChildProcess.run(
                path: path, name: name, input: input, environment: environment, timeout: timeout, configuration: configuration)
        } catch {
            return .failure(error.failure)
        }
        switch end.how {
        case .interrupted(let signal):
            throw ExtensionInterrupted(signal: signal)
        case .signaled(SIGINT) where end.hadTerminal:
            throw ExtensionInterrupted(signal: SIGINT)
        case .signaled(let signal):
            return .failure(ExtensionProblem.killed(name, signal).failure)
        case .exited(let status) where status != 0:
            return .failure(ExtensionProblem.exited(name, status).failure)
        case .timedOut:
            return .failure(ExtensionProblem.timedOut(name, timeout).failure)
        case .outputTooLarge:
            return .failure(ExtensionProblem.outputTooLarge(name, configuration.maxOutputBytes).failure)
        case .needsTerminal:
            return .failure(ExtensionProblem.needsTerminal(name).failure)
        case .exited:
            return reply(end.output, declaration)
        }
    }

    /// The outputs in `bytes`, checked against the declaration.
    func reply(_ bytes: [UInt8], _ declaration: ExtensionInfo) -> Reply {
        let name = declaration.name
        guard bytes.contains(where: { !Self.isBlank($0) }) else {
            return .failure(ExtensionProblem.noOutput(name).failure)
        }
        let value: Value
        do throws(JSONReadError) {
            value = try Value.fromJSON(Data(bytes))
        } catch {
            return .failure(ExtensionProblem.badJSON(name, error.description).failure)
        }
        guard case .object(let fields) = value else {
            return .failure(ExtensionProblem.notAnObject(name, value.kindName).failure)
        }
        var outputs: [String: Value] = [:]
        for output in declaration.outputs {
            guard let v = fields[output.name] else {
                return .failure(ExtensionProblem.missingOutput(name, output.name).failure)
            }
            guard let typed = v == .null ? .null : v.coerced(to: output.type) else {
                return .failure(ExtensionProblem.wrongType(name, output.name, output.type, v.kindName).failure)
            }
            outputs[output.name] = typed
        }
        return .result(outputs)
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    // MARK: - The declaration's `run` and `timeout`

    /// The path to start: `--extension` first, else `run` relative to the declaring file's folder.
    func executable(_ declaration: ExtensionInfo, _ arguments: [String: Value]) -> Result<String, ExtensionProblem> {
        if let override = configuration.executables[declaration.name] {
            return .success(Self.resolved(override, relativeTo: FileManager.default.currentDirectoryPath))
        }
        guard let command = declaration.declaration.command else {
            return .failure(.noRun(declaration.name))
        }
        guard case .text(let text)? = evaluate(command, arguments), !text.isEmpty else {
            return .failure(.unsupported(declaration.name, "run"))
        }
        let file = sources[declaration.range.file].path
        let folder = (file as NSString).deletingLastPathComponent
        return .success(Self.resolved(text, relativeTo: folder.isEmpty ? "." : folder))
    }

    func timeout(_ declaration: ExtensionInfo, _ arguments: [String: Value]) -> Result<Double, ExtensionProblem> {
        guard let e = declaration.declaration.timeout else { return .success(configuration.defaultTimeout) }
        guard case .number(let n)? = evaluate(e, arguments)?.coerced(to: .number) else {
            return .failure(.unsupported(declaration.name, "timeout"))
        }
        let seconds = NSDecimalNumber(decimal: n.decimal).doubleValue
        guard seconds > 0, seconds.isFinite else { return .failure(.unsupported(declaration.name, "timeout")) }
        return .success(seconds)
    }

    /// `run` and `timeout` are checked by the compiler (text and number) but not kept in a typed
    /// form, so the host evaluates the forms they take in practice: literals, templates, and the
    /// names of configs and of the extension's parameters. Anything else is nil.
    private func evaluate(_ e: Expr, _ arguments: [String: Value]) -> Value? {
        switch e.kind {
        case .string(let s): return .text(s)
        case .number(let s): return Number(parsing: s).map { .number($0) }
        case .name(let n):
            if let v = arguments[n] { return v }
            if let i = program.configs.firstIndex(where: { $0.name == n }), i < configs.count { return configs[i] }
            return nil
        case .template(let parts):
            var text = ""
            for part in parts {
                switch part {
                case .text(let t): text += t
                case .expr(let inner):
                    guard let v = evaluate(inner, arguments) else { return nil }
                    text += v.displayText()
                }
            }
            return .text(text)
        default: return nil
        }
    }

    private static func resolved(_ path: String, relativeTo folder: String) -> String {
        path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
    }
}

/// The extension was interrupted: the host should stop as it does for `signal`.
public struct ExtensionInterrupted: Error, Sendable, Equatable {
    public var signal: Int32
    public init(signal: Int32) { self.signal = signal }
}

/// Why an extension call failed: the catalogue of `error.message`s for `error.kind` "extension",
/// sorted. Each case shows what causes it, with a one-line example where there is one.
enum ExtensionProblem: Error, Equatable {
    /// `printf '{"token": "x"' >&4`: (name, the reader's message)
    case badJSON(String, String)
    /// the program is missing or not an executable file: (name, path, reason)
    case cannotStart(String, String, String)
    /// `exit 1`: (name, status)
    case exited(String, Int32)
    /// `kill -SEGV $$`: (name, signal)
    case killed(String, Int32)
    /// `printf '{"tokn": "x"}' >&4` for `output token: text`: (name, output)
    case missingOutput(String, String)
    /// it read the terminal while flow is not the terminal's foreground job
    case needsTerminal(String)
    /// `exit 0` without writing to fd 4
    case noOutput(String)
    /// an extension declared without `run` (the checker reports it too)
    case noRun(String)
    /// `printf '[1]' >&4`: (name, the kind of value written)
    case notAnObject(String, String)
    /// more than `maxOutputBytes` on fd 4: (name, the limit)
    case outputTooLarge(String, Int)
    /// `posix_spawn` refused: (name, path, reason)
    case spawnFailed(String, String, String)
    /// `sleep 600` with `timeout 300`: (name, seconds)
    case timedOut(String, Double)
    /// `run` or `timeout` in a form the host cannot evaluate: (name, which)
    case unsupported(String, String)
    /// `printf '{"paid": "maybe"}' >&4` for `output paid: bool`: (name, output, type, kind written)
    case wrongType(String, String, ValueType, String)

    var message: String {
        switch self {
        case .badJSON(let n, let detail): "extension '\(n)' wrote invalid JSON to file descriptor 4: \(detail)"
        case .cannotStart(let n, let path, let reason): "cannot start extension '\(n)' from '\(path)': \(reason)"
        case .exited(let n, let status): "extension '\(n)' exited with status \(status)"
        case .killed(let n, let signal): "extension '\(n)' was ended by signal \(signal) (\(Self.signalName(signal)))"
        case .missingOutput(let n, let output): "extension '\(n)' gave no value for its output '\(output)'"
        case .needsTerminal(let n): "extension '\(n)' needs the terminal, but flow is not its foreground job"
        case .noOutput(let n): "extension '\(n)' wrote nothing to file descriptor 4"
        case .noRun(let n): "extension '\(n)' has no 'run'"
        case .notAnObject(let n, let kind): "extension '\(n)' wrote \(kind) to file descriptor 4, not an object of outputs"
        case .outputTooLarge(let n, let limit): "extension '\(n)' wrote more than \(limit) bytes to file descriptor 4"
        case .spawnFailed(let n, let path, let reason): "cannot start extension '\(n)' from '\(path)': \(reason)"
        case .timedOut(let n, let seconds): "extension '\(n)' did not finish within its timeout of \(Self.seconds(seconds))"
        case .unsupported(let n, let which):
            "cannot evaluate '\(which)' of extension '\(n)': use text or a number, a template, a config or a parameter"
        case .wrongType(let n, let output, let type, let kind): "extension '\(n)' gave \(kind) for its output '\(output)', which is \(type)"
        }
    }

    var failure: CallFailure { CallFailure(kind: "extension", message: message) }

    private static func seconds(_ s: Double) -> String {
        let whole = s == s.rounded() && abs(s) < 1e15
        let text = whole ? String(Int(s)) : String(s)
        return text + (s == 1 ? " second" : " seconds")
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}

// MARK: - The process

/// How the extension's process ended, and what it wrote to fd 4.
struct ChildEnd {
    enum How: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case outputTooLarge
        case needsTerminal
        /// The host got this signal while the extension ran, and its own handler returned.
        case interrupted(Int32)
    }
    var how: How
    var output: [UInt8]
    /// Whether the extension was the terminal's foreground job.
    var hadTerminal: Bool
}

// What the signal handlers need to end the extension's group and put the terminal back. Globals,
// because a C signal handler captures nothing; set on the thread that runs the extension before
// the handlers are installed, and read by the handlers.
//
// The C structures live on the heap: a Swift global of an imported C struct with padding inside
// (`sigaction`, `termios`) is statically initialised with storage that leaves the padding out
// (148 bytes for a 152-byte `sigaction` with Swift 6.3 on Linux), so `sigaction(…, &global)` and
// `tcgetattr(…, &global)` would write past it into the next global.
nonisolated(unsafe) private var runningGroup: pid_t = 0
nonisolated(unsafe) private var runningGraceNanoseconds: Int = 2_000_000_000
nonisolated(unsafe) private var terminalDescriptor: Int32 = -1
nonisolated(unsafe) private var terminalHandedOver: sig_atomic_t = 0
nonisolated(unsafe) private var hostSignal: sig_atomic_t = 0
nonisolated(unsafe) private let savedTerminalSettings = UnsafeMutablePointer<termios>.allocate(capacity: 1)
/// The host's actions for SIGINT, SIGTERM and SIGHUP (in that order) while the runner's are in.
nonisolated(unsafe) private let previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 3)
nonisolated(unsafe) private var installedINT = false
nonisolated(unsafe) private var installedTERM = false
nonisolated(unsafe) private var installedHUP = false

enum ChildProcess {
    static func run(
        path: String, name: String, input: [UInt8], environment: [String: String], timeout: Double,
        configuration: ExtensionRunner.Configuration
    ) throws(ExtensionProblem) -> ChildEnd {
        _ = becomeSubreaper
        // fd 3 reads `input`, fd 4 writes `output`. Every end is close-on-exec and above 4, so
        // `dup2` onto 3 and 4 always makes a fresh descriptor that the extension keeps.
        guard let toChild = DescriptorPair.make(), let fromChild = DescriptorPair.make() else {
            throw .spawnFailed(name, path, String(cString: strerror(errno)))
        }
        var parentEnds = [toChild.write, fromChild.read]
        var childEnds = [toChild.read, fromChild.write]
        defer { (parentEnds + childEnds).forEach { if $0 >= 0 { close($0) } } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in [
            (configuration.standardInput, Int32(0)), (configuration.standardOutput, 1), (configuration.standardError, 2),
        ] where source != target {
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        posix_spawn_file_actions_adddup2(&actions, toChild.read, 3)
        posix_spawn_file_actions_adddup2(&actions, fromChild.write, 4)
        // Whatever the host opened without close-on-exec stays out of the extension.
        if let closeFrom = CloseFrom.function { _ = closeFrom(&actions, 5) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(Int32(POSIX_SPAWN_SETPGROUP) | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        // The handlers go in before the process exists, so no signal can leave it behind.
        runningGroup = 0
        hostSignal = 0
        runningGraceNanoseconds = Int(max(0, configuration.gracePeriod) * 1e9)
        SignalGuard.install()
        defer { SignalGuard.uninstall() }

        // The host's children before: a child that is new afterwards left the extension's group.
        let childrenBefore = Orphans.children()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw .spawnFailed(name, path, String(cString: strerror(spawned)))
        }
        runningGroup = pid
        childEnds.forEach { close($0) }
        childEnds = []

        let terminal = configuration.takesTerminal ? ForegroundTerminal.handOver(to: pid) : nil
        defer {
            terminal?.takeBack()
            runningGroup = 0
        }

        var supervisor = Supervisor(
            pid: pid, input: input, inputFD: parentEnds[0], outputFD: parentEnds[1],
            deadline: Date().addingTimeInterval(timeout), maxOutput: configuration.maxOutputBytes,
            terminalHandedOver: terminal != nil, terminalExists: terminal != nil || ForegroundTerminal.exists)
        var how = supervisor.run()
        parentEnds[0] = supervisor.inputFD
        // Whatever is left of the group (everything, after a timeout; what it started and left
        // running, after an exit) is ended now.
        Group.end(pid, grace: configuration.gracePeriod)
        // So is what left the group (`setsid`, a daemon's double fork) and outlived the extension.
        Orphans.end(except: childrenBefore, grace: configuration.gracePeriod)
        // A handler that ran on another thread may have ended the group while this one reaped it.
        if hostSignal != 0 { how = .interrupted(Int32(hostSignal)) }
        return ChildEnd(how: how, output: supervisor.output, hadTerminal: terminal != nil)
    }

    /// Once per process on Linux: orphans of the extension come to the host, which reaps them.
    private static let becomeSubreaper: Void = {
        #if os(Linux)
            typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
            if let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") {
                let prctl = unsafeBitCast(symbol, to: Prctl.self)
                _ = prctl(36, 1, 0, 0, 0)  // PR_SET_CHILD_SUBREAPER
            }
        #endif
    }()
}

/// Feeds fd 3, reads fd 4 and watches the process until it ends or its time is up.
private struct Supervisor {
    let pid: pid_t
    var input: ArraySlice<UInt8>
    var inputFD: Int32
    let outputFD: Int32
    let deadline: Date
    let maxOutput: Int
    let terminalHandedOver: Bool
    let terminalExists: Bool
    var output: [UInt8] = []
    var outputOpen = true

    init(pid: pid_t, input: [UInt8], inputFD: Int32, outputFD: Int32, deadline: Date, maxOutput: Int,
         terminalHandedOver: Bool, terminalExists: Bool) {
        self.pid = pid
        self.input = input[...]
        self.inputFD = inputFD
        self.outputFD = outputFD
        self.deadline = deadline
        self.maxOutput = maxOutput
        self.terminalHandedOver = terminalHandedOver
        self.terminalExists = terminalExists
        _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(outputFD, F_SETFL, fcntl(outputFD, F_GETFL) | O_NONBLOCK)
    }

    mutating func run() -> ChildEnd.How {
        var interval: Int32 = 1
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG | WUNTRACED)
            if r == pid {
                if Wait.stopped(status) {
                    let signal = Wait.stopSignal(status)
                    if (signal == SIGTTIN || signal == SIGTTOU) && !terminalHandedOver && terminalExists {
                        return .needsTerminal
                    }
                    // It stopped before it was given the terminal, or with Ctrl-Z: carry on.
                    kill(-pid, SIGCONT)
                    continue
                }
                drainOutput()
                if output.count > maxOutput { return .outputTooLarge }
                return Wait.exited(status) ? .exited(Wait.exitStatus(status)) : .signaled(Wait.termSignal(status))
            }
            if r < 0 && errno == ECHILD {
                // The signal handler ended and reaped it.
                return .interrupted(hostSignal != 0 ? Int32(hostSignal) : SIGTERM)
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return .timedOut }

            var fds: [pollfd] = []
            if outputOpen { fds.append(pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)) }
            if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            let wait = Int32(min(Double(interval), left * 1000).rounded(.up))
            let ready = fds.isEmpty ? poll(nil, 0, wait) : poll(&fds, nfds_t(fds.count), wait)
            // The exit is noticed by polling waitpid: quickly at first, then every 20 ms.
            interval = min(interval * 2, 20)
            guard ready > 0 else { continue }
            for fd in fds where fd.revents != 0 {
                if fd.fd == outputFD {
                    drainOutput()
                    if output.count > maxOutput { return .outputTooLarge }
                } else {
                    writeInput()
                }
            }
        }
    }

    /// Reads what fd 4 holds now, without waiting (a process the extension left running may
    /// still hold it open).
    mutating func drainOutput() {
        guard outputOpen else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while output.count <= maxOutput {
            let n = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if n > 0 {
                output += buffer[..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                if n == 0 { outputOpen = false }
                return
            }
        }
    }

    /// Writes what fd 3 takes now; closes it when everything is written, or when the extension
    /// closed its end (then the write fails with EPIPE, and the SIGPIPE is kept from the host).
    mutating func writeInput() {
        guard inputFD >= 0 else { return }
        while !input.isEmpty {
            let n = BrokenPipe.withoutSignal {
                input.withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
            }
            if n > 0 {
                input = input.dropFirst(n)
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                break
            }
        }
        close(inputFD)
        inputFD = -1
    }
}

/// Ending a process group: SIGTERM (and SIGCONT, so stopped members can act on it), then SIGKILL
/// to whatever is left after the grace period. Members that are the host's children (the leader;
/// orphans, with the subreaper) are reaped as they go. Async-signal-safe: `kill`, `waitpid` and
/// `nanosleep` only.
enum Group {
    static func end(_ group: pid_t, grace: Double) {
        endFromAnywhere(group, graceNanoseconds: Int(max(0, grace) * 1e9))
    }

    static func endFromAnywhere(_ group: pid_t, graceNanoseconds: Int) {
        guard group > 0 else { return }
        reap(group)
        guard kill(-group, 0) == 0 else { return }
        kill(-group, SIGTERM)
        kill(-group, SIGCONT)
        var waited = 0
        let step = 10_000_000
        while waited < graceNanoseconds {
            reap(group)
            if kill(-group, 0) != 0 { return }
            var pause = timespec(tv_sec: 0, tv_nsec: step)
            nanosleep(&pause, nil)
            waited += step
        }
        kill(-group, SIGKILL)
        // SIGKILL cannot be caught; the members are gone once reaped.
        for _ in 0..<100 {
            reap(group)
            if kill(-group, 0) != 0 { return }
            var pause = timespec(tv_sec: 0, tv_nsec: step)
            nanosleep(&pause, nil)
        }
    }

    private static func reap(_ group: pid_t) {
        var status: Int32 = 0
        while waitpid(-group, &status, WNOHANG) > 0 {}
    }
}

/// Processes that the extension started and that left its group (`setsid`, `setpgid`, a daemon's
/// double fork), so ending the group misses them. Once the extension has exited, the subreaper
/// makes them the host's children; they are found in `/proc` by their parent, ended (SIGTERM,
/// then SIGKILL after the grace period) and reaped, round after round, as ending one may orphan
/// its own children. The host's children from before the extension started are left alone.
/// (Linux only. When the host itself is ended by a signal while the extension runs, only the
/// group is ended: the handler can do no more than async-signal-safe calls.)
enum Orphans {
    static func children() -> Set<pid_t> {
        #if os(Linux)
            let me = getpid()
            guard let directory = opendir("/proc") else { return [] }
            defer { closedir(directory) }
            var found = Set<pid_t>()
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard let pid = pid_t(name), pid != me, parent(of: pid) == me else { continue }
                found.insert(pid)
            }
            return found
        #else
            return []
        #endif
    }

    /// The parent in `/proc/PID/stat`: `pid (comm) state ppid …`, where comm may hold anything.
    private static func parent(of pid: pid_t) -> pid_t? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let close = buffer[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }

    static func end(except before: Set<pid_t>, grace: Double) {
        #if os(Linux)
            for _ in 0..<32 {
                var left = children().subtracting(before)
                reap(&left)
                if left.isEmpty { return }
                for pid in left {
                    kill(pid, SIGTERM)
                    kill(pid, SIGCONT)
                }
                let deadline = Date().addingTimeInterval(max(0, grace))
                while !left.isEmpty && Date() < deadline {
                    usleep(10_000)
                    reap(&left)
                }
                for pid in left { kill(pid, SIGKILL) }
                for pid in left {
                    var status: Int32 = 0
                    _ = waitpid(pid, &status, 0)
                }
            }
        #endif
    }

    /// Reaps those that have ended; what is left are those still running.
    private static func reap(_ pids: inout Set<pid_t>) {
        for pid in pids {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno == ECHILD) { pids.remove(pid) }
        }
    }
}

/// The controlling terminal, given to the extension's group while it runs.
private struct ForegroundTerminal {
    let descriptor: Int32

    /// Whether the process has a controlling terminal at all.
    static var exists: Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    /// Makes `group` the foreground job when the host is; nil when there is no controlling
    /// terminal or the host is not in the foreground.
    static func handOver(to group: pid_t) -> ForegroundTerminal? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard tcgetpgrp(fd) == getpgrp(), tcgetattr(fd, savedTerminalSettings) == 0 else {
            close(fd)
            return nil
        }
        terminalDescriptor = fd
        let given = withoutTTOU { tcsetpgrp(fd, group) == 0 }
        guard given else {
            terminalDescriptor = -1
            close(fd)
            return nil
        }
        terminalHandedOver = 1
        return ForegroundTerminal(descriptor: fd)
    }

    func takeBack() {
        restoreTerminal()
        terminalDescriptor = -1
        close(descriptor)
    }
}

/// Takes the terminal back for the host and restores its settings. Async-signal-safe.
private func restoreTerminal() {
    guard terminalHandedOver != 0, terminalDescriptor >= 0 else { return }
    _ = withoutTTOU {
        _ = tcsetpgrp(terminalDescriptor, getpgrp())
        _ = tcsetattr(terminalDescriptor, TCSANOW, savedTerminalSettings)
        return true
    }
    terminalHandedOver = 0
}

/// A process in the background gets SIGTTOU when it changes the terminal; the host does so on
/// purpose (taking the terminal back), so the signal is blocked meanwhile. Async-signal-safe.
private func withoutTTOU(_ body: () -> Bool) -> Bool {
    var block = sigset_t()
    var before = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGTTOU)
    pthread_sigmask(SIG_BLOCK, &block, &before)
    defer { pthread_sigmask(SIG_SETMASK, &before, nil) }
    return body()
}

/// SIGINT, SIGTERM and SIGHUP while an extension runs: end its group, put the terminal back, then
/// let the host's own handling run (its handler, or the default action). A signal the host
/// ignores stays ignored.
private enum SignalGuard {
    static func install() {
        // Touched here first, so a handler never runs their lazy initialisation.
        _ = savedTerminalSettings
        installedINT = swap(SIGINT, previousActions)
        installedTERM = swap(SIGTERM, previousActions + 1)
        installedHUP = swap(SIGHUP, previousActions + 2)
    }

    static func uninstall() {
        if installedINT { sigaction(SIGINT, previousActions, nil) }
        if installedTERM { sigaction(SIGTERM, previousActions + 1, nil) }
        if installedHUP { sigaction(SIGHUP, previousActions + 2, nil) }
        installedINT = false
        installedTERM = false
        installedHUP = false
    }

    private static func swap(_ signal: Int32, _ previous: UnsafeMutablePointer<sigaction>) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        #if os(Linux)
            let handler = current.__sigaction_handler.sa_handler
        #else
            let handler = current.__sigaction_u.__sa_handler
        #endif
        if let handler, unsafeBitCast(handler, to: Int.self) == 1 { return false }  // SIG_IGN
        var action = sigaction()
        #if os(Linux)
            action.__sigaction_handler.sa_handler = extensionSignalHandler
        #else
            action.__sigaction_u.__sa_handler = extensionSignalHandler
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        return sigaction(signal, &action, previous) == 0
    }
}

/// Runs inside a signal handler: only async-signal-safe calls.
private func extensionSignalHandler(_ signal: Int32) {
    hostSignal = sig_atomic_t(signal)
    Group.endFromAnywhere(runningGroup, graceNanoseconds: runningGraceNanoseconds)
    restoreTerminal()
    switch signal {
    case SIGINT: if installedINT { sigaction(SIGINT, previousActions, nil); installedINT = false }
    case SIGTERM: if installedTERM { sigaction(SIGTERM, previousActions + 1, nil); installedTERM = false }
    case SIGHUP: if installedHUP { sigaction(SIGHUP, previousActions + 2, nil); installedHUP = false }
    default: break
    }
    // Delivered as soon as this handler returns, to the host's own handling.
    raise(signal)
}

/// A pipe whose ends are close-on-exec and numbered above 4.
private struct DescriptorPair {
    var read: Int32
    var write: Int32

    static func make() -> DescriptorPair? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        let r = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        let w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        close(fds[1])
        guard r >= 0, w >= 0 else {
            if r >= 0 { close(r) }
            if w >= 0 { close(w) }
            return nil
        }
        return DescriptorPair(read: r, write: w)
    }
}

/// A write to a pipe whose reader is gone raises SIGPIPE, which would end the host. The signal
/// is blocked on this thread for the write, and one it raised is taken before unblocking.
private enum BrokenPipe {
    static func withoutSignal(_ body: () -> Int) -> Int {
        var block = sigset_t()
        var before = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        var pendingBefore = sigset_t()
        sigpending(&pendingBefore)
        let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
        pthread_sigmask(SIG_BLOCK, &block, &before)
        let result = body()
        let saved = errno
        if result < 0 && saved == EPIPE && !alreadyPending {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&block, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &before, nil)
        errno = saved
        return result
    }
}

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34), when the C library has it.
private enum CloseFrom {
    typealias Function = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let function: Function? = {
        #if os(Linux)
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else {
                return nil
            }
            return unsafeBitCast(symbol, to: Function.self)
        #else
            return nil
        #endif
    }()
}

/// The `W…` macros of `<sys/wait.h>`, which Swift does not import.
private enum Wait {
    static func exited(_ s: Int32) -> Bool { s & 0x7f == 0 }
    static func exitStatus(_ s: Int32) -> Int32 { (s >> 8) & 0xff }
    static func stopped(_ s: Int32) -> Bool { s & 0xff == 0x7f }
    static func stopSignal(_ s: Int32) -> Int32 { (s >> 8) & 0xff }
    static func termSignal(_ s: Int32) -> Int32 { s & 0x7f }
}
