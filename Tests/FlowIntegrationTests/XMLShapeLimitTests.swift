import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// XML shapes whose parse time grows faster than their size are refused by count, before
/// libxml2 spends that time, and every parse stops at the IP's deadline (a `timeout`).
final class XMLShapeLimitTests: XCTestCase {
    func assertRefused(_ id: String, _ xml: String, limits: XMLBody.Limits = XMLBody.Limits(), within seconds: Double = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        XCTAssertThrowsError(try XMLBody.parse(Data(xml.utf8), limits: limits), file: file, line: line) { error in
            XCTAssertEqual((error as? IntegrationError)?.id, id, "\(error)", file: file, line: line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, file: file, line: line)
    }

    /// libxml2 compares each attribute with every one before it: 100,000 attributes on one
    /// element (1 MB) took seconds, and 32 MB of them would take hours.
    func testManyAttributesOnOneElementAreRefusedQuickly() {
        let attributes = (0..<100_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        assertRefused("response.xmlTooManyAttributes", "<r " + attributes + "/>")
        let prefixed = (0..<100_000).map { "p:a\($0)='1'" }.joined(separator: "\n")
        assertRefused("response.xmlTooManyAttributes", "<r xmlns:p=\"urn:p\"\n" + prefixed + "></r>")
    }

    func testManyNamespaceDeclarationsAreRefusedQuickly() {
        let declarations = (0..<100_000).map { "xmlns:p\($0)=\"urn:same\"" }.joined(separator: " ")
        assertRefused("response.xmlTooManyAttributes", "<r " + declarations + "/>")
        // Under the attribute limit on each element, but piling up in scope.
        let level = (0..<100).map { "xmlns:p\($0)=\"urn:\($0)\"" }.joined(separator: " ")
        let deep = String(repeating: "<a \(level)>", count: 200) + String(repeating: "</a>", count: 200)
        assertRefused("response.xmlTooManyNamespaces", deep)
        assertRefused("response.xmlTooManyNamespaces", "<r " + (0..<200).map { "xmlns:p\($0)=\"u\"" }.joined(separator: " ") + "/>")
    }

    func testQuotedValuesCommentsAndCDATAAreNotCounted() throws {
        let noise = "<!-- a=1 b=2 <x y='1'> --><![CDATA[ <x " + String(repeating: "a=1 ", count: 1000) + "> ]]>"
        let value = String(repeating: "=", count: 5000)
        let xml = "<r a=\"\(value)\" b='>\(value)'>\(noise)<c xmlns:q=\"urn:q\" q:d=\"1\"/></r>"
        let document = try XMLBody.parse(Data(xml.utf8))
        XCTAssertEqual(document.localName(of: document.documentElement), "r")
        // A real envelope with many namespaces and attributes is read.
        let declarations = (0..<100).map { "xmlns:n\($0)=\"urn:n\($0)\"" }.joined(separator: " ")
        let attributes = (0..<100).map { "a\($0)=\"\($0)\"" }.joined(separator: " ")
        let big = try XMLBody.parse(Data("<r \(declarations) \(attributes)><n7:x>1</n7:x></r>".utf8))
        XCTAssertEqual(big.read(path: "r/x", namespaces: []), "1")
    }

    func testLongNamesAndTooManyElementsAreRefused() {
        assertRefused("response.xmlNameTooLong", "<" + String(repeating: "a", count: 2000) + "/>")
        assertRefused("response.xmlNameTooLong", "<r " + String(repeating: "b", count: 2000) + "=\"1\"/>")
        assertRefused("response.xmlTooManyElements", "<r>" + String(repeating: "<b/>", count: 1001) + "</r>",
                      limits: XMLBody.Limits(maxElements: 1000))
    }

    /// Text split by entity references is kept as one piece: 200,000 references are one text.
    func testTextInManyPiecesReadsAsOne() throws {
        let document = try XMLBody.parse(Data(("<a>" + String(repeating: "x&amp;", count: 200_000) + "</a>").utf8))
        XCTAssertEqual(document.text(of: document.documentElement).utf8.count, 400_000)
    }

    // MARK: - The deadline

    static let bigXML = "<r>" + String(repeating: "<b>x</b>", count: 300_000) + "</r>"

    func testAParseStopsAtTheDeadline() {
        let data = Data(Self.bigXML.utf8)
        let whole = Date()
        XCTAssertNoThrow(try XMLBody.parse(data))
        let parseTime = Date().timeIntervalSince(whole)
        let start = Date()
        XCTAssertThrowsError(try XMLBody.parse(data, deadline: Date().addingTimeInterval(0.05))) { error in
            XCTAssertEqual((error as? IntegrationError)?.id, "response.timeout", "\(error)")
        }
        // The checks before parsing are linear and quick; the parse itself stops soon after 50 ms.
        XCTAssertLessThan(Date().timeIntervalSince(start), max(0.5, parseTime / 2), "a whole parse takes \(parseTime) s")
    }

    /// A transport that answers at once with a response whose deadline has passed.
    struct Late: HTTPTransport {
        var body: String
        var contentType: String
        func send(_ request: HTTPRequest, maxResponseBytes: Int) throws(TransportError) -> HTTPResponse {
            HTTPResponse(status: 200, headers: [("Content-Type", contentType)], body: Data(body.utf8), deadline: Date().addingTimeInterval(-0.001))
        }
    }

    func testReadingOutputsPastTheIPsTimeoutIsATimeoutFailure() throws {
        let source = """
            ip Balance(account: text) {
              soap 1.1 "http://bank.example/soap"
              namespace b = "urn:bank"
              body {
                b:Get {
                  b:Account = account
                }
              }
              output balance: currency = xml "b:GetResponse/b:Balance"
            }
            ip Lookup() {
              GET "http://shop.example/v1/x"
              output id: text = json "id"
            }
            """
        let program = try XCTUnwrap(Frontend.compile(source: source).program)
        let soap = IPCaller(transport: Late(body: Self.bigXML, contentType: "text/xml"), sleep: { _ in })
        guard case .failure(let f) = try soap.call(program: program, ip: 0, arguments: [.text("1")], configs: []) else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(f.kind, "timeout", f.message)
        let json = IPCaller(transport: Late(body: #"{"id": "x"}"#, contentType: "application/json"), sleep: { _ in })
        guard case .failure(let g) = try json.call(program: program, ip: 1, arguments: [], configs: []) else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(g.kind, "timeout", g.message)
    }
}
