import FlowIntegration
import FlowKit
import Foundation

/// Target `xml`: the bytes are an XML response body. Reads it with `XMLBody.parse` (the reader
/// behind `xml "…"` outputs), looks for a SOAP body and fault, reads an IP's SOAP outputs of
/// every type from it (`ResponseReader`), and reads the bytes as text as an XML path.
///
/// Holds: no crash; for every element of a document read (the first 200), the path of local
/// names from the document element to it, and the same path with each namespace given a prefix,
/// parse and lead to an element of that local name no later in document order (the first
/// match), whose text `read(path:)` returns; the SOAP `Body`, when there is one, is a child of
/// the document element.
enum XMLTarget {
    static let namespaces: [(prefix: String, uri: String)] = [
        ("s", SOAP.namespace11), ("e", SOAP.namespace12), ("b", "urn:bank"), ("xsi", XMLBody.schemaInstance),
    ]

    /// A SOAP IP whose outputs read every type.
    static let outputs: [OutputInfo] = {
        let source = """
            ip Balance(account: text) {
              soap 1.1 "https://bank.example.com/soap"
              action "urn:bank/GetBalance"
              namespace b = "urn:bank"
              body {
                b:GetBalance {
                  b:Account = account
                }
              }
              output a: text = xml "b:GetBalanceResponse/b:Balance"
              output b: currency = xml "b:GetBalanceResponse/b:Balance"
              output c: number = xml "GetBalanceResponse/Count"
              output d: bool = xml "b:GetBalanceResponse/b:Active"
              output e: date = xml "b:GetBalanceResponse/b:Opened"
              output f: list = xml "b:GetBalanceResponse/b:Items"
              output g: object = xml "b:GetBalanceResponse"
              output h: text = xml "Fault/faultstring"
            }
            flow F {
              ip Balance("1") -> r
              response "{r.a}{r.b}{r.c}{r.d}{r.e}{r.f}{r.g}{r.h}"
            }

            """
        return outputsOfTheIP(in: source, target: "xml")
    }()

    static func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        _ = XMLBody.parsePath(String(lossy: bytes), namespaces: namespaces)
        var reader = ResponseReader(response: HTTPResponse(status: 500, body: data), isSOAP: true, namespaces: [("b", "urn:bank")])
        _ = reader.soapFault()
        for output in outputs { _ = try? reader.value(of: output) }

        guard let document = try? XMLBody.parse(data) else { return }
        _ = SOAP.fault(in: document)
        if let body = SOAP.bodyPayload(document) {
            require(document.parent(of: body) == document.documentElement, "the SOAP Body is not a child of the envelope")
        }

        // Every element's path, by local names and by prefixed names; walked without recursion.
        var prefixes: [String: String] = [:]
        var declared: [(prefix: String, uri: String)] = []
        var work: [(XMLBody.Element, plain: String, qualified: String)] = []
        func push(_ e: XMLBody.Element, _ plain: String, _ qualified: String) {
            let local = document.localName(of: e)
            let uri = document.namespace(of: e)
            var step = local
            if !uri.isEmpty {
                let prefix: String
                if let p = prefixes[uri] {
                    prefix = p
                } else {
                    prefix = "p\(prefixes.count)"
                    prefixes[uri] = prefix
                    declared.append((prefix, uri))
                }
                step = prefix + ":" + local
            }
            work.append((e, plain.isEmpty ? local : plain + "/" + local, qualified.isEmpty ? step : qualified + "/" + step))
        }
        push(document.documentElement, "", "")
        var budget = 200
        while let (e, plain, qualified) = work.popLast(), budget > 0 {
            budget -= 1
            _ = document.isNil(e)
            let local = document.localName(of: e)
            // A local name holding ':' or '/' cannot be written as a path step.
            let writable = !plain.isEmpty && !plain.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.contains(":") }
            if writable {
                for path in [plain, qualified] {
                    guard let steps = XMLBody.parsePath(path, namespaces: declared) else {
                        fatalError("flow-fuzz: the XML path \(path) written to an element does not parse")
                    }
                    guard let found = document.element(at: steps) else {
                        fatalError("flow-fuzz: the XML path \(path) written to an element leads nowhere")
                    }
                    require(document.localName(of: found) == local && found.index <= e.index,
                            "the XML path \(path) leads to \(document.localName(of: found)) #\(found.index), not a first match for #\(e.index)")
                    require(document.read(path: path, namespaces: declared) == document.text(of: found),
                            "read(path:) of \(path) is not the text of the element it leads to")
                }
            }
            for child in document.children(of: e).reversed() {
                require(document.parent(of: child) == e, "a child's parent is another element")
                push(child, plain, qualified)
            }
        }
    }
}
