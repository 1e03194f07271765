import FlowKit
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reading an integration point's outputs from its response: JSON paths, XML paths (below the
/// SOAP `Body` for SOAP), headers, the status and the body text, each converted to the output's
/// declared type.
///
/// Design note: XML is read with FoundationXML's `XMLParser` (libxml2's SAX parser on Linux) into
/// a small tree of our own, `XMLBody`, kept as flat arrays (no recursion to build, walk or free
/// it). Two facts about that parser shape the safety rules:
/// - on Linux it always runs with libxml2's `XML_PARSE_NOENT` (entities substituted) and
///   `XML_PARSE_RECOVER` (it carries on after errors). So a document with a DTD is refused
///   before the parser sees it: a prolog scan (`XMLBody.checkProlog`) rejects `<!DOCTYPE`.
///   No DTD means no entity can be declared, so no external entity (XXE) is fetched and no
///   entity expansion (billion laughs) can happen. As a second line, every DTD declaration
///   callback and every external entity request aborts the parse, the parser's external entity
///   policy stays `.never`, and any error the parser reports (even one it would recover from)
///   fails the read. SOAP forbids DTDs anyway (SOAP 1.1 §3, SOAP 1.2 part 1 §5).
/// - the parser is iterative, and libxml2 refuses nesting beyond 256 levels; the builder also
///   stops at `Limits.maxDepth`. The document's size is capped by `Limits.maxBytes` before parsing.
/// UTF-16 documents are transcoded to UTF-8 first so the prolog scan sees the text; other
/// encodings must be ASCII-compatible (UTF-8, ISO-8859-x, windows-125x) or the scan refuses them.
public struct ResponseReader: Sendable {
    public let response: HTTPResponse
    public let isSOAP: Bool
    public let namespaces: [(prefix: String, uri: String)]
    private var json: Result<Value, ResponseReadError>?
    private var xml: Result<(XMLBody, XMLBody.Element?), ResponseReadError>?

    /// A reader of `response` for an IP that is SOAP or not, with the IP's declared namespaces
    /// (used by `xml` paths). The body is parsed once, when an output first needs it.
    public init(response: HTTPResponse, isSOAP: Bool, namespaces: [(prefix: String, uri: String)]) {
        self.response = response
        self.isSOAP = isSOAP
        self.namespaces = namespaces
    }

    /// A reader for the response of `plan`'s request.
    public init(response: HTTPResponse, plan: RequestPlan) {
        self.init(response: response, isSOAP: plan.isSOAP, namespaces: plan.namespaces)
    }

    /// The value of `output`, converted to its declared type with `Value.coerced(to:)`:
    /// - `json "path"`: the value at `JSONPath` `path` in the JSON body;
    /// - `xml "p:A/p:B"`: the text of that element (below the SOAP `Body`, or from the document
    ///   element of a plain XML body); an element with `xsi:nil="true"` is null;
    /// - `header "Name"`: the first header of that name (any case);
    /// - `status`: the status code as a number; `text`: the body as UTF-8 text.
    ///
    /// A JSON `null` is `null` whatever the declared type (`"failure_code": null` is a normal
    /// answer); a path that leads nowhere, a missing header, a body that cannot be parsed or a
    /// value that does not fit the type is an error, for the call's `on error`.
    public mutating func value(of output: OutputInfo) throws(ResponseReadError) -> Value {
        let raw: Value
        let place: String
        switch output.source {
        case .json(let path, _)?:
            guard let steps = JSONPath.parse(path) else { throw .badJSONPath(path) }
            let document = try jsonDocument()
            guard let v = JSONPath.read(steps, in: document) else { throw .missingJSON(path) }
            raw = v
            place = "at '\(path)'"
        case .xml(let path, _)?:
            let (document, start) = try xmlDocument()
            guard let steps = XMLBody.parsePath(path, namespaces: namespaces) else { throw .badXMLPath(path) }
            guard let e = document.element(at: steps, below: start) else { throw .missingXML(path) }
            raw = document.isNil(e) ? .null : .text(document.text(of: e))
            place = "at '\(path)'"
        case .header(let name, _)?:
            guard let v = response.header(name) else { throw .missingHeader(name) }
            raw = .text(v)
            place = "in header '\(name)'"
        case .status?:
            raw = .number(Number(response.status))
            place = "as the status"
        case .text?:
            raw = .text(String(decoding: response.body, as: UTF8.self))
            place = "as the body"
        case nil:
            throw .noSource(output.name)
        }
        if raw == .null {
            guard output.type.acceptsNullOutput else { throw .nullOutput(output.name, output.type.description) }
            return .null
        }
        guard let v = raw.coerced(to: output.type) else {
            throw .wrongType(output.name, ResponseReader.shown(raw), place, output.type.description)
        }
        // An amount of money has at most two decimals: a third is refused, never rounded away
        // (`12.345` from a gateway is a defect of the gateway or of the flow's declaration).
        if output.type == .currency, case .number(let n) = v, n != n.rounded(places: 2) {
            throw .currencyDecimals(output.name, ResponseReader.shown(raw), place)
        }
        return v
    }

    /// The SOAP fault in the response (see `SOAP.fault(in:)`), from the same parse the outputs
    /// use, so a large SOAP body is parsed once; nil for a reader that is not SOAP, a body that is
    /// not an envelope, or an envelope without a fault.
    public mutating func soapFault() -> SOAP.Fault? {
        guard isSOAP, let (document, _) = try? xmlDocument() else { return nil }
        return SOAP.fault(in: document)
    }

    private mutating func jsonDocument() throws(ResponseReadError) -> Value {
        if json == nil {
            // The JSON reader is linear in the body and bounded in depth; the deadline is
            // checked on both sides of it.
            if let deadline = response.deadline, Date() >= deadline {
                json = .failure(.timeout)
            } else {
                do throws(JSONReadError) {
                    json = .success(try Value.fromJSON(response.body))
                } catch {
                    json = .failure(.notJSON(error.description))
                }
                if let deadline = response.deadline, Date() >= deadline { json = .failure(.timeout) }
            }
        }
        return try json!.get()
    }

    private mutating func xmlDocument() throws(ResponseReadError) -> (XMLBody, XMLBody.Element?) {
        if xml == nil {
            do throws(ResponseReadError) {
                let document = try XMLBody.parse(response.body, deadline: response.deadline)
                if isSOAP {
                    guard let body = SOAP.bodyPayload(document) else { throw .notSOAP }
                    xml = .success((document, body))
                } else {
                    xml = .success((document, nil))
                }
            } catch {
                xml = .failure(error)
            }
        }
        return try xml!.get()
    }

    /// A value as a message shows it: at most 40 characters.
    static func shown(_ v: Value) -> String {
        let text: String
        if case .text(let s) = v { text = "'" + s + "'" } else { text = v.jsonText() }
        return text.count > 40 ? String(text.prefix(39)) + "…" : text
    }
}

// MARK: - XML

/// A parsed XML document: elements with their namespace URI, local name, attributes and text.
/// Built by `parse` (see the design note of `ResponseReader` for the safety rules); read with
/// paths of qualified names matched by namespace URI and local name, not by prefix.
public struct XMLBody: Sendable {
    /// An element of this document.
    public struct Element: Sendable, Hashable {
        public let index: Int
    }

    /// How much `parse` accepts. Besides the size, every count whose cost grows faster than the
    /// document is bounded: libxml2 compares each attribute of an element with the ones before
    /// it (a thousand attributes on one element cost a million comparisons), and looks each
    /// prefix up through every namespace declaration in scope.
    public struct Limits: Sendable {
        /// The largest document, in bytes.
        public var maxBytes: Int
        /// The deepest nesting of elements.
        public var maxDepth: Int
        /// The most attributes on one element, namespace declarations included.
        public var maxAttributes: Int
        /// The most namespace declarations on one element.
        public var maxNamespaceDeclarations: Int
        /// The most namespace declarations in scope at once (on an element and its ancestors).
        public var maxNamespacesInScope: Int
        /// The most elements in the document.
        public var maxElements: Int
        /// The longest element or attribute name, prefix included, in bytes.
        public var maxNameBytes: Int

        public init(maxBytes: Int = 32 << 20, maxDepth: Int = 256, maxAttributes: Int = 256, maxNamespaceDeclarations: Int = 128,
                    maxNamespacesInScope: Int = 512, maxElements: Int = 2_000_000, maxNameBytes: Int = 1024) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxAttributes = maxAttributes
            self.maxNamespaceDeclarations = maxNamespaceDeclarations
            self.maxNamespacesInScope = maxNamespacesInScope
            self.maxElements = maxElements
            self.maxNameBytes = maxNameBytes
        }
    }

    struct QName: Hashable, Sendable {
        var uri: String
        var local: String
    }

    /// An element in document order. Its text is `texts[textStart..<textEnd]`: every piece of
    /// character data inside it, its descendants' included, in order.
    struct Node: Sendable {
        var name: Int32
        var parent: Int32
        var firstChild: Int32 = -1
        var lastChild: Int32 = -1
        var nextSibling: Int32 = -1
        var textStart: Int32
        var textEnd: Int32
        var attributeStart: Int32
        var attributeEnd: Int32
        /// The namespace declarations on this element: `declarations[declarationStart..<declarationEnd]`.
        var declarationStart: Int32 = 0
        var declarationEnd: Int32 = 0
    }

    struct Attribute: Sendable {
        var name: Int32
        var value: String
    }

    var names: [QName] = []
    var nodes: [Node] = []
    var texts: [String] = []
    var attributes: [Attribute] = []
    /// Namespace declarations (`xmlns:p="uri"`, `xmlns="uri"` with an empty prefix), by element.
    var declarations: [(prefix: String, uri: String)] = []

    /// The namespace of XML Schema instance attributes (`xsi:nil`).
    public static let schemaInstance = "http://www.w3.org/2001/XMLSchema-instance"

    public var documentElement: Element { Element(index: 0) }

    /// The element's local name (`Balance` for `b:Balance`).
    public func localName(of e: Element) -> String { names[Int(nodes[e.index].name)].local }

    /// The element's namespace URI; empty when it has none.
    public func namespace(of e: Element) -> String { names[Int(nodes[e.index].name)].uri }

    public func parent(of e: Element) -> Element? {
        let p = nodes[e.index].parent
        return p < 0 ? nil : Element(index: Int(p))
    }

    /// The child elements, in order.
    public func children(of e: Element) -> [Element] {
        var out: [Element] = []
        var c = nodes[e.index].firstChild
        while c >= 0 {
            out.append(Element(index: Int(c)))
            c = nodes[Int(c)].nextSibling
        }
        return out
    }

    /// All the character data inside the element (its descendants' too), as it is: entity and
    /// character references decoded, CDATA sections included, white space kept.
    public func text(of e: Element) -> String {
        let n = nodes[e.index]
        switch n.textEnd - n.textStart {
        case 0: return ""
        case 1: return texts[Int(n.textStart)]
        default: return texts[Int(n.textStart)..<Int(n.textEnd)].joined()
        }
    }

    /// The value of an attribute by namespace URI (empty for an unprefixed attribute) and local name.
    public func attribute(_ local: String, namespace: String = "", of e: Element) -> String? {
        let n = nodes[e.index]
        for a in attributes[Int(n.attributeStart)..<Int(n.attributeEnd)] {
            let q = names[Int(a.name)]
            if q.local == local && q.uri == namespace { return a.value }
        }
        return nil
    }

    /// A qualified name written in the element's content or an attribute value (a SOAP
    /// `faultcode` such as `soap:Client.CardDeclined`), resolved with the namespace declarations
    /// in scope at `e`: its namespace URI and local name. Without a prefix, the default namespace
    /// (empty when there is none). The URI is nil when the prefix is not declared or `qname` is
    /// not `prefix:local`.
    public func resolve(qualifiedName qname: String, at e: Element) -> (uri: String?, local: String) {
        let parts = qname.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let prefix = parts.count == 2 ? String(parts[0]) : ""
        let local = parts.count == 2 ? String(parts[1]) : qname
        guard parts.count == 1 || (!parts[0].isEmpty && !parts[1].isEmpty && !parts[1].contains(":")) else { return (nil, qname) }
        if prefix == "xml" { return ("http://www.w3.org/XML/1998/namespace", local) }
        var at: Int32 = Int32(e.index)
        while at >= 0 {
            let n = nodes[Int(at)]
            // The last declaration of a prefix on one element wins (libxml2 refuses two anyway).
            for d in declarations[Int(n.declarationStart)..<Int(n.declarationEnd)].reversed() where d.prefix == prefix {
                return (d.uri, local)
            }
            at = n.parent
        }
        return (prefix.isEmpty ? "" : nil, local)
    }

    /// Whether the element says it has no value: `xsi:nil="true"` (or `"1"`).
    public func isNil(_ e: Element) -> Bool {
        guard let v = attribute("nil", namespace: XMLBody.schemaInstance, of: e)?.trimmingBlanksForXML() else { return false }
        return v == "true" || v == "1"
    }

    // MARK: Paths

    /// One step of a path: a local name, and the namespace URI it must have (nil: any).
    public struct Step: Sendable, Equatable {
        public var uri: String?
        public var local: String
    }

    /// The steps of `p:A/p:B/C`, each prefix looked up in `namespaces`; nil when the path is
    /// empty, has an empty step or uses a prefix that is not declared. An unprefixed step matches
    /// its local name in any namespace.
    public static func parsePath(_ path: String, namespaces: [(prefix: String, uri: String)]) -> [Step]? {
        var steps: [Step] = []
        for piece in path.split(separator: "/", omittingEmptySubsequences: false) {
            let parts = piece.split(separator: ":", omittingEmptySubsequences: false)
            switch parts.count {
            case 1:
                guard !parts[0].isEmpty else { return nil }
                steps.append(Step(uri: nil, local: String(parts[0])))
            case 2:
                guard !parts[0].isEmpty, !parts[1].isEmpty,
                      let ns = namespaces.first(where: { $0.prefix == parts[0] }) else { return nil }
                steps.append(Step(uri: ns.uri, local: String(parts[1])))
            default:
                return nil
            }
        }
        return steps
    }

    /// The first element, in document order, at the end of `steps`. With `below`, the first step
    /// names a child of that element (for SOAP, of the `Body`); without, the first step names the
    /// document element itself (`xml "Order/Id"` for `<Order><Id>7</Id></Order>`).
    public func element(at steps: [Step], below start: Element? = nil) -> Element? {
        guard let first = steps.first, !nodes.isEmpty else { return nil }
        func matches(_ e: Int, _ step: Step) -> Bool {
            let q = names[Int(nodes[e].name)]
            return q.local == step.local && (step.uri == nil || q.uri == step.uri)
        }
        // The set of elements reached so far, in document order (children of elements that are
        // in document order and at one depth stay in document order).
        var current: [Int]
        if let start {
            current = children(of: start).map(\.index).filter { matches($0, first) }
        } else {
            current = matches(0, first) ? [0] : []
        }
        for step in steps.dropFirst() {
            var next: [Int] = []
            for e in current {
                var c = nodes[e].firstChild
                while c >= 0 {
                    if matches(Int(c), step) { next.append(Int(c)) }
                    c = nodes[Int(c)].nextSibling
                }
            }
            current = next
            if current.isEmpty { return nil }
        }
        return current.first.map { Element(index: $0) }
    }

    /// The text of the element at `path` (see `parsePath`, `element(at:below:)`); nil when the
    /// path is not valid or leads nowhere.
    public func read(path: String, namespaces: [(prefix: String, uri: String)], below start: Element? = nil) -> String? {
        guard let steps = XMLBody.parsePath(path, namespaces: namespaces),
              let e = element(at: steps, below: start) else { return nil }
        return text(of: e)
    }

    // MARK: Parsing

    /// Parses an XML document. Refused: more than `limits.maxBytes`; a DTD (`<!DOCTYPE`); any
    /// well-formedness or namespace error; nesting deeper than `limits.maxDepth`; a document that
    /// is not UTF-8, UTF-16 or an ASCII-compatible encoding it declares.
    ///
    /// Also refused before libxml2 sees the document: more attributes or namespace declarations
    /// on one element, or namespaces in scope, than `limits` allow. While parsing: more elements
    /// or a longer name than they allow, and, with a `deadline`, a parse still running then
    /// (`response.timeout`).
    public static func parse(_ data: Data, limits: Limits = Limits(), deadline: Date? = nil) throws(ResponseReadError) -> XMLBody {
        guard data.count <= limits.maxBytes else { throw .xmlTooLarge(limits.maxBytes) }
        let input = try utf8Input(data)
        try checkProlog(input)
        try checkInstructions(input)
        try checkShape(input, limits: limits)
        if let deadline, Date() >= deadline { throw .timeout }
        let builder = XMLTreeBuilder(limits: limits, deadline: deadline)
        // Fed as a stream, in chunks: given all the data at once, libxml2's push parser refuses
        // a document over 10,000,000 bytes ("huge input lookup") unless XML_PARSE_HUGE is on,
        // which XMLParser cannot set.
        let parser = XMLParser(stream: InputStream(data: input))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = true
        parser.shouldResolveExternalEntities = false
        parser.externalEntityResolvingPolicy = .never
        parser.delegate = builder
        let ok = parser.parse()
        parser.delegate = nil
        if let failure = builder.failure { throw failure }
        if !ok {
            throw .xmlSyntax(parser.parserError.map(XMLTreeBuilder.describe) ?? "it could not be read", parser.lineNumber)
        }
        guard !builder.body.nodes.isEmpty, builder.open.isEmpty else { throw .xmlIncomplete }
        return builder.body
    }

    /// UTF-16 (by byte-order mark or by `<?` spelled in UTF-16) as UTF-8 without its XML
    /// declaration, which would name the old encoding; anything else as it is.
    static func utf8Input(_ data: Data) throws(ResponseReadError) -> Data {
        let b = [UInt8](data.prefix(4))
        guard b.count >= 2 else { return data }
        let encoding: String.Encoding?
        switch (b[0], b[1]) {
        case (0xFE, 0xFF): encoding = .utf16BigEndian
        case (0xFF, 0xFE): encoding = .utf16LittleEndian
        case (0x00, 0x3C) where b.count == 4 && b[2] == 0x00: encoding = .utf16BigEndian
        case (0x3C, 0x00) where b.count == 4 && b[3] == 0x00: encoding = .utf16LittleEndian
        default: encoding = nil
        }
        let input: Data
        if let encoding {
            var bytes = data
            if b[0] == 0xFE || b[0] == 0xFF { bytes = data.dropFirst(2) }
            guard var text = String(data: bytes, encoding: encoding) else { throw .xmlEncoding }
            if text.hasPrefix("<?xml"), let end = text.range(of: "?>") {
                text = String(text[end.upperBound...])
            }
            input = Data(text.utf8)
        } else {
            input = try declaredInput(data)
        }
        try refuseLeadingDeclaration(input)
        try refuseNul(input)
        return input
    }

    /// Refuses a document holding a NUL byte, which no XML document may hold (U+0000 is not a
    /// character of XML 1.0 or 1.1). libxml2 guesses the encoding from the first four bytes, and
    /// a document that begins `<`, NUL, `?`, NUL (here: bytes read as UTF-16 whose characters
    /// are `<`, U+0000, `?`, U+0000) made it switch to UTF-16 in the middle of the push parse,
    /// where libxml2 2.9.14 dereferences null in `xmlParseChunk` (found by fuzzing: the
    /// `soapfault` target).
    static func refuseNul(_ input: Data) throws(ResponseReadError) {
        let line: Int? = input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int? in
            guard let base = raw.baseAddress, raw.count > 0, let found = memchr(base, 0, raw.count) else { return nil }
            let offset = base.distance(to: UnsafeRawPointer(found))
            return 1 + raw[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        if let line { throw .xmlSyntax("it holds a NUL character, which XML does not allow", line) }
    }

    /// Refuses a document that, its declaration taken off, starts with another (after a byte
    /// order mark or not): libxml2 would take that one for the declaration and switch to the
    /// encoding it names, with the crash `declaredInput` keeps it from (found by fuzzing:
    /// `<?xml version=… encoding="utf-8"?><?xml version="1.0" encoding="UTF-7"?>`). A
    /// declaration anywhere but first is not well-formed XML.
    static func refuseLeadingDeclaration(_ input: Data) throws(ResponseReadError) {
        var u = [UInt8](input.prefix(9))
        if u.starts(with: [0xEF, 0xBB, 0xBF]) { u.removeFirst(3) }
        guard u.count >= 6, u[0..<5].elementsEqual("<?xml".utf8), [0x20, 0x09, 0x0A, 0x0D].contains(u[5]) else { return }
        throw .xmlSyntax("a second XML declaration, or one never closed", 1)
    }

    /// A document that is not UTF-16, as UTF-8 without its XML declaration: the encoding the
    /// declaration names is read here, so libxml2 never switches encodings itself. (libxml2
    /// 2.9.14, Debian 12's, dereferences null in `xmlSwitchToEncoding` on some declared
    /// encodings once the push parser has data: `UTF-32`, `EBCDIC-US`, misspelt names such as
    /// `UT-F8`; found by fuzzing.) UTF-8 and ASCII go as they are; ISO-8859-1 and -2,
    /// windows-1250 to -1254, Shift_JIS and EUC-JP are converted; any other is refused.
    static func declaredInput(_ data: Data) throws(ResponseReadError) -> Data {
        let u = [UInt8](data)
        var i = u.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard u.count >= i + 6, u[i..<(i + 5)].elementsEqual("<?xml".utf8),
              [0x20, 0x09, 0x0A, 0x0D].contains(u[i + 5]) else { return data }
        // The declaration ends at the first `?>` (no `?>` can occur inside it).
        i += 5
        var end = i
        while end + 1 < u.count, !(u[end] == UInt8(ascii: "?") && u[end + 1] == UInt8(ascii: ">")) { end += 1 }
        // A declaration never closed is refused here: libxml2 would switch to the encoding it
        // names before finding that out (found by fuzzing: `encoding="UT-F8"?.…`).
        guard end + 1 < u.count else { throw .xmlEncoding }
        let declaration = String(decoding: u[i..<end], as: UTF8.self)
        let rest = data.dropFirst(end + 2)
        var name = ""
        if let range = declaration.range(of: "encoding") {
            let after = declaration[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard after.first == "=" else { throw .xmlEncoding }
            let value = after.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard let quote = value.first, quote == "\"" || quote == "'",
                  let close = value.dropFirst().firstIndex(of: quote) else { throw .xmlEncoding }
            name = value[value.index(after: value.startIndex)..<close].lowercased()
        }
        let encoding: String.Encoding
        switch name {
        case "", "utf-8", "utf8", "us-ascii", "ascii": return Data(rest)
        case "iso-8859-1", "latin1", "iso_8859-1": encoding = .isoLatin1
        case "iso-8859-2", "latin2", "iso_8859-2": encoding = .isoLatin2
        case "windows-1250", "cp1250": encoding = .windowsCP1250
        case "windows-1251", "cp1251": encoding = .windowsCP1251
        case "windows-1252", "cp1252": encoding = .windowsCP1252
        case "windows-1253", "cp1253": encoding = .windowsCP1253
        case "windows-1254", "cp1254": encoding = .windowsCP1254
        case "shift_jis", "shift-jis", "sjis": encoding = .shiftJIS
        case "euc-jp": encoding = .japaneseEUC
        default: throw .xmlEncoding
        }
        guard let text = String(data: rest, encoding: encoding) else { throw .xmlEncoding }
        return Data(text.utf8)
    }

    /// Refuses a document with a processing instruction that has no data (`<?pi?>`, anywhere,
    /// even inside a comment or CDATA): FoundationXML (swift-corelibs-foundation, Swift 6.3.1)
    /// passes its null data pointer to `strlen` and the process dies (found by fuzzing). SOAP
    /// messages may not hold processing instructions at all.
    static func checkInstructions(_ data: Data) throws(ResponseReadError) {
        let found = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            let u = raw.bindMemory(to: UInt8.self)
            var i = 0
            while i + 1 < u.count {
                if u[i] == UInt8(ascii: "<") && u[i + 1] == UInt8(ascii: "?") {
                    var j = i + 2
                    while j < u.count, u[j] != UInt8(ascii: "?"), u[j] != 0x20, u[j] != 0x09, u[j] != 0x0A, u[j] != 0x0D { j += 1 }
                    if j + 1 < u.count, u[j] == UInt8(ascii: "?"), u[j + 1] == UInt8(ascii: ">") { return true }
                    i = j
                } else {
                    i += 1
                }
            }
            return false
        }
        if found { throw .xmlSyntax("a processing instruction has no data", 1) }
    }

    /// Refuses a document with an element of more attributes or namespace declarations than
    /// `limits` allow, more namespace declarations in scope at once, or deeper nesting: the
    /// shapes whose cost in libxml2 grows faster than their size. One pass over the bytes, with
    /// XML's own rules for comments, CDATA sections, processing instructions and quoted
    /// attribute values, so nothing is counted twice or missed in a document libxml2 accepts.
    static func checkShape(_ data: Data, limits: Limits) throws(ResponseReadError) {
        if let error = data.withUnsafeBytes({ shapeError($0, limits) }) { throw error }
    }

    private static func shapeError(_ raw: UnsafeRawBufferPointer, _ limits: Limits) -> ResponseReadError? {
        let u = raw.bindMemory(to: UInt8.self)
        let n = u.count
        /// The index just past the first `end` at or after `k` (or `n`).
        func skip(past end: StaticString, from k: Int) -> Int {
            let e = end.utf8Start
            let m = end.utf8CodeUnitCount
            var j = k
            while j + m <= n {
                if u[j] == e[0] {
                    var all = true
                    for t in 1..<m where u[j + t] != e[t] { all = false; break }
                    if all { return j + m }
                }
                j += 1
            }
            return n
        }
        func starts(_ s: StaticString, at k: Int) -> Bool {
            let m = s.utf8CodeUnitCount
            guard k + m <= n else { return false }
            for t in 0..<m where u[k + t] != s.utf8Start[t] { return false }
            return true
        }
        // The declarations each open element added to the scope.
        var scope: [Int] = []
        var inScope = 0
        var i = 0
        while i < n {
            guard u[i] == UInt8(ascii: "<") else { i += 1; continue }
            if starts("<!--", at: i) { i = skip(past: "-->", from: i + 4); continue }
            if starts("<![CDATA[", at: i) { i = skip(past: "]]>", from: i + 9); continue }
            if starts("<?", at: i) { i = skip(past: "?>", from: i + 2); continue }
            if starts("<!", at: i) { i = skip(past: ">", from: i + 2); continue }
            if starts("</", at: i) {
                i = skip(past: ">", from: i + 2)
                if let last = scope.popLast() { inScope -= last }
                continue
            }
            // A start tag: count `=` outside quoted values, and `xmlns` names before them.
            var j = i + 1
            var attributes = 0
            var declarations = 0
            var quote: UInt8 = 0
            var nameStart = -1
            var selfClosing = false
            while j < n {
                let c = u[j]
                if quote != 0 {
                    if c == quote { quote = 0 }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                } else if c == UInt8(ascii: ">") {
                    selfClosing = j > i + 1 && u[j - 1] == UInt8(ascii: "/")
                    break
                } else if c == UInt8(ascii: "=") {
                    attributes += 1
                    if nameStart >= 0, starts("xmlns", at: nameStart),
                       nameStart + 5 == j || u[nameStart + 5] == UInt8(ascii: ":") || u[nameStart + 5] == 0x20 || u[nameStart + 5] == 0x09
                        || u[nameStart + 5] == 0x0A || u[nameStart + 5] == 0x0D {
                        declarations += 1
                    }
                    nameStart = -1
                } else if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                    // Blanks end nothing: `a = "1"` is one attribute named `a`.
                } else if u[j - 1] == 0x20 || u[j - 1] == 0x09 || u[j - 1] == 0x0A || u[j - 1] == 0x0D {
                    // A name starts after blanks (the element's own name, after `<`, is not one).
                    nameStart = j
                }
                j += 1
            }
            if attributes > limits.maxAttributes { return .xmlTooManyAttributes(limits.maxAttributes) }
            if declarations > limits.maxNamespaceDeclarations { return .xmlTooManyNamespaces(limits.maxNamespaceDeclarations) }
            i = j + 1
            if !selfClosing {
                guard scope.count < limits.maxDepth else { return .xmlTooDeep(limits.maxDepth) }
                scope.append(declarations)
            }
            inScope += declarations
            if inScope > limits.maxNamespacesInScope { return .xmlTooManyNamespaces(limits.maxNamespacesInScope) }
            if selfClosing { inScope -= declarations }
        }
        return nil
    }

    /// Refuses a document whose prolog (what comes before the document element) holds a
    /// `<!DOCTYPE` or anything but an XML declaration, processing instructions, comments and
    /// white space, or that has no element at all.
    static func checkProlog(_ data: Data) throws(ResponseReadError) {
        if let error = data.withUnsafeBytes({ prologError($0) }) { throw error }
    }

    private static func prologError(_ raw: UnsafeRawBufferPointer) -> ResponseReadError? {
        do throws(ResponseReadError) {
            let u = raw.bindMemory(to: UInt8.self)
            var i = 0
            if u.count >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF { i = 3 }
            func starts(_ s: StaticString, at k: Int) -> Bool {
                let n = s.utf8CodeUnitCount
                guard k + n <= u.count else { return false }
                for j in 0..<n where u[k + j] != s.utf8Start[j] { return false }
                return true
            }
            /// The index just past the first `end` at or after `k`.
            func skip(past end: StaticString, from k: Int) -> Int? {
                var j = k
                while j < u.count {
                    if u[j] == end.utf8Start[0] && starts(end, at: j) { return j + end.utf8CodeUnitCount }
                    j += 1
                }
                return nil
            }
            while true {
                while i < u.count, u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0A || u[i] == 0x0D { i += 1 }
                guard i < u.count else { throw .notXML }
                guard u[i] == UInt8(ascii: "<") else { throw .notXML }
                if starts("<?", at: i) {
                    guard let next = skip(past: "?>", from: i + 2) else { throw .notXML }
                    i = next
                } else if starts("<!--", at: i) {
                    guard let next = skip(past: "-->", from: i + 4) else { throw .notXML }
                    i = next
                } else if starts("<!", at: i) {
                    throw .xmlDTD
                } else {
                    return nil
                }
            }
        } catch {
            return error
        }
    }
}

/// Builds an `XMLBody` from the parser's events. Any event that means a DTD, an external entity
/// or an error stops the parse.
private final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    var body = XMLBody()
    var open: [Int32] = []
    var failure: ResponseReadError?
    private var nameIndex: [XMLBody.QName: Int32] = [:]
    /// The URIs each prefix is bound to, innermost last.
    private var prefixes: [String: [String]] = ["xml": ["http://www.w3.org/XML/1998/namespace"]]
    /// Declarations reported for the element about to start.
    private var pending: [(prefix: String, uri: String)] = []
    private let limits: XMLBody.Limits
    private var maxDepth: Int { limits.maxDepth }
    private let deadline: Date?
    private var events = 0
    /// Whether the last event was character data of the open element (the next piece joins it).
    private var lastWasText = false

    init(limits: XMLBody.Limits, deadline: Date?) {
        self.limits = limits
        self.deadline = deadline
    }

    /// Counts an event; every 512th, stops the parse when the deadline has passed.
    private func tick(_ parser: XMLParser) -> Bool {
        events += 1
        if events & 511 == 0, let deadline, Date() >= deadline {
            fail(parser, .timeout)
            return false
        }
        return true
    }

    private func fail(_ parser: XMLParser, _ error: ResponseReadError) {
        if failure == nil { failure = error }
        parser.abortParsing()
    }

    private func intern(_ q: XMLBody.QName) -> Int32 {
        if let k = nameIndex[q] { return k }
        let k = Int32(body.names.count)
        body.names.append(q)
        nameIndex[q] = k
        return k
    }

    func parser(_ parser: XMLParser, didStartMappingPrefix prefix: String, toURI namespaceURI: String) {
        prefixes[prefix, default: []].append(namespaceURI)
        pending.append((prefix, namespaceURI))
    }

    func parser(_ parser: XMLParser, didEndMappingPrefix prefix: String) {
        _ = prefixes[prefix]?.popLast()
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String]) {
        guard failure == nil, tick(parser) else { return }
        lastWasText = false
        guard open.count < maxDepth else { return fail(parser, .xmlTooDeep(maxDepth)) }
        guard body.nodes.count < limits.maxElements else { return fail(parser, .xmlTooManyElements(limits.maxElements)) }
        guard attributeDict.count <= limits.maxAttributes else { return fail(parser, .xmlTooManyAttributes(limits.maxAttributes)) }
        guard (qName ?? elementName).utf8.count <= limits.maxNameBytes,
              attributeDict.keys.allSatisfy({ $0.utf8.count <= limits.maxNameBytes }) else {
            return fail(parser, .xmlNameTooLong(limits.maxNameBytes))
        }
        guard !open.isEmpty || body.nodes.isEmpty else {
            return fail(parser, .xmlSyntax("there is more after the document element", parser.lineNumber))
        }
        let index = Int32(body.nodes.count)
        let parent = open.last ?? -1
        let textStart = Int32(body.texts.count)
        let attributeStart = Int32(body.attributes.count)
        for (name, value) in attributeDict {
            var uri = ""
            var local = Substring(name)
            if let colon = name.firstIndex(of: ":") {
                let prefix = String(name[..<colon])
                guard let bound = prefixes[prefix]?.last else {
                    return fail(parser, .xmlSyntax("it uses a namespace prefix that is not declared", parser.lineNumber))
                }
                uri = bound
                local = name[name.index(after: colon)...]
            }
            body.attributes.append(XMLBody.Attribute(name: intern(XMLBody.QName(uri: uri, local: String(local))), value: value))
        }
        let declarationStart = Int32(body.declarations.count)
        body.declarations += pending
        pending.removeAll(keepingCapacity: true)
        body.nodes.append(XMLBody.Node(
            name: intern(XMLBody.QName(uri: namespaceURI ?? "", local: elementName)), parent: parent,
            textStart: textStart, textEnd: textStart, attributeStart: attributeStart, attributeEnd: Int32(body.attributes.count),
            declarationStart: declarationStart, declarationEnd: Int32(body.declarations.count)))
        if parent >= 0 {
            let p = Int(parent)
            if body.nodes[p].lastChild >= 0 {
                body.nodes[Int(body.nodes[p].lastChild)].nextSibling = index
            } else {
                body.nodes[p].firstChild = index
            }
            body.nodes[p].lastChild = index
        }
        open.append(index)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard failure == nil, tick(parser), let index = open.popLast() else { return }
        lastWasText = false
        body.nodes[Int(index)].textEnd = Int32(body.texts.count)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard failure == nil, tick(parser), !open.isEmpty else { return }
        addText(string)
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard failure == nil, tick(parser), !open.isEmpty else { return }
        addText(String(decoding: CDATABlock, as: UTF8.self))
    }

    /// Character data joins the piece before it when nothing came between (libxml2 reports
    /// text in pieces, one per entity reference), so the texts stay as few as the elements.
    private func addText(_ string: String) {
        if lastWasText, !body.texts.isEmpty {
            body.texts[body.texts.count - 1] += string
        } else {
            body.texts.append(string)
        }
        lastWasText = true
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        fail(parser, .xmlSyntax(XMLTreeBuilder.describe(parseError), parser.lineNumber))
    }

    func parser(_ parser: XMLParser, validationErrorOccurred validationError: any Error) {
        fail(parser, .xmlSyntax(XMLTreeBuilder.describe(validationError), parser.lineNumber))
    }

    /// What a parser error means. On Linux the error's code is libxml2's `xmlParserErrors`
    /// number (FoundationXML's `XMLParser.ErrorCode` names do not match them) and it carries no
    /// message, so the common ones are spelled out here.
    static func describe(_ error: any Error) -> String {
        let code = (error as NSError).code
        switch code {
        case 4: return "the document is empty"
        case 5: return "there is more after the document element"
        case 9: return "it has a character XML does not allow, or bytes not in its encoding"
        case 26: return "it uses an entity that is not declared"
        case 31, 32, 81: return "its encoding is unknown or its bytes do not match it"
        case 38: return "an attribute value contains '<'"
        case 39, 41: return "an attribute value is not in quotes"
        case 42: return "an element has the same attribute twice"
        case 68: return "a name is expected"
        case 73: return "'>' is expected"
        case 76: return "an end tag does not match its start tag"
        case 77: return "an element is not closed"
        case 89: return "its entities refer to each other in a loop"
        case 201: return "it uses a namespace prefix that is not declared"
        default: return "libxml2 error \(code)"
        }
    }

    // A DTD was refused before parsing; these are the second line.
    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, foundUnparsedEntityDeclarationWithName name: String, publicID: String?,
                systemID: String?, notationName: String?) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, foundNotationDeclarationWithName name: String, publicID: String?, systemID: String?) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, foundAttributeDeclarationWithName attributeName: String, forElement elementName: String,
                type: String?, defaultValue: String?) {
        fail(parser, .xmlDTD)
    }

    func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
        fail(parser, .xmlEntity(name))
        return nil
    }
}

// MARK: - Errors

/// Why an output could not be read from a response; the host reports it as the call's error.
public typealias ResponseReadError = IntegrationError

/// The catalogue of response messages, sorted by id. Each shows what triggers it.
extension ResponseReadError {
    /// `output paid: bool = json "paid"` answered with `"paid": null`
    static func nullOutput(_ name: String, _ type: String) -> ResponseReadError {
        ResponseReadError("response.nullOutput", "output '\(name)' should be \(type), but the response has null")
    }
    /// `output amount: currency = json "amount"` on `{"amount": 12.345}`
    static func currencyDecimals(_ name: String, _ shown: String, _ place: String) -> ResponseReadError {
        ResponseReadError("response.currencyDecimals", "output '\(name)': the response has \(shown) \(place), which has more than two decimals for currency")
    }
    /// `output id: text = json "data[x]"`
    static func badJSONPath(_ path: String) -> ResponseReadError {
        ResponseReadError("response.badJSONPath", "'\(path)' is not a JSON path")
    }
    /// `output b: text = xml "q:Balance"` with no `namespace q = …`
    static func badXMLPath(_ path: String) -> ResponseReadError {
        ResponseReadError("response.badXMLPath", "'\(path)' is not an XML path of declared prefixes")
    }
    /// `json "receipt.url"` on `{"id": "ch_1"}`
    static func missingJSON(_ path: String) -> ResponseReadError {
        ResponseReadError("response.missingJSON", "the response has no value at '\(path)'")
    }
    /// `header "Request-Id"` on a response without it
    static func missingHeader(_ name: String) -> ResponseReadError {
        ResponseReadError("response.missingHeader", "the response has no header '\(name)'")
    }
    /// `xml "b:GetBalanceResponse/b:Balance"` on a body without that element
    static func missingXML(_ path: String) -> ResponseReadError {
        ResponseReadError("response.missingXML", "the response has no element at '\(path)'")
    }
    /// an IP output without `= json "…"` or another source
    static func noSource(_ name: String) -> ResponseReadError {
        ResponseReadError("response.noSource", "output '\(name)' does not say where in the response it is")
    }
    /// `json "id"` on an HTML error page
    static func notJSON(_ detail: String) -> ResponseReadError {
        ResponseReadError("response.notJSON", "the response body is not JSON: \(detail)")
    }
    /// `soap 1.1` and a body that is XML but not a SOAP envelope
    static let notSOAP = ResponseReadError("response.notSOAP", "the response body is not a SOAP envelope with a 'Body'")
    /// `xml "a/b"` on a body that does not start with '<'
    static let notXML = ResponseReadError("response.notXML", "the response body is not an XML document")
    /// `output paid: bool = json "paid"` on `{"paid": "maybe"}`
    static func wrongType(_ name: String, _ shown: String, _ place: String, _ type: String) -> ResponseReadError {
        ResponseReadError("response.wrongType", "output '\(name)': the response has \(shown) \(place), which is not \(type)")
    }
    /// `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>`
    static let xmlDTD = ResponseReadError("response.xmlDTD", "the XML response has a document type declaration (DTD), which is refused")
    /// bytes that are neither UTF-8 nor UTF-16 text
    static let xmlEncoding = ResponseReadError("response.xmlEncoding", "the XML response is not in an encoding that can be read")
    /// `&ext;` naming an entity the document does not (and cannot) declare
    static func xmlEntity(_ name: String) -> ResponseReadError {
        ResponseReadError("response.xmlEntity", "the XML response uses the undeclared entity '&\(name);'")
    }
    /// `<a><b>` and nothing more
    static let xmlIncomplete = ResponseReadError("response.xmlIncomplete", "the XML response ends before its document element is closed")
    /// reading the outputs of a response still going when the IP's timeout runs out
    static let timeout = ResponseReadError("response.timeout", "reading the response took longer than the IP's timeout")
    /// `<a a1="" a2="" … a300=""/>`
    static func xmlTooManyAttributes(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlTooManyAttributes", "the XML response has an element with more than \(limit) attributes")
    }
    /// `<a xmlns:p1="u1" … xmlns:p200="u200"/>`
    static func xmlTooManyNamespaces(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlTooManyNamespaces", "the XML response declares more than \(limit) namespaces at once")
    }
    /// three million `<a/>`
    static func xmlTooManyElements(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlTooManyElements", "the XML response has more than \(limit) elements")
    }
    /// `<aaaa…a/>` with a name of 2,000 characters
    static func xmlNameTooLong(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlNameTooLong", "the XML response has a name longer than \(limit) bytes")
    }
    /// 257 nested elements
    static func xmlTooDeep(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlTooDeep", "the XML response is nested more than \(limit) levels deep")
    }
    /// a 40 MB XML response
    static func xmlTooLarge(_ limit: Int) -> ResponseReadError {
        ResponseReadError("response.xmlTooLarge", "the XML response is larger than \(limit) bytes")
    }
    /// `<a><b></a>`
    static func xmlSyntax(_ detail: String, _ line: Int) -> ResponseReadError {
        ResponseReadError("response.xmlSyntax", "the XML response is not well-formed at line \(line): \(detail)")
    }
}
