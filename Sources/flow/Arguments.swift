import FlowKit

/// What the command line asks for, once parsed.
enum Invocation: Equatable {
    case help(HelpTopic)
    case version
    case check(CheckArguments)
}

enum HelpTopic: Equatable {
    case general
    case check
}

/// `--color auto|always|never`.
enum ColorChoice: String, CaseIterable {
    /// Colour only when the stream is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    case auto
    case always
    case never
}

struct CheckArguments: Equatable {
    static let optionNames = ["--format", "--strict", "--color", "--help"]

    var inputs: [String] = []
    var format: DiagnosticRenderer.Format = .human
    var strict = false
    var color: ColorChoice = .auto
}

/// Hand-written argument parsing: `flow <command> [options] [inputs]`.
///
/// Options take their value as the next argument or after `=` (`--format json`, `--format=json`);
/// an argument after `--` is always an input. `-h`/`--help` anywhere before `--` asks for help and
/// wins over every other mistake, so `flow check --help --bogus` still shows the help.
enum ArgumentParser {
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        guard let first = arguments.first else { throw .noCommand }
        let rest = Array(arguments.dropFirst())
        switch first {
        case "-h", "--help":
            try expectNothing(rest, after: first)
            return .help(.general)
        case "help":
            guard let topic = rest.first else { return .help(.general) }
            try expectNothing(Array(rest.dropFirst()), after: topic)
            switch topic {
            case "check": return .help(.check)
            case "help", "-h", "--help": return .help(.general)
            default: throw .unknownCommand(topic)
            }
        case "--version":
            try expectNothing(rest, after: first)
            return .version
        case "check":
            return try parseCheck(rest)
        default:
            if first.hasPrefix("-") && first != "-" { throw .unknownOption(first, command: nil) }
            throw .unknownCommand(first)
        }
    }

    private static func expectNothing(_ rest: [String], after: String) throws(UsageError) {
        if let extra = rest.first { throw .unexpectedArgument(extra, after: after) }
    }

    private static func parseCheck(_ arguments: [String]) throws(UsageError) -> Invocation {
        let options = arguments.prefix { $0 != "--" }
        if options.contains("--help") || options.contains("-h") { return .help(.check) }

        var result = CheckArguments()
        var index = 0
        var onlyInputs = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyInputs || argument == "-" || !argument.hasPrefix("-") {
                result.inputs.append(argument)
                continue
            }
            if argument == "--" {
                onlyInputs = true
                continue
            }
            // `--name=value` or `--name` (a value, if it takes one, is the next argument).
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let inline = parts.count == 2 ? String(parts[1]) : nil

            func value(valid: [String]) throws(UsageError) -> String {
                if let inline {
                    guard !inline.isEmpty else { throw .missingValue(option: name, valid: valid) }
                    return inline
                }
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw .missingValue(option: name, valid: valid)
                }
                index += 1
                return arguments[index - 1]
            }

            switch name {
            case "--format":
                let valid = DiagnosticRenderer.Format.allCases.map(\.rawValue)
                let text = try value(valid: valid)
                guard let format = DiagnosticRenderer.Format(rawValue: text) else {
                    throw .invalidValue(option: name, value: text, valid: valid)
                }
                result.format = format
            case "--color", "--colour":
                let valid = ColorChoice.allCases.map(\.rawValue)
                let text = try value(valid: valid)
                guard let choice = ColorChoice(rawValue: text) else {
                    throw .invalidValue(option: name, value: text, valid: valid)
                }
                result.color = choice
            case "--strict":
                if inline != nil { throw .unexpectedValue(option: name) }
                result.strict = true
            default:
                throw .unknownOption(argument, command: "check")
            }
        }
        guard !result.inputs.isEmpty else { throw .noInputs }
        return .check(result)
    }
}
