import Foundation

/// What an integration point's request is, with every expression evaluated: the host that talks
/// HTTP (FlowIntegration) turns it into bytes on the wire.
///
/// Design note: FlowKit evaluates the declaration (it owns the expressions and the evaluator); it
/// does no encoding of its own. Values interpolated into the URL template are passed through the
/// host's encoder for a URL path, while the template's literal text and config values (a base
/// URL) are kept as written, so `"{BASE}/v1/customers/{id}"` keeps its slashes and an `id` of
/// `a/b?c` arrives as one segment.
/// Secrets are read from the host's table by name and never appear anywhere else.
public struct RequestPlan: Sendable {
    public var ipName: String
    public var isSOAP: Bool
    public var soapVersion: String?
    public var method: String
    public var url: String
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var body: Body?
    public var auth: Auth?
    /// Seconds.
    public var timeout: Number?
    /// Extra attempts after the first.
    public var retries: Int
    public var idempotent: Bool
    /// Every secret value used, for redaction.
    public var secretsUsed: [String]
    public var outputs: [OutputInfo]
    public var namespaces: [(prefix: String, uri: String)]
    public var action: String?

    public enum Body: Sendable {
        case form([(name: String, value: String)])
        case json(Value)
        case raw(String)
        case soap([Element])
    }

    /// One element of a SOAP body: a qualified name and text or children.
    public struct Element: Sendable {
        public var name: String
        public var text: String?
        public var children: [Element]

        public init(name: String, text: String? = nil, children: [Element] = []) {
            self.name = name
            self.text = text
            self.children = children
        }
    }

    public enum Auth: Sendable {
        case bearer(String)
        case basic(user: String, password: String)
    }
}

extension Program {
    /// Config values: the host's overrides (by name, converted to the declared type), else the
    /// declared values, evaluated in order.
    public func configValues(overrides: [String: String]) throws(RuntimeError) -> [Value] {
        if overrides.isEmpty, let literalConfigs { return literalConfigs }
        let anywhere = flows.isEmpty ? (configs.first?.range ?? SourceRange(file: FileID(0), start: 0, end: 0)) : flows[0].range
        for name in overrides.isEmpty ? [] : overrides.keys.sorted() where !configs.contains(where: { $0.name == name }) {
            throw RuntimeError(.unknownOption("config", name), at: anywhere,
                               hint: Suggest.closest(to: name, in: configs.map(\.name)).map { "did you mean '\($0)'?" })
        }
        var values: [Value] = []
        values.reserveCapacity(configs.count)
        // Read in place: each config copied out is its name, type and expression retained.
        try configs.withUnsafeBufferPointer { configs throws(RuntimeError) in
            for k in configs.indices {
                if let override = overrides.isEmpty ? nil : overrides[configs[k].name] {
                    guard let v = Value.text(override).coerced(to: configs[k].type) else {
                        throw RuntimeError(.optionType("config", configs[k].name, configs[k].type.description), at: configs[k].range)
                    }
                    values.append(v)
                } else if configs[k].value != nil {
                    // Most configs are literals: no context to build for them.
                    if case .constant(let v)? = configs[k].value?.kind {
                        values.append(v)
                        continue
                    }
                    var context = PlanContext(arguments: [], parameterNames: [], configs: values, secrets: [], today: RuntimeOptions.systemToday)
                    values.append(try Evaluator.evaluate(configs[k].value!, &context))
                } else {
                    values.append(.null)
                }
            }
        }
        return values
    }

    /// The request of integration point `index` called with `arguments` (one per parameter, in
    /// order). `secrets` holds the secrets' values by name; a secret the declaration uses and the
    /// table lacks is an error before anything is sent. `encodePathText` encodes text interpolated
    /// into the URL template.
    public func requestPlan(
        ip index: Int, arguments: [Value], configs: [Value], secrets: [String: String],
        encodePathText: (String) -> String
    ) throws(RuntimeError) -> RequestPlan {
        let ip = integrationPoints[index]
        let d = ip.declaration
        var secretValues: [Value?] = []
        var used: [String] = []
        for s in self.secrets {
            let v = secrets[s.name]
            secretValues.append(v.map { .text($0) })
        }
        var context = PlanContext(arguments: arguments, parameterNames: ip.parameters.map(\.name), configs: configs,
                                  secrets: secretValues, today: RuntimeOptions.systemToday)
        func secret(_ name: Name) throws(RuntimeError) -> String {
            guard let value = secrets[name.text] else {
                throw RuntimeError(.missingSecret(name.text, ip.name), at: name.range,
                                   hint: "set it in the environment (\(name.text)=…) or in a secrets file given with --secrets")
            }
            used.append(value)
            return value
        }
        // A secret any expression reads must be there before anything is evaluated or sent.
        for (range, e) in ip.lowered.sorted(by: { $0.key.start < $1.key.start }) {
            for i in e.secretsRead where secretValues[i] == nil {
                throw RuntimeError(.missingSecret(self.secrets[i].name, ip.name), at: range,
                                   hint: "set it in the environment (\(self.secrets[i].name)=…) or in a secrets file given with --secrets")
            }
        }
        func text(_ e: IRExpr) throws(RuntimeError) -> String {
            // Requests carry numbers as they are (`400`, `4.5`), not formatted as amounts.
            let v = try Evaluator.evaluate(e, &context)
            return v.displayText(asCurrency: false)
        }
        func compile(_ e: Expr) -> IRExpr? { ip.lowered[e.range] }

        guard let urlExpr = d.url, let url = compile(urlExpr) else {
            throw RuntimeError(.invalidExpression, at: ip.range)
        }
        var urlText = ""
        if case .template(let parts) = url.kind {
            for p in parts {
                switch p.kind {
                case .constant(.text(let t)):
                    urlText += t
                case .config:
                    // A config is trusted configuration, such as a base URL: inserted as written.
                    urlText += try text(p)
                default:
                    // Anything a caller passes is one encoded piece of the path; '.' and '..'
                    // would still move up the path, whatever their encoding.
                    let value = try text(p)
                    if value == "." || value == ".." {
                        throw RuntimeError(.requestInvalid("'\(value)' cannot be sent as part of the URL of '\(ip.name)'"), at: p.range)
                    }
                    urlText += encodePathText(value)
                }
            }
        } else {
            urlText = try text(url)
        }
        var plan = RequestPlan(
            ipName: ip.name, isSOAP: d.isSOAP, soapVersion: d.soapVersion, method: d.method?.rawValue ?? "POST", url: urlText,
            query: [], headers: [], body: nil, auth: nil, timeout: nil, retries: 0, idempotent: d.idempotent,
            secretsUsed: [], outputs: ip.outputs, namespaces: d.namespaces.map { ($0.prefix, $0.uri) }, action: nil)
        for kv in d.query { if let e = compile(kv.value) { plan.query.append((kv.key, try text(e))) } }
        for kv in d.headers { if let e = compile(kv.value) { plan.headers.append((kv.key, try text(e))) } }
        switch d.body {
        case .form(let pairs)?:
            var fields: [(name: String, value: String)] = []
            for kv in pairs { if let e = compile(kv.value) { fields.append((kv.key, try text(e))) } }
            plan.body = .form(fields)
        case .json(let e)?:
            if let ir = compile(e) { plan.body = .json(try Evaluator.evaluate(ir, &context)) }
        case .raw(let e)?:
            if let ir = compile(e) { plan.body = .raw(try text(ir)) }
        case .soap(let elements)?:
            func build(_ specs: [XMLElementSpec]) throws(RuntimeError) -> [RequestPlan.Element] {
                var out: [RequestPlan.Element] = []
                for spec in specs {
                    switch spec.content {
                    case .value(let e):
                        out.append(RequestPlan.Element(name: spec.name, text: try compile(e).map { x throws(RuntimeError) in try text(x) }, children: []))
                    case .children(let c):
                        out.append(RequestPlan.Element(name: spec.name, text: nil, children: try build(c)))
                    }
                }
                return out
            }
            plan.body = .soap(try build(elements))
        case nil: break
        }
        if let a = d.action, let e = compile(a) { plan.action = try text(e) }
        switch d.auth {
        case .bearer(let n)?: plan.auth = .bearer(try secret(n))
        case .basic(let user, let password)?:
            let u = try compile(user).map { x throws(RuntimeError) in try text(x) } ?? ""
            plan.auth = .basic(user: u, password: try secret(password))
        case nil: break
        }
        if let t = d.timeout, let e = compile(t), case .number(let n) = try Evaluator.evaluate(e, &context) { plan.timeout = n }
        if let r = d.retry, let e = compile(r), case .number(let n) = try Evaluator.evaluate(e, &context) { plan.retries = max(0, n.intValue ?? 0) }
        plan.secretsUsed = used + secretValues.compactMap { v in if case .text(let t)? = v { t } else { nil } }
        return plan
    }
}

/// Expressions of an integration point: its parameters are the locals; it alone sees secrets.
struct PlanContext: EvaluationContext {
    var arguments: [Value]
    var parameterNames: [String]
    var configs: [Value]
    var secrets: [Value?]
    /// Asked only when an expression calls `today()`: reading the clock and the calendar costs
    /// more than a whole session of the payment flow.
    var clock: @Sendable () -> String
    var today: String { clock() }

    init(arguments: [Value], parameterNames: [String], configs: [Value], secrets: [Value?], today: @escaping @Sendable () -> String) {
        self.arguments = arguments
        self.parameterNames = parameterNames
        self.configs = configs
        self.secrets = secrets
        self.clock = today
    }

    func local(_ slot: Int) -> Value? { slot < arguments.count ? arguments[slot] : nil }
    func session(_ i: Int) -> Value? { nil }
    func answer(page: Int, question: Int) -> Value? { nil }
    func config(_ i: Int) -> Value? { i < configs.count ? configs[i] : nil }
    func secret(_ i: Int) -> Value? { i < secrets.count ? secrets[i] : nil }
    var error: Value? { nil }
    func variableName(_ slot: Int) -> String { slot < parameterNames.count ? parameterNames[slot] : "?" }
}

extension IRExpr {
    /// Indices of the secrets this expression reads.
    var secretsRead: [Int] {
        var out: [Int] = []
        func walk(_ e: IRExpr) {
            switch e.kind {
            case .secret(let i): out.append(i)
            case .template(let parts), .list(let parts), .builtin(_, let parts): parts.forEach(walk)
            case .member(let m): walk(m.base)
            case .unary(_, let b): walk(b.first)
            case .index(let ab), .binary(_, let ab):
                let a = ab.first, b = ab.second
                walk(a)
                walk(b)
            case .object(let fields): for f in fields { walk(f.1) }
            default: break
            }
        }
        walk(self)
        return out
    }
}
