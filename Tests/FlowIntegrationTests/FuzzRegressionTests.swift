import FlowIntegration
import FlowKit
import Foundation
import XCTest

/// Defects of the integration layer that fuzzing found (`fuzz/run`, README "Fuzzing"); those of
/// FlowKit are in Tests/FlowKitTests/FuzzRegressionTests.swift. The fuzzer's inputs are kept in
/// `fuzz/crashes/xml/`.
final class FuzzRegressionTests: XCTestCase {
    /// fuzz xml: a response declaring an encoding that libxml2 switches to itself (`UTF-32`,
    /// `EBCDIC-US`, a misspelt `UT-F8`) killed the process: a null dereference in libxml2 2.9.14's
    /// `xmlSwitchToEncoding`, under `XMLParser`. The declaration is now read before libxml2 sees
    /// the document.
    func testDeclaredEncodingsAreConvertedOrRefusedWithoutCrashing() throws {
        for encoding in ["UTF-32", "UTF-32LE", "EBCDIC-US", "UT-F8", "UTF-7", "x"] {
            let body = Data("<?xml version=\"1.0\" encoding=\"\(encoding)\"?><a>x</a>".utf8)
            XCTAssertThrowsError(try XMLBody.parse(body), encoding) { error in
                XCTAssertEqual((error as? IntegrationError)?.id, "response.xmlEncoding", encoding)
            }
        }
        // A declaration never closed (`?.` for `?>`): libxml2 switched to `UT-F8` all the same.
        let unclosed = Data("<?xml version=\"1.0\" encoding=\"UT-F8\"?.0\"><a>x</a>".utf8)
        XCTAssertThrowsError(try XMLBody.parse(unclosed)) { error in
            XCTAssertEqual((error as? IntegrationError)?.id, "response.xmlEncoding")
        }
        let latin1 = Data("<?xml version='1.0' encoding='iso-8859-1'?>\n<a>Zo".utf8) + Data([0xEB]) + Data("</a>".utf8)
        let document = try XMLBody.parse(latin1)
        XCTAssertEqual(document.text(of: document.documentElement), "Zoë")
        for declaration in ["<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"utf-8\"?>", "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"] {
            let parsed = try XMLBody.parse(Data((declaration + "<a>ok</a>").utf8))
            XCTAssertEqual(parsed.text(of: parsed.documentElement), "ok", declaration)
        }
    }

    /// fuzz xml: a declaration right after the declaration (`<?xml … encoding="utf-8"?><?xml
    /// version="1.0" encoding="UTF-7"?>`) killed the process the same way: the first was taken
    /// off and read here, and libxml2 took the second for the declaration and switched to
    /// UTF-7. Refused now, as after a byte order mark, in UTF-16, and a UTF-16 declaration never
    /// closed; a declaration inside CDATA or after the document element's start is still text
    /// or a parse error, not a crash. Input: `fuzz/crashes/xml/second-declaration-utf7`.
    func testASecondDeclarationAtTheStartIsRefused() throws {
        let second = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>"
        var bodies = [
            Data(("<?xml version=\"1.0\" encoding=\"utf-8\"?>" + second + "<a>x</a>").utf8),
            Data(("<?xml version=\"1.0\"?>\u{FEFF}" + second + "<a>x</a>").utf8),
            Data(("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>" + second + "<a>x</a>").utf8),
            Data([0xFE, 0xFF]) + ("<?xml version=\"1.0\"?>" + second + "<a>x</a>").data(using: .utf16BigEndian)!,
            Data([0xFF, 0xFE]) + ("<?xml version=\"1.0\" encoding=\"UTF-7\"<a>x</a>").data(using: .utf16LittleEndian)!,
        ]
        let saved = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/crashes/xml/second-declaration-utf7")
        bodies.append(try Data(contentsOf: saved))
        for (k, body) in bodies.enumerated() {
            XCTAssertThrowsError(try XMLBody.parse(body), "body \(k)") { error in
                XCTAssertEqual((error as? IntegrationError)?.id, "response.xmlSyntax", "body \(k)")
            }
        }
        let inText = try XMLBody.parse(Data("<?xml version=\"1.0\"?><a><![CDATA[\(second)<b/>]]></a>".utf8))
        XCTAssertEqual(inText.text(of: inText.documentElement), second + "<b/>")
        XCTAssertThrowsError(try XMLBody.parse(Data("<?xml version=\"1.0\"?>\n\(second)<a>x</a>".utf8)))
    }

    /// fuzz soapfault: a fault code that is not a qualified name (`r xDe`, with a blank) was
    /// resolved as one and given the default namespace, as if it were a code of that namespace.
    /// It is now the code as written, with no namespace. Input: `fuzz/crashes/soapfault/`.
    func testAFaultCodeThatIsNotAQualifiedNameHasNoNamespace() throws {
        for written in ["r xDe", "a:b:c", ":x", "x:", "1abc", "p:1"] {
            let xml = """
                <s:Envelope xmlns:s="\(SOAP.namespace11)" xmlns="urn:default" xmlns:p="urn:p"><s:Body><s:Fault>\
                <faultcode>\(written)</faultcode><faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>
                """
            let fault = try XCTUnwrap(SOAP.fault(in: Data(xml.utf8)), written)
            XCTAssertEqual(fault.code, written)
            XCTAssertNil(fault.codeNamespace, written)
        }
    }

    /// fuzz xml: a processing instruction without data (`<?pi?>`), anywhere in a response,
    /// killed the process: FoundationXML hands libxml2's null data pointer to `strlen`.
    func testProcessingInstructionWithoutDataIsRefused() throws {
        for body in ["<?pi?><a/>", "<a><?pi?></a>", "<a/><?pi?>", "<?xng?><"] {
            XCTAssertThrowsError(try XMLBody.parse(Data(body.utf8)), body) { error in
                XCTAssertEqual((error as? IntegrationError)?.id, "response.xmlSyntax", body)
            }
        }
        let document = try XMLBody.parse(Data("<?pi x?><a>1<?pi ?></a>".utf8))
        XCTAssertEqual(document.text(of: document.documentElement), "1")
    }

    /// fuzz soapfault: a response whose first bytes, read as UTF-16, are `<`, U+0000, `?`,
    /// U+0000 killed the process: converted to UTF-8 they begin `3C 00 3F 00`, which libxml2
    /// takes for UTF-16 and switches to in the middle of the push parse, dereferencing null in
    /// `xmlParseChunk`. A NUL, which no XML document may hold, is refused now, wherever it is,
    /// at its line. Input: `fuzz/crashes/soapfault/nul-read-as-utf16`.
    func testANulCharacterIsRefusedAtItsLine() throws {
        let saved = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/crashes/soapfault/nul-read-as-utf16")
        let bodies: [(Data, line: Int)] = [
            (try Data(contentsOf: saved), 1),
            (Data([0x00, 0x3C, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00]) + "<a>x</a>".data(using: .utf16BigEndian)!, 1),
            (Data([0x3C, 0x61, 0x3E, 0x00, 0x3C, 0x2F, 0x61, 0x3E]), 1),
            (Data("<a>\n<b>x\u{0}</b>\n</a>".utf8), 2),
            (Data("<?xml version=\"1.0\"?>\n<a>\n\n\u{0}</a>".utf8), 4),
        ]
        for (k, (body, line)) in bodies.enumerated() {
            XCTAssertThrowsError(try XMLBody.parse(body), "body \(k)") { error in
                let error = error as? IntegrationError
                XCTAssertEqual(error?.id, "response.xmlSyntax", "body \(k)")
                XCTAssertTrue(error?.message.contains("at line \(line): it holds a NUL character") == true, "body \(k): \(String(describing: error?.message))")
            }
            XCTAssertNil(SOAP.fault(in: body), "body \(k)")
        }
        // UTF-16 without a NUL still reads.
        let utf16 = try XMLBody.parse("<a>ok</a>".data(using: .utf16BigEndian)!)
        XCTAssertEqual(utf16.text(of: utf16.documentElement), "ok")
    }
}
