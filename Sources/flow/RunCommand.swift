#if !FLOW_FRONT_END
    import FlowIntegration
#endif
import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The front end (`flow`) has no network part: it hands `flow run` to flow-net (NetworkPart.swift).
#if !FLOW_FRONT_END
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
                return terminal.unreadable(error.description, paint: paint).exitCode
            }
            guard let plan = loaded.plan, let planProgram = loaded.program else {
                return terminal.doesNotCheck(loaded.diagnostics, sources: loaded.sources, paint: paint).exitCode
            }
            guard Inputs.canonical(plan.flowPath) == Inputs.canonical(arguments.file) else {
                terminal.err("\(paint.error("error")): the plan '\(planPath)' tests '\(plan.flowPath)', not '\(arguments.file)'\n"
                    + "\(paint.hint("hint")): flow run \(plan.flowPath) --plan \(planPath)\n")
                return .dataError
            }
            if let name = arguments.test {
                guard let test = plan.tests.first(where: { $0.name == name }) else {
                    return terminal.notFound("test", name, in: planPath, known: plan.tests.map(\.name), paint: paint)
                        .exitCode
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
            do {
                (program, sources) = try terminal.compileOrReport(arguments.file, paint: paint)
            } catch {
                return error.exitCode
            }
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
        // A --stub answers a call first, then the plan's canned result; nil when neither does.
        func stubbedReply(_ call: CallRequest, isIP: Bool) throws(RunError) -> Reply? {
            do throws(RunError) {
                return try stubs.reply(to: call, isIP: isIP, program: program)
            } catch {
                guard case .noStub = error else { throw error }
                return try cannedReply(call)
            }
        }
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
            // A call's reply names the call it answers.
            var answering: Effect?
            switch result.step {
            case .ask(let page):
                reply = try host.reply(to: page)
            case .callIP(let call):
                answering = call.effect
                if let r = try stubbedReply(call, isIP: true) {
                    reply = r
                } else {
                    // Without a stub or the plan's result, the integration point is called for real.
                    do throws(RuntimeError) {
                        reply = try caller.call(program: program, call, configs: configs)
                    } catch {
                        throw .runtime(error)
                    }
                }
            case .runExtension(let call):
                answering = call.effect
                if let r = try stubbedReply(call, isIP: false) {
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
            case .finished(let outcome):
                return finish(outcome, responses: responses, steps: session.state.steps, interactive: interactive)
            }
            result = try stepped { () throws(RuntimeError) in
                if let answering { try session.resume(reply, answering: answering) } else { try session.resume(reply) }
            }
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
        switch Secrets.parseFile(data) {
        case .success(let values): fromFile = values
        case .failure(let e): throw .badSecretsFile(file, e.line, e.message)
        }
    }
    return Secrets.load(for: program, file: fromFile, environment: ProcessInfo.processInfo.environment)
}
#endif

/// `flow run FILE [options]`
struct RunArguments: CommandArguments {
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

    static var command: Command<Self> {
        Command(
            name: "run", summary: "run a flow: answer its pages at the terminal or from a script",
            inputs: .file(\.file, verb: "run"),
            options: [
                .text(
                    "--answers", \.answersFile, placeholder: "file", example: "answers.json",
                    help: """
                        a JSON object of answers by 'Page.Question':
                          {"Embedded Payment.Embedded Payment": "4.00", "Issue.Service down": true}
                        a list gives one answer per time the question is asked
                        """),
                .pairs(
                    "--answer", \.answers, example: "'Amount.Amount=4.00'",
                    help: """
                        one answer, as typed; wins over --answers; repeat a name for a
                        question asked several times
                        """),
                .text(
                    "--stubs", \.stubsFile, placeholder: "file", example: "stubs.json",
                    help: "a JSON object of stubs by IP or extension name"),
                .pairs(
                    "--stub", \.stubs, placeholder: "name=json", example: #"'Tokenize={"token": "tok_visa"}'"#,
                    help: """
                        the stub of one IP or extension; wins over --stubs. A stub is an
                        object of outputs, {"id": "ch_1", "paid": true}; or a failure,
                        {"error": {"kind": "http", "status": 402, "message": "…",
                        "code": "card_declined"}}; or a list of those, one per call
                        """),
                .pairs(
                    "--extension", \.extensions, placeholder: "name=path", example: "Tokenize=./my-tokenize",
                    help: "run this program for the extension instead of its 'run'"),
                .pairs(
                    "--define", \.defines, example: "STRIPE_BASE=http://localhost:8080", help: "set a config value"),
                .pairs("--arg", \.arguments, example: "'account=12345678'", help: "a parameter of the flow that is run"),
                .text(
                    "--flow", \.flow, placeholder: "name", example: "'Open Ticket'",
                    help: "run this flow of the file instead of the first"),
                .count(
                    "--max-steps", \.maxSteps,
                    help: "stop with an error after n elements (default \(Self().maxSteps))"),
                .text(
                    "--secrets", \.secretsFile, placeholder: "file", example: "secrets.env",
                    help: "KEY=VALUE lines; secrets it lacks are read from the environment"),
                .text(
                    "--plan", \.plan, placeholder: "file", example: "flows/payment.flowtest",
                    help: """
                        a test plan of this flow: the IPs and extensions its test names
                        get the test's canned results (a --stub still wins), and the
                        test's flow, arguments, configs and date apply unless --flow,
                        --arg or --define say otherwise; its answers are not used
                        """),
                .text(
                    "--test", \.test, placeholder: "name", example: "'a card is charged'",
                    help: "the test of the plan to take (default: its first)"),
                // `-` is a value here (standard output), not an input.
                .text(
                    "--trace", \.trace, placeholder: "file", example: "run.jsonl", allowDash: true,
                    help: """
                        write each step as a JSON Lines record to the file ('-':
                        standard output); passwords and secure values appear as "***"
                        """,
                    conflicts: [.init(value: "-", option: "--json")]),
                .text(
                    "--session", \.session, placeholder: "file", example: "payment.session.json",
                    help: """
                        keep the session in the file, rewritten whole after every step
                        and before every call; run again with the same file to go on
                        where it stopped: a call that was in flight is made again with
                        the same idempotency key (see grammar.md, "Calls are effects")
                        """),
                .flag(
                    "--json", \.json,
                    help: """
                        print one JSON object at the end, and nothing else, on standard
                        output: {"responses": [...], "outcome": "success" or "failure",
                        "reason": ..., "steps": n}
                        """),
                .color(\.color),
            ],
            about: """
                Checks the file as 'flow check' does, then runs its first flow. Integration points are not
                called: each gets the canned result of its stub. An extension with a stub gets the stub's
                result; one without is run: its program ('run' in its declaration, relative to the flow
                file) talks to you on the terminal, gets its arguments as a JSON object on file
                descriptor 3 and writes its outputs as a JSON object to file descriptor 4.

                When standard input is a terminal, each page is shown and its questions are asked (those
                answered with --answers or --answer first take those answers): type an answer and press
                Enter (Enter alone takes the default shown in brackets), a number or several separated by
                commas to pick options, 'back' to return to the previous page, Ctrl-D to stop. A refused
                answer is asked again with the reason. Passwords are not shown as you type. Otherwise the
                answers come from --answers and --answer, then from standard input, one line per question
                in the order asked; a refused or missing answer stops the run.
                """,
            exitStatus: """
                  0   the flow finished with success
                  1   the flow finished with failure, or the input ended (Ctrl-D) before it finished
                  64  usage error: unknown option, missing or invalid value, no file
                  65  the flow does not check, or the answers, stubs or names given do not fit it (an
                      unknown question, config, flow or IP; a refused or missing answer; a missing stub)
                  66  the file, the answers file or the stubs file is missing or unreadable
                  70  the flow failed while running (a division by zero, the step limit, …)
                  73  the trace file or the session file cannot be written
                  130 interrupted with Ctrl-C
                """,
            run: { RunCommand(arguments: $0, terminal: $1).run() })
    }
}
