import FlowKit

/// `flow explore FILE [--max-runs N] [--max-steps N] [--json]`: compiles the file as `flow check`
/// does, then plays its first flow through by itself (FlowKit's `Explorer`) and reports what
/// breaks, each finding with the answers and stubs that make `flow run` meet it again.
///
/// Streams: a flow that does not check gets check's diagnostics and summary on standard error
/// (exit 65). The report goes to standard output: the summary, coverage, then each finding; with
/// `--json`, one JSON object and nothing else. Exit 0 when nothing was found, 1 when something
/// was, 66 when the file cannot be read.
struct ExploreCommand {
    let arguments: ExploreArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let paint = Paint(enabled: terminal.colorsStandardError(.auto))
        let compiled: (program: Program, sources: SourceManager)
        do {
            compiled = try terminal.compileOrReport(arguments.file, paint: paint)
        } catch {
            return error.exitCode
        }
        let options = ExploreOptions(maxRuns: arguments.maxRuns, maxSteps: arguments.maxSteps)
        let result = Explorer.explore(compiled.program, options: options)
        let report = ExploreReport(file: arguments.file, color: !arguments.json && terminal.colorsStandardOutput(.auto))
        if arguments.json {
            terminal.data(report.json(result, sources: compiled.sources))
        } else {
            terminal.out(report.human(result, sources: compiled.sources))
        }
        return result.findings.isEmpty ? .success : .failure
    }
}

/// `flow explore FILE [--max-runs N] [--max-steps N] [--json]`
struct ExploreArguments: CommandArguments {
    var file = ""
    var maxRuns = 20_000
    var maxSteps = 10_000
    var json = false

    static var command: Command<Self> {
        Command(
            name: "explore", summary: "play a flow through by itself and report what breaks",
            inputs: .file(\.file, verb: "explore"),
            options: [
                .count(
                    "--max-runs", \.maxRuns,
                    help: """
                        stop after n playthroughs (default \(Self().maxRuns)); the summary says when the
                        budget stopped it before every path was explored
                        """),
                .count(
                    "--max-steps", \.maxSteps,
                    help: """
                        the elements one playthrough may run before it counts as a loop that
                        does not end (default \(Self().maxSteps))
                        """),
                .flag(
                    "--json", \.json,
                    help: """
                        print one JSON object: {"playthroughs": n, "complete": …, "coverage":
                        {…}, "findings": [{"kind", "code", "message", "file", "line", …,
                        "when", "answers", "stubs", "command", "reproduced"}]}
                        """),
            ],
            about: """
                Checks the file as 'flow check' does, then plays its first flow through by itself, many
                times, and reports every playthrough that hits a run-time error, a call failure with no
                'on error', a loop that does not end, or a question no answer gets past. Nothing is called
                for real: each IP and extension call gets made-up results, one at a time: a plausible
                success, each output null, empty, zero or set to what the flow compares it with, and each
                kind of failure (http 400 and 500, timeout, connection, malformed, SOAP fault, extension).
                Each question gets its boundaries (min, max, just inside them), zero, a negative, a big
                number, two decimals, every option, yes and no, dates at the bounds, texts made from its
                pattern, the default and a skip; answers its rules refuse must be refused, and are tried
                too. Playthroughs that change fewer answers and results come first, so each finding shows
                the simplest way found to it.

                Each finding is shown like a diagnostic, with the answers and stubs that reproduce it as
                JSON ('flow run --answers FILE --stubs FILE' takes them) and as one 'flow run' command
                line. A finding is reported once per kind and place in the source.
                """,
            exitStatus: """
                  0   nothing was found
                  1   something was found
                  64  usage error
                  65  the flow does not check
                  66  the file cannot be read
                """,
            run: { ExploreCommand(arguments: $0, terminal: $1).run() })
    }
}
