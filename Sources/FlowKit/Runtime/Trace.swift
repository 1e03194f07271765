import Foundation

/// What a session reports as it runs, for `--trace` and for tests. Values of secure type
/// (passwords, secure parameters) are never given: they are nil here and `"***"` in JSON.
public enum TraceEvent: Sendable {
    case enter(kind: String, range: SourceRange)
    case answer(reference: String, value: Value?, range: SourceRange)
    case set(name: String, value: Value?, range: SourceRange)
    case call(kind: String, name: String, arguments: [(name: String, value: Value?)], range: SourceRange)
    case result(name: String, outputs: [String: Value?], range: SourceRange)
    case callFailed(name: String, failure: CallFailure, range: SourceRange)
    /// After `back`, a call answered from its record (the call numbered `sequence`), not made again.
    case replay(name: String, sequence: Int, range: SourceRange)
    case response(text: String, range: SourceRange)
    case back(range: SourceRange)
    case finish(success: Bool, reason: String?, range: SourceRange)

    public var range: SourceRange {
        switch self {
        case .enter(_, let r), .answer(_, _, let r), .set(_, _, let r), .call(_, _, _, let r), .result(_, _, let r),
             .callFailed(_, _, let r), .replay(_, _, let r), .response(_, let r), .back(let r), .finish(_, _, let r):
            r
        }
    }

    /// One JSON Lines record. Field names are stable and documented in the README.
    public func jsonLine(sources: SourceManager) -> String {
        let file = sources[range.file]
        let start = file.location(of: Int(range.start))
        let end = file.location(of: Int(range.end))
        func value(_ v: Value?) -> String { v.map { $0.jsonText() } ?? "\"***\"" }
        var fields: [(String, String)] = []
        switch self {
        case .enter(let kind, _): fields = [("event", "\"enter\""), ("kind", JSONText.quote(kind))]
        case .answer(let reference, let v, _): fields = [("event", "\"answer\""), ("question", JSONText.quote(reference)), ("value", value(v))]
        case .set(let name, let v, _): fields = [("event", "\"set\""), ("variable", JSONText.quote(name)), ("value", value(v))]
        case .call(let kind, let name, let arguments, _):
            let args = arguments.map { "\(JSONText.quote($0.name)): \(value($0.value))" }.joined(separator: ", ")
            fields = [("event", "\"call\""), ("kind", JSONText.quote(kind)), ("name", JSONText.quote(name)), ("arguments", "{\(args)}")]
        case .result(let name, let outputs, _):
            let out = outputs.keys.sorted().map { "\(JSONText.quote($0)): \(value(outputs[$0] ?? nil))" }.joined(separator: ", ")
            fields = [("event", "\"result\""), ("name", JSONText.quote(name)), ("outputs", "{\(out)}")]
        case .callFailed(let name, let f, _):
            fields = [("event", "\"failure\""), ("name", JSONText.quote(name)), ("error", f.value.jsonText())]
        case .replay(let name, let sequence, _):
            fields = [("event", "\"replay\""), ("name", JSONText.quote(name)), ("effect", "\(sequence)")]
        case .response(let text, _): fields = [("event", "\"response\""), ("text", JSONText.quote(text))]
        case .back: fields = [("event", "\"back\"")]
        case .finish(let success, let reason, _):
            fields = [("event", "\"finish\""), ("outcome", success ? "\"success\"" : "\"failure\""), ("reason", reason.map(JSONText.quote) ?? "null")]
        }
        fields.append(("file", JSONText.quote(file.path)))
        fields.append(("line", "\(start.line)"))
        fields.append(("column", "\(start.column)"))
        fields.append(("endLine", "\(end.line)"))
        fields.append(("endColumn", "\(end.column)"))
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}
