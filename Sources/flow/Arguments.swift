import FlowKit

/// What the command line asks for, once parsed.
enum Invocation: Equatable {
    case help(HelpTopic)
    case version
    case check(CheckArguments)
    case run(RunArguments)
    case ip(IPArguments)
    case graph(GraphArguments)
    case fmt(FormatArguments)
    case test(TestArguments)
    case explore(ExploreArguments)
}

enum HelpTopic: Equatable {
    case general
    case check
    case run
    case ip
    case graph
    case fmt
    case test
    case explore
}

/// `flow graph FILE [--format dot|mermaid] [--flow NAME]`
struct GraphArguments: Equatable {
    static let optionNames = ["--format", "--flow", "--help"]
    enum Format: String, CaseIterable { case dot, mermaid }

    var file = ""
    var format: Format = .dot
    var flow: String?
}

/// `flow fmt FILE|DIR... [--check]`
struct FormatArguments: Equatable {
    static let optionNames = ["--check", "--help"]

    var inputs: [String] = []
    var check = false
}

/// `flow test FILE|DIR... [--coverage] [--json]`: test plans (`*.flowtest`).
struct TestArguments: Equatable {
    static let optionNames = ["--coverage", "--json", "--color", "--help"]

    var inputs: [String] = []
    var coverage = false
    var json = false
    var color: ColorChoice = .auto
}

/// `flow explore FILE [--max-runs N] [--json]`
struct ExploreArguments: Equatable {
    static let optionNames = ["--max-runs", "--max-steps", "--json", "--help"]

    var file = ""
    var maxRuns = 20_000
    var maxSteps = 10_000
    var json = false
}

/// `flow ip FILE NAME [--arg NAME=VALUE]... [--define NAME=VALUE]... [--secrets FILE] [--verbose] [--json]`
struct IPArguments: Equatable {
    static let optionNames = ["--arg", "--define", "--secrets", "--verbose", "--json", "--help"]

    var file = ""
    var name = ""
    var arguments: [NameValue] = []
    var defines: [NameValue] = []
    var secretsFile: String?
    var verbose = false
    var json = false
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

/// `NAME=VALUE`, as `--answer`, `--stub`, `--define` and `--arg` take it.
struct NameValue: Equatable {
    var name: String
    var value: String
}

struct RunArguments: Equatable {
    static let optionNames = [
        "--answers", "--answer", "--stubs", "--stub", "--extension", "--define", "--arg", "--flow", "--max-steps",
        "--secrets", "--plan", "--test", "--trace", "--session", "--json", "--color", "--help",
    ]

    var file = ""
    /// `--answers FILE.json`
    var answersFile: String?
    /// `--answer Page.Question=VALUE`, in order (a name given twice: one answer per time it is asked).
    var answers: [NameValue] = []
    /// `--stubs FILE.json`
    var stubsFile: String?
    /// `--stub NAME=JSON`
    var stubs: [NameValue] = []
    /// `--extension NAME=PATH`: the executable of an extension, instead of its `run`.
    var extensions: [NameValue] = []
    /// `--secrets FILE`: `KEY=VALUE` lines; the environment is read for secrets it lacks.
    var secretsFile: String?
    /// `--plan FILE.flowtest`: IPs and extensions answered from a test plan's canned results.
    var plan: String?
    /// `--test NAME`: which test of the plan gives the canned results (default: the first).
    var test: String?
    /// `--define NAME=VALUE`: config values.
    var defines: [NameValue] = []
    /// `--arg NAME=VALUE`: parameters of the flow run.
    var arguments: [NameValue] = []
    /// `--flow NAME`: the flow to run instead of the first of the file.
    var flow: String?
    var maxSteps = 100_000
    /// `--trace FILE`, `-` for standard output.
    var trace: String?
    /// `--session FILE`: the session kept in the file, written after every step, resumed from it.
    var session: String?
    var json = false
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
            case "run": return .help(.run)
            case "ip": return .help(.ip)
            case "graph": return .help(.graph)
            case "fmt": return .help(.fmt)
            case "test": return .help(.test)
            case "explore": return .help(.explore)
            case "help", "-h", "--help": return .help(.general)
            default: throw .unknownCommand(topic)
            }
        case "--version":
            try expectNothing(rest, after: first)
            return .version
        case "check":
            return try parseCheck(rest)
        case "run":
            return try parseRun(rest)
        case "ip":
            return try parseIP(rest)
        case "graph":
            return try parseGraph(rest)
        case "fmt":
            return try parseFormat(rest)
        case "test":
            return try parseTest(rest)
        case "explore":
            return try parseExplore(rest)
        default:
            if first.hasPrefix("-") && first != "-" { throw .unknownOption(first, command: nil) }
            throw .unknownCommand(first)
        }
    }

    private static func expectNothing(_ rest: [String], after: String) throws(UsageError) {
        if let extra = rest.first { throw .unexpectedArgument(extra, after: after) }
    }

    private static func wantsHelp(_ arguments: [String]) -> Bool {
        let options = arguments.prefix { $0 != "--" }
        return options.contains("--help") || options.contains("-h")
    }

    private static func parseCheck(_ arguments: [String]) throws(UsageError) -> Invocation {
        if wantsHelp(arguments) { return .help(.check) }
        var result = CheckArguments()
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { result.inputs.append(input) }
                continue
            }
            switch name {
            case "--format":
                result.format = try scanner.choice(DiagnosticRenderer.Format.self)
            case "--color", "--colour":
                result.color = try scanner.choice(ColorChoice.self)
            case "--strict":
                try scanner.flag()
                result.strict = true
            default:
                throw .unknownOption(argument, command: "check")
            }
        }
        guard !result.inputs.isEmpty else { throw .noInputs }
        return .check(result)
    }

    private static func parseRun(_ arguments: [String]) throws(UsageError) -> Invocation {
        if wantsHelp(arguments) { return .help(.run) }
        var result = RunArguments()
        var inputs: [String] = []
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { inputs.append(input) }
                continue
            }
            switch name {
            case "--answers":
                result.answersFile = try scanner.value(example: "answers.json")
            case "--answer":
                result.answers.append(try scanner.pair(example: "'Amount.Amount=4.00'"))
            case "--stubs":
                result.stubsFile = try scanner.value(example: "stubs.json")
            case "--stub":
                result.stubs.append(try scanner.pair(example: #"'Tokenize={"token": "tok_visa"}'"#))
            case "--extension":
                result.extensions.append(try scanner.pair(example: "Tokenize=./my-tokenize"))
            case "--secrets":
                result.secretsFile = try scanner.value(example: "secrets.env")
            case "--plan":
                result.plan = try scanner.value(example: "flows/payment.flowtest")
            case "--test":
                result.test = try scanner.value(example: "'a card is charged'")
            case "--define":
                result.defines.append(try scanner.pair(example: "STRIPE_BASE=http://localhost:8080"))
            case "--arg":
                result.arguments.append(try scanner.pair(example: "'account=12345678'"))
            case "--flow":
                result.flow = try scanner.value(example: "'Open Ticket'")
            case "--max-steps":
                let text = try scanner.value(example: "1000")
                guard let steps = Int(text), steps >= 1 else { throw .notACount(option: name, value: text) }
                result.maxSteps = steps
            case "--trace":
                // `-` is a value here (standard output), not an input.
                result.trace = try scanner.value(example: "run.jsonl", allowDash: true)
            case "--session":
                result.session = try scanner.value(example: "payment.session.json")
            case "--json":
                try scanner.flag()
                result.json = true
            case "--color", "--colour":
                result.color = try scanner.choice(ColorChoice.self)
            default:
                throw .unknownOption(argument, command: "run")
            }
        }
        guard let file = inputs.first else { throw .noFlowFile }
        if inputs.count > 1 { throw .extraInput(inputs[1], command: "run") }
        if result.json && result.trace == "-" { throw .bothOnStandardOutput("--trace -", "--json") }
        result.file = file
        return .run(result)
    }
}

extension ArgumentParser {
    static func parseGraph(_ arguments: [String]) throws(UsageError) -> Invocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(.graph) }
        var result = GraphArguments()
        var inputs: [String] = []
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { inputs.append(input) }
                continue
            }
            switch name {
            case "--format": result.format = try scanner.choice(GraphArguments.Format.self)
            case "--flow": result.flow = try scanner.value(example: "'Verify Identity'")
            default: throw .unknownOption(argument, command: "graph")
            }
        }
        guard let file = inputs.first else { throw .noFlowFile }
        if inputs.count > 1 { throw .extraInput(inputs[1], command: "graph") }
        result.file = file
        return .graph(result)
    }

    static func parseFormat(_ arguments: [String]) throws(UsageError) -> Invocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(.fmt) }
        var result = FormatArguments()
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { result.inputs.append(input) }
                continue
            }
            switch name {
            case "--check":
                try scanner.flag()
                result.check = true
            default: throw .unknownOption(argument, command: "fmt")
            }
        }
        guard !result.inputs.isEmpty else { throw .noInputs }
        return .fmt(result)
    }

    static func parseTest(_ arguments: [String]) throws(UsageError) -> Invocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(.test) }
        var result = TestArguments()
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { result.inputs.append(input) }
                continue
            }
            switch name {
            case "--coverage":
                try scanner.flag()
                result.coverage = true
            case "--json":
                try scanner.flag()
                result.json = true
            case "--color", "--colour":
                result.color = try scanner.choice(ColorChoice.self)
            default: throw .unknownOption(argument, command: "test")
            }
        }
        guard !result.inputs.isEmpty else { throw .noInputs }
        return .test(result)
    }

    static func parseExplore(_ arguments: [String]) throws(UsageError) -> Invocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(.explore) }
        var result = ExploreArguments()
        var inputs: [String] = []
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { inputs.append(input) }
                continue
            }
            switch name {
            case "--max-runs", "--max-steps":
                let text = try scanner.value(example: "1000")
                guard let n = Int(text), n >= 1 else { throw .notACount(option: name, value: text) }
                if name == "--max-runs" { result.maxRuns = n } else { result.maxSteps = n }
            case "--json":
                try scanner.flag()
                result.json = true
            default: throw .unknownOption(argument, command: "explore")
            }
        }
        guard let file = inputs.first else { throw .noFlowFile }
        if inputs.count > 1 { throw .extraInput(inputs[1], command: "explore") }
        result.file = file
        return .explore(result)
    }

    static func parseIP(_ arguments: [String]) throws(UsageError) -> Invocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(.ip) }
        var result = IPArguments()
        var inputs: [String] = []
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            guard case .option(let name, let argument) = item else {
                if case .input(let input) = item { inputs.append(input) }
                continue
            }
            switch name {
            case "--arg":
                result.arguments.append(try scanner.pair(example: "'amount=4.00'"))
            case "--define":
                result.defines.append(try scanner.pair(example: "STRIPE_BASE=http://localhost:8420"))
            case "--secrets":
                result.secretsFile = try scanner.value(example: "secrets.env")
            case "--verbose":
                try scanner.flag()
                result.verbose = true
            case "--json":
                try scanner.flag()
                result.json = true
            default:
                throw .unknownOption(argument, command: "ip")
            }
        }
        guard inputs.count >= 2 else { throw inputs.isEmpty ? .noFlowFile : .noIPName }
        if inputs.count > 2 { throw .extraInput(inputs[2], command: "ip") }
        result.file = inputs[0]
        result.name = inputs[1]
        return .ip(result)
    }
}

/// Walks the arguments of one command: inputs, and options as `--name`, `--name=value` or
/// `--name value`. The value helpers read the value of the option just returned by `next()`.
struct OptionScanner {
    enum Item {
        case input(String)
        /// The option's name (before any `=`) and the argument as written.
        case option(name: String, argument: String)
    }

    private let arguments: [String]
    private var index = 0
    private var onlyInputs = false
    private var name = ""
    private var inline: String?

    init(_ arguments: [String]) { self.arguments = arguments }

    mutating func next() -> Item? {
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyInputs || argument == "-" || !argument.hasPrefix("-") { return .input(argument) }
            if argument == "--" {
                onlyInputs = true
                continue
            }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            name = String(parts[0])
            inline = parts.count == 2 ? String(parts[1]) : nil
            return .option(name: name, argument: argument)
        }
        return nil
    }

    /// The option's value; `missing` is the error when there is none. A next argument starting
    /// with `--` is another option, not a value (nor is `-`, unless `allowDash`).
    private mutating func rawValue(allowDash: Bool, missing: UsageError) throws(UsageError) -> String {
        if let inline {
            guard !inline.isEmpty else { throw missing }
            return inline
        }
        guard index < arguments.count, !arguments[index].hasPrefix("--"),
            allowDash || arguments[index] != "-"
        else { throw missing }
        index += 1
        return arguments[index - 1]
    }

    mutating func value(example: String, allowDash: Bool = false) throws(UsageError) -> String {
        try rawValue(allowDash: allowDash, missing: .missingArgument(option: name, example: example))
    }

    /// `NAME=VALUE`; the value may be empty, the name may not.
    mutating func pair(example: String) throws(UsageError) -> NameValue {
        let text = try value(example: example)
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw .notAPair(option: name, value: text, example: example)
        }
        return NameValue(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }

    mutating func choice<C: RawRepresentable & CaseIterable>(_: C.Type) throws(UsageError) -> C where C.RawValue == String {
        let valid = C.allCases.map(\.rawValue)
        let text = try rawValue(allowDash: true, missing: .missingValue(option: name, valid: valid))
        guard let choice = C(rawValue: text) else { throw .invalidValue(option: name, value: text, valid: valid) }
        return choice
    }

    mutating func flag() throws(UsageError) {
        if inline != nil { throw .unexpectedValue(option: name) }
    }
}
