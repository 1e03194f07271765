import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// Numbers from gateways keep their exact value or are refused: never rounded to fit a decimal,
/// and never rounded to a currency's cents.
final class GatewayNumberTests: XCTestCase {
    static let nowhere = SourceRange(file: FileID(0), start: 0, end: 0)

    func read(_ body: String, _ type: ValueType, _ source: OutputSource, json: Bool = true) -> Result<Value, IntegrationError> {
        var reader = ResponseReader(response: HTTPResponse(status: 200, body: Data(body.utf8)), isSOAP: false, namespaces: [])
        do {
            return .success(try reader.value(of: OutputInfo(name: "amount", type: type, source: source, range: Self.nowhere)))
        } catch {
            return .failure(error)
        }
    }

    func testLongIntegersKeepEveryDigit() throws {
        let body = #"{"id": 12345678901234567890123, "max": 99999999999999999999999999999999999999, "small": 0.00000000000000000000000000000000000001}"#
        XCTAssertEqual(try read(body, .text, .json("id", Self.nowhere)).get(), .text("12345678901234567890123"))
        XCTAssertEqual(try read(body, .text, .json("max", Self.nowhere)).get(), .text("99999999999999999999999999999999999999"))
        XCTAssertEqual(try read(body, .number, .json("small", Self.nowhere)).get(), .number(Number(parsing: "0.00000000000000000000000000000000000001")!))
        XCTAssertEqual(try Value.fromJSON("1e40"), .number(Number(Decimal(string: "1e40")!)))
    }

    /// 40 nines were read as 9999999999999999999999999999999999999900: another number, silently.
    func testMoreDigitsThanADecimalHoldsAreRefused() {
        for number in ["9999999999999999999999999999999999999999", "123456789012345678901234567890123456789012",
                       "0.1234567890123456789012345678901234567891", "-1.00000000000000000000000000000000000000001"] {
            XCTAssertThrowsError(try Value.fromJSON("{\"n\": \(number)}"), number) { error in
                XCTAssertTrue("\(error)".contains("significant digits"), "\(error)")
            }
            XCTAssertNil(Number(parsing: number), number)
            // Through an output: the call's `malformed` failure.
            guard case .failure(let e) = read("{\"n\": \(number)}", .number, .json("n", Self.nowhere)) else { return XCTFail(number) }
            XCTAssertEqual(e.id, "response.notJSON", number)
            guard case .failure(let x) = read("<a>\(number)</a>", .number, .xml("a", Self.nowhere)) else { return XCTFail(number) }
            XCTAssertEqual(x.id, "response.wrongType", number)
        }
        // Trailing and leading zeros are not significant.
        XCTAssertNotNil(Number(parsing: "000000000000000000000001000000000000000000000000000000000000.000000000000"))
    }

    func testACurrencyWithMoreThanTwoDecimalsIsRefused() throws {
        for (body, source) in [(#"{"amount": 12.345}"#, OutputSource.json("amount", Self.nowhere)), (#"{"amount": "0.001"}"#, .json("amount", Self.nowhere)),
                               ("<a>19.999</a>", .xml("a", Self.nowhere))] {
            guard case .failure(let e) = read(body, .currency, source) else { return XCTFail(body) }
            XCTAssertEqual(e.id, "response.currencyDecimals", body)
            XCTAssertTrue(e.message.contains("more than two decimals"), e.message)
        }
        XCTAssertEqual(try read(#"{"amount": 12.340}"#, .currency, .json("amount", Self.nowhere)).get(), .number(Number(parsing: "12.34")!))
        XCTAssertEqual(try read(#"{"amount": 12}"#, .currency, .json("amount", Self.nowhere)).get(), .number(12))
        // A number output keeps its decimals.
        XCTAssertEqual(try read(#"{"amount": 12.345}"#, .number, .json("amount", Self.nowhere)).get(), .number(Number(parsing: "12.345")!))
    }
}
