#if !FLOW_FRONT_END
    import FlowIntegration
    import FlowPostgres
    import FlowServer
#endif
import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `flow serve <file|dir>... [--listen HOST:PORT] [--store sqlite:PATH|postgres://…] [--secrets FILE]
/// [--define NAME=VALUE]... [--stubs FILE.json] [--stub NAME=JSON]... [--session-ttl DURATION]
/// [--workers N] [--max-connections N] [--request-timeout DURATION]`
struct ServeArguments: CommandArguments {
    var inputs: [String] = []
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var store = "sqlite:flow-sessions.db"
    var secretsFile: String?
    var defines: [NameValue] = []
    var stubsFile: String?
    var stubs: [NameValue] = []
    /// Seconds.
    var sessionTTL: Double = 24 * 3600
    var workers = 32
    var maxConnections = 4096
    /// Seconds from the first byte of a request to its last.
    var requestTimeout: Double = 10

    static var command: Command<Self> {
        Command(
            name: "serve", summary: "serve flows over HTTP: a JSON API for many sessions at once",
            inputs: .many(\.inputs, verb: "serve", example: "flows/"),
            options: [
                Option(
                    name: "--listen", value: .text(placeholder: "host:port", example: "127.0.0.1:8080", allowDash: false),
                    repeatable: false,
                    help: """
                        where to listen (default 127.0.0.1:8080, the loopback; port 0 picks a
                        free one, which the log line names)
                        """
                ) { (arguments, scanner) throws(UsageError) in
                    let text = try scanner.value(example: "127.0.0.1:8080")
                    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
                        throw .invalidValue(option: "--listen", value: text, valid: ["127.0.0.1:8080", "0.0.0.0:8080", "[::1]:8080"])
                    }
                    var host = String(text[..<colon])
                    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                    arguments.host = host.isEmpty ? "0.0.0.0" : host
                    arguments.port = port
                },
                Option(
                    name: "--store", value: .text(placeholder: "store", example: "sqlite:flow-sessions.db", allowDash: false),
                    repeatable: false,
                    help: """
                        where sessions are kept: sqlite:PATH (default sqlite:flow-sessions.db)
                        or postgres://USER@HOST/DB
                        """
                ) { (arguments, scanner) throws(UsageError) in
                    let text = try scanner.value(example: "sqlite:flow-sessions.db")
                    guard (text.hasPrefix("sqlite:") && text.count > 7) || text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
                    else {
                        throw .invalidValue(option: "--store", value: text, valid: ["sqlite:PATH", "postgres://USER@HOST/DB"])
                    }
                    arguments.store = text
                },
                .text(
                    "--secrets", \.secretsFile, placeholder: "file", example: "secrets.env",
                    help: "KEY=VALUE lines; the environment is read for secrets it lacks"),
                .pairs(
                    "--define", \.defines, example: "STRIPE_BASE=http://localhost:8420",
                    help: "a config value, for every file that declares the config"),
                .text(
                    "--stubs", \.stubsFile, placeholder: "file", example: "stubs.json",
                    help: """
                        canned results for IPs and extensions, as 'flow run' takes them; an
                        extension with a stub is not sent to the client
                        """),
                .pairs("--stub", \.stubs, placeholder: "name=json", example: #"'Tokenize={"token": "tok_visa"}'"#, help: "one canned result"),
                duration(
                    "--session-ttl", \.sessionTTL, example: "24h",
                    help: """
                        idle time after which a session expires and is removed (default 24h;
                        500ms, 90s, 30m, 24h, 7d)
                        """),
                .count("--workers", \.workers, example: "32", help: "threads that run requests (default 32)"),
                .count(
                    "--max-connections", \.maxConnections, example: "4096",
                    help: """
                        open connections at most; at the limit the longest idle one is closed
                        (default 4096)
                        """),
                duration(
                    "--request-timeout", \.requestTimeout, example: "10s",
                    help: """
                        time a client has to send a whole request, from its first byte (default
                        10s); a slower one gets 408 and is closed
                        """),
            ],
            about: """
                Checks every file as 'flow check' does (a file with errors: its diagnostics, exit 65,
                nothing served), then serves every flow they declare over HTTP/1.1: the JSON API under
                /v1, described at /v1/openapi.json. Clients start sessions, answer pages and run
                extensions; the server makes the IP calls with the secrets it holds, and commits every
                step to the store before it answers. Meant to sit behind a reverse proxy for TLS.
                """,
            notes: "SIGTERM or SIGINT: stop accepting, finish the requests in flight, close the store, exit 0.",
            exitStatus: """
                  0   stopped by SIGTERM or SIGINT
                  64  usage error
                  65  a flow file has errors, or a --define, --stub or secrets file does not fit the flows
                  66  an input is missing or unreadable
                  70  the server could not start (the address is in use, …)
                  73  the store cannot be opened or created
                """,
            run: { ServeCommand(arguments: $0, terminal: $1).run() })
    }

    /// A duration option: `500ms`, `90s`, `30m`, `24h`, `7d`, or seconds alone; more than zero.
    private static func duration(_ name: String, _ property: WritableKeyPath<Self, Double>, example: String, help: String) -> Option<Self> {
        Option(name: name, value: .text(placeholder: "duration", example: example, allowDash: false), repeatable: false, help: help) {
            (arguments, scanner) throws(UsageError) in
            let text = try scanner.value(example: example)
            guard let seconds = Self.seconds(text) else {
                throw .invalidValue(option: name, value: text, valid: ["500ms", "90s", "30m", "24h", "7d"])
            }
            arguments[keyPath: property] = seconds
        }
    }

    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text)
        var unit = 1.0
        if text.hasSuffix("ms") {
            unit = 0.001
            number = number.dropLast(2)
        } else if let last = text.last, let u = units[last] {
            unit = u
            number = number.dropLast()
        }
        guard let n = Double(number), n.isFinite, n > 0 else { return nil }
        return n * unit
    }
}

#if FLOW_FRONT_END
    /// What `flow serve` runs in the front end: flow-net (NetworkPart.swift), with the arguments as
    /// given, since the server calls integration points.
    struct ServeCommand {
        let arguments: ServeArguments
        let terminal: Terminal
        func run() -> ExitCode { NetworkPart.exec(Array(CommandLine.arguments.dropFirst()), terminal: terminal) }
    }
#else
/// `flow serve`: loads and checks the files, opens the store, and runs FlowServer until SIGTERM
/// or SIGINT. Its log (one line per event, never a secret) goes to standard error.
struct ServeCommand {
    let arguments: ServeArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let paint = Paint(enabled: terminal.colorsStandardError(.auto))
        let renderer = DiagnosticRenderer(format: .human, color: terminal.colorsStandardError(.auto))
        var tally = Tally()
        var compiled: [(path: String, program: Program, sources: SourceManager)] = []
        for item in Inputs.expand(arguments.inputs) {
            guard let path = terminal.file(item, paint: paint) else {
                tally.unreadable += 1
                continue
            }
            do {
                let c = try Frontend.compile(path: path)
                tally.checked += 1
                tally.count(c.diagnostics, c.sources)
                if c.hasErrors { terminal.err(renderer.render(c.diagnostics, sources: c.sources)) }
                if let program = c.program { compiled.append((path, program, c.sources)) }
            } catch {
                terminal.err("\(paint.error("error")): \(error.description)\n")
                tally.unreadable += 1
            }
        }
        if tally.exitCode != .success {
            terminal.err(tally.summary(paint))
            return tally.exitCode
        }
        let files: [ServedFile]
        let stubs: ServeStubs
        do throws(RunError) {
            files = try served(compiled)
            stubs = try ServeStubs(file: arguments.stubsFile, options: arguments.stubs, programs: compiled.map(\.program))
        } catch {
            var text = "\(paint.error("error")): \(error.message)\n"
            if let hint = error.hint { text += "\(paint.hint("hint")): \(hint)\n" }
            terminal.err(text)
            return error.exitCode
        }

        let store: any SessionStore
        do {
            store = try openStore(arguments.store)
        } catch {
            terminal.err("\(paint.error("error")): \(error)\n")
            return .cannotCreate
        }
        var options = ServiceOptions()
        options.sessionTTL = arguments.sessionTTL
        let terminal = self.terminal
        let log: @Sendable (String) -> Void = { line in terminal.err("flow serve: \(line)\n") }
        let service: FlowService
        do throws(ServiceSetupError) {
            service = try FlowService(files: files, store: store, stubs: stubs, options: options, log: log)
        } catch {
            terminal.err("\(paint.error("error")): \(error.message)\n")
            store.close()
            return .dataError
        }
        var configuration = HTTPServerConfiguration()
        configuration.host = arguments.host
        configuration.port = arguments.port
        configuration.workers = arguments.workers
        configuration.maxConnections = arguments.maxConnections
        let server = HTTPServer(configuration: configuration) { request in service.handle(request) }
        let metrics = service.metrics
        server.onConnectionCountChange = { n in metrics.set("flow_http_connections", Double(n)) }
        do {
            try server.bind()
        } catch {
            terminal.err("\(paint.error("error")): \(error)\n")
            store.close()
            return .software
        }
        server.stopOnSignals()
        let stopSweeper = service.startSweeper(interval: min(60, max(1, arguments.sessionTTL / 4)))
        let shownHost = arguments.host.contains(":") ? "[\(arguments.host)]" : arguments.host
        log("listening on http://\(shownHost):\(server.boundPort) (\(service.flowNames.count) flows: "
            + service.flowNames.joined(separator: ", ") + "; store \(Self.describe(arguments.store)))")
        server.run()
        stopSweeper()
        store.close()
        log("stopped")
        return .success
    }

    /// The store named by `--store`, opened (and created when it is a new SQLite file).
    private func openStore(_ spec: String) throws -> any SessionStore {
        if spec.hasPrefix("sqlite:") {
            return try SQLiteStore(path: String(spec.dropFirst("sqlite:".count)))
        }
        return try PostgresStore(url: spec)
    }

    /// The store for the log, without a password.
    static func describe(_ spec: String) -> String {
        guard spec.hasPrefix("postgres"), let url = URLComponents(string: spec) else { return spec }
        var shown = url
        if shown.password != nil { shown.password = "***" }
        return shown.string ?? "postgres"
    }

    /// Each file with its configs (`--define`, checked against the files) and secrets.
    private func served(_ compiled: [(path: String, program: Program, sources: SourceManager)]) throws(RunError) -> [ServedFile] {
        for d in arguments.defines {
            let declaring = compiled.compactMap { c in c.program.configs.first { $0.name == d.name } }
            guard !declaring.isEmpty else {
                throw .unknownConfig(d.name, known: Array(Set(compiled.flatMap { $0.program.configs.map(\.name) })).sorted())
            }
            for config in declaring where Value.text(d.value).coerced(to: config.type) == nil {
                throw .badValue("--define", d.name, d.value, config.type)
            }
        }
        var files: [ServedFile] = []
        for c in compiled {
            var configs: [String: String] = [:]
            for d in arguments.defines where c.program.configs.contains(where: { $0.name == d.name }) { configs[d.name] = d.value }
            let secrets = try loadSecrets(c.program, file: arguments.secretsFile)
            files.append(ServedFile(path: c.path, program: c.program, sources: c.sources, configs: configs, caller: IPCaller(secrets: secrets)))
        }
        return files
    }
}

/// `--stubs` and `--stub` for several files: each stub goes to the files whose program has an IP
/// or extension of its name (a name no file has is an error). A stub's list of results is used up
/// across all sessions, one per call, in the order calls happen.
final class ServeStubs: CallStubs, @unchecked Sendable {
    private let lock = NSLock()
    private var perFile: [Stubs?]
    private let names: [Set<String>]
    private let programs: [Program]

    init(file: String?, options: [NameValue], programs: [Program]) throws(RunError) {
        var raw: [(String, Value)] = []
        if let file {
            guard case .object(let fields) = try readJSON(file: file, what: "the stubs file '\(file)'") else {
                throw .badJSON("the stubs file '\(file)'", "it is not a JSON object of stubs by name")
            }
            raw = fields.keys.sorted().map { ($0, fields[$0]!) }
        }
        for option in options {
            do throws(JSONReadError) {
                raw.append((option.name, try Value.fromJSON(option.value)))
            } catch {
                throw .badJSON("the stub '--stub \(option.name)=…'", error.description)
            }
        }
        let names = programs.map { p in Set(p.integrationPoints.map(\.name) + p.extensions.map(\.name)) }
        for (name, _) in raw where !names.contains(where: { $0.contains(name) }) {
            throw .unknownCallee(name, known: names.reduce(into: Set<String>()) { $0.formUnion($1) }.sorted())
        }
        var perFile: [Stubs?] = []
        for (k, program) in programs.enumerated() {
            let mine = raw.filter { names[k].contains($0.0) }
            perFile.append(mine.isEmpty ? nil : try Stubs(file: nil, options: mine.map { NameValue(name: $0.0, value: $0.1.jsonText()) }, program: program))
        }
        self.perFile = perFile
        self.names = names
        self.programs = programs
    }

    func reply(to call: CallRequest, isIP: Bool, file: Int) -> Reply? {
        lock.lock()
        defer { lock.unlock() }
        guard file < perFile.count, perFile[file] != nil else { return nil }
        do {
            return try perFile[file]!.reply(to: call, isIP: isIP, program: programs[file])
        } catch {
            // No stub for this callee (or its list is used up): called for real, or by the client.
            return nil
        }
    }
}
#endif
