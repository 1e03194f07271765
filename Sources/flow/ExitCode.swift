/// The exit statuses of `flow`, after BSD sysexits(3), so scripts and CI can tell the cases apart.
///
/// When several apply, the most severe wins: `software` > `usage` > `noInput` > `dataError` >
/// `success`. Usage errors stop before anything is checked. A missing input does not stop the
/// run (the other inputs are still checked) but it wins over `dataError`, because a run that
/// could not read everything it was asked to check must never look like a complete check.
///
/// `flow run` adds three: `failure` (the flow finished with `finish failure`, or the person at the
/// terminal ended the input), `cannotCreate` (the trace file cannot be written) and `interrupted`
/// (Ctrl-C). For `flow run`, `software` also covers a run-time error of the flow itself.
enum ExitCode: Int32, Comparable {
    /// Every input was read and no diagnostic is an error (warnings alone are clean unless `--strict`).
    /// For `flow run`: the flow finished with success.
    case success = 0
    /// `flow run`: the flow finished with failure, or the input ended (Ctrl-D) before it finished.
    case failure = 1
    /// EX_USAGE: the command line is wrong (unknown option, missing value, no input given).
    case usage = 64
    /// EX_DATAERR: at least one diagnostic with severity error; for `flow run` also scripted
    /// answers, stubs and names given on the command line that do not fit the flow.
    case dataError = 65
    /// EX_NOINPUT: an input file or directory is missing or unreadable.
    case noInput = 66
    /// EX_SOFTWARE: flow itself failed (a bug); see `CrashHandler`. For `flow run`: a run-time
    /// error of the flow (a division by zero, the step limit, …).
    case software = 70
    /// EX_CANTCREAT: `flow run --trace FILE` cannot create or write FILE.
    case cannotCreate = 73
    /// 128 + SIGINT: `flow run` was interrupted with Ctrl-C.
    case interrupted = 130

    private var severity: Int {
        switch self {
        case .success: 0
        case .failure: 1
        case .dataError: 2
        case .noInput: 3
        case .cannotCreate: 4
        case .usage: 5
        case .software: 6
        case .interrupted: 7
        }
    }

    static func < (a: ExitCode, b: ExitCode) -> Bool { a.severity < b.severity }
}
