import FlowKit
import Foundation

/// Calls integration points for real: builds the HTTP request from the declaration, sends it
/// (retrying when that is safe), and maps the response to the IP's outputs or to a classified
/// failure for the flow's `on error`.
///
/// Design note: retries happen only on connection failures, 429 (after `Retry-After`) and 5xx,
/// with exponential backoff and jitter. A POST or PATCH is sent again only when the IP is
/// `idempotent`: then every attempt carries the same `Idempotency-Key`, so a charge can never be
/// made twice. Every text this type hands back (messages, bodies, the exchange log) has the
/// secrets' values replaced by `***`, also when a server echoes them.
public struct IPCaller: Sendable {
    public var transport: any HTTPTransport
    public var secrets: Secrets
    public var maxResponseBytes: Int
    public var defaultTimeout: Double
    /// Backoff before retry `n` (1-based): a random wait in `0...min(cap, base × 2^(n-1))`.
    public var backoffBase: Double
    public var backoffCap: Double
    /// Waits between attempts; tests pass one that records instead of sleeping.
    public var sleep: @Sendable (Double) -> Void
    /// Makes idempotency keys; tests pass a fixed one.
    public var makeKey: @Sendable () -> String

    public init(transport: any HTTPTransport = HTTPClient(), secrets: Secrets = Secrets(),
                maxResponseBytes: Int = 10 * 1024 * 1024, defaultTimeout: Double = 30,
                backoffBase: Double = 0.25, backoffCap: Double = 8,
                sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
                makeKey: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }) {
        self.transport = transport
        self.secrets = secrets
        self.maxResponseBytes = maxResponseBytes
        self.defaultTimeout = defaultTimeout
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.sleep = sleep
        self.makeKey = makeKey
    }

    /// One attempt, for `--verbose` and tests: what was sent and what came back (redacted).
    public struct Exchange: Sendable {
        public var attempt: Int
        public var request: HTTPRequest
        public var response: HTTPResponse?
        public var error: TransportError?
    }

    /// Builds the request of IP `index` with these arguments (one per parameter, in order).
    /// Throws a `RuntimeError` for what is wrong before anything is sent: a missing secret, a
    /// header value with a line break, a URL that is not http(s).
    public func request(program: Program, ip index: Int, arguments: [Value], configs: [Value],
                        idempotencyKey: String?) throws(RuntimeError) -> (HTTPRequest, RequestPlan) {
        let plan = try program.requestPlan(ip: index, arguments: arguments, configs: configs, secrets: secrets.values,
                                           encodePathText: Encoding.pathText)
        let ip = program.integrationPoints[index]
        var urlText = plan.url
        if !plan.query.isEmpty { urlText = Encoding.appendQuery(urlText, plan.query) }
        let secure = Self.secureValues(of: ip, arguments)
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil
        else {
            throw RuntimeError(.requestInvalid("'\(redactor(plan, secure: secure).redact(urlText))' is not a valid http or https URL"), at: ip.range)
        }
        var headers: [(name: String, value: String)] = []
        func add(_ name: String, _ value: String) throws(RuntimeError) {
            do throws(EncodingError) {
                headers.append((name, try Encoding.headerValue(value, name: name)))
            } catch {
                throw RuntimeError(.requestInvalid("header '\(name)' was not sent: \(error.message)"), at: ip.range)
            }
        }
        var body: Data?
        switch plan.body {
        case .form(let pairs)?:
            body = Encoding.formBody(pairs)
            try add("Content-Type", "application/x-www-form-urlencoded")
        case .json(let v)?:
            body = Encoding.jsonBody(v)
            try add("Content-Type", "application/json")
        case .raw(let text)?:
            body = Data(text.utf8)
        case .soap?:
            break
        case nil:
            break
        }
        if plan.isSOAP {
            let envelope: SOAP.Envelope
            do throws(EncodingError) {
                envelope = try SOAP.envelope(for: plan)
            } catch {
                throw RuntimeError(.requestInvalid("the SOAP body of '\(plan.ipName)' cannot be built: \(error.message)"), at: ip.range)
            }
            body = envelope.body
            try add("Content-Type", envelope.contentType)
            for h in envelope.extraHeaders { try add(h.name, h.value) }
        }
        switch plan.auth {
        case .bearer(let token)?: try add("Authorization", "Bearer \(token)")
        case .basic(let user, let password)?: try add("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        case nil: break
        }
        for h in plan.headers { try add(h.name, h.value) }
        if let idempotencyKey { try add("Idempotency-Key", idempotencyKey) }
        let timeout = plan.timeout.flatMap { Double($0.description) } ?? defaultTimeout
        // What carries a secret or a secure argument is never sent on to another host by a redirect.
        let sensitive = (plan.secretsUsed + secure).filter { !$0.isEmpty }
        func carries(_ text: String) -> Bool { sensitive.contains { text.contains($0) } }
        func carries(_ value: Value) -> Bool {
            switch value {
            case .text(let t): carries(t)
            case .list(let items): items.contains(where: carries)
            case .object(let fields): fields.contains { carries($0.key) || carries($0.value) }
            default: false
            }
        }
        func carries(_ elements: [RequestPlan.Element]) -> Bool {
            elements.contains { carries($0.text ?? "") || carries($0.children) }
        }
        let bodyCarries: Bool
        switch plan.body {
        case .form(let pairs)?: bodyCarries = pairs.contains { carries($0.name) || carries($0.value) }
        case .json(let v)?: bodyCarries = carries(v)
        case .raw(let text)?: bodyCarries = carries(text)
        case .soap(let elements)?: bodyCarries = carries(elements)
        case nil: bodyCarries = false
        }
        let request = HTTPRequest(
            method: plan.isSOAP ? "POST" : plan.method, url: url, headers: headers, body: body, timeout: timeout,
            credentialHeaders: Set(plan.headers.filter { carries($0.value) }.map(\.name)), bodyCarriesCredentials: bodyCarries)
        return (request, plan)
    }

    /// Hides the secrets, those the plan used and the values of the IP's `secure` arguments (a
    /// PIN), in every form a server might echo them.
    func redactor(_ plan: RequestPlan, secure: [String] = []) -> Redactor {
        var basic: [(user: String, password: String)] = []
        if case .basic(let u, let p)? = plan.auth { basic.append((u, p)) }
        return Redactor(secrets: Array(secrets.values.values) + plan.secretsUsed + secure, basicAuth: basic)
    }

    /// The text of each argument passed to a `secure` parameter (a number as it is spelled).
    static func secureValues(of ip: IntegrationPoint, _ arguments: [Value]) -> [String] {
        zip(ip.parameters, arguments).compactMap { p, v in
            guard p.type == .secure else { return nil }
            switch v {
            case .text(let t): return t
            case .number(let n): return n.description
            default: return nil
            }
        }
    }

    /// Makes the call a session asks for (`Step.callIP`): for an `idempotent` IP the key is the
    /// one derived from the call's effect, the same for every attempt and every resumption.
    public func call(program: Program, _ request: CallRequest, configs: [Value],
                     log: ((Exchange) -> Void)? = nil) throws(RuntimeError) -> Reply {
        // The key (a SHA-256) is derived only for an IP that sends it.
        let key = program.integrationPoints[request.index].declaration.idempotent ? request.effect.idempotencyKey : nil
        return try call(program: program, ip: request.index, arguments: request.arguments.map(\.value), configs: configs,
                        idempotencyKey: key, log: log)
    }

    /// Calls IP `index` and returns the session's reply: its outputs, or a failure for `on error`.
    /// An `idempotent` IP sends `idempotencyKey` (without one, a new key from `makeKey`).
    /// `log` receives each attempt, already redacted.
    public func call(program: Program, ip index: Int, arguments: [Value], configs: [Value],
                     idempotencyKey: String? = nil, log: ((Exchange) -> Void)? = nil) throws(RuntimeError) -> Reply {
        let ip = program.integrationPoints[index]
        let key = ip.declaration.idempotent ? (idempotencyKey ?? makeKey()) : nil
        let (request, plan) = try self.request(program: program, ip: index, arguments: arguments, configs: configs, idempotencyKey: key)
        let redactor = redactor(plan, secure: Self.secureValues(of: ip, arguments))
        let method = request.method.uppercased()
        // A call declared `safe` changes nothing, whatever its method: sending it again is harmless.
        let retriable = key != nil || ip.isSafe || ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
        let attempts = 1 + (retriable ? plan.retries : 0)
        var last: Reply = .failure(CallFailure(kind: "connection", message: "not sent"))
        for attempt in 1...attempts {
            var retryAfter: Double?
            let outcome: Result<HTTPResponse, TransportError>
            do {
                outcome = .success(try transport.send(request, maxResponseBytes: maxResponseBytes))
            } catch {
                outcome = .failure(error)
            }
            if let log {
                var shown = request
                shown.headers = shown.headers.map { ($0.name, redactor.redact($0.value)) }
                // Never the URL as it was: what the redacted text cannot be read as is not shown.
                shown.url = URL(string: redactor.redact(shown.url.absoluteString)) ?? URL(string: "http://redacted.invalid/***")!
                shown.body = shown.body.map { Data(redactor.redact(String(decoding: $0, as: UTF8.self)).utf8) }
                var response: HTTPResponse?
                if case .success(var r) = outcome {
                    r.headers = r.headers.map { ($0.name, redactor.redact($0.value)) }
                    r.body = Data(redactor.redact(String(decoding: r.body, as: UTF8.self)).utf8)
                    response = r
                }
                var error: TransportError?
                if case .failure(let e) = outcome { error = Self.redacted(e, by: redactor) }
                log(Exchange(attempt: attempt, request: shown, response: response, error: error))
            }
            switch outcome {
            case .failure(let error):
                last = .failure(redactor.redact(CallFailure(kind: error.kind, message: error.message)))
                guard error.isConnectionFailure else { return last }
            case .success(let response):
                if (200..<300).contains(response.status) {
                    return ResponseMapping.outputs(of: response, plan: plan, redactor: redactor)
                }
                last = .failure(ResponseMapping.failure(of: response, plan: plan, redactor: redactor))
                guard response.status == 429 || (500...599).contains(response.status) else { return last }
                if response.status == 429 || response.status == 503, let header = response.header("Retry-After") {
                    retryAfter = Self.retryAfterSeconds(header)
                }
            }
            if attempt < attempts {
                let ceiling = min(backoffCap, backoffBase * pow(2, Double(attempt - 1)))
                let wait = retryAfter.map { min($0, 60) } ?? Double.random(in: 0...ceiling)
                sleep(wait)
            }
        }
        return last
    }

    /// A transport error as the exchange log shows it: the text it carries (a URL, a host) redacted.
    static func redacted(_ e: TransportError, by r: Redactor) -> TransportError {
        switch e {
        case .connectionRefused(let t): return .connectionRefused(r.redact(t))
        case .connection(let t): return .connection(r.redact(t))
        case .tls(let t): return .tls(r.redact(t))
        case .invalidURL(let t): return .invalidURL(r.redact(t))
        case .credentialsRedirect(let t): return .credentialsRedirect(r.redact(t))
        default:
            // A case that carries no text, or one added later: its message redacted, if that hides anything.
            let shown = r.redact(e.message)
            return shown == e.message ? e : .connection(shown)
        }
    }

    /// `Retry-After` as seconds: a number of seconds or an HTTP date.
    static func retryAfterSeconds(_ value: String) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let s = Double(trimmed), s >= 0 { return s }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: trimmed) { return max(0, d.timeIntervalSinceNow) }
        return nil
    }
}

/// From an HTTP response to outputs, or to a failure with its parsed error body.
enum ResponseMapping {
    static func outputs(of response: HTTPResponse, plan: RequestPlan, redactor: Redactor) -> Reply {
        // One parse of the body serves the fault and the outputs, within the IP's deadline.
        var reader = ResponseReader(response: response, plan: plan)
        if plan.isSOAP, let fault = reader.soapFault() {
            return .failure(soapFailure(fault, status: response.status, redactor: redactor))
        }
        var outputs: [String: Value] = [:]
        for o in plan.outputs {
            do throws(ResponseReadError) {
                outputs[o.name] = redactor.redact(output: try reader.value(of: o))
            } catch {
                // Reading past the IP's timeout is a timeout; anything else does not fit.
                let kind = error.id == ResponseReadError.timeout.id ? "timeout" : "malformed"
                return .failure(redactor.redact(CallFailure(kind: kind, message: error.message, status: response.status)))
            }
        }
        return .result(outputs)
    }

    /// A SOAP fault as the flow's `error`: `code` its local name, `codeNamespace` the URI of its
    /// prefix, `message` the fault string, `body` the detail.
    static func soapFailure(_ fault: SOAP.Fault, status: Int, redactor: Redactor) -> CallFailure {
        redactor.redact(CallFailure(kind: "soapFault", message: fault.message, status: status,
                                    code: fault.code.isEmpty ? nil : fault.code, body: fault.detail,
                                    codeNamespace: fault.code.isEmpty ? nil : fault.codeNamespace))
    }

    /// A non-2xx response: the status, the decoded body, and the error message and code when the
    /// body says them (Stripe's `error.message`, `error.code`; a SOAP fault's string and code).
    static func failure(of response: HTTPResponse, plan: RequestPlan, redactor: Redactor) -> CallFailure {
        if plan.isSOAP, let fault = SOAP.fault(in: response.body, deadline: response.deadline) {
            return soapFailure(fault, status: response.status, redactor: redactor)
        }
        let body = try? Value.fromJSON(response.body)
        var message = "HTTP \(response.status) \(HTTPURLResponseText.reason(response.status))".trimmingCharacters(in: .whitespaces)
        var code: String?
        if let body {
            if case .text(let m)? = JSONPath.read("error.message", in: body) { message = m }
            else if case .text(let m)? = JSONPath.read("message", in: body) { message = m }
            if case .text(let c)? = JSONPath.read("error.code", in: body) { code = c }
        }
        // A body that is not JSON is shown as text, up to 64 KB (redacted before it is cut).
        let shownBody: Value = body ?? .text(redactor.redactedPrefix(of: response.body, maxBytes: 64 * 1024))
        return redactor.redact(CallFailure(kind: "http", message: message, status: response.status, code: code, body: shownBody))
    }
}

enum HTTPURLResponseText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 422: "Unprocessable Entity"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: ""
        }
    }
}
