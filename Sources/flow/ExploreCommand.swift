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
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: arguments.file)
        } catch {
            terminal.err("\(paint.error("error")): \(error.description)\n")
            return .noInput
        }
        guard let program = compilation.program else {
            let renderer = DiagnosticRenderer(format: .human, color: terminal.colorsStandardError(.auto))
            terminal.err(renderer.render(compilation.diagnostics, sources: compilation.sources))
            var tally = Tally()
            tally.checked = 1
            tally.count(compilation.diagnostics, compilation.sources)
            terminal.err(tally.summary(paint))
            return .dataError
        }
        let options = ExploreOptions(maxRuns: arguments.maxRuns, maxSteps: arguments.maxSteps)
        let result = Explorer.explore(program, options: options)
        let report = ExploreReport(file: arguments.file, color: !arguments.json && terminal.colorsStandardOutput(.auto))
        if arguments.json {
            terminal.data(report.json(result, sources: compilation.sources))
        } else {
            terminal.out(report.human(result, sources: compilation.sources))
        }
        return result.findings.isEmpty ? .success : .failure
    }
}
