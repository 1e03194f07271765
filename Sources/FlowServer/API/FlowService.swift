import FlowIntegration
import FlowKit
import Foundation

public struct ServiceOptions: Sendable {
    /// Idle time after which a session expires (seconds).
    public var sessionTTL: Double = 24 * 3600
    /// Elements a session may run in one request.
    public var maxSteps = 100_000
    /// How long a call claimed by a server on another host is taken to be still in progress.
    public var callLease: Double = 300
    public var today: @Sendable () -> String = Today.utc
    public init() {}
}

/// Today's date in UTC as `yyyy-mm-dd`, as `RuntimeOptions.systemToday` gives it, made once a
/// second at most: `systemToday` builds a Gregorian calendar every time, which was a few per
/// cent of a step of the payment flow (its description calls `today()`).
public enum Today {
    private static let cache = Cache()

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var second = -1
        var text = ""
    }

    public static let utc: @Sendable () -> String = {
        let now = time(nil)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if now != cache.second {
            var t = now
            var parts = tm()
            gmtime_r(&t, &parts)
            cache.text = String(format: "%04d-%02d-%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
            cache.second = now
        }
        return cache.text
    }
}

/// The JSON API under `/v1`: sessions created, stepped, read and deleted; health, metrics and the
/// OpenAPI description. One instance serves every request, from several worker threads.
///
/// Design note: a request loads the session from the store, restores FlowKit's `Session` from its
/// state, runs it (the server makes the IP calls; an extension with a stub is answered here, one
/// without goes to the client) until it needs a page, an extension or is finished, and commits
/// the new state with a version check before it answers: nothing is acknowledged that is not
/// committed, and of two requests racing on one version only one wins (the other gets 409 and
/// where the session stands). Calls are FlowKit effects: before an IP call without a stub is
/// sent, the session's state, which records the call in flight with its identity (the session
/// id and the call's sequence number), is committed; the call goes out with the idempotency key
/// derived from that identity. A session found with an IP call in flight (the server died during
/// the call) is resumed by sending the call again with the same key; FlowKit itself fails an
/// unsafe call without a key as `interrupted` instead of sending it again. Nothing from the server's side reaches a client: errors say what was
/// wrong with the request; faults are logged (`log`) and answered with a plain 500.
public final class FlowService: @unchecked Sendable {
    let catalogue: FlowCatalogue
    let store: any SessionStore
    let stubs: any CallStubs
    let options: ServiceOptions
    public let metrics = Metrics()
    private let openAPI: String
    /// The web client and the flows' web extensions (WebClient.swift).
    private let web: WebClient
    /// Records just committed, so the next step of a session need not decode its state again.
    private let recent = RecentRecords(capacity: 4096)
    /// Sessions whose IP call this process is making now (see `CallClaim`).
    private let callsHere = SessionSet()
    let log: @Sendable (String) -> Void

    public init(files: [ServedFile], store: any SessionStore, stubs: any CallStubs = NoStubs(), options: ServiceOptions = ServiceOptions(),
                log: @escaping @Sendable (String) -> Void) throws(ServiceSetupError) {
        catalogue = try FlowCatalogue(files: files)
        self.store = store
        self.stubs = stubs
        self.options = options
        self.log = log
        openAPI = OpenAPI.document(flows: catalogue.byName.keys.sorted())
        web = WebClient(catalogue: catalogue)
        web.problems.forEach(log)
    }

    /// Every flow served, sorted.
    public var flowNames: [String] { catalogue.byName.keys.sorted() }

    // MARK: - Routing

    public func handle(_ request: ServerRequest) -> ServerResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let (route, response) = route(request)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        metrics.count("flow_http_requests_total", [("status", String(response.status))])
        metrics.observe("flow_http_request_duration_seconds", [("route", route)], seconds)
        var r = response
        if !r.headers.contains(where: { $0.name == "Cache-Control" }) { r.headers.append(("Cache-Control", "no-store")) }
        r.headers.append(("X-Content-Type-Options", "nosniff"))
        return r
    }

    private func route(_ request: ServerRequest) -> (String, ServerResponse) {
        let path = request.path
        let method = request.method == "HEAD" ? "GET" : request.method
        func only(_ allowed: String, _ route: String, _ body: () -> ServerResponse) -> (String, ServerResponse) {
            guard allowed.split(separator: ",").contains(Substring(method)) else {
                return (route, .error(405, "methodNotAllowed", "\(request.method) is not allowed here",
                                      headers: [("Allow", allowed.replacingOccurrences(of: ",", with: ", "))]))
            }
            return (route, body())
        }
        switch path {
        case "/v1/health":
            return only("GET", "health") { .json(200, "{\"status\":\"ok\"}") }
        case "/v1/metrics":
            return only("GET", "metrics") {
                ServerResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(metrics.text().utf8))
            }
        case "/v1/openapi.json":
            return only("GET", "openapi") { .json(200, openAPI) }
        case "/v1/flows":
            return only("GET", "flows") { listFlows() }
        case "/v1/sessions":
            return only("POST", "create") { createSession(request) }
        default:
            break
        }
        if let answer = web.response(request, catalogue: catalogue) { return answer }
        let prefix = "/v1/sessions/"
        if path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 1 {
                return only("GET,DELETE", "session") {
                    guard RandomID.isWellFormed(parts[0]) else { return unknownSession() }
                    return method == "GET" ? getSession(String(parts[0])) : deleteSession(String(parts[0]))
                }
            }
            if parts.count == 2 && parts[1] == "steps" {
                return only("POST", "step") {
                    guard RandomID.isWellFormed(parts[0]) else { return unknownSession() }
                    return step(String(parts[0]), request)
                }
            }
        }
        return ("unknown", .error(404, "notFound", "there is nothing at this path; the API is under /v1 (see /v1/openapi.json)"))
    }

    private func unknownSession() -> ServerResponse {
        .error(404, "unknownSession", "there is no such session (it may have finished long ago, expired or been deleted)")
    }

    private func internalError(_ what: String) -> ServerResponse {
        log("error: \(what)")
        return .error(500, "internal", "the server could not do this; it has been logged")
    }

    // MARK: - Bodies

    /// The body as a JSON object, or the response refusing it (415, 400).
    private func jsonObject(_ request: ServerRequest) -> Result<[String: Value], ResponseError> {
        guard Self.isJSON(request.header("content-type") ?? "") else {
            return .failure(ResponseError(.error(415, "unsupportedMediaType", "send the body as JSON, with 'Content-Type: application/json'")))
        }
        guard let value = try? Value.fromJSON(Data(request.body)) else {
            return .failure(ResponseError(.error(400, "malformedJSON", "the body is not valid JSON")))
        }
        guard case .object(let fields) = value else {
            return .failure(ResponseError(.error(400, "malformedJSON", "the body must be a JSON object")))
        }
        return .success(fields)
    }

    /// Whether a Content-Type names JSON: `application/json`, any case, with parameters after a
    /// `;` and spaces or tabs around it. (Foundation's trimming cost more than the check.)
    static func isJSON(_ contentType: String) -> Bool {
        var type = Substring(contentType)
        if let semicolon = type.firstIndex(of: ";") { type = type[..<semicolon] }
        let bytes = type.utf8.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
        let expected = Array("application/json".utf8)
        guard bytes.count == expected.count else { return false }
        return zip(bytes, expected).allSatisfy { a, b in (a >= 65 && a <= 90 ? a + 32 : a) == b }
    }

    struct ResponseError: Error {
        var response: ServerResponse
        init(_ response: ServerResponse) { self.response = response }
    }

    private static func unexpectedKeys(_ fields: [String: Value], allowed: Set<String>) -> ServerResponse? {
        guard let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) else { return nil }
        return .error(400, "unknownField", "the body has a field \(quote(extra)) that this request does not take; it takes "
            + allowed.sorted().map { "'\($0)'" }.joined(separator: ", "))
    }

    // MARK: - Flows

    private func listFlows() -> ServerResponse {
        var items: [String] = []
        for name in flowNames {
            let file = catalogue.files[catalogue.byName[name]!]
            guard let flow = file.program.flows.first(where: { $0.name == name }) else { continue }
            let parameters = flow.parameters.map { p in
                "{\"name\":\(quote(p.name)),\"type\":\(quote(p.type.description)),\"required\":\(p.defaultValue == nil)}"
            }
            items.append("{\"name\":\(quote(name)),\"parameters\":[" + parameters.joined(separator: ",") + "]}")
        }
        return .json(200, "{\"flows\":[" + items.joined(separator: ",") + "]}")
    }

    // MARK: - Create

    private func createSession(_ request: ServerRequest) -> ServerResponse {
        let fields: [String: Value]
        switch jsonObject(request) {
        case .failure(let e): return e.response
        case .success(let f): fields = f
        }
        if let refusal = Self.unexpectedKeys(fields, allowed: ["flow", "arguments", "configs"]) { return refusal }
        guard case .text(let name)? = fields["flow"] else {
            return .error(400, "missingField", "the body needs \"flow\": the name of the flow to start")
        }
        guard let fileIndex = catalogue.byName[name] else {
            let hint = Suggest.closest(to: name, in: flowNames).map { " (did you mean '\($0)'?)" } ?? ""
            return .error(404, "unknownFlow", "there is no flow \(quote(name)) here\(hint)")
        }
        if let configs = fields["configs"] {
            if case .object(let c) = configs, c.isEmpty {
                // Nothing to set.
            } else {
                return .error(422, "configsNotAllowed",
                              "configs are set by the server ('--define'), never by a client: one could send a call and its secret elsewhere")
            }
        }
        var arguments: [String: String] = [:]
        switch fields["arguments"] {
        case nil: break
        case .object(let a)?:
            for (k, v) in a {
                guard let text = Self.typedText(v) else {
                    return .error(400, "malformedArgument", "the argument \(quote(k)) must be text, a number or true/false")
                }
                arguments[k] = text
            }
        default:
            return .error(400, "malformedArgument", "\"arguments\" must be an object of values by parameter name")
        }
        let file = catalogue.files[fileIndex]
        let flow = file.program.flows.first { $0.name == name }!
        for k in arguments.keys.sorted() {
            guard let p = flow.parameters.first(where: { $0.name == k }) else {
                return .error(422, "unknownParameter", "the flow \(quote(name)) has no parameter \(quote(k))")
            }
            guard Value.text(arguments[k]!).coerced(to: p.type) != nil else {
                return .error(422, "badArgument", "the argument \(quote(k)) should be \(p.type)")
            }
        }
        for p in flow.parameters where p.defaultValue == nil && arguments[p.name] == nil {
            return .error(422, "missingArgument", "the flow \(quote(name)) needs the argument \(quote(p.name))")
        }

        let id = RandomID.session()
        var runtime = runtimeOptions(file)
        runtime.flow = name
        runtime.arguments = arguments
        runtime.sessionID = id
        let session: Session
        var record: SessionRecord
        var result: Progress
        do throws(RuntimeError) {
            session = try Session(program: file.program, options: runtime)
        } catch {
            return internalError("the flow '\(name)' could not start: \(error.diagnostic.message)")
        }
        record = SessionRecord(flow: name, fingerprint: file.fingerprint, state: session.state, view: "", conversation: [],
                               pendingResponses: [], finished: false)
        // Version 0: not in the store yet. The first commit creates it: before an IP call made on
        // the way, or with the first answer.
        var stored = StoredSession(id: id, flowFile: file.path, state: Data(), version: 0, expiresAt: expiry())
        metrics.count("flow_sessions_started_total", [("flow", name)])
        do throws(RuntimeError) {
            result = Progress(try session.start())
        } catch {
            result = failedStep(error, flow: name, file: file)
        }
        switch advance(session, result, record: &record, stored: &stored, file: file, fileIndex: fileIndex) {
        case .failure(let e): return e.response
        case .success: break
        }
        return .json(201, View.body(id: id, flow: name, version: stored.version, fragment: record.view, expiresAt: stored.expiresAt),
                     headers: [("Location", "/v1/sessions/\(id)")])
    }

    // MARK: - Read and delete

    /// The session, with a call left in flight by a crash finished first.
    private func loadSession(_ id: String) -> Result<(StoredSession, SessionRecord, Int), ResponseError> {
        let loaded: StoredSession?
        do {
            loaded = try store.load(id: id)
        } catch {
            return .failure(ResponseError(internalError("the store could not load a session: \(error)")))
        }
        guard var stored = loaded else { return .failure(ResponseError(unknownSession())) }
        guard var record = recent.record(id: id, version: stored.version) ?? SessionRecord.decode(stored.state) else {
            return .failure(ResponseError(internalError("a stored session could not be read")))
        }
        guard let fileIndex = catalogue.file(path: stored.flowFile), catalogue.files[fileIndex].fingerprint == record.fingerprint,
            record.state.fits(catalogue.files[fileIndex].program)
        else {
            // Started on a flow file this server does not serve, or on another version of it.
            return .failure(ResponseError(.error(404, "unknownSession",
                                                 "there is no such session here (its flow is not served by this server, or has changed since it started)")))
        }
        if record.callInFlight,
            !(record.claim?.isLive(lease: options.callLease, busyHere: { self.callsHere.contains(id) }) ?? false)
        {
            let file = catalogue.files[fileIndex]
            let session = Session(program: file.program, state: record.state, options: runtimeOptions(file))
            switch resumeInFlight(session, record: &record, stored: &stored, file: file, fileIndex: fileIndex) {
            case .failure(let e): return .failure(e)
            case .success: break
            }
        }
        return .success((stored, record, fileIndex))
    }

    private func getSession(_ id: String) -> ServerResponse {
        switch loadSession(id) {
        case .failure(let e): return e.response
        case .success(let (stored, record, _)):
            return .json(200, View.body(id: id, flow: record.flow, version: stored.version, fragment: shownView(record), expiresAt: stored.expiresAt),
                         headers: record.callInFlight ? [("Retry-After", String(View.retryAfter))] : [])
        }
    }

    /// What a read or a 409 shows of a session: its last step's view, or `working` while an IP
    /// call of it is in flight (after `loadSession`, only one that a live request is making).
    private func shownView(_ record: SessionRecord) -> String {
        guard record.callInFlight, let call = record.state.effects.inFlight else { return record.view }
        let conversation = (record.conversation + record.pendingResponses).suffix(SessionRecord.maxConversation)
        return View.working(ip: call.name, responses: record.pendingResponses, conversation: Array(conversation))
    }

    private func deleteSession(_ id: String) -> ServerResponse {
        do {
            guard try store.load(id: id) != nil else { return unknownSession() }
            try timedCommit { try store.delete(id: id) }
        } catch {
            return internalError("the store could not delete a session: \(error)")
        }
        return ServerResponse(status: 204)
    }

    // MARK: - Steps

    private func step(_ id: String, _ request: ServerRequest) -> ServerResponse {
        let fields: [String: Value]
        switch jsonObject(request) {
        case .failure(let e): return e.response
        case .success(let f): fields = f
        }
        if let refusal = Self.unexpectedKeys(fields, allowed: ["version", "answers", "back", "extension"]) { return refusal }
        guard case .number(let v)? = fields["version"], let version = v.intValue else {
            return .error(400, "missingVersion", "the body needs \"version\": the version of the step being answered, from the last answer")
        }
        let kinds = ["answers", "back", "extension"].filter { fields[$0] != nil }
        guard kinds.count == 1 else {
            return .error(400, "malformedStep", "a step has exactly one of \"answers\", \"back\" or \"extension\"")
        }
        // The shape of the step, checked before the store is asked.
        enum Input {
            case answers([String: String])
            case back
            case outputs([String: Value])
            case failure(String, String?)
        }
        let input: Input
        switch kinds[0] {
        case "answers":
            guard case .object(let a)? = fields["answers"] else {
                return .error(400, "malformedStep", "\"answers\" must be an object of answers by question name")
            }
            var typed: [String: String] = [:]
            for (k, v) in a {
                guard let text = Self.typedText(v) else {
                    return .error(400, "malformedAnswer",
                                  "the answer for \(quote(k)) must be text, a number, true/false, null or a list of options")
                }
                typed[k] = text
            }
            input = .answers(typed)
        case "back":
            guard fields["back"] == .bool(true) else { return .error(400, "malformedStep", "\"back\" must be true") }
            input = .back
        default:
            guard case .object(let e)? = fields["extension"], e.count == 1 else {
                return .error(400, "malformedStep", "\"extension\" must be {\"outputs\": {…}} or {\"error\": {\"message\": …}}")
            }
            if case .object(let outputs)? = e["outputs"] {
                input = .outputs(outputs)
            } else if case .object(let error)? = e["error"], case .text(let message)? = error["message"],
                error.keys.allSatisfy({ $0 == "message" || $0 == "code" })
            {
                var code: String?
                if case .text(let c)? = error["code"] { code = c }
                input = .failure(String(message.prefix(1000)), code.map { String($0.prefix(100)) })
            } else {
                return .error(400, "malformedStep", "\"extension\" must be {\"outputs\": {…}} or {\"error\": {\"message\": \"…\"}}")
            }
        }

        var (stored, record, fileIndex): (StoredSession, SessionRecord, Int)
        switch loadSession(id) {
        case .failure(let e): return e.response
        case .success(let loaded): (stored, record, fileIndex) = loaded
        }
        // A stale version, or an IP call of this session still being made by another request.
        guard version == stored.version, !record.callInFlight else {
            metrics.count("flow_step_conflicts_total")
            return conflict(id, stored, record)
        }
        let file = catalogue.files[fileIndex]
        let session = Session(program: file.program, state: record.state, options: runtimeOptions(file))
        guard !record.finished else {
            return .error(422, "sessionFinished", "the session is finished; it takes no more steps")
        }
        let waiting: Step
        do throws(RuntimeError) {
            waiting = try session.start().step
        } catch {
            return internalError("a stored session could not be resumed: \(error.diagnostic.message)")
        }
        let reply: Reply
        let kind: String
        switch (waiting, input) {
        case (.ask(let page), .answers(let answers)):
            var known = Set<String>()
            for q in page.questions {
                known.insert(q.name)
                known.insert(q.reference)
            }
            if let unknown = answers.keys.sorted().first(where: { !known.contains($0) }) {
                return .error(422, "unknownQuestion", "the page \(quote(page.name)) has no question \(quote(unknown)); its questions are "
                    + page.questions.map { quote($0.name) }.joined(separator: ", "))
            }
            reply = .answers(answers)
            kind = "answers"
        case (.ask(let page), .back):
            guard page.canGoBack else {
                if let call = page.backStoppedBy {
                    return .error(422, "cannotGoBack", "there is no going back past \(quote(call)): what it did is done")
                }
                return .error(422, "cannotGoBack", "there is no earlier page to go back to")
            }
            reply = .back
            kind = "back"
        case (.runExtension(let call), .outputs(let outputs)):
            switch Self.extensionOutputs(outputs, call: call, program: file.program) {
            case .failure(let e): return e.response
            case .success(let typed): reply = .result(typed)
            }
            kind = "extension"
        case (.runExtension, .failure(let message, let code)):
            reply = .failure(CallFailure(kind: "extension", message: message, code: code))
            kind = "extension"
        case (.ask, _):
            return .error(422, "unexpectedStep", "the session waits for answers to a page (or \"back\")")
        case (.runExtension, _):
            if case .runExtension(let call) = waiting {
                return .error(422, "unexpectedStep", "the session waits for the result of the extension \(quote(call.name))")
            }
            return .error(422, "unexpectedStep", "the session waits for the result of an extension")
        default:
            return .error(422, "unexpectedStep", "the session takes no step now")
        }
        metrics.count("flow_steps_total", [("kind", kind)])
        let result: Progress
        do throws(RuntimeError) {
            result = Progress(try session.resume(reply))
        } catch {
            result = failedStep(error, flow: record.flow, file: file)
        }
        switch advance(session, result, record: &record, stored: &stored, file: file, fileIndex: fileIndex) {
        case .failure(let e): return e.response
        case .success: break
        }
        return .json(200, View.body(id: id, flow: record.flow, version: stored.version, fragment: record.view, expiresAt: stored.expiresAt))
    }

    private func conflict(_ id: String, _ stored: StoredSession, _ record: SessionRecord) -> ServerResponse {
        let current = View.body(id: id, flow: record.flow, version: stored.version, fragment: shownView(record), expiresAt: stored.expiresAt)
        if record.callInFlight {
            return .json(409, "{\"error\":{\"code\":\"callInProgress\",\"message\":\"the session is waiting for a call it made; nothing was applied: "
                + "read the session again after 'retryAfter' seconds\"},\"current\":\(current)}", headers: [("Retry-After", String(View.retryAfter))])
        }
        return .json(409, "{\"error\":{\"code\":\"staleVersion\",\"message\":\"this step was answered already, or the session moved on: "
            + "the current step is in 'current', with its version\"},\"current\":\(current)}")
    }

    // MARK: - Running

    /// Runs the session from `result` to what it needs from the client (making the IP calls and
    /// answering stubbed extensions on the way), then commits. `stored.version` is the version
    /// the commit expects, and is the new version after it.
    private func advance(_ session: Session, _ first: Progress, record: inout SessionRecord, stored: inout StoredSession,
                         file: ServedFile, fileIndex: Int) -> Result<Void, ResponseError> {
        var result = first
        var claimed = false
        defer { if claimed { callsHere.remove(stored.id) } }
        var shown = record.pendingResponses
        record.pendingResponses = []
        loop: while true {
            shown += result.responses
            let reply: Reply
            switch result.step {
            case .ask, .finished:
                break loop
            case .runExtension(let call):
                guard let r = stubs.reply(to: call, isIP: false, file: fileIndex) else { break loop }
                reply = r
            case .callIP(let call):
                if let r = stubs.reply(to: call, isIP: true, file: fileIndex) {
                    reply = r
                } else {
                    // The state records the call in flight, and this process as the one making
                    // it: committed before it is sent.
                    record.pendingResponses = shown
                    record.state = session.state
                    record.claim = CallClaim.mine()
                    callsHere.insert(stored.id)
                    claimed = true
                    if let e = commit(&record, &stored) { return .failure(e) }
                    reply = send(call, file: file)
                    record.pendingResponses = []
                    record.claim = nil
                }
            }
            do throws(RuntimeError) {
                result = Progress(try session.resume(reply))
            } catch {
                result = failedStep(error, flow: record.flow, file: file)
            }
        }
        record.add(shown)
        record.state = session.state
        if case .finished(let outcome) = result.step {
            if !record.finished {
                record.finished = true
                metrics.count("flow_sessions_finished_total", [("flow", record.flow), ("outcome", outcome.success ? "success" : "failure")])
            }
        }
        record.view = View.fragment(result.step, program: file.program, responses: shown, conversation: record.conversation)
        if let e = commit(&record, &stored) { return .failure(e) }
        return .success(())
    }

    /// The session after a crash during an IP call: FlowKit gives the call again with the same
    /// identity (and key), and it is sent again; an unsafe call without a key FlowKit fails as
    /// `interrupted` by itself. Then the session runs on and is committed.
    private func resumeInFlight(_ session: Session, record: inout SessionRecord, stored: inout StoredSession, file: ServedFile,
                                fileIndex: Int) -> Result<Void, ResponseError> {
        var claimed = false
        defer { if claimed { callsHere.remove(stored.id) } }
        var result: Progress
        do throws(RuntimeError) {
            result = Progress(try session.start())
        } catch {
            result = failedStep(error, flow: record.flow, file: file)
        }
        if case .callIP(let call) = result.step {
            // Claimed first (a version check): of two requests resuming it, one sends it.
            record.claim = CallClaim.mine()
            callsHere.insert(stored.id)
            claimed = true
            if let e = commit(&record, &stored) { return .failure(e) }
            record.claim = nil
            log("resuming the call of '\(call.name)' left in flight (call \(call.effect.sequence)), with the same idempotency key")
            let reply = stubs.reply(to: call, isIP: true, file: fileIndex) ?? send(call, file: file)
            do throws(RuntimeError) {
                result = Progress(try session.resume(reply))
            } catch {
                result = failedStep(error, flow: record.flow, file: file)
            }
        } else {
            log("a call left in flight was not sent again (it is not safe to repeat without an idempotency key)")
        }
        return advance(session, result, record: &record, stored: &stored, file: file, fileIndex: fileIndex)
    }

    private func send(_ call: CallRequest, file: ServedFile) -> Reply {
        let name = call.name
        let started = DispatchTime.now().uptimeNanoseconds
        let reply: Reply
        do throws(RuntimeError) {
            reply = try file.caller.call(program: file.program, call, configs: configValues(file))
        } catch {
            // The request could not be built (a missing secret, say): the flow's on error takes it.
            log("the call of '\(name)' was not sent: \(error.diagnostic.message)")
            reply = .failure(CallFailure(kind: "request", message: "the call could not be made"))
        }
        metrics.observe("flow_ip_call_duration_seconds", [("ip", name)], Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        if case .failure(let f) = reply {
            metrics.count("flow_ip_calls_total", [("ip", name), ("result", f.kind)])
        } else {
            metrics.count("flow_ip_calls_total", [("ip", name), ("result", "ok")])
        }
        return reply
    }

    /// A run-time error of the flow ends the session: the client sees a failure, the log the error.
    private func failedStep(_ error: RuntimeError, flow: String, file: ServedFile) -> Progress {
        log("the flow '\(flow)' stopped with \(error.diagnostic.id): \(error.diagnostic.message)")
        metrics.count("flow_sessions_finished_total", [("flow", flow), ("outcome", "error")])
        return Progress(responses: error.responses, step: .finished(Outcome(success: false, reason: "the flow stopped with an error (\(error.diagnostic.id))")))
    }

    /// Commits with the version check; nil when committed (and `stored.version` moved on).
    private func commit(_ record: inout SessionRecord, _ stored: inout StoredSession) -> ResponseError? {
        var next = stored
        next.state = record.encoded()
        next.version = stored.version + 1
        next.expiresAt = expiry()
        let won: Bool
        do {
            if stored.version == 0 {
                try timedCommit { try store.create(next) }
                won = true
            } else {
                won = try timedCommit { try store.update(next, expected: stored.version) }
            }
        } catch {
            return ResponseError(internalError("the store could not commit a step: \(error)"))
        }
        guard won else {
            metrics.count("flow_step_conflicts_total")
            // Another request got there first: say where the session stands now.
            if let now = try? store.load(id: stored.id), let current = SessionRecord.decode(now.state) {
                return ResponseError(conflict(stored.id, now, current))
            }
            return ResponseError(unknownSession())
        }
        stored = next
        recent.keep(record, id: next.id, version: next.version)
        return nil
    }

    private func timedCommit<T>(_ body: () throws -> T) rethrows -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { metrics.observe("flow_store_commit_duration_seconds", [], Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        return try body()
    }

    // MARK: - Helpers

    private func expiry() -> Double { Date().timeIntervalSince1970 + options.sessionTTL }

    private func runtimeOptions(_ file: ServedFile) -> RuntimeOptions {
        RuntimeOptions(maxSteps: options.maxSteps, configs: file.configs, today: options.today)
    }

    private func configValues(_ file: ServedFile) -> [Value] {
        (try? file.program.configValues(overrides: file.configs)) ?? []
    }

    /// What would be typed at the terminal for a JSON value: text as is, a number exactly,
    /// true/false as yes/no, null as nothing, a list as the picks of a `choices` question.
    static func typedText(_ v: Value) -> String? {
        switch v {
        case .text(let s): s
        case .number, .date: v.displayText()
        case .bool(let b): b ? "yes" : "no"
        case .null: ""
        case .list(let items):
            items.allSatisfy({ if case .list = $0 { false } else if case .object = $0 { false } else { true } })
                ? items.compactMap(typedText).joined(separator: ", ") : nil
        case .object: nil
        }
    }

    /// An extension's outputs from the client, checked against its declaration.
    static func extensionOutputs(_ outputs: [String: Value], call: CallRequest, program: Program) -> Result<[String: Value], ResponseError> {
        let declared = program.extensions[call.index].outputs
        if let extra = outputs.keys.sorted().first(where: { k in !declared.contains { $0.name == k } }) {
            return .failure(ResponseError(.error(422, "unknownOutput", "the extension \(quote(call.name)) has no output \(quote(extra))")))
        }
        var typed: [String: Value] = [:]
        for o in declared {
            guard let v = outputs[o.name] else {
                return .failure(ResponseError(.error(422, "missingOutput", "the extension \(quote(call.name)) needs its output \(quote(o.name))")))
            }
            guard let t = v == .null ? (o.type.acceptsNullOutput ? .null : nil) : v.coerced(to: o.type) else {
                return .failure(ResponseError(.error(422, "badOutput", "the output \(quote(o.name)) should be \(o.type)")))
            }
            typed[o.name] = t
        }
        return .success(typed)
    }

    // MARK: - Expiry

    /// Removes expired sessions every `interval` seconds, on a thread of its own; the function
    /// returned stops it (and waits for it).
    public func startSweeper(interval: Double) -> @Sendable () -> Void {
        let stopped = Flag()
        let done = Flag()
        let thread = Thread { [self] in
            sweepLoop(stopped, interval)
            done.value = true
        }
        thread.start()
        return {
            stopped.value = true
            while !done.value { usleep(10_000) }
        }
    }

    private func sweepLoop(_ stopped: Flag, _ interval: Double) {
        var waited = 0.0
        while !stopped.value {
            Thread.sleep(forTimeInterval: 0.2)
            waited += 0.2
            guard waited >= interval else { continue }
            waited = 0
            do {
                let n = try store.removeExpired(now: Date().timeIntervalSince1970)
                if n > 0 { metrics.count("flow_sessions_expired_total", [], by: Double(n)) }
            } catch {
                log("error: the store could not remove expired sessions: \(error)")
            }
        }
    }
}

/// The last committed record of recently stepped sessions, by id and version. A record is used
/// only when the store still holds that very version (a version is committed once, by one
/// writer, so the same version is the same state), which keeps this right with several servers
/// over one store. Bounded: when full it starts again empty, so memory does not grow with the
/// number of sessions.
final class RecentRecords: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [String: (version: Int, record: SessionRecord)] = [:]
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func record(id: String, version: Int) -> SessionRecord? {
        lock.lock()
        defer { lock.unlock() }
        guard let r = records[id], r.version == version else { return nil }
        return r.record
    }

    func keep(_ record: SessionRecord, id: String, version: Int) {
        lock.lock()
        if records.count >= capacity && records[id] == nil { records.removeAll(keepingCapacity: true) }
        records[id] = (version, record)
        lock.unlock()
    }
}

/// Where a session got to: the responses shown on the way and what it needs now.
struct Progress {
    var responses: [String]
    var step: Step
    init(responses: [String], step: Step) {
        self.responses = responses
        self.step = step
    }
    init(_ r: StepResult) {
        responses = r.responses
        step = r.step
    }
}

/// Session ids, under a lock.
final class SessionSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    func insert(_ id: String) { lock.lock(); ids.insert(id); lock.unlock() }
    func remove(_ id: String) { lock.lock(); ids.remove(id); lock.unlock() }
    func contains(_ id: String) -> Bool { lock.lock(); defer { lock.unlock() }; return ids.contains(id) }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = false
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
}
