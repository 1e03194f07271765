import FlowKit
import Foundation

/// SOAP 1.1 and 1.2 requests and faults.
///
/// Design note: the envelope is written compactly (no added white space, which would become
/// text in mixed content), declaring every namespace of the IP on the `Envelope` together with
/// the envelope's own prefix `soap`. Element names are written as declared (`b:GetBalance`); each
/// name must be an XML name and each prefix declared, else nothing is sent. Element text is
/// escaped by `Encoding.xmlText`. Responses are read with `XMLBody`, by namespace URI and local
/// name, so a service may answer with prefixes of its own.
///
/// | version | content type | action |
/// |---|---|---|
/// | 1.1 | `text/xml; charset=utf-8` | header `SOAPAction: "<action>"` (`""` without one) |
/// | 1.2 | `application/soap+xml; charset=utf-8; action="<action>"` | in the content type only |
public enum SOAP {
    /// The SOAP 1.1 envelope namespace.
    public static let namespace11 = "http://schemas.xmlsoap.org/soap/envelope/"
    /// The SOAP 1.2 envelope namespace.
    public static let namespace12 = "http://www.w3.org/2003/05/soap-envelope"
    /// The deepest nesting of body elements written.
    public static let maxDepth = 256

    /// The request body, its content type and the headers SOAP adds (`SOAPAction` for 1.1).
    public typealias Envelope = (body: Data, contentType: String, extraHeaders: [(name: String, value: String)])

    /// The envelope of `plan`'s request: its SOAP version, action, namespaces and body elements
    /// (no body: an empty `Body`). A body that is not made of elements is an error.
    public static func envelope(for plan: RequestPlan) throws(EncodingError) -> Envelope {
        let elements: [RequestPlan.Element]
        switch plan.body {
        case .soap(let e)?: elements = e
        case nil: elements = []
        default: throw .soapBody
        }
        return try envelope(version: plan.soapVersion ?? "1.1", action: plan.action,
                            namespaces: plan.namespaces, body: elements)
    }

    /// A SOAP envelope holding `body` in its `Body`, `version` `"1.1"` or `"1.2"`:
    ///
    /// ```
    /// <?xml version="1.0" encoding="utf-8"?>
    /// <soap:Envelope xmlns:soap="…" xmlns:b="…"><soap:Body><b:Get><b:Id>7</b:Id></b:Get></soap:Body></soap:Envelope>
    /// ```
    ///
    /// The envelope prefix is `soap`, or `soap1`, `soap2`, … when the IP declares `soap` for a
    /// namespace of its own. An element with no text and no children is written `<p:E/>`.
    public static func envelope(
        version: String, action: String?, namespaces: [(prefix: String, uri: String)], body: [RequestPlan.Element]
    ) throws(EncodingError) -> Envelope {
        let envURI: String
        switch version {
        case "1.1": envURI = namespace11
        case "1.2": envURI = namespace12
        default: throw .soapVersion(version)
        }
        // The declared namespaces: valid prefixes, each once.
        var declared: [String: String] = [:]
        var order: [(prefix: String, uri: String)] = []
        for ns in namespaces {
            guard isNCName(ns.prefix), ns.prefix != "xml", ns.prefix != "xmlns" else { throw .soapPrefix(ns.prefix) }
            guard !ns.uri.isEmpty else { throw .soapNamespaceEmpty(ns.prefix) }
            if let uri = declared[ns.prefix] {
                guard uri == ns.uri else { throw .soapNamespaceTwice(ns.prefix) }
                continue
            }
            declared[ns.prefix] = ns.uri
            order.append(ns)
        }
        var envPrefix = "soap"
        var suffix = 0
        while let uri = declared[envPrefix], uri != envURI {
            suffix += 1
            envPrefix = "soap\(suffix)"
        }

        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<\(envPrefix):Envelope"
        if declared[envPrefix] == nil {
            xml += " xmlns:\(envPrefix)=\"\(Encoding.xmlAttribute(envURI))\""
        }
        for ns in order {
            xml += " xmlns:\(ns.prefix)=\"\(Encoding.xmlAttribute(ns.uri))\""
        }
        xml += "><\(envPrefix):Body>"

        // Depth first without recursion: a stack of the element lists being written.
        func checkName(_ name: String) throws(EncodingError) {
            let parts = name.split(separator: ":", omittingEmptySubsequences: false)
            guard (parts.count == 1 || parts.count == 2), parts.allSatisfy({ isNCName($0) }) else {
                throw .soapElementName(name)
            }
            if parts.count == 2 {
                let prefix = String(parts[0])
                guard prefix == envPrefix || declared[prefix] != nil else { throw .soapUndeclaredPrefix(prefix, name) }
            }
        }
        var stack: [(elements: [RequestPlan.Element], next: Int)] = [(body, 0)]
        while !stack.isEmpty {
            let top = stack.count - 1
            let k = stack[top].next
            guard k < stack[top].elements.count else {
                stack.removeLast()
                if let parent = stack.last {
                    xml += "</\(parent.elements[parent.next - 1].name)>"
                }
                continue
            }
            stack[top].next += 1
            let e = stack[top].elements[k]
            try checkName(e.name)
            if !e.children.isEmpty {
                guard stack.count < maxDepth else { throw .soapNesting(maxDepth) }
                xml += "<\(e.name)>"
                stack.append((e.children, 0))
            } else if let text = e.text {
                xml += "<\(e.name)>\(Encoding.xmlText(text))</\(e.name)>"
            } else {
                xml += "<\(e.name)/>"
            }
        }
        xml += "</\(envPrefix):Body></\(envPrefix):Envelope>"

        let body = Data(xml.utf8)
        switch version {
        case "1.1":
            let value = try Encoding.headerValue(quoted(action ?? ""), name: "SOAPAction")
            return (body, "text/xml; charset=utf-8", [("SOAPAction", value)])
        default:
            var type = "application/soap+xml; charset=utf-8"
            if let action { type += "; action=" + quoted(action) }
            return (body, try Encoding.headerValue(type, name: "Content-Type"), [])
        }
    }

    /// An HTTP quoted-string: `"` and `\` escaped with `\`.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            if c == "\"" || c == "\\" { out += "\\" }
            out.unicodeScalars.append(c)
        }
        return out + "\""
    }

    /// An XML name without a colon (Namespaces in XML 1.0 `NCName`).
    static func isNCName(_ name: some StringProtocol) -> Bool {
        var first = true
        for c in name.unicodeScalars {
            if first {
                guard isNameStart(c) else { return false }
                first = false
            } else {
                guard isNameStart(c) || isNameChar(c) else { return false }
            }
        }
        return !first
    }

    private static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0x5F,  // A-Z a-z _
             0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D, 0x37F...0x1FFF, 0x200C...0x200D,
             0x2070...0x218F, 0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFFD,
             0x10000...0xEFFFF:
            return true
        default:
            return false
        }
    }

    private static func isNameChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x2D, 0x2E, 0x30...0x39, 0xB7, 0x300...0x36F, 0x203F...0x2040: return true  // - . 0-9
        default: return false
        }
    }

    // MARK: - Responses

    /// The `Body` element of a SOAP 1.1 or 1.2 envelope; nil when the document is not one.
    /// Output paths start at its children.
    public static func bodyPayload(_ document: XMLBody) -> XMLBody.Element? {
        let root = document.documentElement
        guard document.localName(of: root) == "Envelope" else { return nil }
        let ns = document.namespace(of: root)
        guard ns == namespace11 || ns == namespace12 else { return nil }
        return document.children(of: root).first { document.localName(of: $0) == "Body" && document.namespace(of: $0) == ns }
    }

    /// A SOAP fault as a flow's `error` shows it.
    public struct Fault: Sendable, Equatable {
        /// The fault code's local name, its prefix resolved (`Client.CardDeclined` for
        /// `soap:Client.CardDeclined`); for SOAP 1.2 the most specific code: the innermost
        /// `Subcode/Value`, or `Code/Value` when there is no subcode. Empty when the fault has none.
        public var code: String
        /// The namespace URI the code's prefix is bound to (the envelope's namespace for
        /// `soap:Server`); empty for an unprefixed code outside any default namespace; nil when
        /// the prefix is not declared.
        public var codeNamespace: String?
        /// `faultstring` (1.1) or the first `Reason/Text` (1.2), trimmed.
        public var message: String
        /// The fault's `detail` (1.1) or `Detail` (1.2) as a value (see `SOAP.value(of:in:)`);
        /// nil when it has none.
        public var detail: Value?

        public init(code: String, codeNamespace: String?, message: String, detail: Value? = nil) {
            self.code = code
            self.codeNamespace = codeNamespace
            self.message = message
            self.detail = detail
        }
    }

    /// The fault in a SOAP response, if it is one; nil when the body is not a SOAP envelope or
    /// its `Body` holds no `Fault`.
    public static func fault(in data: Data, deadline: Date? = nil) -> Fault? {
        guard let document = try? XMLBody.parse(data, deadline: deadline) else { return nil }
        return fault(in: document)
    }

    /// See `fault(in: Data)`.
    public static func fault(in document: XMLBody) -> Fault? {
        guard let body = bodyPayload(document) else { return nil }
        let ns = document.namespace(of: body)
        guard let fault = document.children(of: body).first(where: {
            document.localName(of: $0) == "Fault" && document.namespace(of: $0) == ns
        }) else { return nil }
        func child(_ parent: XMLBody.Element, _ local: String, inEnvelope: Bool) -> XMLBody.Element? {
            document.children(of: parent).first {
                // SOAP 1.1 fault children are unqualified; tolerate a qualified spelling too.
                document.localName(of: $0) == local && (!inEnvelope || document.namespace(of: $0) == ns)
            }
        }
        func text(_ e: XMLBody.Element?) -> String { e.map { document.text(of: $0).trimmingBlanksForXML() } ?? "" }
        /// A code element's text as a qualified name resolved where it stands.
        func code(_ e: XMLBody.Element?) -> (String, String?) {
            guard let e else { return ("", nil) }
            let written = text(e)
            if written.isEmpty { return ("", nil) }
            // Only a qualified name (`local` or `prefix:local`) is resolved; any other text (`r x`,
            // `a:b:c`) is the code as written, with no namespace (found by fuzzing).
            let parts = written.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ isNCName($0) }) else { return (written, nil) }
            let (uri, local) = document.resolve(qualifiedName: written, at: e)
            return (local, uri)
        }
        if ns == namespace11 {
            let (c, uri) = code(child(fault, "faultcode", inEnvelope: false))
            let detail = child(fault, "detail", inEnvelope: false).map { Self.value(of: $0, in: document) }
            return Fault(code: c, codeNamespace: uri, message: text(child(fault, "faultstring", inEnvelope: false)),
                         detail: detail == .null ? nil : detail)
        }
        // SOAP 1.2: Code/Value, then each Subcode/Value inside it; the innermost is the most specific.
        var codeElement = child(fault, "Code", inEnvelope: true)
        var codeValue = codeElement.flatMap { child($0, "Value", inEnvelope: true) }
        while let current = codeElement, let sub = child(current, "Subcode", inEnvelope: true),
              let subValue = child(sub, "Value", inEnvelope: true) {
            codeValue = subValue
            codeElement = sub
        }
        let (c, uri) = code(codeValue)
        let reason = child(fault, "Reason", inEnvelope: true).flatMap { child($0, "Text", inEnvelope: true) }
        let detail = child(fault, "Detail", inEnvelope: true).map { Self.value(of: $0, in: document) }
        return Fault(code: c, codeNamespace: uri, message: text(reason), detail: detail == .null ? nil : detail)
    }

    /// An element as a value, for a fault's detail: an element with child elements is an object
    /// keyed by their local names (a name that occurs more than once gives a list, in document
    /// order); one without is its text, trimmed; an empty one, or one with `xsi:nil="true"`, is
    /// null. Attributes are left out. Built without recursion.
    public static func value(of element: XMLBody.Element, in document: XMLBody) -> Value {
        struct Frame {
            var element: XMLBody.Element
            var children: [XMLBody.Element]
            var next = 0
            var fields: [String: Value] = [:]
            var repeated: Set<String> = []
        }
        func leaf(_ e: XMLBody.Element) -> Value {
            if document.isNil(e) { return .null }
            let t = document.text(of: e).trimmingBlanksForXML()
            return t.isEmpty ? .null : .text(t)
        }
        func add(_ v: Value, _ name: String, to frame: inout Frame) {
            if frame.repeated.contains(name), case .list(var items)? = frame.fields[name] {
                items.append(v)
                frame.fields[name] = .list(items)
            } else if let first = frame.fields[name] {
                frame.fields[name] = .list([first, v])
                frame.repeated.insert(name)
            } else {
                frame.fields[name] = v
            }
        }
        var stack = [Frame(element: element, children: document.children(of: element))]
        while var top = stack.popLast() {
            if top.next < top.children.count {
                let child = top.children[top.next]
                top.next += 1
                let grandchildren = document.children(of: child)
                if grandchildren.isEmpty || document.isNil(child) {
                    add(leaf(child), document.localName(of: child), to: &top)
                    stack.append(top)
                } else {
                    stack.append(top)
                    stack.append(Frame(element: child, children: grandchildren))
                }
                continue
            }
            let v: Value = top.children.isEmpty ? leaf(top.element) : .object(top.fields)
            guard !stack.isEmpty else { return v }
            add(v, document.localName(of: top.element), to: &stack[stack.count - 1])
        }
        return .null
    }
}

extension String {
    /// Without XML white space (space, tab, CR, LF) at either end.
    func trimmingBlanksForXML() -> String {
        let u = utf8
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = u.firstIndex(where: { !blank($0) }) else { return "" }
        let last = u.lastIndex(where: { !blank($0) })!
        return String(self[first...last])
    }
}
