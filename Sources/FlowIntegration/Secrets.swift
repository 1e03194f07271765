import FlowKit
import Foundation

/// The values of a flow's secrets, from the environment or a secrets file, and the one place
/// that knows them well enough to hide them.
public struct Secrets: Sendable {
    /// By secret name.
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }

    /// A `KEY=VALUE` line each; blank lines and lines starting with `#` are skipped; a value may be
    /// quoted with `"` or `'`. Returns the problem with its line number when a line is not of
    /// that form.
    public static func parseFile(_ text: String) -> Result<[String: String], SecretsFileError> {
        var values: [String: String] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                return .failure(SecretsFileError(line: i + 1, message: "expected KEY=VALUE"))
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { return .failure(SecretsFileError(line: i + 1, message: "expected a name before '='")) }
            var value = String(trimmed[trimmed.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return .success(values)
    }

    /// The secrets a program declares, from `file` (first) or else the environment. Secrets the
    /// program does not declare are not read.
    public static func load(for program: Program, file: [String: String], environment: [String: String]) -> Secrets {
        var values: [String: String] = [:]
        for s in program.secrets {
            if let v = file[s.name] ?? environment[s.name] { values[s.name] = v }
        }
        return Secrets(values)
    }

    /// Hides every secret value, and the forms a server might echo it in (percent-encoded, in a
    /// basic-auth header), behind `***`.
    public var redactor: Redactor { Redactor(secrets: Array(values.values)) }
}

public struct SecretsFileError: Error, Sendable, Equatable {
    public var line: Int
    public var message: String
}

/// Replaces secret values with `***` in anything about to be printed, traced or reported.
public struct Redactor: Sendable {
    private let needles: [String]

    public init(secrets: [String]) {
        var set = Set<String>()
        for s in secrets where s.count >= 4 {
            set.formUnion(Self.forms(of: s))
        }
        // Longest first, so a secret that contains another is hidden whole.
        needles = set.sorted { $0.count > $1.count }
    }

    /// A secret as it is and as a server may echo it: percent-encoded (as a URL or a form encodes
    /// it, upper- or lowercase hex), in base64, escaped inside a JSON string (with and without
    /// `\/`, non-ASCII as is or as `\u` escapes) and escaped as XML text.
    static func forms(of s: String) -> Set<String> {
        var forms: Set<String> = [s, Data(s.utf8).base64EncodedString()]
        // Most keys are letters, digits and `-._~` alone: every encoding leaves them as they are
        // (this is on the path of every call).
        let plain = s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
                || b == 0x7E
        }
        if plain { return forms }
        for allowed in [Self.lettersAndDigits, CharacterSet.alphanumerics] {
            if let e = s.addingPercentEncoding(withAllowedCharacters: allowed) { forms.insert(e) }
        }
        if let e = s.addingPercentEncoding(withAllowedCharacters: Self.unreserved) {
            forms.insert(e)
            forms.insert(Self.lowercasingHex(e))
            if let form = s.addingPercentEncoding(withAllowedCharacters: Self.unreservedAndSpace)?.replacingOccurrences(of: " ", with: "+") {
                forms.insert(form)
                forms.insert(Self.lowercasingHex(form))
            }
        }
        for asciiOnly in [false, true] {
            let json = Self.jsonEscaped(s, asciiOnly: asciiOnly)
            forms.insert(json)
            forms.insert(json.replacingOccurrences(of: "/", with: "\\/"))
        }
        var xml = s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        forms.insert(xml)
        xml = xml.replacingOccurrences(of: "\"", with: "&quot;")
        forms.insert(xml)
        forms.insert(xml.replacingOccurrences(of: "'", with: "&apos;"))
        forms.insert(xml.replacingOccurrences(of: "'", with: "&#39;"))
        forms.insert(xml.replacingOccurrences(of: "&quot;", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        return forms
    }

    private static let lettersAndDigits = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    private static let unreserved = lettersAndDigits.union(CharacterSet(charactersIn: "-._~"))
    private static let unreservedAndSpace = unreserved.union(CharacterSet(charactersIn: " "))

    private static func lowercasingHex(_ encoded: String) -> String {
        var out = ""
        var pending = 0
        for c in encoded {
            if c == "%" {
                pending = 2
                out.append(c)
            } else if pending > 0 {
                pending -= 1
                out += c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// The text between the quotes of a JSON string: `"` `\` and control characters escaped, and
    /// with `asciiOnly` everything beyond ASCII as `\uXXXX` (UTF-16, as Python's json does).
    private static func jsonEscaped(_ s: String, asciiOnly: Bool) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    public init(secrets: [String], basicAuth: [(user: String, password: String)]) {
        var all = secrets
        for (u, p) in basicAuth { all.append(Data("\(u):\(p)".utf8).base64EncodedString()) }
        self.init(secrets: all)
    }

    public var isEmpty: Bool { needles.isEmpty }

    /// About the first `maxBytes` bytes of `data` as text, redacted. Cutting first and redacting
    /// after would show the part of a secret that straddles the cut, so a little more is
    /// redacted, and what could hold the start of a cut-off secret is dropped.
    public func redactedPrefix(of data: Data, maxBytes: Int) -> String {
        guard data.count > maxBytes else { return redact(String(decoding: data, as: UTF8.self)) }
        let longest = needles.map(\.utf8.count).max() ?? 0
        let window = Array(redact(String(decoding: data.prefix(maxBytes + longest), as: UTF8.self)).utf8)
        return String(decoding: window.prefix(min(maxBytes, max(0, window.count - longest))), as: UTF8.self)
    }

    public func redact(_ text: String) -> String {
        guard !needles.isEmpty else { return text }
        var out = text
        for n in needles where out.contains(n) { out = out.replacingOccurrences(of: n, with: "***") }
        return out
    }

    public func redact(_ value: Value) -> Value {
        switch value {
        case .text(let t): return .text(redact(t))
        case .list(let items): return .list(items.map(redact))
        case .object(let fields):
            var out: [String: Value] = [:]
            for (k, v) in fields { out[redact(k)] = redact(v) }
            return .object(out)
        default: return value
        }
    }

    public func redact(_ failure: CallFailure) -> CallFailure {
        var f = failure
        f.message = redact(f.message)
        f.code = f.code.map(redact)
        f.body = f.body.map(redact)
        return f
    }
}
