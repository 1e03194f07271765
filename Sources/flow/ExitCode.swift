/// The exit statuses of `flow`, after BSD sysexits(3), so scripts and CI can tell the cases apart.
///
/// When several apply, the most severe wins: `software` > `usage` > `noInput` > `dataError` >
/// `success`. Usage errors stop before anything is checked. A missing input does not stop the
/// run (the other inputs are still checked) but it wins over `dataError`, because a run that
/// could not read everything it was asked to check must never look like a complete check.
enum ExitCode: Int32, Comparable {
    /// Every input was read and no diagnostic is an error (warnings alone are clean unless `--strict`).
    case success = 0
    /// EX_USAGE: the command line is wrong (unknown option, missing value, no input given).
    case usage = 64
    /// EX_DATAERR: at least one diagnostic with severity error.
    case dataError = 65
    /// EX_NOINPUT: an input file or directory is missing or unreadable.
    case noInput = 66
    /// EX_SOFTWARE: flow itself failed (a bug); see `CrashHandler`.
    case software = 70

    private var severity: Int {
        switch self {
        case .success: 0
        case .dataError: 1
        case .noInput: 2
        case .usage: 3
        case .software: 4
        }
    }

    static func < (a: ExitCode, b: ExitCode) -> Bool { a.severity < b.severity }
}
