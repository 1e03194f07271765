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
    static func install(environment: (String) -> String?) {
        TerminalEcho.prepare()
        guard environment("FLOW_BACKTRACE") != "1" else { return }
        // The handler runs on a stack of its own: after a stack overflow there is no room left on
        // the thread's stack to run it, and the process would die of SIGSEGV without a word.
        let size = 256 * 1024
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        stack.ss_size = size
        stack.ss_flags = 0
        let alternate = sigaltstack(&stack, nil) == 0
        for number in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE] {
            var action = sigaction()
            #if os(Linux)
                action.__sigaction_handler.sa_handler = crashed
            #else
                action.__sigaction_u.__sa_handler = crashed
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = alternate ? Int32(SA_ONSTACK) : 0
            _ = sigaction(number, &action, nil)
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
