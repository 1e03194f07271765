import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow run FILE`: compiles the file as `flow check` does, then runs a FlowKit `Session` and acts
/// as its host: pages are answered by a person at the terminal or by a script, IPs and extensions
/// by stubs.
///
/// Streams: a flow that does not check gets check's diagnostics and summary on standard error.
/// Interactive (standard input is a terminal): pages, prompts and responses on standard output,
/// as they come, then `finished: success` or `finished: failure: <reason>`. Scripted: responses
/// and the `finished:` line on standard output. With `--json` standard output holds only one JSON
/// object, written at the end (`{"responses": […], "outcome": …, "reason": …, "steps": N}`), and
/// an interactive conversation moves to standard error. Errors always go to standard error.
/// `--trace` writes JSON Lines as the session reports events (see `TraceEvent.jsonLine`).
struct RunCommand {
    let arguments: RunArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let color = terminal.colorsStandardError(arguments.color)
        let paint = Paint(enabled: color)
        let renderer = DiagnosticRenderer(format: .human, color: color)
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: arguments.file)
        } catch {
            terminal.err("\(paint.error("error")): \(error.description)\n")
            return .noInput
        }
        guard let program = compilation.program else {
            terminal.err(renderer.render(compilation.diagnostics, sources: compilation.sources))
            var tally = Tally()
            tally.checked = 1
            tally.count(compilation.diagnostics, compilation.sources)
            terminal.err(tally.summary(paint))
            return .dataError
        }
        do {
            return try execute(program, compilation.sources, paint: paint)
        } catch {
            switch error {
            case .runtime(let failure):
                terminal.err(renderer.render([failure.diagnostic], sources: compilation.sources))
            case .inputEnded:
                terminal.err("flow: \(error.message)\n")
            default:
                var text = "\(paint.error("error")): \(error.message)\n"
                if let hint = error.hint { text += "\(paint.hint("hint")): \(hint)\n" }
                terminal.err(text)
            }
            return error.exitCode
        }
    }

    private func execute(_ program: Program, _ sources: SourceManager, paint: Paint) throws(RunError) -> ExitCode {
        let options = try runtimeOptions(program)
        var stubs = try Stubs(file: arguments.stubsFile, options: arguments.stubs, program: program)
        let answers = try ScriptedAnswers(file: arguments.answersFile, options: arguments.answers, program: program)
        let trace = try TraceWriter(arguments.trace, sources: sources, program: program)
        Interruption.install()

        let interactive = isatty(STDIN_FILENO) != 0
        let input = LineReader()
        var host: any PageHost
        if interactive {
            // With --json, standard output is for the JSON object alone.
            let terminal = self.terminal
            let toError = arguments.json
            let say: (String) -> Void = { text in toError ? terminal.err(text) : terminal.out(text) }
            let colored =
                arguments.json
                ? terminal.colorsStandardError(arguments.color) : terminal.colorsStandardOutput(arguments.color)
            host = TerminalPages(answers: answers, input: input, say: say, paint: Paint(enabled: colored))
        } else {
            let terminal = self.terminal
            let quiet = arguments.json
            host = ScriptedPages(answers: answers, input: input, say: { text in if !quiet { terminal.out(text) } })
        }

        var responses: [String] = []
        let session: Session
        var result: StepResult
        do throws(RuntimeError) {
            session = try Session(program: program, options: options, trace: trace.map { t in { t.write($0) } })
            result = try session.start()
        } catch {
            throw .runtime(error)
        }
        while true {
            responses += result.responses
            host.show(result.responses)
            let reply: Reply
            switch result.step {
            case .ask(let page):
                reply = try host.reply(to: page)
            case .callIP(let call):
                reply = try stubs.reply(to: call, isIP: true, program: program)
            case .runExtension(let call):
                reply = try stubs.reply(to: call, isIP: false, program: program)
            case .finished(let outcome):
                return finish(outcome, responses: responses, steps: session.state.steps, interactive: interactive)
            }
            do throws(RuntimeError) {
                result = try session.resume(reply)
            } catch {
                throw .runtime(error)
            }
        }
    }

    private func finish(_ outcome: Outcome, responses: [String], steps: Int, interactive: Bool) -> ExitCode {
        var line = "finished: " + (outcome.success ? "success" : "failure")
        if let reason = outcome.reason { line += ": " + reason }
        if arguments.json {
            if interactive { terminal.err(line + "\n") }
            let list = responses.map(JSONText.quote).joined(separator: ", ")
            terminal.out(
                "{\"responses\": [\(list)], \"outcome\": \(outcome.success ? "\"success\"" : "\"failure\""), "
                    + "\"reason\": \(outcome.reason.map(JSONText.quote) ?? "null"), \"steps\": \(steps)}\n")
        } else {
            terminal.out(line + "\n")
        }
        return outcome.success ? .success : .failure
    }

    /// `--flow`, `--arg`, `--define` and `--max-steps`, with every name checked against the program.
    private func runtimeOptions(_ program: Program) throws(RunError) -> RuntimeOptions {
        var options = RuntimeOptions(maxSteps: arguments.maxSteps)
        var flow = program.flows.indices.contains(program.entry) ? program.flows[program.entry] : nil
        if let name = arguments.flow {
            guard let chosen = program.flows.first(where: { $0.name == name }) else {
                throw .unknownFlow(name, known: program.flows.map(\.name))
            }
            options.flow = name
            flow = chosen
        }
        for a in arguments.arguments {
            let parameters = flow?.parameters.map(\.name) ?? []
            guard let parameter = flow?.parameters.first(where: { $0.name == a.name }) else {
                throw .unknownParameter(a.name, flow: flow?.name ?? "?", known: parameters)
            }
            // The session would keep a value that does not fit as text, and fail far from here.
            guard Value.text(a.value).coerced(to: parameter.type) != nil else {
                throw .badValue("--arg", a.name, a.value, parameter.type)
            }
            options.arguments[a.name] = a.value
        }
        for d in arguments.defines {
            guard let config = program.configs.first(where: { $0.name == d.name }) else {
                throw .unknownConfig(d.name, known: program.configs.map(\.name))
            }
            guard Value.text(d.value).coerced(to: config.type) != nil else {
                throw .badValue("--define", d.name, d.value, config.type)
            }
            options.configs[d.name] = d.value
        }
        return options
    }
}

/// `--trace FILE` (`-`: standard output): one JSON Lines record per event, written as it happens.
/// FlowKit's events already leave out every secure value (passwords, secure arguments and outputs).
final class TraceWriter {
    private let handle: FileHandle
    private let sources: SourceManager

    /// Nil when there is no `--trace`.
    init?(_ path: String?, sources: SourceManager, program: Program) throws(RunError) {
        guard let path else { return nil }
        self.sources = sources
        if path == "-" {
            handle = .standardOutput
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = isDirectory.boolValue ? "it is a directory" : exists ? "permission denied" : "cannot create it"
            throw .cannotWriteTrace(path, reason)
        }
        self.handle = handle
    }

    func write(_ event: TraceEvent) {
        try? handle.write(contentsOf: Data((event.jsonLine(sources: sources) + "\n").utf8))
    }
}
