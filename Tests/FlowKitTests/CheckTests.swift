@testable import FlowKit
import XCTest

final class CheckTests: XCTestCase {
    let charge = """
        secret KEY
        ip Charge(amount: currency, token: text) {
          POST "https://x.test/charges"
          auth bearer KEY
          form {
            amount = amount
            source = token
          }
          output id: text = json "id"
          output paid: bool = json "paid"
        }

        """

    /// A type names a record type in two bytes (`ValueType.record`): past 65,536 of them a
    /// result is typed `object` (its fields are checked when it runs), and nothing crashes or
    /// reads another record's fields.
    func testMoreRecordTypesThanATypeNames() {
        var text = ""
        let count = Int(UInt16.max) + 2
        for k in 0..<count {
            text += "ip P\(k)(x: text) {\n  GET \"https://x.test/{x}\"\n  output id: text = json \"id\"\n  output n\(k): number = json \"n\"\n}\n"
        }
        text += "flow A {\n  ip P0(\"a\") -> first\n  ip P\(count - 1)(\"b\") -> last\n  response \"{first.id} {first.n0} {last.id} {last.n\(count - 1)}\"\n}\n"
        let compiled = Frontend.compile(source: text)
        XCTAssertEqual(compiled.diagnostics.filter { $0.severity == .error }.map(\.message), [])
        XCTAssertNotNil(compiled.program)
        // The first's fields are still checked.
        let typo = Frontend.compile(source: text.replacingOccurrences(of: "{first.n0}", with: "{first.n1}"))
        XCTAssertEqual(typo.diagnostics.filter { $0.severity == .error }.count, 1, typo.diagnostics.map(\.message).joined(separator: "\n"))
    }

    func testUndefinedNameWithDidYouMean() {
        assertDiagnostics("""
            flow A {
              set amount = 1
              response "{1️⃣amout2️⃣}"
            }
            """, [DiagnosticSpec("check.undefinedName", "did you mean 'amount'?", to: "2️⃣")])
    }

    func testUndefinedLabelPageQuestionIPAndFlow() {
        assertDiagnostics("""
            ip Charge(amount: currency, token: text) {
              POST "https://x.test"
            }
            flow A {
              page Card {
                question Number: number
              }
              response "{Card.1️⃣Numbr}"
              ip 2️⃣Chrge(1, "t") -> r
              call 3️⃣Sub Flw
              goto 4️⃣Agian
            }
            flow Sub Flow {
              label Again
              response "hi"
            }
            """, [
                DiagnosticSpec("check.undefinedQuestion", "did you mean 'Card.Number'?"),
                DiagnosticSpec("check.undefinedCallee", "did you mean 'Charge'?", at: "2️⃣"),
                DiagnosticSpec("check.undefinedCallee", "did you mean 'Sub Flow'?", at: "3️⃣"),
                DiagnosticSpec("check.undefinedLabel", "cannot find label 'Agian'", at: "4️⃣"),
            ])
    }

    func testDuplicateNames() {
        assertDiagnostics("""
            flow A {
              question X
              question 1️⃣X
            }
            flow 2️⃣A {
            }
            """, [
                DiagnosticSpec("check.duplicateName", "'X' is declared more than once"),
                DiagnosticSpec("check.duplicateName", at: "2️⃣"),
            ])
    }

    /// A parameter or an output given again is reported at each repeat, with a note at the first
    /// declaration, in a short list (searched back) and a long one (hashed) alike.
    func testDuplicateParametersAndOutputsNoteTheFirst() {
        let long = (0..<20).map { "p\($0): number" }.joined(separator: ", ")
        for list in ["a: number, b: text, a: text, a: bool", long + ", a: number, a: text, a: bool"] {
            let source = "flow Main {\n  finish success\n}\nflow Sub(\(list)) -> (y: number, z: text, y: text) {\n  set y = 1\n  set z = \"\"\n}\n"
            let result = compile(source)
            let duplicates = result.diagnostics.filter { $0.id == "check.duplicateName" }
            let firstA = source.range(of: "a: number", range: source.range(of: "flow Sub")!.upperBound..<source.endIndex)!.lowerBound
            let firstY = source.range(of: "y: number")!.lowerBound
            XCTAssertEqual(duplicates.count, 3, "\(result.diagnostics)")
            for d in duplicates {
                let name = d.message.contains("'a'") ? firstA : firstY
                XCTAssertEqual(d.notes.map { $0.range.map { Int($0.start) } }, [source.utf8.distance(from: source.startIndex, to: name)], d.message)
            }
        }
    }

    /// A flow long enough that its tables of pages and variables are prefetched ahead of the
    /// statements that fill them (`FlowBuilder.prefetchNames`, more than 16,384 names) registers
    /// them as a short one does: each page given again is reported at itself with a note at the
    /// first, and so is a page named as a variable, wherever they are among the chunks the names
    /// are prefetched in, with the syntax released as it goes (`flow check`) or kept.
    func testALongFlowsPagesAndVariablesAreRegisteredAsAShortOnes() throws {
        let count = 20_000
        var text = "flow Long {\n"
        for i in 0..<count { text += "  question Q\(i): number\n  set v\(i) = Q\(i)\n" }
        // Given again: the first page, one in the middle of a chunk, the last; a variable's name.
        let repeats = ["Q0", "Q7", "Q12345", "Q\(count - 1)", "v5"]
        for name in repeats { text += "  question \(name): number\n" }
        text += "  response \"{v0}\"\n}\n"
        let offset = { (needle: String) -> Int in text.utf8.distance(from: text.startIndex, to: text.range(of: needle)!.lowerBound) }
        let lastOffset = { (needle: String) -> Int in
            text.utf8.distance(from: text.startIndex, to: text.range(of: needle, options: .backwards)!.lowerBound)
        }
        for releasing in [true, false] {
            let sources = SourceManager()
            let root = sources.add(path: "long.flow", bytes: Array(text.utf8))
            var diagnostics: [Diagnostic] = []
            let trees = ImportResolver.loadAll(root: root, sources: sources, loader: MemoryLoader(["long.flow": text]), diagnostics: &diagnostics)
            let program = Compiler.compile(trees, sources: sources, diagnostics: &diagnostics, releasingSyntax: releasing)
            let duplicates = diagnostics.filter { $0.id == "check.duplicateName" }.sorted { $0.range.start < $1.range.start }
            XCTAssertEqual(duplicates.count, repeats.count, "releasing \(releasing): \(duplicates.map(\.message))")
            for (d, name) in zip(duplicates, repeats) {
                XCTAssertEqual(Int(d.range.start), lastOffset("question \(name):") + "question ".utf8.count, name)
                let first = name.hasPrefix("v") ? offset("set \(name) =") + "set ".utf8.count : offset("question \(name):") + "question ".utf8.count
                XCTAssertEqual(d.notes.compactMap { $0.range.map { Int($0.start) } }, [first], name)
            }
            XCTAssertEqual(diagnostics.filter { $0.severity == .error }.count, repeats.count, "releasing \(releasing)")
            let flow = try XCTUnwrap(program.flows.first)
            // The pages given again are not pages of their own; the one named as a variable is.
            XCTAssertEqual(flow.pages.count, count + 1, "releasing \(releasing)")
            XCTAssertEqual(flow.variables.count, count, "releasing \(releasing)")
        }
    }

    func testArityAndArgumentNames() {
        assertDiagnostics(charge + """
            flow A {
              ip Charge1️⃣(1)2️⃣ -> r
              ip Charge(1, "t", 3️⃣"extra") -> s
              ip Charge(amount: 1, 4️⃣tokn: "t") -> q
              response "{r.id} {s.paid} {q.id}"
            }
            """, [
                DiagnosticSpec("check.missingArguments", "missing argument 'token'", to: "2️⃣"),
                DiagnosticSpec("check.tooManyArguments", "takes 2 arguments, but 3 were given", at: "3️⃣"),
                DiagnosticSpec("check.unknownArgument", "did you mean 'token'?", at: "4️⃣"),
            ])
    }

    func testReadBeforeSetIsDataflowNotDeclaration() {
        assertDiagnostics("""
            flow A {
              question VIP: yesno
              if VIP.VIP {
                set discount = 10
              }
              response "{1️⃣discount}"
            }
            """, [DiagnosticSpec("check.readBeforeSet", "'discount' may be read before it is set")])
        // Set on both branches: fine.
        assertClean("""
            flow A {
              question VIP: yesno
              if VIP {
                set discount = 10
              } else {
                set discount = 0
              }
              response "{discount}"
            }
            """)
    }

    func testCallOutputsAreNotSetOnTheErrorPath() {
        assertDiagnostics(charge + """
            flow A {
              ip Charge(1, "t") -> result
              on error {
                response "{1️⃣result.id}"
                finish failure "declined"
              }
              response "{result.paid}"
            }
            """, [DiagnosticSpec("check.readBeforeSet", "'result' may be read before it is set")])
    }

    func testAnswerReadBeforeItsPageIsAsked() {
        assertDiagnostics("""
            flow A {
              goto Ask
              label Show
              response "{1️⃣Amount}"
              finish success
              label Ask
              question Amount: number
              if Amount > 1 {
                goto Show
              }
            }
            """, [])
        assertDiagnostics("""
            flow A {
              response "{1️⃣Later.Amount}"
              page Later {
                question Amount: number
              }
            }
            """, [DiagnosticSpec("check.answerBeforeAsked", "page 'Later'")])
    }

    func testUnreachableElements() {
        assertDiagnostics("""
            flow A {
              finish success
              1️⃣response "never"
              response "never either"
            }
            """, [DiagnosticSpec("check.unreachable", to: nil)])
    }

    func testLoopWithNoWayOut() {
        assertDiagnostics("""
            flow A {
              label Ask
              question Amount: currency
              1️⃣goto Ask
            }
            """, [DiagnosticSpec("check.loopWithoutExit")])
        assertClean("""
            flow A {
              set tries = 0
              label Ask
              question Amount: currency
              set tries += 1
              if Amount < 1 and tries < 3 {
                goto Ask
              }
              response "{Amount}"
            }
            """)
    }

    func testStaticTypeErrors() {
        assertDiagnostics("""
            flow A {
              question Amount: currency
              question Name: text
              set x = 1️⃣Name * 2
              if 2️⃣Amount == Name {
                response "{x}"
              }
              if 3️⃣Amount {
                response "y"
              }
            }
            """, [
                DiagnosticSpec("check.typeMismatch", "cannot use '*' on text and number"),
                DiagnosticSpec("check.typeMismatch", "cannot compare currency with text", at: "2️⃣"),
                DiagnosticSpec("check.typeMismatch", "needs a yes/no value", at: "3️⃣"),
            ])
    }

    func testSecretsOnlyInsideRequests() {
        assertDiagnostics(charge + """
            flow A {
              response "key {1️⃣KEY}"
              set copy = 2️⃣KEY
              ip Charge(1, 3️⃣KEY) -> r
              response "{r.id} {r.paid} {copy}"
            }
            """, [
                DiagnosticSpec("check.secretOutsideRequest"),
                DiagnosticSpec("check.secretOutsideRequest", at: "2️⃣"),
                DiagnosticSpec("check.secretOutsideRequest", at: "3️⃣"),
            ])
    }

    func testPasswordNeverShown() {
        assertDiagnostics("""
            flow A {
              question PIN: password
              response "your pin is {1️⃣PIN}"
            }
            """, [DiagnosticSpec("check.secureValueShown")])
    }

    func testSecretKeyLiteral() {
        assertDiagnostics("""
            config KEY = "1️⃣sk_live_abcdefghijklmnop2️⃣"
            // 3️⃣sk_test_0123456789abcdef in a comment
            """, [
                DiagnosticSpec("lex.secretKeyLiteral", to: "2️⃣"),
                DiagnosticSpec("lex.secretKeyLiteral", at: "3️⃣"),
            ])
    }

    func testWarningsAndStrict() {
        let source = charge + """
            flow A {
              ip Charge(1, "t") -> (id: charge id)
              set 1️⃣unused = 2
            }
            """
        let paid = DiagnosticSpec("check.outputNeverRead", "never read", at: "2️⃣", severity: .warning)
        _ = paid
        let result = compile(MarkedSource(source).text)
        XCTAssertEqual(result.diagnostics.map(\.id).sorted(), ["check.outputNeverRead", "check.unusedVariable", "check.unusedVariable"])
        XCTAssertTrue(result.diagnostics.allSatisfy { $0.severity == .warning })
        XCTAssertFalse(result.hasErrors)
        XCTAssertNotNil(result.program)
        let strict = compile(MarkedSource(source).text, strict: true)
        XCTAssertTrue(strict.diagnostics.allSatisfy { $0.severity == .error })
        XCTAssertNil(strict.program)
    }

    func testImportAndImportCycle() throws {
        let loader = MemoryLoader([
            "main.flow": "import \"lib/ips.flow\"\nflow A {\n  ip Ping() -> r\n  response \"{r}\"\n}\n",
            "lib/ips.flow": "ip Ping() {\n  GET \"https://x.test\"\n  output status: number = status\n}\n",
            "a.flow": "import \"b.flow\"\n",
            "b.flow": "import \"a.flow\"\n",
        ])
        let ok = try Frontend.compile(path: "main.flow", loader: loader)
        XCTAssertTrue(ok.diagnostics.isEmpty, "\(ok.diagnostics)")
        let cycle = try Frontend.compile(path: "a.flow", loader: loader)
        XCTAssertEqual(cycle.diagnostics.map(\.id), ["check.importCycle"])
        XCTAssertEqual(cycle.diagnostics.first?.message, "import cycle: a.flow -> b.flow -> a.flow")
        XCTAssertThrowsError(try Frontend.compile(path: "missing.flow", loader: loader))
    }

    func testGraphEdges() throws {
        let program = try XCTUnwrap(assertClean(charge + """
            flow A {
              question X: yesno
              if X {
                response "yes"
              } else {
                response "no"
              }
              ip Charge(1, "t") -> r
              on error {
                finish failure "declined"
              }
              response "{r.id} {r.paid}"
            }
            """))
        let flow = program.flows[0]
        let kinds = flow.elements.map { e -> String in
            switch e.kind {
            case .page: "page"
            case .decision: "decision"
            case .response: "response"
            case .call: "call"
            case .finish: "finish"
            case .end: "end"
            default: "other"
            }
        }
        XCTAssertEqual(kinds, ["page", "decision", "response", "response", "call", "finish", "response", "end"])
        let e = flow.elements
        XCTAssertEqual(e[1].next, 2)  // true
        XCTAssertEqual(e[1].branch, 3)  // false
        XCTAssertEqual(e[2].next, 4)
        XCTAssertEqual(e[3].next, 4)
        XCTAssertEqual(e[4].next, 6)  // success
        XCTAssertEqual(e[4].branch, 5)  // error
        XCTAssertEqual(e[5].next, -1)
        XCTAssertEqual(e[6].next, 7)
    }

    func testExampleFlowsCheckClean() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let flows = root.appendingPathComponent("flows")
        let enumerator = FileManager.default.enumerator(atPath: flows.path)!
        var count = 0
        for case let path as String in enumerator where path.hasSuffix(".flow") {
            let result = try Frontend.compile(path: flows.appendingPathComponent(path).path)
            let rendered = DiagnosticRenderer(format: .gcc).render(result.diagnostics, sources: result.sources)
            XCTAssertTrue(result.diagnostics.isEmpty, "\(path):\n\(rendered)")
            count += 1
        }
        XCTAssertGreaterThanOrEqual(count, 5)
    }

    /// A variable bound by a call and then by another call of the same callee (a retry) keeps
    /// its type: every call of a callee binds its one result record. Each call used to get a
    /// record of its own, and the second binding was refused as "'r' holds object; it cannot be
    /// set to object". A different callee's result is still another type.
    func testRetryOfACallBindsTheSameVariable() {
        assertClean("""
            ip Lookup(id: text) {
              GET "https://example.com/{id}"
              output name: text = json "name"
            }
            flow Main {
              ip Lookup("a") -> r
              on error {
                ip Lookup("b") -> r
              }
              call Sub -> s
              call Sub -> s
              response "{r.name} {s.done}"
            }
            flow Sub -> (done: bool) {
              set done = true
            }
            """)
        assertDiagnostics("""
            ip Lookup(id: text) {
              GET "https://example.com/{id}"
              output name: text = json "name"
            }
            ip Other(id: text) {
              GET "https://example.com/{id}"
              output 1️⃣name: text = json "name"
            }
            flow Main {
              ip Lookup("a") -> r
              ip Other("b") -> 2️⃣r
              response "{r.name}"
            }
            """, [
                DiagnosticSpec("check.outputNeverRead", at: "1️⃣", severity: .warning),
                DiagnosticSpec("check.typeMismatch",
                               "'r' holds the result of integration point 'Lookup'; it cannot be set to the result of integration point 'Other'",
                               at: "2️⃣"),
            ])
        assertDiagnostics("""
            flow Main {
              call A -> s
              call B -> 1️⃣s
              response "{s.done}"
            }
            flow A -> (done: bool) {
              set done = true
            }
            flow B -> (done: bool) {
              set done = false
            }
            """, [DiagnosticSpec("check.typeMismatch", "'s' holds the result of flow 'A'; it cannot be set to the result of flow 'B'", at: "1️⃣")])
    }
}
