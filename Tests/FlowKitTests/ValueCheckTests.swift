@testable import FlowKit
import XCTest

/// The checks the constant evaluator enables (issue 14), with exact spans, and what they must
/// leave alone.
final class ValueCheckTests: XCTestCase {
    /// Only decisions and comparisons read what the solver knows of locals: a flow with neither
    /// is marked so, and a program whose flows are all so is not solved for. A flow with either
    /// is solved for, and its facts still decide (the constant condition below, through `set`s).
    func testOnlyDecisionsAndComparisonsNeedTheSolvedFacts() throws {
        let plain = try XCTUnwrap(assertClean("""
            flow A {
              set x = 1
              set y = x + 1
              response "{y}"
            }
            """))
        XCTAssertEqual(plain.flows.map(\.readsLocalFacts), [false])

        let compared = try XCTUnwrap(assertClean("""
            flow A {
              question Amount: number
              set big = Amount.Amount > 100
              response "{big}"
            }
            flow B {
              set y = 2
              response "{y}"
            }
            """))
        XCTAssertEqual(compared.flows.map(\.readsLocalFacts), [true, false])

        let decided = compile("""
            flow A {
              set x = 1
              set y = x + 1
              if y == 2 {
                response "two"
              }
            }
            """)
        XCTAssertEqual(decided.program?.flows.map(\.readsLocalFacts), [true])
        XCTAssertEqual(decided.diagnostics.map(\.id), ["check.constantCondition"])
    }

    func testAnOptionFlowsThroughSetArgumentsAndOutputs() {
        assertDiagnostics("""
            flow Support {
              question Product: choice {
                options "Router", "Mobile app", "Billing"
              }
              set product = Product
              if product == 1️⃣"Biling"2️⃣ {
                response "billing"
              }
              call Triage(Product) -> (queue: queue)
              response "{queue}"
            }
            flow Triage(product: text) -> (queue: text) {
              set queue = "general"
              if 3️⃣"Routr"4️⃣ == product {
                set queue = "network"
              }
            }
            """, [
                DiagnosticSpec("check.notAnOption", "'Biling' is not an option of 'Product.Product'", at: "1️⃣", to: "2️⃣"),
                DiagnosticSpec("check.notAnOption", "did you mean 'Router'?", at: "3️⃣", to: "4️⃣"),
            ])
    }

    func testTheRulesOfAQuestion() {
        assertDiagnostics("""
            flow Survey {
              question Age: number {
                default 1️⃣99
                min 2️⃣60
                max 50
              }
              question Code: text {
                pattern 3️⃣"[0-9]\\{4\\}"
                max 3
              }
              question Pick: choice {
                options "A", 4️⃣"a"
              }
              response "{Age} {Code} {Pick}"
            }
            """, [
                DiagnosticSpec("check.defaultOutOfRange", at: "1️⃣"),
                DiagnosticSpec("check.minAboveMax", "'min' (60) is above 'max' (50)", at: "2️⃣"),
                DiagnosticSpec("check.patternNeverFits", at: "3️⃣"),
                DiagnosticSpec("check.duplicateOption", at: "4️⃣"),
            ])
    }

    /// Each option given again is reported at the repeat, with a note at its first place, in a
    /// short list (looked for among those before) and in a long one (a table): the same either way.
    func testDuplicateOptionsInShortAndLongListsNameTheFirst() throws {
        for count in [3, 16, 17, 40] {
            var options = (0..<count).map { "\"Option \($0)\"" }
            // The second option again (in other case), and the last one twice more.
            options.append("\"OPTION 1\"")
            options += ["\"Option \(count - 1)\"", "\"option \(count - 1)\""]
            let source = """
                flow Main {
                  question Pick: choice {
                    options \(options.joined(separator: ", "))
                  }
                  response "{Pick}"
                }
                """
            let result = compile(source)
            let duplicates = result.diagnostics.filter { $0.id == "check.duplicateOption" }
            let text = Array(source.utf8)
            func quoted(_ r: SourceRange) -> String { String(decoding: text[Int(r.start)..<Int(r.end)], as: UTF8.self) }
            XCTAssertEqual(duplicates.map { quoted($0.range) }, ["\"OPTION 1\"", "\"Option \(count - 1)\"", "\"option \(count - 1)\""], "\(count)")
            XCTAssertEqual(duplicates.map { $0.notes.first?.range.map(quoted) },
                           ["\"Option 1\"", "\"Option \(count - 1)\"", "\"Option \(count - 1)\""], "\(count)")
        }
    }

    func testWhatAConfigDecidesIsAWarningNamingIt() throws {
        let result = compile("""
            config ZERO = 0
            flow Main {
              question N: number
              set x = N / ZERO
              response "{x}"
            }
            """)
        XCTAssertEqual(result.diagnostics.map(\.id), ["check.divisionByZero"])
        XCTAssertEqual(result.diagnostics.first?.severity, .warning)
        XCTAssertTrue(result.diagnostics.first?.notes.first?.message.contains("'ZERO'") ?? false)
        XCTAssertNotNil(result.program, "a warning does not stop the flow")
    }

    func testElseIfNeverTakenAndConditionsDecidedByConstants() {
        assertDiagnostics("""
            flow Pay {
              question Amount: number
              set mode = "sms"
              if 1️⃣mode == "email"2️⃣ {
                response "mail"
              }
              if Amount >= 100 {
                response "large"
              } else if 3️⃣Amount > 500 and mode == "sms"4️⃣ {
                response "very large"
              }
            }
            """, [
                DiagnosticSpec("check.constantCondition", "always false", at: "1️⃣", to: "2️⃣", severity: .warning),
                DiagnosticSpec("check.unreachableElseIf", at: "3️⃣", to: "4️⃣"),
            ])
    }

    /// Counters, yes/no answers, loops, narrower conditions first, options compared rightly,
    /// parameters the host gives: nothing to say.
    func testOrdinaryFlowsAreLeftAlone() {
        assertClean("""
            config LIMIT = 3
            flow Main(channel: text = "sms") {
              question Product: choice {
                options "Router", "Billing"
              }
              question Down: yesno
              set tries = 0
              set found = false
              label Again
              set tries += 1
              if Product == "Billing" or Down {
                set found = true
              }
              if tries < LIMIT and not found {
                goto Again
              }
              if tries > 500 {
                response "many"
              } else if tries > 100 {
                response "some"
              }
              if channel == "email" {
                response "mail"
              }
            }
            """)
    }

    /// The evaluator keeps each flow's locals at an offset in flat arrays: a flow with no locals
    /// between two others must not shift where a sub-flow's output is found.
    func testAnOptionFlowsThroughAnOutputPastAFlowWithoutVariables() {
        assertDiagnostics("""
            flow Support {
              question Product: choice {
                options "Router", "Billing"
              }
              call Nothing
              call Pick(Product) -> (choice: picked)
              if picked == 1️⃣"Biling"2️⃣ {
                response "billing"
              }
            }
            flow Nothing {
              response "nothing"
            }
            flow Pick(product: text) -> (choice: text) {
              set choice = product
            }
            """, [
                DiagnosticSpec("check.notAnOption", "did you mean 'Billing'?", at: "1️⃣", to: "2️⃣"),
            ])
    }

    /// A long chain of `set`s is solved (each value known) in linear time: 20,000 links.
    func testALongChainOfSetsIsKnownToItsEnd() {
        var text = "flow Chain {\n  set v0 = 1\n"
        for k in 1..<20_000 { text += "  set v\(k) = v\(k - 1) + 1\n" }
        text += "  if v19999 == 20000 {\n    response \"{v19999}\"\n  }\n}\n"
        let result = Frontend.compile(source: text)
        // The condition is decided by constants all along the chain: the checker says so.
        XCTAssertEqual(result.diagnostics.map(\.id), ["check.constantCondition"], "\(result.diagnostics.map(\.message))")
    }

    /// A value that reaches a local through a `set` later in the text than where it is read: the
    /// solver evaluates a local again when one it reads has changed, over as many rounds as the
    /// links go backwards (here two), and must not stop with `b` still empty (unknown).
    func testAValueThatFlowsBackwardsThroughTheTextIsKnown() {
        assertDiagnostics("""
            flow Main {
              goto Start
              label Use
              set a = c
              set b = a
              if 1️⃣b == "y"2️⃣ {
                response "yes"
              }
              if 3️⃣b == "z"4️⃣ {
                response "zed"
              }
              finish success "done"
              label Start
              set c = "y"
              goto Use
            }
            """, [
                DiagnosticSpec("check.constantCondition", "always true", at: "1️⃣", to: "2️⃣", severity: .warning),
                DiagnosticSpec("check.constantCondition", "always false", at: "3️⃣", to: "4️⃣", severity: .warning),
            ])
    }

    /// Every kind of place a local's value comes from is read by the solver: a call's argument,
    /// a parameter's default when a call leaves it out, an output's default when the sub-flow
    /// never sets it, and a sub-flow's output. Each fails when the solver skips it: `n` holds 1
    /// and 7 (`n > 0` is always true only when both are known, `n > 3` is decided by neither),
    /// and `f` is known only through `Flag`'s default.
    func testValuesComeFromDefaultsArgumentsAndOutputs() {
        assertDiagnostics("""
            flow Main {
              call Check(1) -> (ok: a)
              call Check -> (ok: b)
              call Flag -> (flag: f)
              if 1️⃣f == 02️⃣ {
                response "{a} {b}"
              }
            }
            flow Check(n: number = 7) -> (ok: bool) {
              set ok = false
              if 3️⃣n > 04️⃣ {
                set ok = true
              }
              if n > 3 {
                set ok = false
              }
            }
            flow Flag -> (flag: number = 0) {
              response "flag"
            }
            """, [
                DiagnosticSpec("check.constantCondition", "always true", at: "1️⃣", to: "2️⃣", severity: .warning),
                DiagnosticSpec("check.constantCondition", "always true", at: "3️⃣", to: "4️⃣", severity: .warning),
            ])
    }

    /// A question's rarer properties sit in a shared box: a copy changed must leave the original.
    func testAQuestionCopiedAndChangedLeavesTheOriginal() throws {
        let result = Frontend.compile(source: """
            flow Ask {
              question Amount: number {
                prompt "How much?"
                min 1
              }
              response "{Amount}"
            }
            """)
        let program = try XCTUnwrap(result.program, "\(result.diagnostics.map(\.message))")
        let original = program.flows[0].pages[0].questions[0]
        XCTAssertNotNil(original.prompt)
        XCTAssertNotNil(original.min)
        XCTAssertNil(original.max)
        var copy = original
        copy.min = nil
        copy.pattern = "[0-9]+"
        XCTAssertNil(copy.min)
        XCTAssertEqual(copy.pattern, "[0-9]+")
        XCTAssertNotNil(copy.prompt)
        XCTAssertNotNil(original.min)
        XCTAssertNil(original.pattern)
        XCTAssertNotNil(program.flows[0].pages[0].questions[0].min)
    }

    /// Every expression is looked into, at every depth and in every place one can be written:
    /// a division by zero inside each kind of expression (template part, list item, object
    /// field, index, member base, function argument, unary and binary operands) and in each
    /// place of a flow (page title, question prompt, default, min, max and options, call
    /// argument, response, set, condition, finish). Fails when the walk skips any of them.
    func testEveryExpressionIsLookedInto() {
        assertDiagnostics("""
            flow Main {
              page Info {
                title "T {1️⃣1 / 0}"
                question Pick: choice {
                  prompt "P {text(2️⃣2 / 0)}"
                  options "a", text(3️⃣3 / 0)
                }
                question Count: number {
                  default 4️⃣4 / 0
                  min -5️⃣(5 / 0)
                  max 1 + 6️⃣6 / 0
                }
              }
              call Sub(7️⃣7 / 0) -> (ok: ok)
              set items = [1, 8️⃣8 / 0]
              set object = {"n": 9️⃣9 / 0}
              set item = items[🔟10 / 0]
              set field = {"n": 1}.n + 🅰️11 / 0
              if 🅱️12 / 0 > len([1, 2 + 🅲13 / 0]) {
                response "{item} {field} {object} {ok} {Info.Pick} {Info.Count} {🅳14 / 0}"
              }
              finish failure "F {🅴15 / 0}"
            }
            flow Sub(n: number) -> (ok: bool) {
              set ok = n > 0
            }
            """, (["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟", "🅰️", "🅱️", "🅲", "🅳", "🅴"]).map {
                DiagnosticSpec("check.divisionByZero", at: $0)
            })
    }

    /// A remainder by zero is found as a division is, in a flow and in an integration point's
    /// request (checked apart from the flows); a `finish` reason that reads a variable set on one
    /// branch only is a read before set. Fails when the walk tests only `/`, skips the
    /// integration points' expressions, or skips a finish's reason.
    func testRemaindersRequestsAndFinishReasons() {
        assertDiagnostics("""
            ip Charge(amount: number) {
              POST "https://x.test/charges"
              form {
                amount = 1️⃣amount / 0
              }
            }
            flow Main {
              question Big: yesno
              if Big {
                set note = "big"
              }
              set parts = 7 + 2️⃣7 % 0
              ip Charge(parts)
              finish failure "{3️⃣note}"
            }
            """, [
                DiagnosticSpec("check.divisionByZero", at: "1️⃣"),
                DiagnosticSpec("check.divisionByZero", at: "2️⃣"),
                DiagnosticSpec("check.readBeforeSet", "'note' may be read before it is set", at: "3️⃣"),
            ])
    }
}
