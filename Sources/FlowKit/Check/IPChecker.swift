/// Checks one integration point declaration: its request is complete and consistent (REST or
/// SOAP), every expression in it compiles with the IP's parameters, configs and secrets in scope,
/// `auth` names a secret, and each output says where it comes from with a valid path.
///
///     ip Charge(amount: currency) {
///       form { amount = amout }      // error: cannot find 'amout' (did you mean 'amount'?)
///     }
struct IPChecker {
    let p: ProgramBuilder
    let index: Int

    init(_ p: ProgramBuilder, _ index: Int) {
        self.p = p
        self.index = index
    }

    func check() {
        let ip = p.program.integrationPoints[index]
        let d = ip.declaration
        p.ipParameters = Dictionary(ip.parameters.enumerated().map { ($1.name, ($0, $1.type)) }, uniquingKeysWith: { a, _ in a })
        p.allowSecrets = true
        defer {
            p.ipParameters = nil
            p.allowSecrets = false
        }
        if let url = d.url {
            p.checkAssignable(keep(url), to: .text, what: "the URL")
        } else {
            p.report(.ipWithoutRequest(ip.name), ip.range,
                     hint: "say what to call:\n  POST \"{STRIPE_BASE}/v1/charges\"\nor\n  soap 1.2 \"{BANK_BASE}/AccountService\"")
        }
        if d.isSOAP {
            if let m = d.method { p.report(.soapWithMethod(m.rawValue), d.methodRange ?? ip.range) }
            switch d.body {
            case .form?, .json?: p.report(.soapBodyKind, d.bodyRange ?? ip.range, hint: "a SOAP body lists elements: body {\n  b:GetBalance {\n    b:Account = account\n  }\n}")
            default: break
            }
        } else {
            if let a = d.action { p.report(.actionWithoutSOAP, a.range) }
            if case .soap? = d.body { p.report(.elementsWithoutSOAP, d.bodyRange ?? ip.range, hint: "declare the service as SOAP: soap 1.2 \"https://…\"") }
            if d.method == .GET, let body = d.body {
                switch body {
                case .form, .json, .raw: p.report(.getWithBody, d.bodyRange ?? ip.range, hint: "send values of a GET in 'query { }'")
                case .soap: break
                }
            }
        }
        if let a = d.action { p.checkAssignable(keep(a), to: .text, what: "'action'") }
        for kv in d.query { lowerValue(kv.value) }
        for kv in d.headers {
            if kv.key.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }) {
                p.report(.invalidHeaderName(kv.key), kv.keyRange)
            }
            // A value that can never be sent (a line break) is reported by `RequestTexts`.
            lowerValue(kv.value)
        }
        switch d.body {
        case .form(let pairs)?: for kv in pairs { lowerValue(kv.value) }
        case .json(let e)?: _ = keep(e)
        case .raw(let e)?: p.checkAssignable(keep(e), to: .text, what: "'body'")
        case .soap(let elements)?: checkElements(elements, d)
        case nil: break
        }
        switch d.auth {
        case .bearer(let n)?: requireSecret(n)
        case .basic(let user, let password)?:
            lowerValue(user)
            requireSecret(password)
        case nil: break
        }
        if let t = d.timeout { positiveNumber(t, "'timeout'") }
        if let r = d.retry {
            positiveNumber(r, "'retry'", allowZero: true)
            checkRetryIsSent(r, d)
        }
        for o in d.outputs { checkOutput(o, d) }
    }

    /// Lowers a request expression and keeps it for the host that builds the request.
    private func keep(_ e: Expr) -> IRExpr {
        let ir = p.lower(e)
        p.program.integrationPoints[index].lowered[e.range] = ir
        return ir
    }

    @discardableResult
    private func lowerValue(_ e: Expr) -> IRExpr {
        let v = keep(e)
        switch v.type {
        case .list, .object, .record: p.report(.typeMismatch("a \(v.type) cannot be sent here; send text or a number"), v.range)
        default: break
        }
        return v
    }

    private func requireSecret(_ n: Name) {
        if let (g, _) = p.globals[n.text], case .secret = g { return }
        let secrets = p.program.secrets.map(\.name)
        p.report(.authNeedsSecret(n.text), n.range,
                 hint: Suggest.closest(to: n.text, in: secrets).map { "did you mean '\($0)'?" } ?? "declare it at the top level: secret \(n.text)")
    }

    private func positiveNumber(_ e: Expr, _ what: String, allowZero: Bool = false) {
        let v = keep(e)
        p.checkAssignable(v, to: .number, what: what)
        if case .constant(.number(let n)) = v.kind, n < 0 || (!allowZero && n == 0) {
            p.report(.typeMismatch("\(what) must be \(allowZero ? "zero or more" : "more than zero")"), v.range)
        }
    }

    /// `retry 2` on a POST, PATCH or SOAP request that is neither `idempotent` nor `safe`: such a
    /// request is sent once (a second sending could do twice what it does), so the retries are
    /// never made.
    private func checkRetryIsSent(_ r: Expr, _ d: IPDecl) {
        guard case .constant(.number(let n))? = p.program.integrationPoints[index].lowered[r.range]?.kind, n > 0,
              !d.idempotent, d.safety != .safe, d.isSOAP || d.method == .POST || d.method == .PATCH
        else { return }
        p.report(.retryNeverSent(d.isSOAP ? "SOAP" : d.method?.rawValue ?? "POST"), r.range,
                 hint: "add 'idempotent' when the service takes an Idempotency-Key, or 'safe' when the call changes nothing")
    }

    private func checkElements(_ elements: [XMLElementSpec], _ d: IPDecl) {
        for el in elements {
            if let colon = el.name.firstIndex(of: ":") {
                let prefix = String(el.name[..<colon])
                if !d.namespaces.contains(where: { $0.prefix == prefix }) {
                    p.report(.undefinedNamespace(prefix), el.range, hint: "declare it: namespace \(prefix) = \"http://example.com/ns\"")
                }
            }
            switch el.content {
            case .value(let e): lowerValue(e)
            case .children(let c): checkElements(c, d)
            }
        }
    }

    private func checkOutput(_ o: OutputDecl, _ d: IPDecl) {
        guard let source = o.source else { return }
        let declared = o.type.flatMap { ValueType(typeName: $0.name) }
        switch source {
        case .json(let path, let r):
            if JSONPath.parse(path) == nil {
                p.report(.invalidPath("JSON", path), r, hint: "paths look like: id, data[0].id, error.decline_code, or $ for the whole body")
            }
        case .xml(let path, let r):
            if path.isEmpty || path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty }) {
                p.report(.invalidPath("XML", path), r, hint: "paths look like: b:GetBalanceResponse/b:Balance")
            }
            for seg in path.split(separator: "/") {
                if let colon = seg.firstIndex(of: ":") {
                    let prefix = String(seg[..<colon])
                    if !d.namespaces.contains(where: { $0.prefix == prefix }) {
                        p.report(.undefinedNamespace(prefix), r, hint: "declare it: namespace \(prefix) = \"http://example.com/ns\"")
                    }
                }
            }
        case .status:
            if let declared, !declared.isNumeric { p.report(.typeMismatch("'status' is a number, not \(declared)"), o.type!.range) }
        case .header, .text:
            if let declared, declared == .list || declared == .object {
                p.report(.typeMismatch("a header or text output cannot be \(declared)"), o.type!.range)
            }
        }
    }
}
