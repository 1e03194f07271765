@testable import FlowKit
import Foundation
import Synchronization
import XCTest

/// A page made only of constants is made once for the program and shared by its sessions
/// (`ConstantPages`); any other page is made for each session, as before.
final class ConstantPagesTests: XCTestCase {
    static let source = """
        config GREETING = "Hello"
        flow Main(name: text = "Ann") {
          page Fixed {
            title "Your payment"
            question Amount: currency {
              prompt "How much?"
              min 0.50
              max 10000
            }
            question Reason: choice {
              options "Bill", "Refund"
            }
          }
          question Named: text {
            prompt "{GREETING}, {name}?"
          }
          response "{Fixed.Amount} {Fixed.Reason} {Named.Named}"
        }
        """

    private func page(_ result: StepResult, file: StaticString = #filePath, line: UInt = #line) throws -> PageRequest {
        guard case .ask(let page) = result.step else {
            XCTFail("expected a page, got \(result.step)", file: file, line: line)
            throw CancellationError()
        }
        return page
    }

    func testAConstantPageIsMadeOnceAndItsAnswersAreReadAgainstIt() throws {
        let p = try program(Self.source)
        let kept = try XCTUnwrap(p.constantPages)
        guard case .unseen = kept.lookUp(flow: 0, page: 0, of: 2) else { return XCTFail("kept before any session asked") }
        let first = try Session(program: p, options: RuntimeOptions(today: { "2026-11-26" }))
        let asked = try page(first.start())
        XCTAssertEqual(asked.title, "Your payment")
        XCTAssertEqual(asked.questions.map(\.prompt), ["How much?", "Reason"])
        XCTAssertEqual(asked.questions[1].options, ["Bill", "Refund"])
        XCTAssertFalse(asked.canGoBack)
        guard case .constant(let request) = kept.lookUp(flow: 0, page: 0, of: 2) else { return XCTFail("the constant page is not kept") }
        XCTAssertEqual(request.questions, asked.questions)

        // A second session is asked the same page, and its answers are read against it: the
        // bounds and the options hold.
        let second = try Session(program: p, options: RuntimeOptions(today: { "2026-11-26" }))
        let again = try page(second.start())
        XCTAssertEqual(again.questions, asked.questions)
        XCTAssertEqual(again.title, asked.title)
        let refused = try page(second.resume(.answers(["Fixed.Amount": "0.10", "Fixed.Reason": "Gift"])))
        XCTAssertEqual(refused.problems.keys.sorted(), ["Amount", "Reason"])
        XCTAssertEqual(refused.questions, asked.questions)
        let next = try page(second.resume(.answers(["Fixed.Amount": "4", "Fixed.Reason": "refund"])))
        XCTAssertEqual(next.questions.map(\.prompt), ["Hello, Ann?"])
    }

    func testAPageWithSubstitutionsIsMadeForEachSession() throws {
        let p = try program(Self.source)
        var prompts: [String] = []
        for name in ["Ann", "Bo"] {
            let s = try Session(program: p, options: RuntimeOptions(arguments: ["name": name], today: { "2026-11-26" }))
            _ = try s.start()
            let named = try page(s.resume(.answers(["Fixed.Amount": "4", "Fixed.Reason": "Bill"])))
            prompts.append(named.questions[0].prompt)
            let done = try s.resume(.answers(["Named.Named": name.lowercased()]))
            XCTAssertEqual(done.responses, ["4.00 Bill \(name.lowercased())"])
        }
        XCTAssertEqual(prompts, ["Hello, Ann?", "Hello, Bo?"])
        guard case .notConstant = p.constantPages!.lookUp(flow: 0, page: 1, of: 2) else { return XCTFail("a page with substitutions was kept") }
        XCTAssertNil(p.constantPages!.questions(flow: 0, page: 1))
    }

    /// A config is not a constant of the program: a host may give each session other values.
    func testAPageThatShowsAConfigIsMadeForEachSession() throws {
        let p = try program("""
            config CURRENCY = "USD"
            flow Main {
              question Amount: currency {
                prompt "How much, in {CURRENCY}?"
              }
            }
            """)
        var prompts: [String] = []
        for currency in ["USD", "EUR"] {
            let s = try Session(program: p, options: RuntimeOptions(configs: ["CURRENCY": currency]))
            prompts.append(try page(s.start()).questions[0].prompt)
        }
        XCTAssertEqual(prompts, ["How much, in USD?", "How much, in EUR?"])
        guard case .notConstant = p.constantPages!.lookUp(flow: 0, page: 0, of: 1) else { return XCTFail("a page that shows a config was kept") }
    }

    func testAFlowOfMoreThanTheLimitOfPagesKeepsNone() throws {
        let count = ConstantPages.limit + 1
        let source = "flow Long {\n" + (0..<count).map { "  question Q\($0): text\n" }.joined() + "}\n"
        let p = try program(source)
        XCTAssertEqual(p.flows[0].pages.count, count)
        let s = try Session(program: p)
        XCTAssertEqual(try page(s.start()).questions.map(\.name), ["Q0"])
        XCTAssertEqual(try page(s.resume(.answers(["Q0.Q0": "a"]))).questions.map(\.name), ["Q1"])
        XCTAssertNil(p.constantPages!.questions(flow: 0, page: 0))
        XCTAssertNil(p.constantPages!.questions(flow: 0, page: 1))
        // One page fewer, and the pages asked are kept.
        let shorter = try program("flow Long {\n" + (0..<ConstantPages.limit).map { "  question Q\($0): text\n" }.joined() + "}\n")
        _ = try Session(program: shorter).start()
        XCTAssertEqual(shorter.constantPages!.questions(flow: 0, page: 0)?.map(\.name), ["Q0"])
    }

    func testAProgramWhoseFlowsChangeKeepsNothingOfBefore() throws {
        let p = try program(Self.source)
        _ = try Session(program: p).start()
        var changed = p
        changed.flows[0].pages[0].questions[0].name = "Sum"
        XCTAssertNil(changed.constantPages)
        XCTAssertEqual(try page(Session(program: changed).start()).questions.map(\.name), ["Sum", "Reason"])
        XCTAssertEqual(try page(Session(program: p).start()).questions.map(\.name), ["Amount", "Reason"])
        // A program is a value over one shared box: what a copy changes, and what that drops, is
        // the copy's alone.
        XCTAssertNotNil(p.constantPages, "the original's pages were dropped with the copy's")
        XCTAssertNotNil(p.literalConfigs)
        var reconfigured = p
        reconfigured.configs = []
        reconfigured.entry = 7
        XCTAssertNil(reconfigured.literalConfigs)
        XCTAssertNotNil(p.literalConfigs, "the original's configs were dropped with the copy's")
        XCTAssertEqual(p.entry, 0)
        XCTAssertNotNil(reconfigured.constantPages, "the flows did not change")
    }

    /// Sessions of one program on many threads at once (as in a server) each get the page whole,
    /// whichever of them made it first.
    func testSessionsOnManyThreadsShareThePage() throws {
        let p = try program(Self.source)
        let threads = 8, each = 100
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<each {
                guard let s = try? Session(program: p, options: RuntimeOptions(today: { "2026-11-26" })),
                      case .ask(let page)? = try? s.start().step,
                      case .ask(let next)? = try? s.resume(.answers(["Fixed.Amount": "7.25", "Fixed.Reason": "Bill"])).step,
                      page.title == "Your payment", page.questions.map(\.prompt) == ["How much?", "Reason"],
                      next.questions.map(\.prompt) == ["Hello, Ann?"]
                else {
                    wrong.withLock { $0 += 1 }
                    continue
                }
            }
        }
        XCTAssertEqual(wrong.withLock { $0 }, 0)
        guard case .constant = p.constantPages!.lookUp(flow: 0, page: 0, of: 2) else { return XCTFail("the constant page is not kept") }
    }
}
