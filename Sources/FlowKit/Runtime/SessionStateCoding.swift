/// A hand-written JSON writer for `SessionState`, for hosts that store a state with every step
/// (`flow serve`): Foundation's `JSONEncoder` spends most of its time in generic metadata lookups
/// and dynamic casts, and was the largest cost of a served step.
///
/// Design note: the output is the JSON that the synthesized `Codable` conformances describe,
/// field for field (optional fields left out when nil, enums with associated values as
/// `{"case":{"_0":…}}`, `.null` as `{"null":{}}`, numbers as their exact text), so
/// `JSONDecoder().decode(SessionState.self, …)` reads it back to an equal state, and states
/// written by `JSONEncoder` before stay readable by the same decoder. Only the order of keys
/// differs (JSONEncoder's is unspecified). A test compares the two encoders' JSON, parsed, for
/// real states; a field added to the state without a line here fails it.
public enum SessionStateJSON {
    /// `state` as JSON, appended to `out`.
    public static func append(_ state: SessionState, to out: inout [UInt8]) {
        var w = Writer(out: out)
        out = []
        w.state(state)
        out = w.out
    }

    /// `text` as a JSON string (quoted and escaped), appended to `out`.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        var w = Writer(out: out)
        out = []
        w.string(text)
        out = w.out
    }

    struct Writer {
        var out: [UInt8]

        mutating func raw(_ s: StaticString) {
            s.withUTF8Buffer { out.append(contentsOf: $0) }
        }

        mutating func int(_ n: Int) {
            if n >= 0 && n < 10 {
                out.append(48 + UInt8(n))
            } else {
                out.append(contentsOf: String(n).utf8)
            }
        }

        /// `items` as a JSON array, each written by `each`.
        mutating func array<S: Sequence>(_ items: S, _ each: (inout Writer, S.Element) -> Void) {
            out.append(91)
            var first = true
            for item in items {
                if !first { out.append(44) }
                first = false
                each(&self, item)
            }
            out.append(93)
        }

        mutating func bool(_ b: Bool) {
            if b { raw("true") } else { raw("false") }
        }

        mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { bytes in
                out.append(34)
                var start = 0
                for (i, b) in bytes.enumerated() where b < 0x20 || b == 34 || b == 92 {
                    if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                    start = i + 1
                    switch b {
                    case 34: raw("\\\"")
                    case 92: raw("\\\\")
                    case 10: raw("\\n")
                    case 13: raw("\\r")
                    case 9: raw("\\t")
                    case 8: raw("\\b")
                    case 12: raw("\\f")
                    default:
                        let hex: [UInt8] = Array("0123456789abcdef".utf8)
                        raw("\\u00")
                        out.append(hex[Int(b >> 4)])
                        out.append(hex[Int(b & 15)])
                    }
                }
                if bytes.count > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
                out.append(34)
            }
        }

        /// `"key":` (keys are plain identifiers: nothing to escape).
        mutating func key(_ k: StaticString, first: Bool = false) {
            if !first { out.append(44) }
            out.append(34)
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            raw("\":")
        }

        mutating func value(_ v: Value) {
            switch v {
            case .text(let s):
                raw("{\"text\":{\"_0\":")
                string(s)
                raw("}}")
            case .number(let n):
                raw("{\"number\":{\"_0\":")
                string(n.description)
                raw("}}")
            case .bool(let b):
                raw("{\"bool\":{\"_0\":")
                bool(b)
                raw("}}")
            case .null:
                raw("{\"null\":{}}")
            case .date(let s):
                raw("{\"date\":{\"_0\":")
                string(s)
                raw("}}")
            case .list(let items):
                raw("{\"list\":{\"_0\":")
                array(items) { $0.value($1) }
                raw("}}")
            case .object(let fields):
                raw("{\"object\":{\"_0\":")
                object(fields)
                raw("}}")
            }
        }

        mutating func object(_ fields: [String: Value]) {
            out.append(123)
            var first = true
            for (k, v) in fields {
                if !first { out.append(44) }
                first = false
                string(k)
                out.append(58)
                value(v)
            }
            out.append(125)
        }

        mutating func optionalValues<S: Sequence<Value?>>(_ values: S) {
            array(values) { w, v in
                if let v { w.value(v) } else { w.raw("null") }
            }
        }

        mutating func frame(_ f: Frame) {
            out.append(123)
            key("flow", first: true)
            int(f.flow)
            key("pc")
            int(f.pc)
            key("locals")
            optionalValues(f.locals)
            key("answers")
            array(f.answers) { w, page in
                if let page { w.optionalValues(page) } else { w.raw("null") }
            }
            if let e = f.error {
                key("error")
                value(e)
            }
            out.append(125)
        }

        mutating func frames(_ frames: [Frame]) {
            array(frames) { $0.frame($1) }
        }

        mutating func failure(_ f: CallFailure) {
            out.append(123)
            key("kind", first: true)
            string(f.kind)
            key("message")
            string(f.message)
            if let s = f.status {
                key("status")
                int(s)
            }
            if let c = f.code {
                key("code")
                string(c)
            }
            if let b = f.body {
                key("body")
                value(b)
            }
            if let n = f.codeNamespace {
                key("codeNamespace")
                string(n)
            }
            out.append(125)
        }

        mutating func record(_ r: EffectRecord) {
            out.append(123)
            key("sequence", first: true)
            int(r.sequence)
            key("kind")
            string(r.kind)
            key("name")
            string(r.name)
            key("flow")
            int(r.flow)
            key("element")
            int(r.element)
            key("arguments")
            string(r.arguments)
            key("safe")
            bool(r.safe)
            switch r.outcome {
            case nil:
                break
            case .result(let fields)?:
                key("outcome")
                raw("{\"result\":{\"_0\":")
                object(fields)
                raw("}}")
            case .failure(let f)?:
                key("outcome")
                raw("{\"failure\":{\"_0\":")
                failure(f)
                raw("}}")
            }
            out.append(125)
        }

        mutating func records(_ records: [EffectRecord]) {
            array(records) { $0.record($1) }
        }

        mutating func state(_ s: SessionState) {
            out.append(123)
            key("id", first: true)
            string(s.id)
            key("effects")
            out.append(123)
            key("nextSequence", first: true)
            int(s.effects.nextSequence)
            if let r = s.effects.inFlight {
                key("inFlight")
                record(r)
            }
            key("completed")
            records(s.effects.completed)
            key("replay")
            records(s.effects.replay)
            if let b = s.effects.barrier {
                key("barrier")
                string(b)
            }
            out.append(125)
            key("frames")
            frames(s.frames)
            key("sessionValues")
            optionalValues(s.sessionValues)
            key("configValues")
            array(s.configValues) { $0.value($1) }
            key("history")
            array(s.history) { w, c in
                w.out.append(123)
                w.key("frames", first: true)
                w.frames(c.frames)
                w.key("sessionValues")
                w.optionalValues(c.sessionValues)
                w.key("sequence")
                w.int(c.sequence)
                w.out.append(125)
            }
            key("steps")
            int(s.steps)
            if let o = s.outcome {
                key("outcome")
                out.append(123)
                key("success", first: true)
                bool(o.success)
                if let r = o.reason {
                    key("reason")
                    string(r)
                }
                out.append(125)
            }
            out.append(125)
        }
    }
}
