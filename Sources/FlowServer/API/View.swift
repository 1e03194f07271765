import FlowKit
import Foundation

/// What a client is told about a session: the JSON of every session answer.
///
/// ```json
/// {"id": "…", "flow": "Payment", "version": 2, "status": "page" | "extension" | "finished" | "working",
///  "responses": ["shown by this step"], "conversation": ["every response so far"],
///  "page": {…} | null, "extension": {"name": …, "arguments": {…}} | null,
///  "outcome": {"outcome": "success" | "failure", "reason": … | null} | null,
///  "working": {"name": "StripeCharge", "retryAfter": 1} (only with "working"),
///  "expiresAt": 1767225600}
/// ```
/// The part after `version` is kept with the session (`SessionRecord.view`) so that GET and a 409
/// say exactly what the last step said (except while an IP call of the session is being made: then
/// they say `working`, `FlowService.shownView`). Password answers and secure values never appear: a
/// password question has no default shown, a secure argument of an extension is null.
enum View {
    /// The fragment for a step: `"status":…,"responses":…,"conversation":…,"page":…,"extension":…,"outcome":…`.
    static func fragment(_ step: Step, program: Program, responses: [String], conversation: [String]) -> String {
        var out = ""
        switch step {
        case .ask(let page):
            out += "\"status\":\"page\""
            out += texts("responses", responses) + texts("conversation", conversation)
            out += ",\"page\":" + pageJSON(page) + ",\"extension\":null,\"outcome\":null"
        case .runExtension(let call):
            out += "\"status\":\"extension\""
            out += texts("responses", responses) + texts("conversation", conversation)
            out += ",\"page\":null,\"extension\":" + extensionJSON(call, program: program) + ",\"outcome\":null"
        case .finished(let outcome):
            out += "\"status\":\"finished\""
            out += texts("responses", responses) + texts("conversation", conversation)
            out += ",\"page\":null,\"extension\":null,\"outcome\":{\"outcome\":" + (outcome.success ? "\"success\"" : "\"failure\"")
            out += ",\"reason\":" + (outcome.reason.map(quote) ?? "null") + "}"
        case .callIP(let call):
            out += working(ip: call.name, responses: responses, conversation: conversation)
        }
        return out
    }

    /// Seconds a client is told to wait before it reads a working session again (`working`).
    static let retryAfter = 1

    /// The fragment of a session whose IP call is being made, by a request that is still waiting
    /// for it (`CallClaim.isLive`): `"status":"working"`, and `"working":{"name": the IP's name,
    /// "retryAfter": seconds}` after `outcome` (only in this status). The IP's name only: never its
    /// arguments, URL or key. `responses` are those shown on the way to the call.
    static func working(ip name: String, responses: [String], conversation: [String]) -> String {
        "\"status\":\"working\"" + texts("responses", responses) + texts("conversation", conversation)
            + ",\"page\":null,\"extension\":null,\"outcome\":null,\"working\":{\"name\":\(quote(name)),\"retryAfter\":\(retryAfter)}"
    }

    /// The whole body.
    static func body(id: String, flow: String, version: Int, fragment: String, expiresAt: Double) -> String {
        "{\"id\":\(quote(id)),\"flow\":\(quote(flow)),\"version\":\(version),\(fragment),\"expiresAt\":\(Int(expiresAt))}"
    }

    private static func texts(_ key: String, _ list: [String]) -> String {
        ",\"\(key)\":[" + list.map(quote).joined(separator: ",") + "]"
    }

    static func pageJSON(_ page: PageRequest) -> String {
        var out = "{\"name\":\(quote(page.name)),\"title\":\(page.title.map(quote) ?? "null"),\"canGoBack\":\(page.canGoBack)"
        out += ",\"backStoppedBy\":" + (page.backStoppedBy.map(quote) ?? "null") + ",\"questions\":["
        for (k, q) in page.questions.enumerated() {
            if k > 0 { out += "," }
            out += "{\"name\":\(quote(q.name)),\"reference\":\(quote(q.reference)),\"type\":\"\(q.type.rawValue)\""
            out += ",\"prompt\":\(quote(q.prompt)),\"options\":[" + q.options.map(quote).joined(separator: ",") + "]"
            let shownDefault = q.type == .password ? nil : q.defaultValue
            out += ",\"default\":" + (shownDefault.map(json) ?? "null")
            out += ",\"optional\":\(q.optional)"
            out += ",\"min\":" + (q.min.map(json) ?? "null") + ",\"max\":" + (q.max.map(json) ?? "null")
            out += ",\"pattern\":" + (q.pattern.map(quote) ?? "null")
            out += ",\"problem\":" + (page.problems[q.name].map(quote) ?? "null") + "}"
        }
        return out + "]}"
    }

    static func extensionJSON(_ call: CallRequest, program: Program) -> String {
        let parameters = program.extensions[call.index].parameters
        var fields: [String] = []
        for (k, a) in call.arguments.enumerated() {
            let secure = k < parameters.count && parameters[k].type == .secure
            fields.append(quote(a.name) + ":" + (secure ? "null" : json(a.value)))
        }
        let outputs = program.extensions[call.index].outputs.map { o in
            "{\"name\":\(quote(o.name)),\"type\":\(quote(o.type.description))}"
        }
        return "{\"name\":\(quote(call.name)),\"arguments\":{" + fields.joined(separator: ",") + "},\"outputs\":["
            + outputs.joined(separator: ",") + "]}"
    }

    /// A value as JSON, with `<`, `>` and `&` escaped in strings like every text we send.
    static func json(_ v: Value) -> String {
        switch v {
        case .text(let s), .date(let s): quote(s)
        case .list(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .object(let fields): "{" + fields.keys.sorted().map { quote($0) + ":" + json(fields[$0]!) }.joined(separator: ",") + "}"
        default: v.jsonText()
        }
    }
}
