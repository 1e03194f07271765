import FlowKit

/// `flow graph FILE [--format dot|mermaid] [--flow NAME]`: draws the element graph of the file's
/// flows (or of one) as Graphviz DOT or a Mermaid flowchart, on standard output. The drawing
/// itself is FlowKit's `GraphExport`; this command only compiles, picks the flows and prints.
///
/// Streams: the drawing alone on standard output. A file that does not check gets check's
/// diagnostics and summary on standard error and exit 65, as with `flow run`; so does a `--flow`
/// naming no flow of the program (with "did you mean"). A missing file is 66.
struct GraphCommand {
    let arguments: GraphArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let color = terminal.colorsStandardError(.auto)
        let paint = Paint(enabled: color)
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: arguments.file)
        } catch {
            terminal.err("\(paint.error("error")): \(error.description)\n")
            return .noInput
        }
        guard let program = compilation.program else {
            let renderer = DiagnosticRenderer(format: .human, color: color)
            terminal.err(renderer.render(compilation.diagnostics, sources: compilation.sources))
            var tally = Tally()
            tally.checked = 1
            tally.count(compilation.diagnostics, compilation.sources)
            terminal.err(tally.summary(paint))
            return .dataError
        }
        let export = GraphExport(program: program, sources: compilation.sources)
        var flows = export.rootFlows
        if let name = arguments.flow {
            guard let index = program.flows.firstIndex(where: { $0.name == name }) else {
                let known = program.flows.map(\.name)
                let hint = Suggest.closest(to: name, in: known).map { "did you mean '\($0)'?" }
                    ?? "the flows are " + known.map { "'\($0)'" }.joined(separator: ", ")
                terminal.err("\(paint.error("error")): no flow '\(name)' in '\(arguments.file)'\n\(paint.hint("hint")): \(hint)\n")
                return .dataError
            }
            flows = [index]
        }
        let format: GraphExport.Format = arguments.format == .dot ? .dot : .mermaid
        terminal.data(export.render(flows: flows, format: format))
        return .success
    }
}
