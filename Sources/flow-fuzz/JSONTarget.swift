import FlowIntegration
import FlowKit
import Foundation

/// Target `json`: the bytes are a JSON document (`Value.fromJSON`) and, read as text, a JSON
/// path (`JSONPath.parse`). Also reads an IP's outputs of every type from the bytes as a
/// response body (`ResponseReader`), as `flow run` does.
///
/// Holds: no crash; reading bytes and reading the same bytes as a `String` agree; a value read
/// is written back by `jsonText` as JSON that reads to an equal value and is written again the
/// same (the output is canonical); for every item and field of the value (the first 200), a
/// path written to it (`$.a["b.c"][2]`) parses and reads exactly that item.
enum JSONTarget {
    static let sample: Value = .object([
        "id": .text("ch_1"), "data": .list([.object(["amount": .number(400), "a.b": .bool(true)]), .null]),
        "order id": .number(Number(parsing: "12.50")!), "": .text("empty key"),
    ])

    /// An IP whose outputs read every type from JSON, the body text, a header and the status.
    static let outputs: [OutputInfo] = {
        let source = """
            ip Read() {
              GET "https://example.com"
              output a: text = json "id"
              output b: number = json "data[0].amount"
              output c: currency = json "$.order id"
              output d: bool = json "data[0][\\"a.b\\"]"
              output e: date = json "date"
              output f: list = json "data"
              output g: object = json "$"
              output h: text = json "data[1]"
              output i: list = json "$[0]"
              output j: text = text
              output k: text = header "Request-Id"
              output l: number = status
            }
            flow F {
              ip Read() -> r
              response "{r.a}{r.b}{r.c}{r.d}{r.e}{r.f}{r.g}{r.h}{r.i}{r.j}{r.k}{r.l}"
            }

            """
        return outputsOfTheIP(in: source, target: "json")
    }()

    static func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        let read = try? Value.fromJSON(data)
        if let text = String(validating: bytes, as: UTF8.self) {
            let fromText = try? Value.fromJSON(text)
            require(fromText == read, "reading the bytes and reading them as a String differ")
        }

        if let value = read {
            let written = value.jsonText()
            let again: Value
            do {
                again = try Value.fromJSON(written)
            } catch {
                fatalError("flow-fuzz: jsonText wrote JSON that does not read (\(error)): \(written.prefix(500))")
            }
            require(again == value, "JSON read, written and read again differs: \(written.prefix(500))")
            require(again.jsonText() == written, "jsonText is not canonical: \(written.prefix(500))")
            _ = value.displayText()
            _ = value.displayText(asCurrency: true)
            for type in [ValueType.text, .number, .currency, .bool, .date, .list, .object, .secure, .null, .any] {
                _ = value.coerced(to: type)
            }
            var budget = 200
            checkPaths(value, path: "$", root: value, budget: &budget)
        }

        // The bytes as a path, on the sample and on the document.
        let pathText = String(lossy: bytes)
        if let steps = JSONPath.parse(pathText) {
            _ = JSONPath.read(steps, in: sample)
            if let read { _ = JSONPath.read(steps, in: read) }
        }

        var reader = ResponseReader(response: HTTPResponse(status: 200, headers: [("request-id", "req_1")], body: data),
                                    isSOAP: false, namespaces: [])
        for output in outputs { _ = try? reader.value(of: output) }
    }

    /// Walks `value` (at most `budget` items and fields), writing a path to each and reading it back.
    static func checkPaths(_ value: Value, path: String, root: Value, budget: inout Int) {
        // Iterative: documents may nest 512 levels.
        var work: [(Value, String)] = [(value, path)]
        while let (v, p) = work.popLast(), budget > 0 {
            budget -= 1
            guard let steps = JSONPath.parse(p) else { fatalError("flow-fuzz: the JSON path \(p) written to a value does not parse") }
            let found = JSONPath.read(steps, in: root)
            require(found == v, "the JSON path \(p) reads \(found.map { $0.jsonText() } ?? "nothing"), not \(v.jsonText().prefix(200))")
            switch v {
            case .list(let items):
                for (k, item) in items.enumerated().prefix(budget) { work.append((item, p + "[\(k)]")) }
            case .object(let fields):
                for (key, item) in fields.sorted(by: { $0.key < $1.key }).prefix(budget) {
                    work.append((item, p + pathStep(key)))
                }
            default:
                break
            }
        }
    }

    /// `.key` when the key can be written plainly, else `["key"]` with `"` and `\` escaped.
    static func pathStep(_ key: String) -> String {
        let plain = !key.isEmpty && !key.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }
        if plain { return "." + key }
        var quoted = "[\""
        for c in key.unicodeScalars {
            if c == "\"" || c == "\\" { quoted += "\\" }
            quoted.unicodeScalars.append(c)
        }
        return quoted + "\"]"
    }
}
