import Foundation

/// Texts of an integration point's request that can never be sent: a header value holding a
/// line break or another control character, and a URL that can never be a valid http or https
/// URL, whatever the parameters hold (they are encoded into it, so only the written parts and
/// configs decide).
///
///     headers {
///       "X-Date" = "2024-06-20\r\nX-Evil: 1"    // error: a header value cannot contain a line break
///     }
///     GET "htps://api.example.com/{id}"          // error: this URL can never be a valid http or https URL
struct RequestTexts {
    let checks: ValueChecks
    let ip: Int

    func check() {
        let point = checks.program.integrationPoints[ip]
        let d = point.declaration
        for kv in d.headers {
            guard let v = point.lowered[kv.value.range] else { continue }
            for (text, configs, range) in writtenParts(v) { header(text, configs, range) }
        }
        if let u = d.url, let v = point.lowered[u.range] { url(v) }
    }

    /// The parts of a value known before it runs: the text of a literal or a config.
    private func writtenParts(_ v: IRExpr) -> [(String, Set<Int>, SourceRange)] {
        let parts = if case .template(let p) = v.kind { p } else { [v] }
        return parts.compactMap { p in
            guard let c = checks.values.constant(p), case .text(let t) = c.value else { return nil }
            return (t, c.configs, p.range)
        }
    }

    private func header(_ text: String, _ configs: Set<Int>, _ range: SourceRange) {
        guard let c = text.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else { return }
        if c == "\r" || c == "\n" {
            checks.report(.headerLineBreak, range, configs: configs,
                          label: c == "\r" ? "it holds a carriage return (\\r)" : "it holds a line feed (\\n)",
                          hint: "a line break would end the header and start another; remove it")
        } else {
            checks.report(.headerValueCharacter(VisibleText.escape(c.value)), range, configs: configs,
                          hint: "a header value holds printable text and tabs only")
        }
    }

    private func url(_ v: IRExpr) {
        let parts = if case .template(let p) = v.kind { p } else { [v] }
        var text = ""
        var configs = Set<Int>()
        for (k, p) in parts.enumerated() {
            if let c = checks.values.constant(p), case .text(let t) = c.value {
                text += t
                configs.formUnion(c.configs)
            } else if let c = checks.values.constant(p), case .number(let n) = c.value {
                text += n.description
                configs.formUnion(c.configs)
            } else {
                // A parameter is encoded into one piece of the path; what it starts is not known.
                guard k > 0 else { return }
                text += "1"
            }
        }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII }) else { return }
        var why: String?
        if let c = text.unicodeScalars.first(where: { $0.value < 0x21 || $0.value == 0x7F }) {
            why = c == " " ? "it holds a space" : "it holds the control character \(VisibleText.escape(c.value))"
        } else if let url = URL(string: text) {
            if !["http", "https"].contains(url.scheme?.lowercased() ?? "") {
                why = url.scheme.map { "'\($0)' is not http or https" } ?? "it does not start with http:// or https://"
            } else if url.host == nil || url.host == "" {
                why = "it names no host"
            }
        } else {
            why = "it is not a URL"
        }
        guard let why else { return }
        checks.report(.urlNeverValid, v.range, configs: configs, label: why,
                      hint: "write the whole address: GET \"https://api.example.com/v1/orders/{id}\"")
    }
}
