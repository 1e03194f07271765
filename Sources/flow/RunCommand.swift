import FlowIntegration
import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow run FILE`: compiles the file as `flow check` does, then runs a FlowKit `Session` and acts
/// as its host: pages are answered by a person at the terminal or by a script, IPs by stubs, and
/// extensions by their stubs or, without one, by running them (`ExtensionRunner`; `--extension`
/// names another executable).
///
/// Streams: a flow that does not check gets check's diagnostics and summary on standard error.
/// Interactive (standard input is a terminal): pages, prompts and responses on standard output,
/// as they come, then `finished: success` or `finished: failure: <reason>`. Scripted: responses
/// and the `finished:` line on standard output. With `--json` standard output holds only one JSON
/// object, written at the end (`{"responses": […], "outcome": …, "reason": …, "steps": N}`), and
/// an interactive conversation moves to standard error. Errors always go to standard error.
/// `--trace` writes JSON Lines as the session reports events (see `TraceEvent.jsonLine`).
///
/// `--plan FILE.flowtest [--test NAME]` previews a flow without a gateway: the plan (which must
/// test this file) is loaded and checked as `flow test` does, and the named test (the first by
/// default) sets the run up: its flow, arguments, configs and date, unless `--flow`, `--arg` or
/// `--define` say otherwise, and its canned results answer the IPs and extensions it names
/// (a `--stub` still wins). Its answers are not used: the pages are for the person previewing.
struct RunCommand {
    let arguments: RunArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let color = terminal.colorsStandardError(arguments.color)
        let paint = Paint(enabled: color)
        let renderer = DiagnosticRenderer(format: .human, color: color)
        let program: Program
        let sources: SourceManager
        var planTest: TestCase?
        if let planPath = arguments.plan {
            let loaded: LoadedPlan
            do {
                loaded = try TestPlanLoader.load(path: planPath)
            } catch {
                terminal.err("\(paint.error("error")): \(error.description)\n")
                return .noInput
            }
            guard let plan = loaded.plan, let planProgram = loaded.program else {
                terminal.err(renderer.render(loaded.diagnostics, sources: loaded.sources))
                var tally = Tally()
                tally.checked = 1
                tally.count(loaded.diagnostics, loaded.sources)
                terminal.err(tally.summary(paint))
                return .dataError
            }
            guard Inputs.canonical(plan.flowPath) == Inputs.canonical(arguments.file) else {
                terminal.err("\(paint.error("error")): the plan '\(planPath)' tests '\(plan.flowPath)', not '\(arguments.file)'\n"
                    + "\(paint.hint("hint")): flow run \(plan.flowPath) --plan \(planPath)\n")
                return .dataError
            }
            if let name = arguments.test {
                guard let test = plan.tests.first(where: { $0.name == name }) else {
                    let names = plan.tests.map(\.name)
                    let hint = Suggest.closest(to: name, in: names).map { "did you mean '\($0)'?" }
                        ?? "the tests are: " + names.map { "'\($0)'" }.joined(separator: ", ")
                    terminal.err("\(paint.error("error")): no test '\(name)' in '\(planPath)'\n\(paint.hint("hint")): \(hint)\n")
                    return .dataError
                }
                planTest = test
            } else {
                planTest = plan.tests.first
            }
            program = planProgram
            sources = loaded.sources
        } else {
            if arguments.test != nil {
                terminal.err("\(paint.error("error")): '--test' names a test of a plan given with '--plan'\n"
                    + "\(paint.hint("hint")): flow run flows/payment.flow --plan flows/payment.flowtest --test 'a card is charged'\n")
                return .usage
            }
            let compilation: Compilation
            do {
                compilation = try Frontend.compile(path: arguments.file)
            } catch {
                terminal.err("\(paint.error("error")): \(error.description)\n")
                return .noInput
            }
            guard let compiled = compilation.program else {
                terminal.err(renderer.render(compilation.diagnostics, sources: compilation.sources))
                var tally = Tally()
                tally.checked = 1
                tally.count(compilation.diagnostics, compilation.sources)
                terminal.err(tally.summary(paint))
                return .dataError
            }
            program = compiled
            sources = compilation.sources
        }
        do {
            return try execute(program, sources, paint: paint, planTest: planTest)
        } catch {
            switch error {
            case .runtime(let failure):
                terminal.err(renderer.render([failure.diagnostic], sources: sources))
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

    private func execute(_ program: Program, _ sources: SourceManager, paint: Paint, planTest: TestCase?) throws(RunError) -> ExitCode {
        let options = try runtimeOptions(program, planTest: planTest)
        // The plan's canned results answer what no --stub does.
        var canned = planTest.map { ScriptCursor($0.results) }
        func cannedReply(_ call: CallRequest) throws(RunError) -> Reply? {
            switch canned?.next(call.name) {
            case .value(let reply, _)?: return reply
            case .exhausted(let count)?: throw .stubExhausted(call.name, count)
            case .none?, nil: return nil
            }
        }
        var stubs = try Stubs(file: arguments.stubsFile, options: arguments.stubs, program: program)
        let answers = try ScriptedAnswers(file: arguments.answersFile, options: arguments.answers, program: program)
        let trace = try TraceWriter(arguments.trace, sources: sources, program: program)
        let extensions = try extensionRunner(program, sources, options)
        let caller = try integrationCaller(program)
        let configs: [Value]
        do throws(RuntimeError) {
            configs = try program.configValues(overrides: options.configs)
        } catch {
            throw .runtime(error)
        }
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
        let kept = try arguments.session.map { path throws(RunError) in try SessionFile(path: path, sources: sources) }
        let session: Session
        var result: StepResult
        // Responses shown before a run-time error are shown before it, too.
        func stepped(_ step: () throws(RuntimeError) -> StepResult) throws(RunError) -> StepResult {
            do throws(RuntimeError) {
                return try step()
            } catch {
                responses += error.responses
                host.show(error.responses)
                throw .runtime(error)
            }
        }
        let traced = trace.map { t in { (event: TraceEvent) in t.write(event) } }
        if let saved = try kept?.load(program: program) {
            session = Session(program: program, state: saved, options: options, trace: traced)
        } else {
            do throws(RuntimeError) {
                session = try Session(program: program, options: options, trace: traced)
            } catch {
                throw .runtime(error)
            }
        }
        result = try stepped { () throws(RuntimeError) in try session.start() }
        while true {
            responses += result.responses
            host.show(result.responses)
            // The step is on disk before anything is done about it: a call in flight is saved
            // with its identity before its request goes out.
            try kept?.save(session.state)
            try trace?.check()
            let reply: Reply
            switch result.step {
            case .ask(let page):
                reply = try host.reply(to: page)
            case .callIP(let call):
                do {
                    reply = try stubs.reply(to: call, isIP: true, program: program)
                } catch {
                    // Without a stub, the plan's result; without one, the integration point is called for real.
                    guard case .noStub = error else { throw error }
                    if let r = try cannedReply(call) {
                        reply = r
                    } else {
                        do throws(RuntimeError) {
                            reply = try caller.call(program: program, call, configs: configs)
                        } catch {
                            throw .runtime(error)
                        }
                    }
                }
            case .runExtension(let call):
                do {
                    reply = try stubs.reply(to: call, isIP: false, program: program)
                } catch {
                    guard case .noStub = error else { throw error }
                    if let r = try cannedReply(call) {
                        reply = r
                    } else {
                        do {
                            reply = try extensions.run(call)
                        } catch {
                            // Ctrl-C while the extension had the terminal: stop as for Ctrl-C here.
                            raise(error.signal)
                            return .interrupted
                        }
                    }
                }
            case .finished(let outcome):
                return finish(outcome, responses: responses, steps: session.state.steps, interactive: interactive)
            }
            result = try stepped { () throws(RuntimeError) in try session.resume(reply) }
        }
    }

    private func finish(_ outcome: Outcome, responses: [String], steps: Int, interactive: Bool) -> ExitCode {
        var line = "finished: " + (outcome.success ? "success" : "failure")
        if let reason = outcome.reason { line += ": " + reason }
        if arguments.json {
            if interactive { terminal.err(line + "\n") }
            let list = responses.map(JSONText.quote).joined(separator: ", ")
            terminal.data(
                "{\"responses\": [\(list)], \"outcome\": \(outcome.success ? "\"success\"" : "\"failure\""), "
                    + "\"reason\": \(outcome.reason.map(JSONText.quote) ?? "null"), \"steps\": \(steps)}\n")
        } else {
            terminal.out(line + "\n")
        }
        return outcome.success ? .success : .failure
    }

    /// Calls the integration points that have no stub, with the secrets from `--secrets` and the
    /// environment.
    private func integrationCaller(_ program: Program) throws(RunError) -> IPCaller {
        IPCaller(secrets: try loadSecrets(program, file: arguments.secretsFile))
    }

    /// Runs the extensions that have no stub. `--extension` names are checked against the program.
    private func extensionRunner(_ program: Program, _ sources: SourceManager, _ options: RuntimeOptions) throws(RunError)
        -> ExtensionRunner
    {
        var configuration = ExtensionRunner.Configuration()
        // With --json, standard output holds the JSON object alone; what the extension prints
        // goes to standard error instead (at a terminal, both are the terminal).
        if arguments.json { configuration.standardOutput = STDERR_FILENO }
        let known = program.extensions.map(\.name)
        for e in arguments.extensions {
            guard known.contains(e.name) else { throw .unknownExtension(e.name, known: known) }
            configuration.executables[e.name] = e.value
        }
        let configs: [Value]
        do throws(RuntimeError) {
            configs = try program.configValues(overrides: options.configs)
        } catch {
            throw .runtime(error)
        }
        return ExtensionRunner(program: program, sources: sources, configs: configs, configuration: configuration)
    }

    /// `--flow`, `--arg`, `--define` and `--max-steps`, with every name checked against the program;
    /// then what the plan's test sets up and the command line does not.
    private func runtimeOptions(_ program: Program, planTest: TestCase?) throws(RunError) -> RuntimeOptions {
        var options = RuntimeOptions(maxSteps: arguments.maxSteps)
        var flow = program.flows.indices.contains(program.entry) ? program.flows[program.entry] : nil
        if let name = arguments.flow ?? planTest?.flow {
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
        if let test = planTest {
            // The plan's values were checked when it was loaded.
            if arguments.flow == nil || arguments.flow == test.flow {
                for (name, value) in test.arguments where options.arguments[name] == nil { options.arguments[name] = value }
            }
            for (name, value) in test.configs where options.configs[name] == nil { options.configs[name] = value }
            if let today = test.today { options.today = { today } }
        }
        return options
    }
}

/// `--trace FILE` (`-`: standard output): one JSON Lines record per event, written as it happens
/// to the file where it is (`OutputFile`). FlowKit's events already leave out every secure value
/// (passwords, secure arguments and outputs).
final class TraceWriter {
    private let file: OutputFile
    private let sources: SourceManager

    /// Nil when there is no `--trace`.
    init?(_ path: String?, sources: SourceManager, program: Program) throws(RunError) {
        guard let path else { return nil }
        self.sources = sources
        if path == "-" {
            file = OutputFile(standardOutput: ())
            return
        }
        do {
            file = try OutputFile(path: path)
        } catch {
            throw .cannotWriteTrace(path, error.reason)
        }
    }

    func write(_ event: TraceEvent) {
        file.write(event.jsonLine(sources: sources) + "\n")
    }

    /// Stops the run (exit 73) once a record could not be written.
    func check() throws(RunError) {
        if let reason = file.failure { throw .cannotWriteTrace(file.path, reason) }
    }
}

/// The secrets a program declares: from `--secrets FILE` (`KEY=VALUE` lines), else the environment.
func loadSecrets(_ program: Program, file: String?) throws(RunError) -> Secrets {
    var fromFile: [String: String] = [:]
    if let file {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .cannotRead(file, FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file")
        }
        switch Secrets.parseFile(String(decoding: data, as: UTF8.self)) {
        case .success(let values): fromFile = values
        case .failure(let e): throw .badSecretsFile(file, e.line, e.message)
        }
    }
    return Secrets.load(for: program, file: fromFile, environment: ProcessInfo.processInfo.environment)
}
