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
            set.insert(s)
            let encoded = s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
            set.insert(encoded)
            set.insert(Data(s.utf8).base64EncodedString())
        }
        // Longest first, so a secret that contains another is hidden whole.
        needles = set.sorted { $0.count > $1.count }
    }

    public init(secrets: [String], basicAuth: [(user: String, password: String)]) {
        var all = secrets
        for (u, p) in basicAuth { all.append(Data("\(u):\(p)".utf8).base64EncodedString()) }
        self.init(secrets: all)
    }

    public var isEmpty: Bool { needles.isEmpty }

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
