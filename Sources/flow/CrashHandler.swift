#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns a crash of flow itself (a failed precondition, an out-of-range index, a bad access) into
/// exit status 70 and one line telling the user it is a bug, instead of a stack trace.
///
/// The Swift runtime prints its own one-line `Fatal error: …` before trapping; this handler then
/// replaces the runtime's backtrace. Set `FLOW_BACKTRACE=1` to keep the runtime's handlers (and its
/// backtrace) when debugging flow itself.
enum CrashHandler {
    static func install(environment: [String: String]) {
        TerminalEcho.prepare()
        guard environment["FLOW_BACKTRACE"] != "1" else { return }
        for number in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE] {
            _ = signal(number, crashed)
        }
    }
}

/// Runs inside a signal handler: only async-signal-safe calls (`write`, `_exit`), no allocation.
private func crashed(_ signal: Int32) {
    TerminalEcho.restoreFromSignalHandler()  // echo was off for a password: turn it back on
    let message: StaticString =
        "error: internal error: flow crashed; this is a bug in flow, please report it with the input that caused it\n"
    _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    _exit(ExitCode.software.rawValue)
}
