@testable import FlowKit
import FlowIntegration
import Foundation
import XCTest

/// JSON paths, namespace-aware XML paths, SOAP faults, typed outputs, and XML that attacks.
final class ResponseReaderTests: XCTestCase {
    // MARK: - JSON paths

    static let charge = #"""
        {"id": "ch_1", "paid": true, "amount": 1250, "fee": 0.1,
         "data": [{"id": "a"}, {"id": "b", "tags": ["x", "y"]}],
         "error": {"decline_code": "insufficient_funds"},
         "failure_code": null, "a.b": {"c": 1}, "order id": 7, "": "empty"}
        """#

    func testJSONPaths() throws {
        let v = try Value.fromJSON(Self.charge)
        XCTAssertEqual(JSONPath.read("id", in: v), .text("ch_1"))
        XCTAssertEqual(JSONPath.read("paid", in: v), .bool(true))
        XCTAssertEqual(JSONPath.read("fee", in: v), .number(Number(parsing: "0.1")!))
        XCTAssertEqual(JSONPath.read("data[0].id", in: v), .text("a"))
        XCTAssertEqual(JSONPath.read("data[1].id", in: v), .text("b"))
        XCTAssertEqual(JSONPath.read("data[1].tags[1]", in: v), .text("y"))
        XCTAssertEqual(JSONPath.read("error.decline_code", in: v), .text("insufficient_funds"))
        XCTAssertEqual(JSONPath.read("$", in: v), v)
        XCTAssertEqual(JSONPath.read("$.error.decline_code", in: v), .text("insufficient_funds"))
        XCTAssertEqual(JSONPath.read("$.data[0].id", in: v), .text("a"))
        XCTAssertEqual(JSONPath.read("$[\"a.b\"].c", in: v), .number(1))
        XCTAssertEqual(JSONPath.read("[\"a.b\"].c", in: v), .number(1))
        XCTAssertEqual(JSONPath.read("order id", in: v), .number(7))
        // A null that is there is null; a path that leads nowhere is nil.
        XCTAssertEqual(JSONPath.read("failure_code", in: v), .null)
        XCTAssertNil(JSONPath.read("failure_code.x", in: v))
        XCTAssertNil(JSONPath.read("missing", in: v))
        XCTAssertNil(JSONPath.read("error.missing", in: v))
        XCTAssertNil(JSONPath.read("data[2].id", in: v))
        XCTAssertNil(JSONPath.read("data[99999999]", in: v))
        XCTAssertNil(JSONPath.read("data.id", in: v))
        XCTAssertNil(JSONPath.read("id.x", in: v))
        XCTAssertNil(JSONPath.read("id[0]", in: v))
        XCTAssertNil(JSONPath.read("a.b.c", in: v))
    }

    func testJSONPathsOnTopLevelLists() throws {
        let v = try Value.fromJSON(#"[{"id": 1}, {"id": 2}]"#)
        XCTAssertEqual(JSONPath.read("[1].id", in: v), .number(2))
        XCTAssertEqual(JSONPath.read("$[0].id", in: v), .number(1))
        XCTAssertNil(JSONPath.read("[2]", in: v))
        XCTAssertNil(JSONPath.read("id", in: v))
    }

    func testInvalidJSONPaths() {
        for bad in ["", ".a", "a.", "a..b", "a[", "a[]", "a[x]", "a[-1]", "a[1", "$x", "$.", "a]", "[\"a", "[\"a\"", "a[1]b"] {
            XCTAssertNil(JSONPath.parse(bad), bad)
        }
        XCTAssertEqual(JSONPath.parse("$"), [])
        XCTAssertEqual(JSONPath.parse("data[0].id"), [.key("data"), .index(0), .key("id")])
        XCTAssertEqual(JSONPath.parse(#"["q\"d"]"#), [.key("q\"d")])
    }

    // MARK: - XML paths

    static let bank = "http://bank.example/accounts"

    /// The service's prefixes differ from the declaration's; a decoy binds `b` to another URI.
    static let balanceResponse = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- a comment before the envelope -->
        <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
          <env:Header><acc:Trace xmlns:acc="http://bank.example/accounts">t-1</acc:Trace></env:Header>
          <env:Body>
            <b:GetBalanceResponse xmlns:b="urn:decoy"><b:Balance>0.00</b:Balance></b:GetBalanceResponse>
            <acc:GetBalanceResponse xmlns:acc="http://bank.example/accounts">
              <acc:Balance>
                1234.50
              </acc:Balance>
              <Currency xmlns="http://bank.example/accounts">USD</Currency>
              <other:Balance xmlns:other="urn:other">999</other:Balance>
              <acc:Owner>Zoë &amp; 日本 &#x1F600; <![CDATA[<raw> & ]]]]><![CDATA[>]]></acc:Owner>
              <acc:Closed xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>
            </acc:GetBalanceResponse>
          </env:Body>
        </env:Envelope>
        """

    func testXMLPathsMatchNamespacesNotPrefixes() throws {
        let doc = try XMLBody.parse(Data(Self.balanceResponse.utf8))
        let body = try XCTUnwrap(SOAP.bodyPayload(doc))
        let ns = [(prefix: "b", uri: Self.bank)]
        let balance = doc.read(path: "b:GetBalanceResponse/b:Balance", namespaces: ns, below: body)
        XCTAssertEqual(balance, "\n        1234.50\n      ")  // white space kept; `coerced(to:)` trims it
        XCTAssertEqual(doc.read(path: "b:GetBalanceResponse/b:Currency", namespaces: ns, below: body), "USD")
        XCTAssertEqual(doc.read(path: "b:GetBalanceResponse/b:Owner", namespaces: ns, below: body), "Zoë & 日本 😀 <raw> & ]]>")
        // Unprefixed steps match any namespace: the decoy comes first.
        XCTAssertEqual(doc.read(path: "GetBalanceResponse/Balance", namespaces: ns, below: body), "0.00")
        XCTAssertEqual(doc.read(path: "d:GetBalanceResponse/d:Balance", namespaces: [(prefix: "d", uri: "urn:decoy")], below: body), "0.00")
        // Not there, or not below the body, or a prefix nobody declared.
        XCTAssertNil(doc.read(path: "b:GetBalanceResponse/b:Missing", namespaces: ns, below: body))
        XCTAssertNil(doc.read(path: "b:Trace", namespaces: ns, below: body))
        XCTAssertNil(doc.read(path: "b:GetBalanceResponse/b:Balance/b:Deeper", namespaces: ns, below: body))
        XCTAssertNil(doc.read(path: "x:GetBalanceResponse", namespaces: ns, below: body))
        XCTAssertNil(doc.read(path: "b:GetBalanceResponse//b:Balance", namespaces: ns, below: body))
        XCTAssertNil(doc.read(path: "", namespaces: ns, below: body))
    }

    func testPlainXMLPathsStartAtTheDocumentElement() throws {
        let xml = """
            <Order xmlns="urn:shop" xmlns:x="urn:extra"><Id>7</Id><Lines><Line>a</Line><Line>b</Line></Lines>\
            <x:Note>mixed <x:b>bold</x:b> text</x:Note></Order>
            """
        let doc = try XMLBody.parse(Data(xml.utf8))
        let ns = [(prefix: "s", uri: "urn:shop"), (prefix: "e", uri: "urn:extra")]
        XCTAssertEqual(doc.read(path: "s:Order/s:Id", namespaces: ns), "7")
        XCTAssertEqual(doc.read(path: "Order/Id", namespaces: []), "7")
        XCTAssertEqual(doc.read(path: "s:Order/s:Lines/s:Line", namespaces: ns), "a")
        XCTAssertEqual(doc.read(path: "s:Order/e:Note", namespaces: ns), "mixed bold text")
        XCTAssertNil(doc.read(path: "s:Id", namespaces: ns))
        XCTAssertNil(doc.read(path: "e:Order/s:Id", namespaces: ns))
        XCTAssertNil(SOAP.bodyPayload(doc))
        XCTAssertEqual(doc.localName(of: doc.documentElement), "Order")
        XCTAssertEqual(doc.namespace(of: doc.documentElement), "urn:shop")
        XCTAssertEqual(doc.children(of: doc.documentElement).map { doc.localName(of: $0) }, ["Id", "Lines", "Note"])
    }

    func testOtherEncodings() throws {
        let latin1 = Data("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Zo".utf8) + Data([0xEB]) + Data("</a>".utf8)
        XCTAssertEqual(try XMLBody.parse(latin1).read(path: "a", namespaces: []), "Zoë")
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>Zoë 日本 😀</a>"
        var le = Data([0xFF, 0xFE])
        le.append(text.data(using: .utf16LittleEndian)!)
        XCTAssertEqual(try XMLBody.parse(le).read(path: "a", namespaces: []), "Zoë 日本 😀")
        let be = text.data(using: .utf16BigEndian)!
        XCTAssertEqual(try XMLBody.parse(be).read(path: "a", namespaces: []), "Zoë 日本 😀")
        let bom8 = Data([0xEF, 0xBB, 0xBF]) + Data("<a>x</a>".utf8)
        XCTAssertEqual(try XMLBody.parse(bom8).read(path: "a", namespaces: []), "x")
    }

    // MARK: - SOAP faults

    func testSOAP11Fault() {
        let xml = """
            <?xml version="1.0"?>
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
              <faultcode>s:Server</faultcode>
              <faultstring xml:lang="en">Account &amp; balance unavailable</faultstring>
              <detail><e:Code xmlns:e="urn:bank">E42</e:Code></detail>
            </s:Fault></s:Body></s:Envelope>
            """
        let fault = SOAP.fault(in: Data(xml.utf8))
        XCTAssertEqual(fault?.code, "Server")
        XCTAssertEqual(fault?.codeNamespace, "http://schemas.xmlsoap.org/soap/envelope/")
        XCTAssertEqual(fault?.detail, .object(["Code": .text("E42")]))
        XCTAssertEqual(fault?.message, "Account & balance unavailable")
    }

    func testSOAP12Fault() {
        let xml = """
            <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:m="urn:bank"><env:Body><env:Fault>
              <env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>m:BadAccount</env:Value></env:Subcode></env:Code>
              <env:Reason><env:Text xml:lang="en">Unknown account</env:Text><env:Text xml:lang="fr">Compte inconnu</env:Text></env:Reason>
            </env:Fault></env:Body></env:Envelope>
            """
        let fault = SOAP.fault(in: Data(xml.utf8))
        XCTAssertEqual(fault?.code, "BadAccount")
        XCTAssertEqual(fault?.codeNamespace, "urn:bank")
        XCTAssertEqual(fault?.message, "Unknown account")
    }

    func testReaderFindsTheFaultFromItsOwnParse() {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>\
            <faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>
            """
        var reader = ResponseReader(response: HTTPResponse(status: 500, body: Data(xml.utf8)), isSOAP: true, namespaces: [])
        XCTAssertEqual(reader.soapFault()?.code, "Client")
        XCTAssertEqual(reader.soapFault()?.message, "bad")
        var rest = ResponseReader(response: HTTPResponse(status: 500, body: Data(xml.utf8)), isSOAP: false, namespaces: [])
        XCTAssertNil(rest.soapFault())
    }

    func testNoFault() {
        XCTAssertNil(SOAP.fault(in: Data(Self.balanceResponse.utf8)))
        XCTAssertNil(SOAP.fault(in: Data("<Fault><faultcode>x</faultcode></Fault>".utf8)))
        XCTAssertNil(SOAP.fault(in: Data("{\"error\": 1}".utf8)))
        XCTAssertNil(SOAP.fault(in: Data()))
        // A Fault in the wrong namespace is not a SOAP fault.
        let wrong = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><f:Fault xmlns:f="urn:x">\
            <faultcode>c</faultcode></f:Fault></s:Body></s:Envelope>
            """
        XCTAssertNil(SOAP.fault(in: Data(wrong.utf8)))
    }

    // MARK: - Typed outputs

    func output(_ name: String, _ type: ValueType, _ source: OutputSource?) -> OutputInfo {
        OutputInfo(name: name, type: type, source: source, range: Self.nowhere)
    }

    static let nowhere = SourceRange(file: FileID(0), start: 0, end: 0)

    func testJSONOutputs() throws {
        let response = HTTPResponse(status: 201, headers: [(name: "Request-Id", value: "req_9")], body: Data(Self.charge.utf8))
        var reader = ResponseReader(response: response, isSOAP: false, namespaces: [])
        XCTAssertEqual(try reader.value(of: output("id", .text, .json("id", Self.nowhere))), .text("ch_1"))
        XCTAssertEqual(try reader.value(of: output("paid", .bool, .json("paid", Self.nowhere))), .bool(true))
        XCTAssertEqual(try reader.value(of: output("amount", .currency, .json("amount", Self.nowhere))), .number(1250))
        XCTAssertEqual(try reader.value(of: output("amount", .text, .json("amount", Self.nowhere))), .text("1250"))
        XCTAssertEqual(try reader.value(of: output("tags", .list, .json("data[1].tags", Self.nowhere))), .list([.text("x"), .text("y")]))
        XCTAssertEqual(try reader.value(of: output("failure", .text, .json("failure_code", Self.nowhere))), .null)
        XCTAssertEqual(try reader.value(of: output("request id", .text, .header("request-id", Self.nowhere))), .text("req_9"))
        XCTAssertEqual(try reader.value(of: output("status code", .number, .status)), .number(201))
        XCTAssertEqual(try reader.value(of: output("raw", .text, .text)), .text(Self.charge))
        XCTAssertEqual(try reader.value(of: output("whole", .object, .json("$", Self.nowhere))), try Value.fromJSON(Self.charge))
        assertError("response.missingJSON", "the response has no value at 'receipt.url'") {
            try reader.value(of: output("url", .text, .json("receipt.url", Self.nowhere)))
        }
        assertError("response.missingJSON", nil) { try reader.value(of: output("x", .text, .json("data[5]", Self.nowhere))) }
        assertError("response.wrongType", "output 'paid': the response has 'ch_1' at 'id', which is not bool") {
            try reader.value(of: output("paid", .bool, .json("id", Self.nowhere)))
        }
        assertError("response.missingHeader", "the response has no header 'Retry-After'") {
            try reader.value(of: output("wait", .number, .header("Retry-After", Self.nowhere)))
        }
        assertError("response.badJSONPath", nil) { try reader.value(of: output("x", .text, .json("a[", Self.nowhere))) }
        assertError("response.noSource", nil) { try reader.value(of: output("x", .text, nil)) }
    }

    func testJSONOutputFromABodyThatIsNotJSON() {
        var reader = ResponseReader(response: HTTPResponse(status: 502, body: Data("<html>Bad gateway</html>".utf8)), isSOAP: false, namespaces: [])
        assertError("response.notJSON", nil) { try reader.value(of: output("id", .text, .json("id", Self.nowhere))) }
        // The status and the text can still be read.
        XCTAssertEqual(try reader.value(of: output("s", .number, .status)), .number(502))
    }

    func testSOAPOutputs() throws {
        let response = HTTPResponse(status: 200, body: Data(Self.balanceResponse.utf8))
        var reader = ResponseReader(response: response, isSOAP: true, namespaces: [(prefix: "b", uri: Self.bank)])
        XCTAssertEqual(try reader.value(of: output("balance", .currency, .xml("b:GetBalanceResponse/b:Balance", Self.nowhere))),
                       .number(Number(parsing: "1234.5")!))
        XCTAssertEqual(try reader.value(of: output("currency", .text, .xml("b:GetBalanceResponse/b:Currency", Self.nowhere))), .text("USD"))
        // xsi:nil is null: fine for text, a malformed answer for any other type.
        XCTAssertEqual(try reader.value(of: output("closed", .text, .xml("b:GetBalanceResponse/b:Closed", Self.nowhere))), .null)
        assertError("response.nullOutput", "output 'closed' should be date, but the response has null") {
            try reader.value(of: output("closed", .date, .xml("b:GetBalanceResponse/b:Closed", Self.nowhere)))
        }
        assertError("response.wrongType", "output 'n': the response has 'USD' at 'b:GetBalanceResponse/b:Currency', which is not number") {
            try reader.value(of: output("n", .number, .xml("b:GetBalanceResponse/b:Currency", Self.nowhere)))
        }
        assertError("response.missingXML", "the response has no element at 'b:GetBalanceResponse/b:Limit'") {
            try reader.value(of: output("limit", .currency, .xml("b:GetBalanceResponse/b:Limit", Self.nowhere)))
        }
        assertError("response.badXMLPath", nil) { try reader.value(of: output("x", .text, .xml("q:GetBalanceResponse", Self.nowhere))) }

        var plain = ResponseReader(response: HTTPResponse(status: 200, body: Data("<r><v>1</v></r>".utf8)), isSOAP: true, namespaces: [])
        assertError("response.notSOAP", nil) { try plain.value(of: output("v", .number, .xml("v", Self.nowhere))) }
        var notXML = ResponseReader(response: HTTPResponse(status: 200, body: Data("{}".utf8)), isSOAP: false, namespaces: [])
        assertError("response.notXML", nil) { try notXML.value(of: output("v", .number, .xml("r/v", Self.nowhere))) }
    }

    // MARK: - Hostile and broken XML

    func testXXEIsRefusedAndTheFileIsNotRead() throws {
        let attacks = [
            #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#,
            #"<!-- hi --><?pi x?> <!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#,
            #"<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>"#,
            #"<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><x/>"#,
        ]
        for attack in attacks {
            assertError("response.xmlDTD", nil) { try XMLBody.parse(Data(attack.utf8)) }
            XCTAssertNil(SOAP.fault(in: Data(attack.utf8)))
        }
        // The same in UTF-16, so the prolog scan is not fooled by the encoding.
        var utf16 = Data([0xFF, 0xFE])
        utf16.append(attacks[0].data(using: .utf16LittleEndian)!)
        assertError("response.xmlDTD", nil) { try XMLBody.parse(utf16) }
        // An entity that was never declared is not looked up anywhere.
        assertError(nil, nil) { try XMLBody.parse(Data("<x>&e;</x>".utf8)) }
        // Inside a SOAP reader: an error for `on error`, never the file's text.
        let soap = #"<!DOCTYPE s [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#
            + #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r>&e;</r></s:Body></s:Envelope>"#
        var reader = ResponseReader(response: HTTPResponse(status: 200, body: Data(soap.utf8)), isSOAP: true, namespaces: [])
        do {
            _ = try reader.value(of: output("r", .text, .xml("r", Self.nowhere)))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.id, "response.xmlDTD")
            XCTAssertFalse(error.message.contains("root:"))
        }
    }

    func testBillionLaughsIsRefusedQuickly() {
        var dtd = #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">"#
        for k in 1...9 {
            let prev = k == 1 ? "lol" : "lol\(k - 1)"
            dtd += "<!ENTITY lol\(k) \"" + String(repeating: "&\(prev);", count: 10) + "\">"
        }
        dtd += "]><lolz>&lol9;</lolz>"
        let start = Date()
        assertError("response.xmlDTD", nil) { try XMLBody.parse(Data(dtd.utf8)) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testDeepNestingIsBoundedWithoutCrashing() throws {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let start = Date()
        XCTAssertThrowsError(try XMLBody.parse(Data(deep.utf8))) { error in
            let id = (error as? ResponseReadError)?.id
            XCTAssertTrue(id == "response.xmlTooDeep" || id == "response.xmlSyntax", "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        // Within the limit: readable, path and all.
        let depth = 200
        let ok = String(repeating: "<a>", count: depth) + "x" + String(repeating: "</a>", count: depth)
        let doc = try XMLBody.parse(Data(ok.utf8))
        XCTAssertEqual(doc.read(path: Array(repeating: "a", count: depth).joined(separator: "/"), namespaces: []), "x")
        let limited = String(repeating: "<a>", count: 11) + String(repeating: "</a>", count: 11)
        assertError("response.xmlTooDeep", "the XML response is nested more than 10 levels deep") {
            try XMLBody.parse(Data(limited.utf8), limits: XMLBody.Limits(maxDepth: 10))
        }
    }

    func testTenMegabyteDocumentsReadQuickly() throws {
        var xml = "<list xmlns=\"urn:items\">"
        var k = 0
        while xml.utf8.count < 10_000_000 {
            xml += "<item><id>\(k)</id><name>item number \(k) with some text &amp; an entity</name></item>\n"
            k += 1
        }
        xml += "<last>end</last></list>"
        var start = Date()
        let doc = try XMLBody.parse(Data(xml.utf8))
        XCTAssertEqual(doc.read(path: "list/item/id", namespaces: []), "0")
        XCTAssertEqual(doc.read(path: "list/last", namespaces: []), "end")
        XCTAssertEqual(doc.children(of: doc.documentElement).count, k + 1)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)

        let big = "<a>" + String(repeating: "0123456789", count: 1_000_000) + "</a>"
        start = Date()
        XCTAssertEqual(try XMLBody.parse(Data(big.utf8)).read(path: "a", namespaces: [])?.utf8.count, 10_000_000)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)

        assertError("response.xmlTooLarge", nil) { try XMLBody.parse(Data(big.utf8), limits: XMLBody.Limits(maxBytes: 1_000_000)) }
    }

    func testBrokenXMLIsRefused() {
        let cases: [(String, String)] = [
            ("", "response.notXML"),
            ("   ", "response.notXML"),
            ("not xml", "response.notXML"),
            ("<?xml version=\"1.0\"?>", "response.notXML"),
            ("<!-- unclosed", "response.notXML"),
            ("<a>", "response.xmlIncomplete"),
            ("<a><b></a>", "response.xmlSyntax"),
            ("<a></a>trailing", "response.xmlSyntax"),
            ("<a/><b/>", "response.xmlSyntax"),
            ("<a>&nbsp;</a>", ""),
            ("<p:a/>", "response.xmlSyntax"),
            ("<a p:x=\"1\"/>", "response.xmlSyntax"),
            ("<a x='1' x='2'/>", "response.xmlSyntax"),
            ("<a>\u{1}</a>", "response.xmlSyntax"),
        ]
        for (xml, id) in cases {
            XCTAssertThrowsError(try XMLBody.parse(Data(xml.utf8)), xml.debugDescription) { error in
                if !id.isEmpty { XCTAssertEqual((error as? ResponseReadError)?.id, id, "\(xml.debugDescription): \(error)") }
            }
        }
    }

    func testSyntaxErrorMessagesSayWhatAndWhere() {
        assertError("response.xmlSyntax", "the XML response is not well-formed at line 3: an end tag does not match its start tag") {
            try XMLBody.parse(Data("<a>\n<b>\n</c></a>".utf8))
        }
        assertError("response.xmlSyntax", "the XML response is not well-formed at line 1: it uses a namespace prefix that is not declared") {
            try XMLBody.parse(Data("<p:a/>".utf8))
        }
    }

    // MARK: - Helpers

    func assertError<T>(_ id: String?, _ message: String?, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as ResponseReadError {
            if let id { XCTAssertEqual(error.id, id, error.message, file: file, line: line) }
            if let message { XCTAssertEqual(error.message, message, file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }
}
