import FlowKit

/// Mistakes on the command line: the user's to fix, reported as `error: …` plus a `hint: …` line,
/// exit status 64. This is the only place where their wording lives.
enum UsageError: Error, Equatable {
    /// `flow` alone.
    case noCommand
    /// `flow chek x.flow`
    case unknownCommand(String)
    /// `flow check --stirct x.flow`; `command` is nil at the top level (`flow --strict`).
    case unknownOption(String, command: String?)
    /// `flow check x.flow --format`
    case missingValue(option: String, valid: [String])
    /// `flow check --format jsn x.flow`
    case invalidValue(option: String, value: String, valid: [String])
    /// `flow check --strict=yes x.flow`
    case unexpectedValue(option: String)
    /// `flow check`
    case noInputs
    /// `flow --version extra`, `flow help check extra`
    case unexpectedArgument(String, after: String)

    var message: String {
        switch self {
        case .noCommand:
            "no command given"
        case .unknownCommand(let name):
            "unknown command '\(name)'"
        case .unknownOption(let option, _):
            "unknown option '\(option)'"
        case .missingValue(let option, _):
            "missing value for '\(option)'"
        case .invalidValue(let option, let value, _):
            "invalid value '\(value)' for '\(option)'"
        case .unexpectedValue(let option):
            "option '\(option)' takes no value"
        case .noInputs:
            "no input files"
        case .unexpectedArgument(let argument, let after):
            "unexpected argument '\(argument)' after '\(after)'"
        }
    }

    var hint: String {
        switch self {
        case .noCommand:
            return "to check a flow, run 'flow check main.flow'; 'flow --help' lists the commands"
        case .unknownCommand(let name):
            if let match = Suggest.closest(to: name, in: Commands.names) {
                return "did you mean '\(match)'?"
            }
            if name.hasSuffix(".flow") {
                return "to check a file, run 'flow check \(name)'"
            }
            return "the commands are: \(Commands.names.joined(separator: ", "))"
        case .unknownOption(let option, let command):
            let name = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
            if let command {
                let options = Commands.options(of: command)
                if let match = Suggest.closest(to: name, in: options) {
                    return "did you mean '\(match)'?"
                }
                return "the options of '\(command)' are: \(options.joined(separator: ", "))"
            }
            for command in Commands.names where Commands.options(of: command).contains(name) {
                return "'\(name)' is an option of '\(command)': flow \(command) \(name) …"
            }
            if let match = Suggest.closest(to: name, in: Commands.topLevelOptions) {
                return "did you mean '\(match)'?"
            }
            return "the options are: \(Commands.topLevelOptions.joined(separator: ", "))"
        case .missingValue(let option, let valid):
            return "give one of \(Self.list(valid)): '\(option) \(valid[0])'"
        case .invalidValue(_, let value, let valid):
            if let match = Suggest.closest(to: value, in: valid) {
                return "did you mean '\(match)'?"
            }
            return "use one of \(Self.list(valid))"
        case .unexpectedValue(let option):
            return "write '\(option)' on its own"
        case .noInputs:
            return "give files or directories to check: 'flow check main.flow flows/'"
        case .unexpectedArgument:
            return "run 'flow --help' for usage"
        }
    }

    private static func list(_ values: [String]) -> String {
        values.map { "'\($0)'" }.joined(separator: ", ")
    }
}

/// The names the command line knows, for "did you mean" and for the hints above.
enum Commands {
    static let names = ["check", "help"]
    static let topLevelOptions = ["--help", "--version"]

    static func options(of command: String) -> [String] {
        switch command {
        case "check": CheckArguments.optionNames
        default: ["--help"]
        }
    }
}
