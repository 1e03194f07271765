@testable import FlowKit
import XCTest

/// A question's prompt, default, min and max sit in one array of its details box, found by index;
/// setting, replacing and unsetting them, and copying the question, behave as stored properties.
final class QuestionDetailsTests: XCTestCase {
    private func constant(_ n: Int) -> IRExpr {
        IRExpr(kind: .constant(.number(Number(n))), type: .number, range: SourceRange(file: FileID(0), start: n, end: n + 1))
    }

    private func number(_ e: IRExpr?) -> Value? {
        guard let e, case .constant(let v) = e.kind else { return nil }
        return v
    }

    /// The prompt, default, min and max as a session reads them (`Session.questionRequest`): by
    /// the index of each in the details box's array, in place.
    private func inPlace(_ q: QuestionInfo) -> [Value?] {
        guard let details = q.detailsBox else { return [nil, nil, nil, nil] }
        return details.expressions.withUnsafeBufferPointer { es in
            (0..<4).map { k in details.at[k] < 0 ? nil : number(es[Int(details.at[k])]) }
        }
    }

    func testPropertiesAreSetReplacedAndUnsetByName() {
        var q = QuestionInfo(name: "Amount", type: .number, prompt: nil, defaultValue: nil, optional: false, min: constant(1), max: nil,
                             pattern: nil, options: [], range: SourceRange(file: FileID(0), start: 0, end: 1))
        XCTAssertEqual(inPlace(q), [nil, nil, .number(1), nil])
        q.max = constant(9)
        q.prompt = constant(5)
        XCTAssertEqual(inPlace(q), [.number(5), nil, .number(1), .number(9)])
        q.min = constant(2)
        XCTAssertEqual([number(q.prompt), number(q.defaultValue), number(q.min), number(q.max)], [.number(5), nil, .number(2), .number(9)])
        XCTAssertEqual(inPlace(q), [.number(5), nil, .number(2), .number(9)])

        // A copy keeps its own values once either is changed (the box is shared until then).
        var copy = q
        copy.min = nil
        copy.defaultValue = constant(7)
        XCTAssertEqual(inPlace(copy), [.number(5), .number(7), nil, .number(9)])
        XCTAssertEqual(inPlace(q), [.number(5), nil, .number(2), .number(9)])
        XCTAssertNil(copy.min)
        // Unset, then set again.
        copy.min = constant(3)
        XCTAssertEqual(inPlace(copy), [.number(5), .number(7), .number(3), .number(9)])
    }

    func testAQuestionWithoutDetailsHasNoExpressions() {
        let q = QuestionInfo(name: "Name", type: .text, prompt: nil, defaultValue: nil, optional: true, min: nil, max: nil,
                             pattern: nil, options: [], range: SourceRange(file: FileID(0), start: 0, end: 1))
        XCTAssertFalse(q.hasDetails)
        XCTAssertEqual(inPlace(q), [nil, nil, nil, nil])
    }

    /// The pages the compiler makes: a lone question is a page of one named after it, a page
    /// lists its questions in order; each question has its name, its `Page.Question` reference,
    /// its type and the range of its name, whichever way its page was made (a lone question's
    /// in one go, a page's one question at a time).
    func testPagesHoldTheirQuestionsWithReferencesTypesAndRanges() throws {
        let source = """
            flow Main {
              question Amount: currency
              page Card Holder {
                question First Name
                question Age: number
              }
              question `Zip Code`: text {
                prompt "Your zip code?"
              }
              question Amount Again: number
              response "{Amount.Amount} {Card Holder.Age} {Zip Code.Zip Code} {Amount Again.Amount Again}"
            }
            """
        let compiled = compile(source)
        XCTAssertEqual(compiled.diagnostics.map(\.message), [])
        let pages = try XCTUnwrap(compiled.program).flows[0].pages
        let bytes = Array(source.utf8)
        func text(_ r: SourceRange) -> String { String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self) }
        XCTAssertEqual(pages.map(\.name), ["Amount", "Card Holder", "Zip Code", "Amount Again"])
        XCTAssertEqual(pages.map(\.isLoneQuestion), [true, false, true, true])
        XCTAssertEqual(pages.map { $0.questions.map(\.name) }, [["Amount"], ["First Name", "Age"], ["Zip Code"], ["Amount Again"]])
        XCTAssertEqual(pages.map { $0.questions.map(\.reference) },
                       [["Amount.Amount"], ["Card Holder.First Name", "Card Holder.Age"], ["Zip Code.Zip Code"], ["Amount Again.Amount Again"]])
        XCTAssertEqual(pages.map { $0.questions.map(\.type) }, [[.currency], [.text, .number], [.text], [.number]])
        XCTAssertEqual(pages.map { $0.questions.map { text($0.range) } }, [["Amount"], ["First Name", "Age"], ["`Zip Code`"], ["Amount Again"]])
    }

    /// A flow of more pages than a small table holds (past 4,096, its table of page names is
    /// made at its size, not grown): every page is found by its reference, and a page named
    /// twice is reported once, at the second, with a note at the first.
    func testALongQuestionnaireFindsEveryPageAndItsOneRepeat() throws {
        let count = 5_000
        var source = "flow Long {\n"
        for k in 0..<count { source += "  question Q\(k): number\n" }
        source += "  question Q17: number\n"
        source += "  response \"{Q0.Q0 + Q4999.Q4999}\"\n}\n"
        let compiled = compile(source)
        let errors = compiled.diagnostics.filter { $0.severity == .error }
        XCTAssertEqual(errors.count, 1, "\(errors.map(\.message))")
        let bytes = Array(source.utf8)
        func text(_ r: SourceRange?) -> String { r.map { String(decoding: bytes[Int($0.start)..<Int($0.end)], as: UTF8.self) } ?? "" }
        let again = try XCTUnwrap(errors.first)
        XCTAssertEqual(text(again.range), "Q17")
        XCTAssertEqual(Int(again.range.start), source.utf8.count - "Q17: number\n  response \"{Q0.Q0 + Q4999.Q4999}\"\n}\n".utf8.count)
        XCTAssertEqual(again.notes.map { text($0.range) }, ["Q17"])
        let first = try XCTUnwrap(again.notes.first?.range)
        XCTAssertEqual(Int(first.start), "flow Long {\n".utf8.count + (0..<17).map { "  question Q\($0): number\n".utf8.count }.reduce(0, +) + "  question ".utf8.count)

        let fine = compile(source.replacingOccurrences(of: "  question Q17: number\n  response", with: "  response"))
        XCTAssertEqual(fine.diagnostics.filter { $0.severity == .error }.map(\.message), [])
        let pages = try XCTUnwrap(fine.program).flows[0].pages
        XCTAssertEqual(pages.count, count)
        XCTAssertEqual(pages[4999].questions.map(\.reference), ["Q4999.Q4999"])
    }
}
