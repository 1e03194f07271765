import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// SOAP faults keep their meaning: `error.code` is the fault code's local name with its prefix
/// resolved (whatever prefix the server chose), its namespace beside it (`error.codeNamespace`),
/// SOAP 1.2 subcodes are read, and the fault's detail is `error.body`.
final class SOAPFaultTests: XCTestCase {
    static let env11 = "http://schemas.xmlsoap.org/soap/envelope/"
    static let env12 = "http://www.w3.org/2003/05/soap-envelope"

    func fault(_ xml: String, file: StaticString = #filePath, line: UInt = #line) throws -> SOAP.Fault {
        try XCTUnwrap(SOAP.fault(in: Data(xml.utf8)), file: file, line: line)
    }

    func testA11FaultCodeIsItsLocalNameWhateverThePrefix() throws {
        for prefix in ["soap11env", "s", "SOAP-ENV", "x"] {
            let f = try fault("""
                <\(prefix):Envelope xmlns:\(prefix)="\(Self.env11)"><\(prefix):Body><\(prefix):Fault>\
                <faultcode>\(prefix):Client.CardDeclined</faultcode><faultstring>Card declined</faultstring>\
                </\(prefix):Fault></\(prefix):Body></\(prefix):Envelope>
                """)
            XCTAssertEqual(f.code, "Client.CardDeclined", prefix)
            XCTAssertEqual(f.codeNamespace, Self.env11, prefix)
            XCTAssertEqual(f.message, "Card declined")
            XCTAssertNil(f.detail)
        }
    }

    func testA11FaultCodeInTheServicesOwnNamespace() throws {
        // Declared on the faultcode element itself, by default namespace, and not at all.
        let own = try fault("""
            <s:Envelope xmlns:s="\(Self.env11)"><s:Body><s:Fault>\
            <faultcode xmlns:b="urn:bank"> b:InsufficientFunds </faultcode><faultstring>No</faultstring>\
            </s:Fault></s:Body></s:Envelope>
            """)
        XCTAssertEqual(own.code, "InsufficientFunds")
        XCTAssertEqual(own.codeNamespace, "urn:bank")
        let byDefault = try fault("""
            <s:Envelope xmlns:s="\(Self.env11)"><s:Body><s:Fault xmlns="urn:default">\
            <faultcode>Server</faultcode><faultstring>Down</faultstring></s:Fault></s:Body></s:Envelope>
            """)
        XCTAssertEqual(byDefault.code, "Server")
        XCTAssertEqual(byDefault.codeNamespace, "urn:default")
        let undeclared = try fault("""
            <s:Envelope xmlns:s="\(Self.env11)"><s:Body><s:Fault>\
            <faultcode>q:Server</faultcode><faultstring>Down</faultstring></s:Fault></s:Body></s:Envelope>
            """)
        XCTAssertEqual(undeclared.code, "Server")
        XCTAssertNil(undeclared.codeNamespace)
    }

    func testA12FaultCodeIsItsInnermostSubcode() throws {
        let f = try fault("""
            <env:Envelope xmlns:env="\(Self.env12)" xmlns:m="urn:bank"><env:Body><env:Fault>
              <env:Code><env:Value>env:Sender</env:Value>
                <env:Subcode><env:Value>m:Card</env:Value><env:Subcode><env:Value>m:CardDeclined</env:Value></env:Subcode></env:Subcode>
              </env:Code>
              <env:Reason><env:Text xml:lang="en">Card declined</env:Text></env:Reason>
              <env:Detail><m:Decline><m:Reason>insufficient_funds</m:Reason></m:Decline></env:Detail>
            </env:Fault></env:Body></env:Envelope>
            """)
        XCTAssertEqual(f.code, "CardDeclined")
        XCTAssertEqual(f.codeNamespace, "urn:bank")
        XCTAssertEqual(f.message, "Card declined")
        XCTAssertEqual(f.detail, .object(["Decline": .object(["Reason": .text("insufficient_funds")])]))
        let plain = try fault("""
            <e:Envelope xmlns:e="\(Self.env12)"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>\
            <e:Reason><e:Text>Down</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>
            """)
        XCTAssertEqual(plain.code, "Receiver")
        XCTAssertEqual(plain.codeNamespace, Self.env12)
    }

    func testTheDetailIsAValue() throws {
        let f = try fault("""
            <s:Envelope xmlns:s="\(Self.env11)" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body><s:Fault>
              <faultcode>s:Client</faultcode><faultstring>bad</faultstring>
              <detail>
                <e:CardError xmlns:e="urn:bank"><e:Code>E42</e:Code><e:Line>1</e:Line><e:Line>2</e:Line><e:Note xsi:nil="true"/></e:CardError>
              </detail>
            </s:Fault></s:Body></s:Envelope>
            """)
        XCTAssertEqual(f.detail, .object(["CardError": .object([
            "Code": .text("E42"), "Line": .list([.text("1"), .text("2")]), "Note": .null,
        ])]))
        let text = try fault("""
            <s:Envelope xmlns:s="\(Self.env11)"><s:Body><s:Fault><faultcode>s:Server</faultcode>\
            <faultstring>x</faultstring><detail> try later </detail></s:Fault></s:Body></s:Envelope>
            """)
        XCTAssertEqual(text.detail, .text("try later"))
    }

    // MARK: - Through a call and a flow

    static let source = #"""
        config BASE = "http://x"
        ip Pay(amount: currency) {
          soap 1.1 "{BASE}/Pay"
          action "urn:bank/Pay"
          namespace b = "urn:bank"
          body {
            b:Pay {
              b:Amount = amount
            }
          }
          output id: text = xml "b:PayResponse/b:Id"
        }
        flow Main {
          ip Pay(4.00) -> paid
          on error {
            if error.code == "Client.CardDeclined" {
              response "declined in {error.codeNamespace}: {error.body.CardError.Reason}"
              finish failure "declined"
            }
            response "other: {error.code}"
            finish failure "other"
          }
          response "paid {paid}"
        }
        """#

    static let declined = """
        <soap11env:Envelope xmlns:soap11env="\(env11)"><soap11env:Body><soap11env:Fault>\
        <faultcode>soap11env:Client.CardDeclined</faultcode><faultstring>Your card was declined</faultstring>\
        <detail><b:CardError xmlns:b="urn:bank"><b:Reason>insufficient_funds</b:Reason></b:CardError></detail>\
        </soap11env:Fault></soap11env:Body></soap11env:Envelope>
        """

    func testTheCallsFailureCarriesTheResolvedCodeAndTheDetail() throws {
        for status in [500, 200] {
            let server = try LoopbackServer(reply: .xml(Self.declined, status: status))
            defer { server.stop() }
            let program = try XCTUnwrap(Frontend.compile(source: Self.source).program)
            let reply = try IPCaller(transport: HTTPClient(), sleep: { _ in }).call(
                program: program, ip: 0, arguments: [.number(Number(4))], configs: try program.configValues(overrides: ["BASE": server.baseURL]))
            guard case .failure(let f) = reply else { return XCTFail("\(reply)") }
            XCTAssertEqual(f.kind, "soapFault")
            XCTAssertEqual(f.status, status)
            XCTAssertEqual(f.code, "Client.CardDeclined")
            XCTAssertEqual(f.codeNamespace, Self.env11)
            XCTAssertEqual(f.message, "Your card was declined")
            XCTAssertEqual(f.body, .object(["CardError": .object(["Reason": .text("insufficient_funds")])]))
        }
    }

    func testAFlowComparesTheCodeAndReadsTheNamespaceAndDetail() throws {
        let server = try LoopbackServer(reply: .xml(Self.declined, status: 500))
        defer { server.stop() }
        let compiled = Frontend.compile(source: Self.source)
        let program = try XCTUnwrap(compiled.program, "\(compiled.diagnostics.map(\.message))")
        let caller = IPCaller(transport: HTTPClient(), sleep: { _ in })
        let configs = try program.configValues(overrides: ["BASE": server.baseURL])
        let session = try Session(program: program, options: RuntimeOptions(flow: "Main", today: { "2024-03-01" }))
        var result = try session.start()
        var responses: [String] = []
        var outcome: Outcome?
        for _ in 0..<10 {
            responses += result.responses
            guard case .callIP(let call) = result.step else {
                if case .finished(let o) = result.step { outcome = o }
                break
            }
            result = try session.resume(try caller.call(program: program, ip: call.index, arguments: call.arguments.map(\.value), configs: configs))
        }
        XCTAssertEqual(responses, ["declined in \(Self.env11): insufficient_funds"])
        XCTAssertEqual(outcome, Outcome(success: false, reason: "declined"))
    }
}
