import FlowKit
import Foundation

/// How the values of an integration point's request become bytes: URL path text, query and form
/// fields, JSON, XML text and header values.
///
/// Design note: every encoder works on UTF-8 bytes and keeps a short list of characters as they
/// are; everything else is escaped, so a value can never end a field, a segment, an element or a
/// header early. Each encoder has a decoder beside it (`decodePathText`, `decodeForm`) so the tests
/// can prove the round trip; the JSON and XML round trips go through `Value.fromJSON` and
/// `XMLBody`. The percent encoders write `%XX` with upper-case hex digits (RFC 3986 §2.1).
///
/// Two choices worth knowing:
/// - **Form and query fields** follow the WHATWG `application/x-www-form-urlencoded` serializer
///   (space → `+`, everything else but a short safe set → `%XX`), except that the safe set is
///   RFC 3986's unreserved set `A-Z a-z 0-9 - . _ ~`: WHATWG keeps `*` and escapes `~`; every
///   server decodes both spellings the same, and one safe set for paths and fields is simpler.
///   Stripe-style keys `metadata[order_id]` go out as `metadata%5Border_id%5D`, which servers
///   decode back to the brackets.
/// - **Characters XML 1.0 cannot carry** (NUL and the other C0 controls except tab, line feed and
///   carriage return; U+FFFE and U+FFFF) are replaced with U+FFFD `�` by `xmlText` and
///   `xmlAttribute`. There is no escape for them (`&#0;` is not well-formed either), so the
///   choice is between failing the call and sending a visible replacement character; a stray
///   control character in a caller's answer should not stop a payment, so they are replaced.
public enum Encoding {
    // MARK: - Percent encoding

    /// Text interpolated into a URL path segment: RFC 3986 unreserved characters
    /// (`A-Z a-z 0-9 - . _ ~`) as they are, every other UTF-8 byte as `%XX`
    /// (`a/b?c` → `a%2Fb%3Fc`, `Zoë` → `Zo%C3%AB`). A space is `%20`.
    public static func pathText(_ text: String) -> String {
        percentEncode(text, spaceAsPlus: false)
    }

    /// One name or value of a query string or a form body: unreserved characters as they are,
    /// space as `+`, every other UTF-8 byte as `%XX` (`a b&c=d` → `a+b%26c%3Dd`).
    public static func queryComponent(_ text: String) -> String {
        percentEncode(text, spaceAsPlus: true)
    }

    /// Fields as `application/x-www-form-urlencoded` text: `name=value` pairs joined with `&`, in
    /// the order given, each name and value encoded by `queryComponent`.
    public static func formText(_ pairs: [(name: String, value: String)]) -> String {
        var out = ""
        for (k, pair) in pairs.enumerated() {
            if k > 0 { out += "&" }
            out += queryComponent(pair.name)
            out += "="
            out += queryComponent(pair.value)
        }
        return out
    }

    /// A form body (`application/x-www-form-urlencoded`): `formText` as UTF-8 (all ASCII).
    public static func formBody(_ pairs: [(name: String, value: String)]) -> Data {
        Data(formText(pairs).utf8)
    }

    /// `url` with the pairs added to its query: after `?` when it has none yet, else after `&`
    /// (nothing is added after a `?` or `&` it already ends with). A `#fragment` stays at the end.
    /// No pairs: the URL unchanged.
    public static func appendQuery(_ url: String, _ pairs: [(name: String, value: String)]) -> String {
        guard !pairs.isEmpty else { return url }
        var base = Substring(url)
        var fragment: Substring = ""
        if let hash = url.firstIndex(of: "#") {
            base = url[..<hash]
            fragment = url[hash...]
        }
        let separator: String
        if let last = base.last, base.contains("?") {
            separator = last == "?" || last == "&" ? "" : "&"
        } else {
            separator = "?"
        }
        return base + separator + formText(pairs) + fragment
    }

    /// The text `pathText` encoded: `%XX` sequences decoded, every other character as it is
    /// (`+` stays `+`). Nil when a `%` is not followed by two hex digits or the bytes are not UTF-8.
    public static func decodePathText(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.utf8.count)
        var it = Array(encoded.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1]) else {
                    return nil
                }
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Reads `application/x-www-form-urlencoded` text the WHATWG way: split at `&` (empty pieces
    /// skipped), name and value split at the first `=`, `+` → space, `%XX` decoded (a `%` without
    /// two hex digits is kept as it is), bytes that are not UTF-8 become U+FFFD.
    public static func decodeForm(_ data: Data) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for piece in data.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: Data.SubSequence
            let value: Data.SubSequence
            if let eq = piece.firstIndex(of: UInt8(ascii: "=")) {
                name = piece[..<eq]
                value = piece[piece.index(after: eq)...]
            } else {
                name = piece
                value = piece[piece.endIndex...]
            }
            out.append((formDecode(name), formDecode(value)))
        }
        return out
    }

    private static func formDecode(_ bytes: Data.SubSequence) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%"), bytes.endIndex - i >= 3,
                      let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
                continue
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// `A-Z a-z 0-9 - . _ ~` (RFC 3986 §2.3).
    @inline(__always)
    private static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    private static func percentEncode(_ text: String, spaceAsPlus: Bool) -> String {
        if text.utf8.allSatisfy(isUnreserved) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for b in text.utf8 {
            if isUnreserved(b) {
                out.append(b)
            } else if spaceAsPlus && b == UInt8(ascii: " ") {
                out.append(UInt8(ascii: "+"))
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - JSON

    /// A JSON body: `Value.jsonText()` as UTF-8. Numbers are written exactly (`0.1`, `12.50` →
    /// `12.5`), object keys sorted, `"`, `\` and control characters escaped; `/`, `<`, `>`, `&`
    /// and non-ASCII characters go as they are, which JSON allows.
    public static func jsonBody(_ value: Value) -> Data {
        Data(value.jsonText().utf8)
    }

    // MARK: - XML

    /// Text for the content of an XML element: `&`, `<`, `>`, `"`, `'` as entity references (so
    /// `]]>` never appears as it is), a carriage return as `&#13;` (a parser would otherwise turn
    /// `\r\n` into `\n`), characters XML 1.0 cannot carry as U+FFFD (see the design note).
    public static func xmlText(_ text: String) -> String {
        xmlEscape(text, inAttribute: false)
    }

    /// Text for an attribute value in either quotes: as `xmlText`, and tab and line feed as `&#9;`
    /// and `&#10;` too, so attribute-value normalisation does not turn them into spaces.
    public static func xmlAttribute(_ text: String) -> String {
        xmlEscape(text, inAttribute: true)
    }

    /// Whether XML 1.0 allows this character anywhere in a document (its `Char` production).
    static func isXMLChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    private static func xmlEscape(_ text: String, inAttribute: Bool) -> String {
        let clean = text.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"),
                 0x0D, 0xEF:  // 0xEF leads U+FFFE and U+FFFF
                return false
            case 0x09, 0x0A: return !inAttribute
            default: return b >= 0x20
            }
        }
        if clean { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\n" where inAttribute: out += "&#10;"
            case "\t" where inAttribute: out += "&#9;"
            default: out.unicodeScalars.append(isXMLChar(c) ? c : "\u{FFFD}")
            }
        }
        return out
    }

    // MARK: - Headers

    /// A header value as it is, or an error when it holds a character that could end the header
    /// or that RFC 9110 does not allow in a field value: a carriage return, a line feed, NUL, any
    /// other control character but tab, or DEL. A value carrying a line break is never sent:
    /// it would let the value add headers of its own. `name` only makes the message clearer.
    public static func headerValue(_ value: String, name: String? = nil) throws(EncodingError) -> String {
        for c in value.unicodeScalars where (c.value < 0x20 && c != "\t") || c.value == 0x7F {
            throw .headerValueCharacter(name, c)
        }
        return value
    }

    /// A header name as it is, or an error unless it is an RFC 9110 token (letters, digits and
    /// ``!#$%&'*+-.^_`|~``), not empty.
    public static func headerName(_ name: String) throws(EncodingError) -> String {
        let ok = !name.isEmpty && name.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(b)
            }
        }
        guard ok else { throw .headerName(name) }
        return name
    }
}

// MARK: - Errors

/// Why a request could not be encoded. Nothing is sent when an encoder throws one.
public typealias EncodingError = IntegrationError

/// The catalogue of encoding messages, sorted by id. Each shows what triggers it.
extension EncodingError {
    /// `headers { "X Note" = "…" }`
    static func headerName(_ name: String) -> EncodingError {
        EncodingError("encode.headerName", "'\(name)' is not a valid header name")
    }
    /// `headers { "X-Note" = "a\r\nSet-Cookie: x" }`
    static func headerValueCharacter(_ name: String?, _ c: Unicode.Scalar) -> EncodingError {
        let what = name.map { "the value of header '\($0)'" } ?? "a header value"
        return EncodingError("encode.headerValue", "\(what) contains \(describe(c)), which a header cannot carry")
    }
    /// `body { b:Get { b:Account = x } }` nested more than `SOAP.maxDepth` levels
    static func soapNesting(_ limit: Int) -> EncodingError {
        EncodingError("encode.soapNesting", "the SOAP body is nested more than \(limit) levels deep")
    }
    /// `namespace b = ""`
    static func soapNamespaceEmpty(_ prefix: String) -> EncodingError {
        EncodingError("encode.soapNamespaceEmpty", "namespace prefix '\(prefix)' is bound to an empty URI")
    }
    /// `namespace b = "…"` twice with different URIs
    static func soapNamespaceTwice(_ prefix: String) -> EncodingError {
        EncodingError("encode.soapNamespaceTwice", "namespace prefix '\(prefix)' is declared twice")
    }
    /// `namespace 1b = "…"`, `namespace xmlns = "…"`
    static func soapPrefix(_ prefix: String) -> EncodingError {
        EncodingError("encode.soapPrefix", "'\(prefix)' cannot be used as a namespace prefix")
    }
    /// a request plan whose body is `form`, `json` or raw text with `soap 1.1`
    static let soapBody = EncodingError("encode.soapBody", "a SOAP request needs a body of XML elements")
    /// `body { b:Get Balance = x }`
    static func soapElementName(_ name: String) -> EncodingError {
        EncodingError("encode.soapElementName", "'\(name)' is not a valid XML element name")
    }
    /// `body { x:Account = a }` with no `namespace x = …`
    static func soapUndeclaredPrefix(_ prefix: String, _ element: String) -> EncodingError {
        EncodingError("encode.soapUndeclaredPrefix", "element '\(element)' uses namespace prefix '\(prefix)', which is not declared")
    }
    /// `soap 1.3 "…"`
    static func soapVersion(_ version: String) -> EncodingError {
        EncodingError("encode.soapVersion", "SOAP version '\(version)' is not supported; use '1.1' or '1.2'")
    }

    static func describe(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\r": return "a carriage return (CR)"
        case "\n": return "a line feed (LF)"
        case "\0": return "a NUL character"
        default:
            let hex = String(c.value, radix: 16, uppercase: true)
            return "the control character U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
    }
}
