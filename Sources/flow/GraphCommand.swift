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
        let program: Program
        let sources: SourceManager
        do {
            (program, sources) = try terminal.compileOrReport(arguments.file, paint: paint)
        } catch {
            return error.exitCode
        }
        let export = GraphExport(program: program, sources: sources)
        var flows = export.rootFlows
        if let name = arguments.flow {
            guard let index = program.flows.firstIndex(where: { $0.name == name }) else {
                return terminal.notFound(
                    "flow", name, in: arguments.file, known: program.flows.map(\.name), paint: paint
                ).exitCode
            }
            flows = [index]
        }
        let format: GraphExport.Format = arguments.format == .dot ? .dot : .mermaid
        terminal.data(export.render(flows: flows, format: format))
        return .success
    }
}

/// `flow graph FILE [--format dot|mermaid] [--flow NAME]`
struct GraphArguments: CommandArguments {
    enum Format: String, CaseIterable { case dot, mermaid }

    var file = ""
    var format: Format = .dot
    var flow: String?

    static var command: Command<Self> {
        Command(
            name: "graph", summary: "draw a flow's element graph (Graphviz dot or Mermaid)",
            inputs: .file(\.file, verb: "draw"),
            options: [
                .choice(
                    "--format", \.format, placeholder: "format",
                    help: """
                        dot (the default: Graphviz) or mermaid (a Mermaid flowchart, which
                        Markdown on GitHub and GitLab shows as a picture)
                        """),
                .text(
                    "--flow", \.flow, placeholder: "name", example: "'Verify Identity'",
                    help: "draw only this flow (it may come from an imported file)"),
            ],
            about: """
                Checks the file as 'flow check' does, then draws the element graph of each flow declared in
                it, on standard output: every element a node labelled with what it does ('ip StripeCharge',
                'if not result.paid or …'), each flow a box, each page a box of its questions. Edges:
                'yes' and 'no' out of a decision, 'error' to a call's on error, a dashed 'call' to the
                start of a sub-flow. Render it with Graphviz:

                  flow graph flows/payment.flow | dot -Tsvg > payment.svg
                """,
            exitStatus: """
                  0   the drawing was written
                  64  usage error: unknown option, missing or invalid value, no file
                  65  the file does not check (its diagnostics are shown), or no flow has that name
                  66  the file is missing or unreadable
                """,
            run: { GraphCommand(arguments: $0, terminal: $1).run() })
    }
}
