import Foundation
import XCTest

/// grammar.md lists every check with its id, in one table (issue 14): the table and the
/// catalogue (Sources/FlowKit/Check/CheckMessages.swift) hold the same ids, and each new check
/// of the value checks has a golden case.
final class CheckCatalogueTests: XCTestCase {
    func ids(in text: String, pattern: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        return Set(regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) })
    }

    func testGrammarTableListsEveryCheck() throws {
        let root = FlowProcess.packageRoot
        let catalogue = try String(contentsOf: root.appendingPathComponent("Sources/FlowKit/Check/CheckMessages.swift"), encoding: .utf8)
        let grammar = try String(contentsOf: root.appendingPathComponent("grammar.md"), encoding: .utf8)
        let declared = try ids(in: catalogue, pattern: #"Message\("(check\.[A-Za-z]+)""#)
        let listed = try ids(in: grammar, pattern: #"\n\| `(check\.[A-Za-z]+)` \|"#)
        XCTAssertFalse(declared.isEmpty)
        XCTAssertEqual(declared.subtracting(listed).sorted(), [], "ids missing from grammar.md's table")
        XCTAssertEqual(listed.subtracting(declared).sorted(), [], "ids in grammar.md's table that no check has")
    }

    func testEveryValueCheckHasAGoldenCase() throws {
        let directory = FlowProcess.packageRoot.appendingPathComponent(GoldenTests.goldenDirectory)
        var seen = Set<String>()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".expected") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            seen.formUnion(try ids(in: text, pattern: #"\[(check\.[A-Za-z]+)\]"#))
        }
        for id in ["check.constantCondition", "check.currencyDecimals", "check.defaultMismatchesPattern", "check.defaultNotAnOption",
                   "check.defaultOutOfRange", "check.divisionByZero", "check.duplicateOption", "check.headerLineBreak",
                   "check.headerValueCharacter", "check.incomparableValues", "check.minAboveMax", "check.notAnOption",
                   "check.patternNeverFits", "check.unreachableElseIf", "check.urlNeverValid", "check.builtinArity"] {
            XCTAssertTrue(seen.contains(id), "no golden case shows \(id)")
        }
    }
}
