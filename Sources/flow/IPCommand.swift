#if !FLOW_FRONT_END
    import FlowIntegration
#endif
import FlowKit
import Foundation

// The front end (`flow`) has no network part: it hands `flow ip` to flow-net (NetworkPart.swift).
#if !FLOW_FRONT_END
/// `flow ip FILE NAME --arg name=value …`: calls one integration point, like X-Console's IP test
/// page, and prints its mapped outputs. `--verbose` shows every attempt's request and response,
/// with secrets replaced by `***`.
struct IPCommand {
    let arguments: IPArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: arguments.file)
        } catch {
            terminal.err("error: \(error.description)\n")
            return .noInput
        }
        let paint = Paint(enabled: terminal.colorsStandardError(.auto))
        guard let program = compilation.program else {
            let renderer = DiagnosticRenderer(format: .human, color: paint.enabled)
            terminal.err(renderer.render(compilation.diagnostics, sources: compilation.sources))
            return .dataError
        }
        do throws(RunError) {
            return try call(program, compilation.sources)
        } catch {
            if case .runtime(let r) = error {
                let renderer = DiagnosticRenderer(format: .human, color: paint.enabled)
                terminal.err(renderer.render([r.diagnostic], sources: compilation.sources))
            } else {
                terminal.err("error: \(error.message)\n")
                if let hint = error.hint { terminal.err("hint: \(hint)\n") }
            }
            return error.exitCode
        }
    }

    private func call(_ program: Program, _ sources: SourceManager) throws(RunError) -> ExitCode {
        let names = program.integrationPoints.map(\.name)
        guard let index = names.firstIndex(of: arguments.name) else { throw .unknownCallee(arguments.name, known: names) }
        let ip = program.integrationPoints[index]
        // Arguments by parameter, converted to the declared types; defaults for the rest.
        for a in arguments.arguments where !ip.parameters.contains(where: { $0.name == a.name }) {
            throw .unknownParameter(a.name, flow: ip.name, known: ip.parameters.map(\.name))
        }
        var values: [Value] = []
        for p in ip.parameters {
            if let given = arguments.arguments.last(where: { $0.name == p.name }) {
                guard let v = Value.text(given.value).coerced(to: p.type) else { throw .badValue("--arg", p.name, given.value, p.type) }
                values.append(v)
            } else if let d = p.defaultValue, case .constant(let v) = d.kind {
                values.append(v)
            } else if p.defaultValue != nil {
                throw .missingArgument(ip.name, p.name, p.type, "its default is not a constant")
            } else {
                throw .missingArgument(ip.name, p.name, p.type, nil)
            }
        }
        var overrides: [String: String] = [:]
        for d in arguments.defines {
            guard let config = program.configs.first(where: { $0.name == d.name }) else {
                throw .unknownConfig(d.name, known: program.configs.map(\.name))
            }
            guard Value.text(d.value).coerced(to: config.type) != nil else { throw .badValue("--define", d.name, d.value, config.type) }
            overrides[d.name] = d.value
        }
        let configs: [Value]
        do throws(RuntimeError) {
            configs = try program.configValues(overrides: overrides)
        } catch {
            throw .runtime(error)
        }
        let caller = IPCaller(secrets: try loadSecrets(program, file: arguments.secretsFile))
        let terminal = self.terminal
        let verbose = arguments.verbose
        let reply: Reply
        do throws(RuntimeError) {
            reply = try caller.call(program: program, ip: index, arguments: values, configs: configs,
                                    log: verbose ? { terminal.err(Self.describe($0)) } : nil)
        } catch {
            throw .runtime(error)
        }
        switch reply {
        case .result(let outputs):
            if arguments.json {
                terminal.data(Value.object(outputs).jsonText() + "\n")
            } else {
                for o in ip.outputs {
                    let v = outputs[o.name] ?? .null
                    terminal.out("\(o.name): \(v == .null ? "null" : v.displayText(asCurrency: o.type == .currency))\n")
                }
            }
            return .success
        case .failure(let f):
            if arguments.json {
                terminal.data(Value.object(["error": f.jsonValue]).jsonText() + "\n")
            } else {
                var line = "error: the call of '\(ip.name)' failed (\(f.kind)"
                if let status = f.status { line += " \(status)" }
                if let code = f.code { line += ", \(code)" }
                terminal.err(line + "): \(f.message)\n")
            }
            return .failure
        default:
            return .software
        }
    }

    /// One attempt as `--verbose` shows it (already redacted by the caller).
    static func describe(_ e: IPCaller.Exchange) -> String {
        var out = "> attempt \(e.attempt): \(e.request.method) \(e.request.url.absoluteString)\n"
        for h in e.request.headers { out += "> \(h.name): \(h.value)\n" }
        if let body = e.request.body, !body.isEmpty { out += ">\n" + Self.indent(String(decoding: body, as: UTF8.self), "> ") }
        if let r = e.response {
            out += "< \(r.status)\n"
            for h in r.headers { out += "< \(h.name): \(h.value)\n" }
            if !r.body.isEmpty { out += "<\n" + Self.indent(String(decoding: r.body.prefix(64 * 1024), as: UTF8.self), "< ") }
        } else if let error = e.error {
            out += "< no response: \(error.message)\n"
        }
        return out
    }

    /// Every line of `text` after `prefix`, so what a server sent never passes for a line of
    /// `flow`'s own. Lines end at LF, CRLF or CR (a `Character` "\r\n" is not "\n", so this
    /// splits on scalars).
    private static func indent(_ text: String, _ prefix: String) -> String {
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return unified.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { prefix + String(String.UnicodeScalarView($0)) }.joined(separator: "\n") + "\n"
    }
}

extension CallFailure {
    /// The failure as the `error` object a flow's handler reads.
    var jsonValue: Value {
        var o: [String: Value] = ["kind": .text(kind), "message": .text(message)]
        o["status"] = status.map { .number(Number($0)) } ?? .null
        o["code"] = code.map { .text($0) } ?? .null
        o["body"] = body ?? .null
        return .object(o)
    }
}
#endif

/// `flow ip FILE NAME [--arg NAME=VALUE]... [--define NAME=VALUE]... [--secrets FILE] [--verbose] [--json]`
struct IPArguments: CommandArguments {
    var file = ""
    var name = ""
    var arguments: [NameValue] = []
    var defines: [NameValue] = []
    var secretsFile: String?
    var verbose = false
    var json = false

    static var command: Command<Self> {
        Command(
            name: "ip", summary: "call one integration point and print its outputs",
            inputs: .exactly([
                ("<file>", \.file, .noFlowFile(verb: "call from", example: "flow ip payment.flow StripeCharge")),
                ("<name>", \.name, .noIPName),
            ]),
            options: [
                .pairs(
                    "--arg", \.arguments, example: "'amount=4.00'",
                    help: """
                        a parameter's value, converted to its declared type; parameters with a
                        default may be left out
                        """),
                .pairs(
                    "--define", \.defines, example: "STRIPE_BASE=http://localhost:8420",
                    help: "a config value (for example the base URL of a test gateway)"),
                .text(
                    "--secrets", \.secretsFile, placeholder: "file", example: "secrets.env",
                    help: "KEY=VALUE lines; secrets it lacks are read from the environment"),
                .flag(
                    "--verbose", \.verbose,
                    help: """
                        show each attempt's request and response on standard error, with
                        every secret replaced by ***
                        """),
                .flag("--json", \.json, help: "print the outputs as one JSON object"),
            ],
            about: """
                Calls the integration point <name> declared in <file> (or a file it imports) once, for real,
                and prints its mapped outputs, one 'name: value' a line (or one JSON object with --json).
                A failed call prints its error (kind, status, message) and exits 1.
                """,
            exitStatus: """
                  0   the call succeeded
                  1   the call failed (an HTTP error, a timeout, a SOAP fault, …)
                  64  usage error
                  65  the flow does not check, or an argument, config or secret is wrong
                  66  the file or the secrets file cannot be read
                  70  the request could not be built (a missing secret, a header with a line break, …)
                """,
            run: { IPCommand(arguments: $0, terminal: $1).run() })
    }
}
