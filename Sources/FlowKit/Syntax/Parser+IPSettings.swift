/// Integration point and extension declarations: their settings (method, url, headers, body,
/// auth, retries, …) and outputs.
extension Parser {
    // MARK: - Integration point and extension declarations

    mutating func parseIPDecl() -> Declaration? {
        let s = start
        advance()  // ip
        guard let name = parseName("integration point name", hint: "ip StripeCharge(amount: currency) {") else { recover(); return nil }
        if at(.leftParen) {
            // Could be a call written at the top level: `ip X(a, b) -> r`. Parameters have names.
        }
        let params = at(.leftParen) ? parseParameters("parameter") : []
        if at(.arrow) {
            report(.callOutsideFlow("ip"), at: rangeFrom(s),
                   hint: "calls belong inside a flow:\n  flow Main {\n    ip \(name.text)(…) -> result\n  }")
            recover()
            return nil
        }
        var decl = IPDecl(name: name, parameters: params, isSOAP: false, method: nil, soapVersion: nil, url: nil, action: nil,
                          namespaces: [], query: [], headers: [], body: nil, auth: nil, timeout: nil, retry: nil,
                          idempotent: false, outputs: [], range: range(s, s))
        guard at(.leftBrace) else {
            report(.expectedBlock("integration point '\(name.text)'"), at: missingRange, label: found,
                   hint: "ip \(name.text)(amount: currency) {\n  POST \"{STRIPE_BASE}/v1/charges\"\n}")
            recover()
            return nil
        }
        parseLines(closing: "integration point", endOf: "an integration point setting") { p in p.parseIPItem(&decl) }
        decl.range = rangeFrom(s)
        return .ip(decl)
    }

    static let ipItems = ["GET", "POST", "PUT", "PATCH", "DELETE", "soap", "action", "namespace", "query", "headers",
                          "form", "json", "body", "auth", "timeout", "retry", "idempotent", "safe", "unsafe", "output"]

    mutating func parseIPItem(_ decl: inout IPDecl) {
        guard at(.word) else {
            report(.unknownIPSetting, at: range(of: current), label: found,
                   hint: "settings: \(Parser.ipItems.joined(separator: ", "))")
            recover()
            return
        }
        let word = currentText
        let wordRange = range(of: current)
        if let method = HTTPMethod(rawValue: word) {
            advance()
            if decl.method != nil { report(.duplicateSetting("request line"), at: wordRange) }
            decl.method = method
            decl.methodRange = wordRange
            decl.url = parseExpression()
            return
        }
        switch word {
        case "soap":
            advance()
            if decl.isSOAP { report(.duplicateSetting("request line"), at: wordRange) }
            decl.isSOAP = true
            if at(.number) && (currentText == "1.1" || currentText == "1.2") {
                decl.soapVersion = currentText
                advance()
            } else {
                report(.expectedSOAPVersion, at: missingRange, label: found, hint: "soap 1.2 \"https://bank.example/AccountService\"")
                if at(.number) { advance() }
                if !at(.string) { recover(); return }
            }
            if decl.method == nil { decl.url = parseExpression() } else { _ = parseExpression() }
        case "action":
            advance()
            decl.action = parseExpression()
        case "namespace":
            advance()
            guard at(.word) else { report(.expectedName("namespace prefix"), at: missingRange); recover(); return }
            let prefix = currentText
            advance()
            guard expect(.equal, .expectedAfter("'='", "namespace prefix"), hint: "namespace b = \"http://bank.example/accounts\"") else {
                recover(); return
            }
            guard at(.string) else { report(.expectedAfter("a text literal", "'='"), at: missingRange); recover(); return }
            decl.namespaces.append((prefix, decodePlainString(current) ?? "", wordRange.union(range(of: current))))
            advance()
        case "query", "headers", "form":
            advance()
            let pairs = parseKeyValues(word)
            if word == "query" { decl.query += pairs }
            else if word == "headers" { decl.headers += pairs }
            else { setBody(&decl, .form(pairs), wordRange) }
        case "json":
            advance()
            setBody(&decl, .json(parseExpression()), wordRange)
        case "body":
            advance()
            if at(.leftBrace) {
                setBody(&decl, .soap(parseXMLElements()), wordRange)
            } else {
                setBody(&decl, .raw(parseExpression()), wordRange)
            }
        case "auth":
            advance()
            if atWord("bearer") {
                advance()
                if let n = parseName("secret name after 'bearer'", hint: "auth bearer STRIPE_SECRET_KEY") { decl.auth = .bearer(n) }
            } else if atWord("basic") {
                advance()
                let user = parseExpression()
                guard expect(.comma, .expectedAfter("','", "the user name"), hint: "auth basic \"merchant\", BANK_PASSWORD") else { recover(); return }
                if let n = parseName("secret name") { decl.auth = .basic(user: user, password: n) }
            } else {
                report(.expectedAfter("'bearer' or 'basic'", "'auth'"), at: missingRange, label: found,
                       hint: "auth bearer STRIPE_SECRET_KEY")
                recover()
            }
        case "timeout":
            advance()
            decl.timeout = parseExpression()
        case "retry":
            advance()
            decl.retry = parseExpression()
        case "idempotent":
            advance()
            decl.idempotent = true
        case "safe", "unsafe":
            parseSafety(&decl.safety, &decl.safetyRange)
        case "output":
            if let o = parseOutput(allowSource: true) { decl.outputs.append(o) }
        default:
            report(.unknownIPSetting, at: wordRange, label: "found '\(word)'",
                   hint: Suggest.closest(to: word, in: Parser.ipItems).map { "did you mean '\($0)'?" }
                       ?? "settings: \(Parser.ipItems.joined(separator: ", "))")
            recover()
        }
    }

    mutating func setBody(_ decl: inout IPDecl, _ body: RequestBody, _ at: SourceRange) {
        if decl.body != nil { report(.duplicateSetting("body"), at: at, hint: "an integration point sends one body: form, json or body") }
        decl.body = body
        decl.bodyRange = at
    }

    /// `{ key = expr ... }` with keys as names or text literals.
    mutating func parseKeyValues(_ what: String) -> [KeyValue] {
        guard at(.leftBrace) else {
            report(.expectedBlock("'\(what)'"), at: missingRange, label: found, hint: "\(what) {\n  currency = \"usd\"\n}")
            recover()
            return []
        }
        var pairs: [KeyValue] = []
        parseLines(closing: "'\(what)'", endOf: "a key and value") { p in
            var key: String?
            var keyRange = p.range(of: p.current)
            if p.at(.string) {
                key = p.decodePlainString(p.current) ?? ""
                p.advance()
            } else if let n = p.parseName("key") {
                key = n.text
                keyRange = n.range
            }
            guard let key, p.expect(.equal, .expectedAfter("'='", "key"), hint: "\(what) {\n  currency = \"usd\"\n}") else {
                p.recover()
                return
            }
            pairs.append(KeyValue(key: key, keyRange: keyRange, value: p.parseExpression()))
        }
        return pairs
    }

    /// SOAP body elements: `prefix:Name = expr` or `prefix:Name { … }`, nested.
    mutating func parseXMLElements() -> [XMLElementSpec] {
        guard enter() else { advance(); skipNested(); leave(); return [] }
        defer { leave() }
        var elements: [XMLElementSpec] = []
        parseLines(closing: "element list", endOf: "an element") { p in
            let s = p.start
            guard p.at(.word) else {
                p.report(.expectedName("element name"), at: p.range(of: p.current), label: "found \(p.foundDescription)",
                         hint: "b:GetBalance {\n  b:Account = account\n}")
                p.recover()
                return
            }
            var name = p.currentText
            p.advance()
            if p.at(.colon) && Int(p.current.start) == p.previousEnd {
                p.advance()
                if p.at(.word) && Int(p.current.start) == p.previousEnd {
                    name += ":" + p.currentText
                    p.advance()
                } else {
                    p.report(.expectedName("element name after the namespace prefix"), at: p.missingRange)
                }
            }
            let nameRange = p.rangeFrom(s)
            if p.match(.equal) {
                elements.append(XMLElementSpec(name: name, range: nameRange, content: .value(p.parseExpression())))
            } else if p.at(.leftBrace) {
                elements.append(XMLElementSpec(name: name, range: nameRange, content: .children(p.parseXMLElements())))
            } else {
                p.report(.expectedAfter("'=' or '{'", "element name"), at: p.missingRange, label: "found \(p.foundDescription)",
                         hint: "b:Account = account")
                p.recover()
            }
        }
        return elements
    }

    /// `output name [: type] [= source]`
    mutating func parseOutput(allowSource: Bool) -> OutputDecl? {
        let s = start
        advance()  // output
        guard let name = parseName("output name", hint: "output id: text = json \"id\"") else { recover(); return nil }
        var type: TypeRef?
        if match(.colon) { type = parseType() }
        var source: OutputSource?
        if match(.equal) {
            if !allowSource {
                let eq = previousEnd - 1
                recover()
                report(.extensionOutputSource, at: range(eq, previousEnd),
                       hint: "an extension's outputs are the keys of the JSON object it prints: output \(name.text)\(type.map { ": \($0.name)" } ?? "")")
                return OutputDecl(name: name, type: type, source: nil, range: rangeFrom(s))
            }
            let sourceRange = range(of: current)
            if atWord("json") || atWord("xml") || atWord("header") {
                let kind = currentText
                advance()
                guard at(.string) else {
                    report(.expectedAfter("a path in quotes", "'\(kind)'"), at: missingRange, hint: "output id: text = json \"id\"")
                    recover()
                    return nil
                }
                let path = decodePlainString(current) ?? ""
                let r = range(of: current)
                advance()
                switch kind {
                case "json": source = .json(path, r)
                case "xml": source = .xml(path, r)
                default: source = .header(path, r)
                }
            } else if atWord("status") {
                advance()
                source = .status
            } else if atWord("text") {
                advance()
                source = .text
            } else {
                report(.expectedOutputSource, at: sourceRange, label: found,
                       hint: "json \"path\", xml \"path\", header \"Name\", status or text")
                recover()
                return OutputDecl(name: name, type: type, source: nil, range: rangeFrom(s))
            }
        } else if allowSource {
            report(.expectedAfter("'='", "output name"), at: missingRange, label: found,
                   hint: "say where the output comes from: output \(name.text)\(type.map { ": \($0.name)" } ?? "") = json \"\(name.text)\"")
        }
        return OutputDecl(name: name, type: type, source: source, range: rangeFrom(s))
    }

    mutating func parseExtensionDecl() -> Declaration? {
        let s = start
        advance()  // extension
        guard let name = parseName("extension name", hint: "extension Tokenize {") else { recover(); return nil }
        let params = at(.leftParen) ? parseParameters("parameter") : []
        if at(.arrow) {
            report(.callOutsideFlow("extension"), at: rangeFrom(s),
                   hint: "calls belong inside a flow; a declaration has a body:\n  extension \(name.text) {\n    run \"extensions/tokenize\"\n    output token: text\n  }")
            recover()
            return nil
        }
        var decl = ExtensionDecl(name: name, parameters: params, command: nil, timeout: nil, outputs: [], range: range(s, s))
        guard at(.leftBrace) else {
            report(.expectedBlock("extension '\(name.text)'"), at: missingRange, label: found,
                   hint: "extension \(name.text) {\n  run \"extensions/tokenize\"\n  output token: text\n}")
            recover()
            return nil
        }
        let items = ["run", "web", "timeout", "safe", "unsafe", "output"]
        parseLines(closing: "extension", endOf: "an extension setting") { p in
            if p.atWord("safe") || p.atWord("unsafe") {
                p.parseSafety(&decl.safety, &decl.safetyRange)
            } else if p.atWord("run") {
                p.advance()
                decl.command = p.parseExpression()
            } else if p.atWord("web") {
                p.advance()
                decl.web = p.parseExpression()
            } else if p.atWord("timeout") {
                p.advance()
                decl.timeout = p.parseExpression()
            } else if p.atWord("output") {
                if let o = p.parseOutput(allowSource: false) { decl.outputs.append(o) }
            } else {
                p.report(.unknownExtensionSetting, at: p.range(of: p.current), label: "found \(p.foundDescription)",
                         hint: (p.at(.word) ? Suggest.closest(to: p.currentText, in: items).map { "did you mean '\($0)'? " } : nil) ?? ""
                             + "settings: run, web, timeout, safe, unsafe, output")
                p.recover()
            }
        }
        decl.range = rangeFrom(s)
        return .extension(decl)
    }

    /// `safe` or `unsafe`, once per declaration.
    mutating func parseSafety(_ safety: inout CallSafety?, _ where_: inout SourceRange?) {
        let wordRange = range(of: current)
        let value = CallSafety(rawValue: currentText)!
        advance()
        if let earlier = where_ {
            report(.safetyTwice(value.rawValue), at: wordRange, notes: [DiagnosticNote("said first here", at: earlier)],
                   hint: "say 'safe' when a call changes nothing, 'unsafe' when it may; once")
            return
        }
        safety = value
        where_ = wordRange
    }
}
