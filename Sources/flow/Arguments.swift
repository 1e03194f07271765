import FlowKit

/// What the command line asks for, once parsed.
enum Invocation {
    /// Print this text (a help page) on standard output and exit 0.
    case help(String)
    case version
    /// Run a command whose arguments are parsed: the command's run function, given its arguments.
    case run((Terminal) -> ExitCode)
}

/// The arguments of a command: what its declaration fills in, starting from the defaults.
protocol CommandArguments {
    init()
    /// The command's declaration: its name, options and inputs.
    static var command: Command<Self> { get }
}

/// `NAME=VALUE`, as `--answer`, `--stub`, `--define` and `--arg` take it.
struct NameValue: Equatable {
    var name: String
    var value: String
}

/// `--color auto|always|never`.
enum ColorChoice: String, CaseIterable {
    /// Colour only when the stream is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    case auto
    case always
    case never
}

/// One option of a command, declared once, in the spirit of swift-argument-parser's `@Option` and
/// `@Flag`: its name, the kind of value it takes (with the example a usage error shows), whether
/// it may be repeated, its help line and the options it cannot go with. Parsing, the `--help`
/// page, usage errors and "did you mean" are all read from it; nothing about an option is written
/// anywhere else.
///
/// The constructors below bind the option to a property of the command's arguments, and the
/// property's type says what the option is: `Bool` a flag, `String?` a value, `[NameValue]` a
/// repeatable `NAME=VALUE`, `Int` a count of at least 1, a `CaseIterable` enum a choice. A value
/// option given twice keeps the last; a repeatable one keeps each, in order.
struct Option<Arguments> {
    enum Value {
        case flag
        /// Free text or a path; `-` is a value only when `allowDash` (else it is an input).
        case text(placeholder: String, example: String, allowDash: Bool)
        case pair(placeholder: String, example: String)
        /// A whole number of at least 1.
        case count(placeholder: String, example: String)
        case choice(placeholder: String, valid: [String])
    }

    /// A value of this option that cannot go with another option because both would write to
    /// standard output (`--trace -` with `--json`), the one kind of conflict there is today.
    struct Conflict {
        /// The value that conflicts; nil: any value.
        var value: String?
        var option: String
    }

    let name: String
    /// Other spellings accepted (`--colour`); not listed, not suggested.
    var aliases: [String] = []
    let value: Value
    let repeatable: Bool
    /// The help text, one line per line of the help page's right-hand column.
    let help: String
    var conflicts: [Conflict] = []
    /// Reads the option's value (the scanner stands just after its name) into the arguments.
    let store: (inout Arguments, inout OptionScanner) throws(UsageError) -> Void

    /// The spellings "did you mean" compares with: the name, and the name followed by a one-word
    /// placeholder (`--stubs-file` for `--stubs <file>`), so `--stub-file` finds `--stubs`.
    var suggestionSpellings: [String] {
        switch value {
        case .text(let placeholder, _, _) where placeholder.allSatisfy(\.isLetter):
            [name, "\(name)-\(placeholder)"]
        default: [name]
        }
    }

    /// `--format <format>`, as the option table shows it.
    var tableTitle: String {
        switch value {
        case .flag: name
        case .text(let p, _, _), .pair(let p, _), .count(let p, _), .choice(let p, _): "\(name) <\(p)>"
        }
    }

    /// `[--format human|gcc|json]`, `[--answer NAME=VALUE]...`, as the usage line shows it.
    var usageTitle: String {
        let shown: String
        switch value {
        case .flag: shown = name
        case .text(let p, _, let dash): shown = "\(name) \(p.uppercased())\(dash ? "|-" : "")"
        case .pair(let p, _), .count(let p, _): shown = "\(name) \(p.uppercased())"
        case .choice(_, let valid): shown = "\(name) \(valid.joined(separator: "|"))"
        }
        return "[\(shown)]" + (repeatable ? "..." : "")
    }
}

extension Option {
    static func flag(_ name: String, _ property: WritableKeyPath<Arguments, Bool>, help: String) -> Self {
        Option(name: name, value: .flag, repeatable: false, help: help) { (arguments, scanner) throws(UsageError) in
            try scanner.flag()
            arguments[keyPath: property] = true
        }
    }

    static func text(
        _ name: String, _ property: WritableKeyPath<Arguments, String?>, placeholder: String, example: String,
        allowDash: Bool = false, help: String, conflicts: [Conflict] = []
    ) -> Self {
        Option(
            name: name, value: .text(placeholder: placeholder, example: example, allowDash: allowDash),
            repeatable: false, help: help, conflicts: conflicts
        ) { (arguments, scanner) throws(UsageError) in
            arguments[keyPath: property] = try scanner.value(example: example, allowDash: allowDash)
        }
    }

    static func pairs(
        _ name: String, _ property: WritableKeyPath<Arguments, [NameValue]>, placeholder: String = "name=value",
        example: String, help: String
    ) -> Self {
        Option(name: name, value: .pair(placeholder: placeholder, example: example), repeatable: true, help: help) {
            (arguments, scanner) throws(UsageError) in
            arguments[keyPath: property].append(try scanner.pair(example: example))
        }
    }

    static func count(
        _ name: String, _ property: WritableKeyPath<Arguments, Int>, example: String = "1000", help: String
    ) -> Self {
        Option(name: name, value: .count(placeholder: "n", example: example), repeatable: false, help: help) {
            (arguments, scanner) throws(UsageError) in
            arguments[keyPath: property] = try scanner.count(example: example)
        }
    }

    static func choice<C: RawRepresentable & CaseIterable>(
        _ name: String, _ property: WritableKeyPath<Arguments, C>, aliases: [String] = [], placeholder: String,
        help: String
    ) -> Self where C.RawValue == String {
        Option(
            name: name, aliases: aliases, value: .choice(placeholder: placeholder, valid: C.allCases.map(\.rawValue)),
            repeatable: false, help: help
        ) { (arguments, scanner) throws(UsageError) in
            arguments[keyPath: property] = try scanner.choice(C.self)
        }
    }

    /// `--color auto|always|never`, the same for every command that colours its output.
    static func color(_ property: WritableKeyPath<Arguments, ColorChoice>, stream: String = "the output") -> Self {
        .choice(
            "--color", property, aliases: ["--colour"], placeholder: "when",
            help: """
                auto (the default: colour only when \(stream) is a terminal and
                NO_COLOR is unset or empty), always or never
                """)
    }
}

/// What a command takes besides options.
enum Operands<Arguments> {
    /// One or more files or directories (`<file|directory>...`) to `verb`; none is `noInputs`,
    /// whose hint shows `flow <command> <example>`.
    case many(WritableKeyPath<Arguments, [String]>, verb: String, example: String)
    /// One flow file (`<file>`) to `verb`; none is `noFlowFile`, one more is `extraInput`.
    case file(WritableKeyPath<Arguments, String>, verb: String)
    /// Exactly these, in order, each with its usage name and the error when it is missing; one
    /// more is `extraInput`.
    case exactly([(usage: String, property: WritableKeyPath<Arguments, String>, missing: UsageError)])

    var usage: String {
        switch self {
        case .many: "<file|directory>..."
        case .file: "<file>"
        case .exactly(let inputs): inputs.map(\.usage).joined(separator: " ")
        }
    }
}

/// A command, declared once: its name and summary, what it takes, its options and help, and the
/// function that runs it. Adding a command is one such declaration (see `Commands.all`) and its
/// run function.
struct Command<Arguments: CommandArguments> {
    let name: String
    /// One line, for `flow --help`.
    let summary: String
    let inputs: Operands<Arguments>
    let options: [Option<Arguments>]
    /// The paragraphs between the usage line and the options.
    let about: String
    /// A paragraph after the options, if any.
    var notes: String? = nil
    /// The lines of the exit-status table, as `  0   meaning`.
    let exitStatus: String
    let run: (Arguments, Terminal) -> ExitCode

    /// Parses the arguments after the command's name. `-h`/`--help` anywhere before `--` asks for
    /// help and wins over every other mistake, so `flow check --help --bogus` still shows the help.
    func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        let beforeDoubleDash = arguments.prefix { $0 != "--" }
        if beforeDoubleDash.contains("--help") || beforeDoubleDash.contains("-h") { return .help(help) }
        var result = Arguments()
        var inputs: [String] = []
        var given: [(option: Option<Arguments>, value: String)] = []
        var scanner = OptionScanner(arguments)
        while let item = scanner.next() {
            switch item {
            case .input(let input):
                inputs.append(input)
            case .option(let name, let argument):
                guard let option = options.first(where: { $0.name == name || $0.aliases.contains(name) }) else {
                    throw .unknownOption(argument, command: self.name)
                }
                try option.store(&result, &scanner)
                given.append((option, scanner.lastValue ?? ""))
            }
        }
        var operands = self.inputs
        if case .file(let property, let verb) = operands {
            operands = .exactly([("<file>", property, .noFlowFile(verb: verb, example: "flow \(name) main.flow"))])
        }
        switch operands {
        case .many(let property, let verb, let example):
            guard !inputs.isEmpty else { throw .noInputs(verb: verb, example: "flow \(name) \(example)") }
            result[keyPath: property] = inputs
        case .file: break  // made `.exactly` above
        case .exactly(let expected):
            for (index, input) in expected.enumerated() {
                guard index < inputs.count else { throw input.missing }
                result[keyPath: input.property] = inputs[index]
            }
            if inputs.count > expected.count { throw .extraInput(inputs[expected.count], command: name) }
        }
        for (option, value) in given {
            for conflict in option.conflicts where conflict.value == nil || conflict.value == value {
                guard given.contains(where: { $0.option.name == conflict.option }) else { continue }
                throw .bothOnStandardOutput("\(option.name)\(conflict.value.map { " \($0)" } ?? "")", conflict.option)
            }
        }
        let run = self.run
        let parsed = result
        return .run { terminal in run(parsed, terminal) }
    }

    var optionNames: [String] { options.map(\.name) + ["--help"] }

    var help: String { HelpPage.render(self) }
}

/// A command with its arguments' type erased, for the list of commands.
struct AnyCommand {
    let name: String
    let summary: String
    let parse: ([String]) throws(UsageError) -> Invocation
    /// The rest, made when asked: every command's help page was rendered at each start, and
    /// that, with the runtime's first look-ups of the types the rendering uses, was part of the
    /// start of a small file's `flow check`.
    private let describe: () -> Description
    private let renderHelp: () -> String

    struct Description {
        /// `<file> <name>`: what it takes besides options.
        var operandsUsage: String
        var optionNames: [String]
        /// Each spelling "did you mean" may match, with the option it stands for.
        var suggestionSpellings: [(spelling: String, option: String)]
    }

    var operandsUsage: String { describe().operandsUsage }
    var optionNames: [String] { describe().optionNames }
    var suggestionSpellings: [(spelling: String, option: String)] { describe().suggestionSpellings }
    var help: String { renderHelp() }

    /// The command that `A`'s declaration (`A.command`) declares.
    init<A: CommandArguments>(_: A.Type) {
        let command = A.command
        name = command.name
        summary = command.summary
        parse = command.parse
        // The type, not the declaration, is held, and the declaration made again when asked.
        describe = {
            let command = A.command
            return Description(
                operandsUsage: command.inputs.usage, optionNames: command.optionNames,
                suggestionSpellings: command.options.flatMap { option in option.suggestionSpellings.map { ($0, option.name) } }
                    + [("--help", "--help")])
        }
        renderHelp = { A.command.help }
    }
}

/// Hand-written argument parsing: `flow <command> [options] [inputs]`, read from the commands'
/// declarations.
///
/// Options take their value as the next argument or after `=` (`--format json`, `--format=json`);
/// an argument after `--` is always an input.
enum ArgumentParser {
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        guard let first = arguments.first else { throw .noCommand }
        let rest = Array(arguments.dropFirst())
        switch first {
        case "-h", "--help":
            try expectNothing(rest, after: first)
            return .help(HelpPage.general)
        case "help":
            guard let topic = rest.first else { return .help(HelpPage.general) }
            try expectNothing(Array(rest.dropFirst()), after: topic)
            if ["help", "-h", "--help"].contains(topic) { return .help(HelpPage.general) }
            guard let command = Commands.named(topic) else { throw .unknownCommand(topic) }
            return .help(command.help)
        case "--version":
            try expectNothing(rest, after: first)
            return .version
        default:
            if let command = Commands.named(first) { return try command.parse(rest) }
            if first.hasPrefix("-") && first != "-" { throw .unknownOption(first, command: nil) }
            throw .unknownCommand(first)
        }
    }

    private static func expectNothing(_ rest: [String], after: String) throws(UsageError) {
        if let extra = rest.first { throw .unexpectedArgument(extra, after: after) }
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
    /// The value the last option took, if it took one.
    private(set) var lastValue: String?

    init(_ arguments: [String]) { self.arguments = arguments }

    mutating func next() -> Item? {
        lastValue = nil
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
            lastValue = inline
            return inline
        }
        guard index < arguments.count, !arguments[index].hasPrefix("--"),
            allowDash || arguments[index] != "-"
        else { throw missing }
        index += 1
        lastValue = arguments[index - 1]
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

    /// A whole number of at least 1.
    mutating func count(example: String) throws(UsageError) -> Int {
        let text = try value(example: example)
        guard let count = Int(text), count >= 1 else { throw .notACount(option: name, value: text) }
        return count
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
