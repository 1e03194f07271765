import FlowIntegration
import FlowKit
import Foundation

/// Target `encode`: the encoders of `FlowIntegration.Encoding` and `SOAP`, each with its way
/// back. The bytes are read as text (U+FFFD for what is not UTF-8) cut at NUL bytes into
/// fields, and separately as the recipe of a `Value` (see `ValueMaker`).
///
/// Holds (the round trips the encoders' design note promises):
/// - `decodeForm(formText(pairs)) == pairs` (fields taken two by two);
/// - `decodePathText(pathText(s)) == s`; `pathText` and `queryComponent` write only ASCII;
/// - `Value.fromJSON(value.jsonText()) == value`, with dates read back as text;
/// - `<r>xmlText(s)</r>` and `<r a="xmlAttribute(s)"/>` read back (`XMLBody`) as `s`, with the
///   characters XML 1.0 cannot carry replaced by U+FFFD, as documented;
/// - a SOAP 1.1 and 1.2 envelope whose element holds `s` reads back as `s` (so replaced) from
///   its `Body`;
/// - `headerValue` accepts exactly the values without control characters but tab (nor DEL).
enum EncodeTarget {
    static func run(_ bytes: [UInt8]) {
        let text = String(lossy: bytes)
        let fields = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)

        // Form fields and path text.
        var pairs: [(name: String, value: String)] = []
        var k = 0
        while k < fields.count {
            pairs.append((fields[k], k + 1 < fields.count ? fields[k + 1] : ""))
            k += 2
        }
        let form = Encoding.formText(pairs)
        require(form.utf8.allSatisfy { $0 < 0x80 }, "formText wrote a byte that is not ASCII")
        let decoded = Encoding.decodeForm(Data(form.utf8))
        require(decoded.map(\.name) == pairs.map(\.name) && decoded.map(\.value) == pairs.map(\.value),
                "decodeForm(formText(pairs)) differs: \(pairs) → \(form) → \(decoded)")
        _ = Encoding.appendQuery(fields[0], Array(pairs.dropFirst()))
        for field in fields.prefix(4) {
            let path = Encoding.pathText(field)
            require(path.utf8.allSatisfy { $0 < 0x80 }, "pathText wrote a byte that is not ASCII")
            require(Encoding.decodePathText(path) == field, "decodePathText(pathText(s)) differs for \(field.debugDescription)")
            _ = Encoding.decodePathText(field)
            checkHeader(field)
        }

        // XML text, attributes and SOAP envelopes.
        for field in fields.prefix(2) { checkXML(field) }

        // JSON values.
        var maker = ValueMaker(ByteReader(bytes))
        let value = maker.value(depth: 0)
        let json = value.jsonText()
        require(Data(json.utf8) == Encoding.jsonBody(value), "jsonBody is not jsonText as UTF-8")
        let back: Value
        do {
            back = try Value.fromJSON(json)
        } catch {
            fatalError("flow-fuzz: jsonText wrote JSON that does not read (\(error)): \(json.prefix(500))")
        }
        require(back == value.withDatesAsText, "Value → jsonText → fromJSON differs: \(json.prefix(500)) read as \(back.jsonText().prefix(500))")
    }

    static func checkHeader(_ field: String) {
        let allowed = !field.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
        let accepted = (try? Encoding.headerValue(field, name: "X-Fuzz")) != nil
        require(accepted == allowed, "headerValue \(accepted ? "accepted" : "refused") \(field.debugDescription)")
        _ = try? Encoding.headerName(field)
    }

    /// `s` as XML carries it: the characters XML 1.0 cannot carry replaced with U+FFFD.
    static func xmlCarried(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            switch c.value {
            case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: out.append(c)
            default: out.append("\u{FFFD}")
            }
        }
        return String(out)
    }

    static func checkXML(_ s: String) {
        let expected = xmlCarried(s)
        let element = "<r>" + Encoding.xmlText(s) + "</r>"
        do {
            let document = try XMLBody.parse(Data(element.utf8))
            let text = document.text(of: document.documentElement)
            require(text == expected, "xmlText does not read back: \(s.debugDescription) → \(element.debugDescription) → \(text.debugDescription)")
        } catch {
            fatalError("flow-fuzz: xmlText made XML that does not read (\(error)): \(element.debugDescription)")
        }
        let attribute = "<r a=\"" + Encoding.xmlAttribute(s) + "\" b='" + Encoding.xmlAttribute(s) + "'/>"
        do {
            let document = try XMLBody.parse(Data(attribute.utf8))
            for name in ["a", "b"] {
                let value = document.attribute(name, of: document.documentElement)
                require(value == expected, "xmlAttribute does not read back: \(s.debugDescription) → \(attribute.debugDescription) → \(value.debugDescription)")
            }
        } catch {
            fatalError("flow-fuzz: xmlAttribute made XML that does not read (\(error)): \(attribute.debugDescription)")
        }
        for version in ["1.1", "1.2"] {
            let body = [RequestPlan.Element(name: "b:Get", children: [RequestPlan.Element(name: "b:Text", text: s), RequestPlan.Element(name: "Empty")])]
            let envelope: SOAP.Envelope
            do {
                envelope = try SOAP.envelope(version: version, action: s, namespaces: [("b", "urn:fuzz")], body: body)
            } catch {
                // Only the action can be refused: it goes into a header.
                require(error.id == "encode.headerValue", "a SOAP envelope was refused: \(error)")
                continue
            }
            do {
                let document = try XMLBody.parse(envelope.body)
                guard let payload = SOAP.bodyPayload(document) else { fatalError("flow-fuzz: a SOAP envelope has no Body") }
                let read = document.read(path: "b:Get/b:Text", namespaces: [("b", "urn:fuzz")], below: payload)
                require(read == expected, "SOAP element text does not read back: \(s.debugDescription) → \(read.debugDescription)")
            } catch {
                fatalError("flow-fuzz: a SOAP envelope does not read (\(error)): \(String(lossy: envelope.body).debugDescription)")
            }
        }
    }
}

/// Makes a `Value` from bytes: each value starts with a byte choosing its kind. Numbers come
/// from digit strings and from arithmetic on them (so both the small and the `Decimal` forms
/// of `Number` appear, with up to 38 digits and exponents far from zero); texts are any
/// Unicode scalars (built from pairs of bytes, so the whole range is reached).
struct ValueMaker {
    var reader: ByteReader
    init(_ reader: ByteReader) { self.reader = reader }

    mutating func value(depth: Int) -> Value {
        switch reader.below(depth < 6 ? 8 : 6) {
        case 0: return .null
        case 1: return .bool(reader.bool())
        case 2: return .text(text())
        case 3: return .date(String(format: "%04d-%02d-%02d", 1 + reader.below(250) * 40, 1 + reader.below(12), 1 + reader.below(28)))
        case 4, 5: return .number(number())
        case 6:
            let count = reader.below(5)
            return .list((0..<count).map { _ in value(depth: depth + 1) })
        default:
            var fields: [String: Value] = [:]
            for _ in 0..<reader.below(5) { fields[text()] = value(depth: depth + 1) }
            return .object(fields)
        }
    }

    mutating func text() -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<reader.below(12) {
            let kind = reader.byte()
            let code: UInt32
            switch kind % 4 {
            case 0: code = UInt32(reader.byte()) % 0x80                                  // ASCII, controls included
            case 1: code = UInt32(reader.byte()) << 8 | UInt32(reader.byte())            // the BMP
            case 2: code = 0x10000 + (UInt32(reader.byte()) << 8 | UInt32(reader.byte())) * 16  // beyond
            default: code = [0x22, 0x5C, 0x2F, 0x7F, 0x2028, 0xFEFF, 0xFFFE, 0xFFFF][Int(reader.byte()) % 8]
            }
            s.append(Unicode.Scalar(code) ?? "\u{FFFD}")
        }
        return String(s)
    }

    mutating func digits() -> String {
        var s = reader.bool() ? "-" : ""
        let count = 1 + reader.below(40)
        for _ in 0..<count { s.append(Character(Unicode.Scalar(UInt8(ascii: "0") + reader.byte() % 10))) }
        if reader.bool() {
            s += "."
            for _ in 0..<(1 + reader.below(20)) { s.append(Character(Unicode.Scalar(UInt8(ascii: "0") + reader.byte() % 10))) }
        }
        return s
    }

    mutating func number() -> Number {
        var n = Number(parsing: digits()) ?? 0
        for _ in 0..<reader.below(4) {
            let m = Number(parsing: digits()) ?? 1
            let result: Number
            switch reader.below(4) {
            case 0: result = n + m
            case 1: result = n - m
            case 2: result = n * m
            default: result = m.isZero ? n : n / m
            }
            // Beyond `Decimal`'s range a result is NaN, which a flow never holds (the evaluator
            // stops with run.resultOutOfRange); such a step is left out.
            if result.decimal.isFinite { n = result }
        }
        return n
    }
}

extension Value {
    /// The value as JSON gives it back: dates are JSON strings.
    var withDatesAsText: Value {
        switch self {
        case .date(let s): return .text(s)
        case .list(let items): return .list(items.map(\.withDatesAsText))
        case .object(let fields): return .object(fields.mapValues(\.withDatesAsText))
        default: return self
        }
    }
}
