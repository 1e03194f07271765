@testable import FlowKit
import XCTest

final class ParserTests: XCTestCase {
    func testDesignLinesParseAsWritten() {
        let program = assertClean("""
            secret KEY
            extension Tokenize {
              run "tokenize"
              output token: text
            }
            ip StripeCharge(amount: currency, token: text, description: text) {
              POST "https://api.stripe.com/v1/charges"
              auth bearer KEY
              form {
                amount = round(amount * 100)
                source = token
                description = description
              }
              output id: text = json "id"
            }
            flow Pay {
              question Payment
              question Embedded Payment: currency
              extension Tokenize -> (token: token)
              set amount = Embedded Payment.Embedded Payment
              set description = "for {Payment}"
              ip StripeCharge(amount, token, description) -> (id: result)
              response "You paid {Embedded Payment.Embedded Payment}: {result}"
            }
            """)
        let flow = program?.flows.first
        XCTAssertEqual(flow?.pages.map(\.name), ["Payment", "Embedded Payment"])
        XCTAssertEqual(flow?.variables, ["token", "amount", "description", "result"])
    }

    /// A lone `question X` is a statement of its own, a page holding one question a page: both
    /// compile to a page of one question, the lone one named after its question (`X.X`), with its
    /// properties lowered, and a second lone question of the same name is a duplicate page.
    func testALoneQuestionIsItsOwnStatementAndAPageOfOne() throws {
        let text = """
            flow A {
              question Amount: currency {
                min 1
              }
              page Details {
                question Amount: number
              }
              question Note
              response "{Amount.Amount} {Details.Amount} {Note}"
            }
            """
        let (syntax, diagnostics) = Parser.parse(SourceFile(path: "x.flow", text: text))
        XCTAssertEqual(diagnostics.count, 0)
        guard case .flow(let flow)? = syntax.declarations.first else { return XCTFail("no flow") }
        let kinds = flow.body.map { st -> String in
            switch st.kind {
            case .question(let q): "question \(q.name.text): \(q.type.rawValue), \(q.properties.count) properties"
            case .page(let p): "page \(p.name.text): \(p.questions.map(\.name.text))"
            default: "other"
            }
        }
        XCTAssertEqual(kinds, ["question Amount: currency, 1 properties", "page Details: [\"Amount\"]", "question Note: text, 0 properties", "other"])
        let program = try XCTUnwrap(assertClean(text))
        let pages = program.flows[0].pages
        XCTAssertEqual(pages.map(\.name), ["Amount", "Details", "Note"])
        XCTAssertEqual(pages.map(\.isLoneQuestion), [true, false, true])
        XCTAssertEqual(pages.map { $0.questions.map(\.reference) }, [["Amount.Amount"], ["Details.Amount"], ["Note.Note"]])
        guard case .constant(.number(let min))? = pages[0].questions[0].min?.kind else { return XCTFail("min not lowered") }
        XCTAssertEqual(min, 1)
        XCTAssertNil(pages[2].questions[0].min)
        assertDiagnostics("""
            flow A {
              question Amount
              question 1️⃣Amount
            }
            """, [DiagnosticSpec("check.duplicateName", "'Amount' is declared more than once")])
    }

    func testNameWithSpacesResolvesToTheAnswerEverywhere() throws {
        let program = try XCTUnwrap(assertClean("""
            ip Charge(amount: currency) {
              POST "https://x.test"
              output id: text = json "id"
            }
            flow Pay {
              page Embedded Payment {
                question Embedded   Payment: currency
              }
              ip Charge(Embedded Payment.Embedded Payment) -> (id: id)
              ip Charge(amount: Embedded Payment.Embedded Payment) -> (id: id)
              if Embedded Payment.Embedded Payment > 1 {
                response "{Embedded Payment.Embedded Payment} and {id}"
              }
            }
            """))
        let elements = program.flows[0].elements
        var answers = 0
        func count(_ e: IRExpr) {
            switch e.kind {
            case .answer(page: 0, question: 0): answers += 1
            case .template(let parts): parts.forEach(count)
            case .binary(_, let ab): count(ab.first); count(ab.second)
            default: break
            }
        }
        for e in elements {
            switch e.kind {
            case .call(let info): info.arguments.compactMap { $0 }.forEach(count)
            case .decision(let x), .response(let x): count(x)
            default: break
            }
        }
        XCTAssertEqual(answers, 4)
    }

    func testQuotedNames() {
        assertClean("""
            flow `Order #1` {
              question `Order #`: number
              set `total (usd)` = `Order #` * 2
              response "{`total (usd)`}"
            }
            """)
    }

    func testMissingArrowAfterExtensionName() {
        assertDiagnostics("""
            extension Tokenize {
              run "t"
              output token: text
            }
            flow Pay {
              extension Tokenize 1️⃣token2️⃣
              response "{token}"
            }
            """, [DiagnosticSpec("parse.expectedArrow", "expected '->' after extension name", to: "2️⃣")])
    }

    func testParserReportsEveryErrorInOneRun() {
        assertDiagnostics("""
            flow A {
              set x 1️⃣"five"
              finish 2️⃣maybe
              response3️⃣
            }
            """, [
                DiagnosticSpec("parse.expectedAfter", "expected '=', '+=' or '-=' after the variable name"),
                DiagnosticSpec("parse.expectedAfter", "expected 'success' or 'failure' after 'finish'", at: "2️⃣"),
                DiagnosticSpec("parse.expectedAfter", "expected text after 'response'", at: "3️⃣"),
            ])
    }

    func testUnclosedBlockPointsAtItsOpening() throws {
        let result = compile("flow A {\n  if true {\n    response \"x\"\n}\n")
        let d = try XCTUnwrap(result.diagnostics.first { $0.id == "parse.expectedClosing" })
        XCTAssertEqual(d.notes.first?.message, "to match this '{'")
    }

    func testStatementOutsideFlowHasHint() {
        assertDiagnostics("1️⃣question Payment\n", [DiagnosticSpec("parse.statementOutsideFlow", "flow Payment {")])
    }

    func testUnterminatedStringAndTemplate() {
        assertDiagnostics("""
            flow A {
              response 1️⃣"hello
              response "total 2️⃣{1 + 2"
            }
            """, [
                DiagnosticSpec("lex.unterminatedString"),
                DiagnosticSpec("lex.unterminatedTemplate", at: "2️⃣"),
            ])
    }

    func testDepthLimitIsADiagnosticNotACrash() {
        let deep = "flow A {\nquestion Ok: yesno\n" + String(repeating: "if Ok {\n", count: 5000) + String(repeating: "}\n", count: 5000) + "}\n"
        let result = compile(deep)
        XCTAssertEqual(result.diagnostics.map(\.id), ["parse.tooDeep"])
        let expr = "flow A {\n set x = " + String(repeating: "(", count: 50000) + "1" + String(repeating: ")", count: 50000) + "\n response \"{x}\"\n}\n"
        XCTAssertEqual(compile(expr).diagnostics.map(\.id), ["parse.tooDeep"])
        let template = "flow A {\n response \"" + String(repeating: "{\"", count: 300) + "x" + String(repeating: "\"}", count: 300) + "\"\n}\n"
        XCTAssertEqual(compile(template).diagnostics.map(\.id), ["parse.tooDeep"])
    }

    func testInvalidBytesAreReported() {
        let result = compile("flow A {\n response \"a\u{0}b\"\n}\n")
        XCTAssertEqual(result.diagnostics.map(\.id), ["lex.nulByte"])
        let bytes: [UInt8] = Array("flow A {\n response \"".utf8) + [0xFF, 0xFE] + Array("\"\n}\n".utf8)
        let sources = SourceManager()
        let file = sources.add(path: "t.flow", bytes: bytes)
        let (_, diagnostics) = Parser.parse(file)
        XCTAssertEqual(diagnostics.map(\.id), ["lex.invalidUTF8"])
        XCTAssertEqual(diagnostics.first?.range.start, 20)
    }

    func testEmptyFileIsClean() {
        XCTAssertTrue(compile("").diagnostics.isEmpty)
    }
}
