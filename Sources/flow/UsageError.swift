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
    /// `flow check`: `verb` and `example` say what the inputs are for (`check`,
    /// `flow check main.flow flows/`).
    case noInputs(verb: String, example: String)
    /// `flow --version extra`, `flow help check extra`
    case unexpectedArgument(String, after: String)
    /// `flow run x.flow --answers`: an option whose value is free text or a path
    case missingArgument(option: String, example: String)
    /// `flow run x.flow --answer Amount`
    case notAPair(option: String, value: String, example: String)
    /// `flow run x.flow --max-steps many`
    case notACount(option: String, value: String)
    /// `flow run`: `verb` and `example` say what the file is for (`run`, `flow run main.flow`).
    case noFlowFile(verb: String, example: String)
    /// `flow ip payment.flow`
    case noIPName
    /// `flow run a.flow b.flow`
    case extraInput(String, command: String)
    /// `flow run x.flow --json --trace -`
    case bothOnStandardOutput(String, String)

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
        case .missingArgument(let option, _):
            "missing value for '\(option)'"
        case .notAPair(let option, let value, _):
            "invalid value '\(value)' for '\(option)': expected NAME=VALUE"
        case .notACount(let option, let value):
            "invalid value '\(value)' for '\(option)'"
        case .noFlowFile(let verb, _):
            "no flow file to \(verb)"
        case .noIPName:
            "no integration point named"
        case .extraInput(let argument, _):
            "unexpected argument '\(argument)'"
        case .bothOnStandardOutput(let a, let b):
            "'\(a)' and '\(b)' both write to standard output"
        }
    }

    var hint: String {
        switch self {
        case .noCommand:
            return "to check a flow, run 'flow check main.flow'; to run it, 'flow run main.flow'; 'flow --help' lists the commands"
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
            if let command = command.flatMap(Commands.named) {
                let spellings = command.suggestionSpellings
                if let match = Suggest.closest(to: name, in: spellings.map(\.spelling)),
                    let option = spellings.first(where: { $0.spelling == match })?.option
                {
                    return "did you mean '\(option)'?"
                }
                return "the options of '\(command.name)' are: \(command.optionNames.joined(separator: ", "))"
            }
            for command in Commands.all where command.optionNames.contains(name) {
                return "'\(name)' is an option of '\(command.name)': flow \(command.name) \(name) …"
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
        case .noInputs(let verb, let example):
            return "give files or directories to \(verb): '\(example)'"
        case .unexpectedArgument:
            return "run 'flow --help' for usage"
        case .missingArgument(let option, let example):
            return "for example: '\(option) \(example)'"
        case .notAPair(let option, _, let example):
            return "for example: \(option) \(example)"
        case .notACount(let option, _):
            return "give a whole number of at least 1: '\(option) 1000'"
        case .noFlowFile(let verb, let example):
            return "give the file to \(verb): '\(example)'"
        case .noIPName:
            return "name the integration point to call: flow ip payment.flow StripeCharge --arg amount=4.00"
        case .extraInput(_, let command):
            let takes = Commands.named(command)?.operandsUsage ?? "<file>"
            if takes.isEmpty { return "'flow \(command)' takes no files: an editor starts it as 'flow \(command)'" }
            return "'flow \(command)' takes \(takes == "<file>" ? "one file" : takes); use '--' before a file whose name starts with '-'"
        case .bothOnStandardOutput:
            return "write the trace to a file: '--trace run.jsonl'"
        }
    }

    private static func list(_ values: [String]) -> String {
        values.map { "'\($0)'" }.joined(separator: ", ")
    }
}

/// The commands the command line knows, in the order `flow --help` lists them: one declaration
/// each (beside its run function, in its own file). A new command is added here.
enum Commands {
    static var types: [any CommandArguments.Type] {
        [
        CheckArguments.self,
        RunArguments.self,
        IPArguments.self,
        GraphArguments.self,
        FormatArguments.self,
        TestArguments.self,
        ExploreArguments.self,
        ServeArguments.self,
        LSPArguments.self,
        ]
    }
    static var all: [AnyCommand] { types.map { AnyCommand($0) } }
    static var names: [String] { all.map(\.name) + ["help"] }
    static let topLevelOptions = ["--help", "--version"]

    /// The declarations made one by one up to the one named, not all of them: each is its options
    /// built (a third of the instructions `flow check` ran before its own work).
    static func named(_ name: String) -> AnyCommand? {
        for type in types {
            let command = AnyCommand(type)
            if command.name == name { return command }
        }
        return nil
    }
}
