import FlowKit
import Foundation
import XCTest

/// The symbol index: where each name is declared and used, by the compiler's scope rules.
/// Positions are marked in the source with `^name` (the occurrence of `name` starting there).
final class SymbolIndexTests: XCTestCase {
    private func analyze(_ files: [String: String], root: String = "main.flow") throws -> Analysis {
        try Analyzer.analyze(path: root, loader: MemoryLoader(files))
    }

    /// The symbol used at the first occurrence of `needle` (plus `delta` bytes) in file 0.
    private func symbol(_ a: Analysis, _ needle: String, occurrence: Int = 0, delta: Int = 1) -> SymbolInfo? {
        let text = a.sources[FileID(0)].text(SourceRange(file: FileID(0), start: 0, end: a.sources[FileID(0)].bytes.count))
        var start = text.startIndex
        var found: Range<String.Index>?
        for _ in 0...occurrence {
            guard let r = text.range(of: needle, range: start..<text.endIndex) else { return nil }
            found = r
            start = r.upperBound
        }
        let offset = text.utf8.distance(from: text.utf8.startIndex, to: found!.lowerBound) + delta
        return a.index.occurrence(file: FileID(0), offset: offset).map { a.index.symbols[$0.symbol] }
    }

    func testScopesFollowTheCompiler() throws {
        let a = try analyze(["main.flow": """
            config BASE = "https://x"
            secret KEY
            ip Charge(amount: number) {
              POST "{BASE}/c"
              auth bearer KEY
              json { "amount": amount }
              output paid: bool = json "paid"
              output id: text = json "id"
            }
            flow Main {
              question Amount: number {
                prompt "How much?"
              }
              page Card {
                question Holder: text
              }
              set amount = Amount.Amount
              ip Charge(amount: amount) -> result
              on error goto Failed
              if result.paid {
                response "{Card.Holder} paid {result.id}"
              }
              label Failed
            }
            """])
        XCTAssertEqual(a.diagnostics.filter { $0.severity == .error }.map(\.id), [])
        XCTAssertEqual(symbol(a, "{BASE}", delta: 2)?.kind, .config)
        XCTAssertEqual(symbol(a, "bearer KEY", delta: 8)?.kind, .secret)
        // Inside the IP, `amount` is its parameter; inside the flow, the variable.
        XCTAssertEqual(symbol(a, "\"amount\": amount", delta: 11)?.kind, .parameter)
        XCTAssertEqual(symbol(a, "set amount", delta: 5)?.kind, .variable)
        XCTAssertEqual(symbol(a, "Charge(amount: amount)", delta: 8)?.kind, .parameter)
        XCTAssertEqual(symbol(a, "Charge(amount: amount)", delta: 16)?.kind, .variable)
        // A lone question is one symbol on both sides of the dot.
        let lone = symbol(a, "Amount.Amount", delta: 1)
        XCTAssertEqual(lone?.kind, .question)
        XCTAssertEqual(symbol(a, "Amount.Amount", delta: 8)?.id, lone?.id)
        XCTAssertEqual(lone?.detail, "How much?")
        XCTAssertEqual(symbol(a, "{Card.Holder}", delta: 2)?.kind, .page)
        XCTAssertEqual(symbol(a, "{Card.Holder}", delta: 7)?.kind, .question)
        // `result.paid` is the IP's output.
        let paid = symbol(a, "result.paid", delta: 8)
        XCTAssertEqual(paid?.kind, .output)
        XCTAssertEqual(paid?.type, "bool")
        XCTAssertEqual(symbol(a, "{result.id}", delta: 9)?.name, "id")
        XCTAssertEqual(symbol(a, "goto Failed", delta: 6)?.kind, .label)
        // The inferred type of a variable comes from the compiler.
        XCTAssertEqual(symbol(a, "set amount", delta: 5)?.type, "number")
        let charge = try XCTUnwrap(symbol(a, "ip Charge(amount: amount)", delta: 4))
        XCTAssertEqual(charge.signature, "Charge(amount: number) -> (paid: bool, id: text)")
        XCTAssertEqual(charge.request, "POST \"{BASE}/c\"")
    }

    func testNamesAcrossImportsAndClashes() throws {
        let a = try analyze([
            "main.flow": """
                import "lib.flow"
                flow Main {
                  call Greet(name: "Ann") -> (greeting: text of greeting)
                  response text of greeting
                }
                """,
            "lib.flow": """
                flow Greet(name: text) -> (greeting: text) {
                  set greeting = "Hello, {name}"
                }
                """,
        ])
        let greet = try XCTUnwrap(symbol(a, "call Greet", delta: 5))
        XCTAssertEqual(greet.kind, .flow)
        XCTAssertEqual(greet.id.path, "lib.flow")
        XCTAssertEqual(symbol(a, "(name:", delta: 1)?.kind, .parameter)
        let output = try XCTUnwrap(symbol(a, "(greeting:", delta: 1))
        XCTAssertEqual(output.kind, .output)
        XCTAssertEqual(output.id.path, "lib.flow")
        let uses = a.index.occurrences(of: try XCTUnwrap(a.index.symbol(output.id)))
        XCTAssertEqual(uses.count, 3, "the declaration, the set, the mapping")
        // Renaming the variable to `Main`'s other names: a clash only within the flow's scope.
        let variable = try XCTUnwrap(a.index.symbol(try XCTUnwrap(symbol(a, "response text of greeting", delta: 10)).id))
        XCTAssertEqual(a.index.symbols[variable].name, "text of greeting")
        XCTAssertNil(a.index.clash(renaming: variable, to: "greeting"))
        XCTAssertNil(a.index.clash(renaming: variable, to: "name"))
        // Greet's output may not take its parameter's name.
        let clash = try XCTUnwrap(a.index.clash(renaming: try XCTUnwrap(a.index.symbol(output.id)), to: "name"))
        XCTAssertEqual(a.index.symbols[clash].kind, .parameter)
    }

    func testBrokenTextStillIndexesWhatParsed() throws {
        let a = try analyze(["main.flow": "flow Main {\n  set x = 1\n  response \"{x\n  set y = x +\n}\n"])
        XCTAssertFalse(a.diagnostics.isEmpty)
        XCTAssertEqual(symbol(a, "set x", delta: 4)?.kind, .variable)
    }
}
