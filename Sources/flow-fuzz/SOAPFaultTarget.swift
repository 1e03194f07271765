import FlowIntegration
import FlowKit
import Foundation

/// Target `soapfault`: the SOAP fault reader. The first byte chooses where the rest goes: as the
/// whole response (0), or inside the `Fault` of a SOAP 1.1 (1) or 1.2 (2) envelope, or as the
/// fault code's text in either (3, 4), so most inputs reach the code, subcode and detail
/// readers. Reads it with `SOAP.fault(in:)` and with a `ResponseReader` (the path an IP call
/// takes), under small limits and a deadline.
///
/// Holds: no crash; both readers find the same fault; a code with a namespace is an XML local
/// name (no prefix left, no blanks); the detail is a value that JSON writes and reads back equal.
enum SOAPFaultTarget {
    static let env11 = SOAP.namespace11
    static let env12 = SOAP.namespace12

    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let rest = String(lossy: bytes.dropFirst())
        let text: String
        switch mode % 5 {
        case 1:
            text = "<s:Envelope xmlns:s=\"\(env11)\" xmlns:b=\"urn:bank\"><s:Body><s:Fault>\(rest)</s:Fault></s:Body></s:Envelope>"
        case 2:
            text = "<e:Envelope xmlns:e=\"\(env12)\" xmlns:b=\"urn:bank\"><e:Body><e:Fault>\(rest)</e:Fault></e:Body></e:Envelope>"
        case 3:
            text = "<s:Envelope xmlns:s=\"\(env11)\"><s:Body><s:Fault><faultcode>\(rest)</faultcode><faultstring>x</faultstring>"
                + "<detail>\(rest)</detail></s:Fault></s:Body></s:Envelope>"
        case 4:
            text = "<e:Envelope xmlns:e=\"\(env12)\"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value>\(rest)"
                + "</e:Value></e:Subcode></e:Code><e:Detail>\(rest)</e:Detail></e:Fault></e:Body></e:Envelope>"
        default:
            text = rest
        }
        let data = mode % 5 == 0 ? Data(bytes.dropFirst()) : Data(text.utf8)
        let fault = SOAP.fault(in: data)
        var reader = ResponseReader(response: HTTPResponse(status: 500, body: data, deadline: Date().addingTimeInterval(10)),
                                    isSOAP: true, namespaces: [("b", "urn:bank")])
        let again = reader.soapFault()
        require(fault == again, "SOAP.fault and ResponseReader.soapFault differ: \(String(describing: fault)), \(String(describing: again))")
        guard let fault else { return }
        if verbose { print("soapfault: \(fault)") }
        if fault.codeNamespace != nil {
            require(!fault.code.contains(":") && !fault.code.unicodeScalars.contains { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" },
                    "the resolved code \(fault.code.debugDescription) is not a local name")
        }
        if let detail = fault.detail {
            let json = detail.jsonText()
            guard let back = try? Value.fromJSON(json) else { return require(false, "the detail's JSON does not read back: \(json)") }
            require(back == detail, "the detail's JSON reads back as another value: \(json)")
        }
    }
}
