import FlowKit

/// `flow check`: compiles every input with `Frontend.compile` and reports the diagnostics; a test
/// plan (`*.flowtest`) is read and checked against its flow as `flow test` would.
///
/// Streams: human and gcc diagnostics go to standard error as each file is checked; JSON goes to
/// standard output as one array covering every input, written at the end (so `--format json`
/// output always parses, even when nothing was found: `[]`). Messages about inputs that cannot be
/// read go to standard error in every format. Only the human format ends with a summary line;
/// gcc and JSON are for programs and carry nothing but diagnostics.
///
/// The same diagnostic (same file, span, id and message) can arise from several inputs when they
/// import a common file; it is reported and counted once.
struct CheckCommand {
    let arguments: CheckArguments
    let terminal: Terminal

    /// The last input's compilation, kept to the end of the process instead of released: the
    /// process exits once it has reported, and the system takes the memory back at once, where
    /// releasing a large program's graph goes object by object on one thread (as clang's
    /// `-disable-free`). An earlier input's is released before the next input is read, as
    /// before, so what is held at once does not grow with the count of inputs.
    nonisolated(unsafe) private static var keptUntilExit: Compilation?

    func run() -> ExitCode {
        MemoryUse.returnLargeBlocks()
        let color = arguments.format == .human && terminal.colorsStandardError(arguments.color)
        let paint = Paint(enabled: terminal.colorsStandardError(arguments.color))
        let renderer = DiagnosticRenderer(format: arguments.format, color: color)
        let options = CheckOptions(strict: arguments.strict)

        var tally = Tally()
        var reported = Set<DiagnosticKey>()
        var jsonChunks: [String] = []

        for item in Inputs.expand(arguments.inputs) {
            Self.keptUntilExit = nil
            guard let path = terminal.file(item, paint: paint) else {
                tally.unreadable += 1
                continue
            }
            let compilation: Compilation
            do {
                compilation = FlowFormatter.isPlan(path) ? try Self.checkPlan(path, options) : try Frontend.compile(path: path, options: options)
            } catch {
                terminal.err("\(paint.error("error")): \(error.description)\n")
                tally.unreadable += 1
                continue
            }
            tally.checked += 1
            defer { Self.keptUntilExit = compilation }

            let fresh = compilation.diagnostics.filter {
                reported.insert(DiagnosticKey($0, compilation.sources)).inserted
            }
            tally.count(fresh, compilation.sources)
            guard !fresh.isEmpty else { continue }
            let text = renderer.render(fresh, sources: compilation.sources)
            if arguments.format == .json {
                jsonChunks.append(Self.arrayElements(text))
            } else {
                terminal.err(text)
            }
        }

        switch arguments.format {
        case .json:
            terminal.data(jsonChunks.isEmpty ? "[]\n" : "[\n  " + jsonChunks.joined(separator: ",\n  ") + "\n]\n")
        case .human:
            terminal.err(tally.summary(paint))
        case .gcc:
            break
        }
        return tally.exitCode
    }

    /// A test plan is checked as `flow test` reads it: its syntax, its names against its flow, and
    /// the flow's errors.
    static func checkPlan(_ path: String, _ options: CheckOptions) throws(InputError) -> Compilation {
        let loaded = try TestPlanLoader.load(path: path)
        var diagnostics = loaded.diagnostics
        if options.strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning { diagnostics[i].severity = .error }
        }
        return Compilation(sources: loaded.sources, diagnostics: diagnostics, program: nil)
    }

    /// The elements of a JSON array rendered by `DiagnosticRenderer`, without the brackets, so the
    /// arrays of several compilations (each with its own `SourceManager`) join into one.
    static func arrayElements(_ array: String) -> String {
        var text = Substring(array)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        precondition(text.first == "[" && text.last == "]", "the JSON renderer must produce an array")
        text = text.dropFirst().dropLast()
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        return String(text)
    }
}

/// What makes two diagnostics the same report, across compilations.
private struct DiagnosticKey: Hashable {
    let path: String
    let start: UInt32
    let end: UInt32
    let id: String
    let severity: Severity
    let message: String

    init(_ d: Diagnostic, _ sources: SourceManager) {
        path = Inputs.canonical(sources[d.range.file].path)
        start = d.range.start
        end = d.range.end
        id = d.id
        severity = d.severity
        message = d.message
    }
}

/// Counts for the summary line and the exit status.
struct Tally {
    var checked = 0
    var unreadable = 0
    var errors = 0
    var warnings = 0
    var filesWithProblems = Set<String>()

    mutating func count(_ diagnostics: [Diagnostic], _ sources: SourceManager) {
        for d in diagnostics where d.severity == .error || d.severity == .warning {
            if d.severity == .error { errors += 1 } else { warnings += 1 }
            filesWithProblems.insert(Inputs.canonical(sources[d.range.file].path))
        }
    }

    var exitCode: ExitCode {
        if unreadable > 0 { return .noInput }
        if errors > 0 { return .dataError }
        return .success
    }

    /// `checked 3 files: no problems`, `checked 3 files: 1 warning in 1 file`,
    /// `error: found 2 errors and 1 warning in 1 file`, `error: could not read 1 input`, or both
    /// joined by `; `.
    func summary(_ paint: Paint) -> String {
        // Joined by hand: `joined(separator:)` is the standard library's unspecialized generic
        // code, whose first call looks its types up at run time (a twentieth of a small check).
        var found = plural(errors, "error") ?? ""
        if let w = plural(warnings, "warning") { found += found.isEmpty ? w : " and " + w }
        found += " in " + (plural(filesWithProblems.count, "file") ?? "0 files")
        guard errors > 0 || unreadable > 0 else {
            let detail = warnings > 0 ? found : "no problems"
            return "checked \(plural(checked, "file") ?? "0 files"): \(detail)\n"
        }
        var parts: [String] = []
        if errors > 0 || warnings > 0 { parts.append("found " + found) }
        if unreadable > 0 { parts.append("could not read \(plural(unreadable, "input") ?? "")") }
        return "\(paint.error("error")): \(parts.joined(separator: "; "))\n"
    }

    /// `1 error`, `2 errors`; nil for zero.
    private func plural(_ n: Int, _ word: String) -> String? {
        n == 0 ? nil : "\(n) \(word)\(n == 1 ? "" : "s")"
    }
}

/// `flow check <file|directory>... [--format human|gcc|json] [--strict] [--color auto|always|never]`
struct CheckArguments: CommandArguments {
    var inputs: [String] = []
    var format: DiagnosticRenderer.Format = .human
    var strict = false
    var color: ColorChoice = .auto

    static var command: Command<Self> {
        Command(
            name: "check", summary: "check flow files and report problems",
            inputs: .many(\.inputs, verb: "check", example: "main.flow flows/"),
            options: [
                .choice(
                    "--format", \.format, placeholder: "format",
                    help: """
                        how diagnostics are written:
                          human  messages with source excerpts, to standard error, then a
                                 one-line summary (the default)
                          gcc    'file:line:column: severity: message' lines, to standard error
                          json   one array of objects for all inputs, to standard output
                        """),
                .flag("--strict", \.strict, help: "treat warnings as errors"),
                .color(\.color, stream: "standard error"),
            ],
            about: """
                Checks each file, and the files it imports, and reports every problem found. A directory is
                searched recursively for '*.flow' files, in sorted order; hidden files and directories, and
                links to directories, are skipped. A problem reported the same way twice (in a file imported
                by several inputs) is shown once.
                """,
            notes: "Use '--' before inputs whose names start with '-'.",
            exitStatus: """
                  0   no errors (warnings alone are fine unless --strict)
                  64  usage error: unknown option, missing or invalid value, no inputs (nothing is checked)
                  65  errors found
                  66  an input is missing or unreadable, or a directory holds no '.flow' file; the other
                      inputs are still checked, and 66 wins over 65
                  70  internal error: a bug in flow
                """,
            run: { CheckCommand(arguments: $0, terminal: $1).run() })
    }
}
