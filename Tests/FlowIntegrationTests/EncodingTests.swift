@testable import FlowKit
import FlowIntegration
import Foundation
import XCTest

/// Every encoder against the hostile set, byte for byte, and back through its decoder.
final class EncodingTests: XCTestCase {
    /// `& = + % # ? / \ CR LF < > " ' ]]>`, a space, and non-ASCII: Latin, CJK, an emoji.
    static let hostile = "&=+%#?/\\\r\n<>\"']]> Zoë 日本 😀"
    static let hostilePieces = ["&", "=", "+", "%", "#", "?", "/", "\\", "\r", "\n", "\r\n", "<", ">", "\"", "'", "]]>",
                                " ", "Zoë", "日本", "😀", "%41", "+ +", "a=b&c=d", "", "~-._*", hostile]

    // MARK: - Path text

    func testPathTextHostileSet() {
        XCTAssertEqual(
            Encoding.pathText(Self.hostile),
            "%26%3D%2B%25%23%3F%2F%5C%0D%0A%3C%3E%22%27%5D%5D%3E%20Zo%C3%AB%20%E6%97%A5%E6%9C%AC%20%F0%9F%98%80")
        XCTAssertEqual(Encoding.pathText("a/b?c"), "a%2Fb%3Fc")
        XCTAssertEqual(Encoding.pathText("AZaz09-._~"), "AZaz09-._~")
        XCTAssertEqual(Encoding.pathText("*!$()"), "%2A%21%24%28%29")
        XCTAssertEqual(Encoding.pathText(""), "")
    }

    func testPathTextRoundTrips() {
        for s in Self.hostilePieces {
            let encoded = Encoding.pathText(s)
            XCTAssertTrue(encoded.utf8.allSatisfy { $0 < 0x80 }, "not ASCII: \(encoded)")
            XCTAssertEqual(Encoding.decodePathText(encoded), s, "round trip of \(s.debugDescription)")
            // What lands in a URL stays one segment.
            XCTAssertNotNil(URL(string: "https://example.com/v1/" + encoded), encoded)
            XCTAssertFalse(encoded.contains("/") || encoded.contains("?") || encoded.contains("#"))
        }
    }

    func testDecodePathTextRefusesBrokenEscapes() {
        XCTAssertNil(Encoding.decodePathText("%"))
        XCTAssertNil(Encoding.decodePathText("%4"))
        XCTAssertNil(Encoding.decodePathText("%G1"))
        XCTAssertNil(Encoding.decodePathText("%C3"))  // half a UTF-8 character
        XCTAssertEqual(Encoding.decodePathText("a+b%2b"), "a+b+")
    }

    // MARK: - Query and form

    func testQueryComponentHostileSet() {
        XCTAssertEqual(
            Encoding.queryComponent(Self.hostile),
            "%26%3D%2B%25%23%3F%2F%5C%0D%0A%3C%3E%22%27%5D%5D%3E+Zo%C3%AB+%E6%97%A5%E6%9C%AC+%F0%9F%98%80")
        XCTAssertEqual(Encoding.queryComponent("metadata[order_id]"), "metadata%5Border_id%5D")
        XCTAssertEqual(Encoding.queryComponent("a b"), "a+b")
    }

    func testFormBodyExactBytes() {
        let body = Encoding.formBody([
            (name: "amount", value: "1250"),
            (name: "metadata[order_id]", value: "42"),
            (name: "description", value: Self.hostile),
            (name: "a b", value: ""),
        ])
        let expected = "amount=1250&metadata%5Border_id%5D=42&description="
            + "%26%3D%2B%25%23%3F%2F%5C%0D%0A%3C%3E%22%27%5D%5D%3E+Zo%C3%AB+%E6%97%A5%E6%9C%AC+%F0%9F%98%80&a+b="
        XCTAssertEqual(body, Data(expected.utf8))
        XCTAssertEqual(Encoding.formBody([]), Data())
    }

    func testFormRoundTrips() {
        let pairs = Self.hostilePieces.enumerated().map { (name: "k\($0.offset)" + $0.element, value: $0.element) }
        let decoded = Encoding.decodeForm(Encoding.formBody(pairs))
        XCTAssertEqual(decoded.map(\.name), pairs.map(\.name))
        XCTAssertEqual(decoded.map(\.value), pairs.map(\.value))
        let stripe = Encoding.decodeForm(Encoding.formBody([(name: "metadata[order_id]", value: "42")]))
        XCTAssertEqual(stripe.first?.name, "metadata[order_id]")
        XCTAssertEqual(stripe.first?.value, "42")
    }

    func testDecodeFormFollowsWHATWG() {
        let fields = Encoding.decodeForm(Data("a=1&&b&c=%zz&d=x=y&e=%E6%97%A5+%F0%9F%98%80&f=%FF".utf8))
        XCTAssertEqual(fields.map(\.name), ["a", "b", "c", "d", "e", "f"])
        XCTAssertEqual(fields.map(\.value), ["1", "", "%zz", "x=y", "日 😀", "\u{FFFD}"])
    }

    func testAppendQuery() {
        let pairs = [(name: "expand", value: "items"), (name: "q", value: "a&b c")]
        XCTAssertEqual(Encoding.appendQuery("https://x.example/v1/orders", pairs),
                       "https://x.example/v1/orders?expand=items&q=a%26b+c")
        XCTAssertEqual(Encoding.appendQuery("https://x.example/v1/orders?limit=3", pairs),
                       "https://x.example/v1/orders?limit=3&expand=items&q=a%26b+c")
        XCTAssertEqual(Encoding.appendQuery("https://x.example/o?", pairs), "https://x.example/o?expand=items&q=a%26b+c")
        XCTAssertEqual(Encoding.appendQuery("https://x.example/o?a=1&", pairs), "https://x.example/o?a=1&expand=items&q=a%26b+c")
        XCTAssertEqual(Encoding.appendQuery("https://x.example/o#top", pairs), "https://x.example/o?expand=items&q=a%26b+c#top")
        XCTAssertEqual(Encoding.appendQuery("https://x.example/o", []), "https://x.example/o")
        let hostile = Encoding.appendQuery("https://x.example/o", [(name: Self.hostile, value: Self.hostile)])
        let query = try! XCTUnwrap(URLComponents(string: hostile)?.percentEncodedQuery)
        let back = Encoding.decodeForm(Data(query.utf8))
        XCTAssertEqual(back.map(\.name), [Self.hostile])
        XCTAssertEqual(back.map(\.value), [Self.hostile])
    }

    // MARK: - JSON

    func testJSONBodyExactBytesAndRoundTrip() throws {
        let value = Value.object([
            "text": .text(Self.hostile),
            "amount": .number(Number(parsing: "12.50")!),
            "tiny": .number(Number(parsing: "0.1")!),
            "big": .number(Number(Decimal(string: "12345678901234567890")!)),
            "list": .list([.bool(true), .null, .text("</script>")]),
            "nested": .object(["metadata[order_id]": .text("42")]),
        ])
        let data = Encoding.jsonBody(value)
        let expected = #"{"amount":12.5,"big":12345678901234567890,"list":[true,null,"</script>"],"#
            + #""nested":{"metadata[order_id]":"42"},"text":"&=+%#?/\\\r\n<>\"']]> Zoë 日本 😀","tiny":0.1}"#
        XCTAssertEqual(String(decoding: data, as: UTF8.self), expected)
        XCTAssertEqual(data, Data(expected.utf8))
        XCTAssertEqual(try Value.fromJSON(data), value)
        for s in Self.hostilePieces + ["\u{0}\u{1}\u{1F}\u{7F}\t\u{08}\u{0C}"] {
            XCTAssertEqual(try Value.fromJSON(Encoding.jsonBody(.text(s))), .text(s), s.debugDescription)
        }
    }

    // MARK: - XML

    func testXMLTextHostileSet() {
        XCTAssertEqual(Encoding.xmlText(Self.hostile), "&amp;=+%#?/\\&#13;\n&lt;&gt;&quot;&apos;]]&gt; Zoë 日本 😀")
        XCTAssertEqual(Encoding.xmlAttribute(Self.hostile), "&amp;=+%#?/\\&#13;&#10;&lt;&gt;&quot;&apos;]]&gt; Zoë 日本 😀")
        XCTAssertEqual(Encoding.xmlText("plain"), "plain")
        XCTAssertEqual(Encoding.xmlText("a\tb"), "a\tb")
        XCTAssertEqual(Encoding.xmlAttribute("a\tb"), "a&#9;b")
        for s in Self.hostilePieces {
            XCTAssertFalse(Encoding.xmlText(s).contains("]]>"))
            XCTAssertFalse(Encoding.xmlText(s).contains("<"))
        }
    }

    func testXMLReplacesCharactersXMLCannotCarry() {
        XCTAssertEqual(Encoding.xmlText("a\u{0}b\u{1B}c\u{FFFE}d\u{FFFF}e\u{8}f"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f")
        XCTAssertEqual(Encoding.xmlAttribute("\u{0}"), "\u{FFFD}")
        // U+FFFD and other characters whose UTF-8 starts with 0xEF, like U+FFFE's, are kept.
        XCTAssertEqual(Encoding.xmlText("\u{FFFD}\u{F900}\u{FFFC}"), "\u{FFFD}\u{F900}\u{FFFC}")
    }

    func testXMLRoundTripsThroughTheReader() throws {
        for s in Self.hostilePieces + ["tab\there", "  spaces  "] {
            let doc = "<r a=\"\(Encoding.xmlAttribute(s))\" b='\(Encoding.xmlAttribute(s))'>\(Encoding.xmlText(s))</r>"
            let body = try XMLBody.parse(Data(doc.utf8))
            XCTAssertEqual(body.text(of: body.documentElement), s, "text \(s.debugDescription)")
            XCTAssertEqual(body.attribute("a", of: body.documentElement), s, "attribute \(s.debugDescription)")
            XCTAssertEqual(body.attribute("b", of: body.documentElement), s, "attribute \(s.debugDescription)")
        }
    }

    // MARK: - Headers

    func testHeaderValuesWithLineBreaksAreRefused() {
        for bad in ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\u{0}b", "\u{1B}[31m", "a\u{7F}"] {
            XCTAssertThrowsError(try Encoding.headerValue(bad, name: "X-Note"), bad.debugDescription) { error in
                XCTAssertEqual((error as? EncodingError)?.id, "encode.headerValue")
            }
        }
        do {
            _ = try Encoding.headerValue("a\r\nb", name: "X-Note")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.message, "the value of header 'X-Note' contains a carriage return (CR), which a header cannot carry")
        }
        do {
            _ = try Encoding.headerValue("a\u{0}b")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.message, "a header value contains a NUL character, which a header cannot carry")
        }
        XCTAssertEqual(try Encoding.headerValue("Bearer sk_test\t42 Zoë"), "Bearer sk_test\t42 Zoë")
        XCTAssertEqual(try Encoding.headerValue(""), "")
    }

    func testHeaderNames() throws {
        XCTAssertEqual(try Encoding.headerName("Stripe-Version"), "Stripe-Version")
        XCTAssertEqual(try Encoding.headerName("X_Odd!#$%&'*+.^`|~"), "X_Odd!#$%&'*+.^`|~")
        for bad in ["", "X Note", "X:Y", "Zoë", "X\r\nY"] {
            XCTAssertThrowsError(try Encoding.headerName(bad), bad.debugDescription)
        }
    }

    // MARK: - SOAP envelopes

    static let bank = "http://bank.example/accounts"

    func getBalance(_ account: String) -> [RequestPlan.Element] {
        [RequestPlan.Element(name: "b:GetBalance", text: nil, children: [
            RequestPlan.Element(name: "b:Account", text: account, children: []),
            RequestPlan.Element(name: "b:Currency", text: "USD", children: []),
        ])]
    }

    func testSOAP11Envelope() throws {
        let e = try SOAP.envelope(version: "1.1", action: "http://bank.example/GetBalance",
                                  namespaces: [(prefix: "b", uri: Self.bank)], body: getBalance(Self.hostile))
        XCTAssertEqual(String(decoding: e.body, as: UTF8.self), """
            <?xml version="1.0" encoding="utf-8"?>
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="http://bank.example/accounts">\
            <soap:Body><b:GetBalance><b:Account>&amp;=+%#?/\\&#13;\n&lt;&gt;&quot;&apos;]]&gt; Zoë 日本 😀</b:Account>\
            <b:Currency>USD</b:Currency></b:GetBalance></soap:Body></soap:Envelope>
            """)
        XCTAssertEqual(e.contentType, "text/xml; charset=utf-8")
        XCTAssertEqual(e.extraHeaders.map(\.name), ["SOAPAction"])
        XCTAssertEqual(e.extraHeaders.map(\.value), ["\"http://bank.example/GetBalance\""])
        // Back through the reader, by namespace.
        let doc = try XMLBody.parse(e.body)
        let body = try XCTUnwrap(SOAP.bodyPayload(doc))
        XCTAssertEqual(doc.read(path: "x:GetBalance/x:Account", namespaces: [(prefix: "x", uri: Self.bank)], below: body), Self.hostile)
        XCTAssertEqual(doc.read(path: "q:GetBalance/q:Currency", namespaces: [(prefix: "q", uri: Self.bank)], below: body), "USD")
    }

    func testSOAP12Envelope() throws {
        let e = try SOAP.envelope(version: "1.2", action: "http://bank.example/GetBalance",
                                  namespaces: [(prefix: "b", uri: Self.bank)], body: getBalance("12345678"))
        XCTAssertEqual(String(decoding: e.body, as: UTF8.self), """
            <?xml version="1.0" encoding="utf-8"?>
            <soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:b="http://bank.example/accounts">\
            <soap:Body><b:GetBalance><b:Account>12345678</b:Account><b:Currency>USD</b:Currency></b:GetBalance>\
            </soap:Body></soap:Envelope>
            """)
        XCTAssertEqual(e.contentType, "application/soap+xml; charset=utf-8; action=\"http://bank.example/GetBalance\"")
        XCTAssertTrue(e.extraHeaders.isEmpty)
    }

    func testSOAPWithoutActionEmptyElementsAndAPrefixClash() throws {
        let elements = [
            RequestPlan.Element(name: "soap:Ping", text: nil, children: [
                RequestPlan.Element(name: "soap:Empty", text: nil, children: []),
                RequestPlan.Element(name: "soap:Blank", text: "", children: []),
                RequestPlan.Element(name: "Plain", text: "x", children: []),
            ]),
        ]
        let e11 = try SOAP.envelope(version: "1.1", action: nil, namespaces: [(prefix: "soap", uri: "urn:mine")], body: elements)
        XCTAssertEqual(String(decoding: e11.body, as: UTF8.self), """
            <?xml version="1.0" encoding="utf-8"?>
            <soap1:Envelope xmlns:soap1="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="urn:mine"><soap1:Body>\
            <soap:Ping><soap:Empty/><soap:Blank></soap:Blank><Plain>x</Plain></soap:Ping></soap1:Body></soap1:Envelope>
            """)
        XCTAssertEqual(e11.extraHeaders.map(\.value), ["\"\""])
        let e12 = try SOAP.envelope(version: "1.2", action: nil, namespaces: [], body: [])
        XCTAssertEqual(e12.contentType, "application/soap+xml; charset=utf-8")
        XCTAssertEqual(String(decoding: e12.body, as: UTF8.self), """
            <?xml version="1.0" encoding="utf-8"?>
            <soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body></soap:Body></soap:Envelope>
            """)
        // An action with a quote is escaped inside the quoted string.
        let quoted = try SOAP.envelope(version: "1.2", action: "urn:a\"b\\c", namespaces: [], body: [])
        XCTAssertEqual(quoted.contentType, "application/soap+xml; charset=utf-8; action=\"urn:a\\\"b\\\\c\"")
    }

    func testSOAPFromARequestPlan() throws {
        var plan = RequestPlan(
            ipName: "Get Balance", isSOAP: true, soapVersion: "1.2", method: "POST", url: "https://bank.example/AccountService",
            query: [], headers: [], body: .soap(getBalance("7")), auth: nil, timeout: nil, retries: 0, idempotent: false,
            secretsUsed: [], outputs: [], namespaces: [(prefix: "b", uri: Self.bank)], action: "http://bank.example/GetBalance")
        let e = try SOAP.envelope(for: plan)
        XCTAssertTrue(String(decoding: e.body, as: UTF8.self).contains("<b:Account>7</b:Account>"))
        plan.body = .json(.null)
        XCTAssertThrowsError(try SOAP.envelope(for: plan)) { XCTAssertEqual(($0 as? EncodingError)?.id, "encode.soapBody") }
    }

    func testSOAPRefusesBadNamesPrefixesAndVersions() {
        func id(_ names: [String], version: String = "1.1", action: String? = nil,
                ns: [(prefix: String, uri: String)] = [(prefix: "b", uri: EncodingTests.bank)]) -> String? {
            let body = names.map { RequestPlan.Element(name: $0, text: "v", children: []) }
            do {
                _ = try SOAP.envelope(version: version, action: action, namespaces: ns, body: body)
                return nil
            } catch {
                return error.id
            }
        }
        XCTAssertNil(id(["b:Ok", "Plain", "b:_x-1.2", "b:Zoë"]))
        for bad in ["b:Get Balance", "1x", "b:c:d", ":x", "b:", "", "a<b", "b:x\"y", "b:x>"] {
            XCTAssertEqual(id([bad]), "encode.soapElementName", bad)
        }
        XCTAssertEqual(id(["x:Account"]), "encode.soapUndeclaredPrefix")
        XCTAssertEqual(id(["b:Ok"], version: "1.3"), "encode.soapVersion")
        XCTAssertEqual(id(["b:Ok"], ns: [(prefix: "b", uri: "urn:1"), (prefix: "b", uri: "urn:2")]), "encode.soapNamespaceTwice")
        XCTAssertNil(id(["b:Ok"], ns: [(prefix: "b", uri: "urn:1"), (prefix: "b", uri: "urn:1")]))
        XCTAssertEqual(id(["Ok"], ns: [(prefix: "xmlns", uri: "urn:1")]), "encode.soapPrefix")
        XCTAssertEqual(id(["Ok"], ns: [(prefix: "a b", uri: "urn:1")]), "encode.soapPrefix")
        XCTAssertEqual(id(["Ok"], ns: [(prefix: "b", uri: "")]), "encode.soapNamespaceEmpty")
        XCTAssertEqual(id(["b:Ok"], action: "urn:x\r\nX-Evil: 1"), "encode.headerValue")
        XCTAssertEqual(id(["b:Ok"], version: "1.2", action: "urn:x\nX-Evil: 1"), "encode.headerValue")
        // A namespace URI is an attribute value: escaped.
        let e = try? SOAP.envelope(version: "1.1", action: nil, namespaces: [(prefix: "b", uri: "urn:a\"&<")], body: [])
        XCTAssertTrue(String(decoding: e?.body ?? Data(), as: UTF8.self).contains("xmlns:b=\"urn:a&quot;&amp;&lt;\""))
    }

    func testSOAPNestingIsBounded() throws {
        var element = RequestPlan.Element(name: "b:Leaf", text: "x", children: [])
        for _ in 0..<(SOAP.maxDepth - 1) { element = RequestPlan.Element(name: "b:N", text: nil, children: [element]) }
        let ok = try SOAP.envelope(version: "1.1", action: nil, namespaces: [(prefix: "b", uri: Self.bank)], body: [element])
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("<b:N><b:Leaf>x</b:Leaf></b:N></b:N>"))
        element = RequestPlan.Element(name: "b:N", text: nil, children: [element])
        XCTAssertThrowsError(try SOAP.envelope(version: "1.1", action: nil, namespaces: [(prefix: "b", uri: Self.bank)], body: [element])) {
            XCTAssertEqual(($0 as? EncodingError)?.id, "encode.soapNesting")
        }
    }
}
