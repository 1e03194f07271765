@testable import FlowKit
import XCTest

/// A loop's `set` and `if` expressions, flattened once a session has run many steps (`HotCode`),
/// give what the tree gives: the same values, the same short cuts of `and` and `or`, the same
/// errors at the same ranges.
final class HotCodeTests: XCTestCase {
    static let loop = """
        config STEP = 2
        var Seen = 0
        flow Main {
          question Limit: number
          set i = 0
          set total = 0
          set tenths = 0
          set odd = 0
          set near = 0
          set words = ""
          set same = 0
          label Again
          set i += 1
          set Seen = Seen + 1
          set total = total + i * STEP - 1
          set tenths = tenths + 0.1
          if not (i % 2 == 0) and -i < 0 {
            set odd += 1
          }
          if i > Limit.Limit - 3 or 10 / (Limit.Limit - i) > 100 {
            set near += 1
            set words = words + "x"
          }
          // Each side of == short cut: the operations of the skipped operand are passed over.
          if (i > Limit.Limit - 3 or 10 / (Limit.Limit - i) > 100) == (i < 0 and 10 / (Limit.Limit - i) > 0) {
            set same += 1
          }
          if i < Limit.Limit {
            goto Again
          }
          response "{total} {tenths} {odd} {near} {Seen} {words} {same}"
        }
        """

    static let failing = """
        flow Main {
          question Limit: number
          set i = 0
          set q = 0
          label Again
          set i += 1
          set q = q + 10 / (Limit.Limit - i)
          if i < 100000 {
            goto Again
          }
          response "{q}"
        }
        """

    override func tearDown() {
        HotCode.threshold = 4096
    }

    /// Runs `source` to its end with `limit` answered, flattening from step `threshold` on.
    private func run(_ source: String, limit: Int, threshold: Int) throws -> (Result<[String], RuntimeError>, flattened: Bool) {
        HotCode.threshold = threshold
        let session = try Session(program: try program(source))
        _ = try session.start()
        do {
            let result = try session.resume(.answers(["Limit": String(limit)]))
            guard case .finished = result.step else { XCTFail("expected the end"); return (.success([]), false) }
            return (.success(result.responses), !session.hotCodes.isEmpty)
        } catch {
            return (.failure(error), !session.hotCodes.isEmpty)
        }
    }

    func testTheLoopGivesTheTreesValues() throws {
        for limit in [3, 10, 1000] {
            let (tree, treeFlattened) = try run(Self.loop, limit: limit, threshold: .max)
            let (flat, flatFlattened) = try run(Self.loop, limit: limit, threshold: 0)
            XCTAssertFalse(treeFlattened)
            XCTAssertTrue(flatFlattened)
            let expected = try tree.get()
            XCTAssertEqual(try flat.get(), expected, "limit \(limit)")
            XCTAssertEqual(expected.count, 1)
            // total is the sum of 2i - 1, the square; `near` counts the last three (the division
            // by zero at the last is never evaluated).
            XCTAssertTrue(expected[0].hasPrefix("\(limit * limit) "), expected[0])
            XCTAssertTrue(expected[0].hasSuffix(" \((limit + 1) / 2) 3 \(limit) xxx \(limit - 3)"), expected[0])
        }
        // The default threshold: a long loop is flattened part way, a short one never.
        HotCode.threshold = 4096
        let (long, longFlattened) = try run(Self.loop, limit: 1000, threshold: 4096)
        XCTAssertTrue(longFlattened)
        XCTAssertEqual(try long.get(), try run(Self.loop, limit: 1000, threshold: .max).0.get())
        XCTAssertFalse(try run(Self.loop, limit: 10, threshold: 4096).flattened)
    }

    func testAnErrorIsTheTreesAtTheSameRange() throws {
        for limit in [1, 7, 300] {
            let (tree, _) = try run(Self.failing, limit: limit, threshold: .max)
            let (flat, flattened) = try run(Self.failing, limit: limit, threshold: 0)
            XCTAssertTrue(flattened)
            guard case .failure(let a) = tree, case .failure(let b) = flat else { return XCTFail("expected division by zero") }
            XCTAssertEqual(a.diagnostic, b.diagnostic)
            XCTAssertEqual(a.diagnostic.message, RuntimeError(.divisionByZero, at: a.diagnostic.range).diagnostic.message)
        }
    }

    /// The integers path (`HotCode.small`) gives exactly the tree's value, down to the scale the
    /// number is kept at, or leaves it to the general path: every operator on small numbers of
    /// equal and unequal scales, on numbers at the edges of 64 bits (overflow) and past them
    /// (kept as decimals), and on yes/no values.
    func testTheIntegersPathGivesTheTreesValuesExactly() throws {
        let numbers = ["0", "1", "7", "-3", "2.5", "0.10", "1.000", "0.000000000000000001", "123456789012.345678",
                       "9223372036854775807", "-9223372036854775807", "92233720368547758070", "3037000500", "1000000000000"]
        let bools = ["true", "false"]
        let numberOperators = ["+", "-", "*", "%", "/", "<", "<=", ">", ">=", "==", "!="]
        let boolOperators = ["and", "or", "==", "!="]
        var cases: [(a: String, b: String, expression: String)] = []
        for a in numbers {
            cases.append((a, "1", "-a"))
            for b in numbers {
                for op in numberOperators { cases.append((a, b, "a \(op) b")) }
                cases.append((a, b, "(a < b) == (b < a)"))
                cases.append((a, b, "a * b - a"))
            }
        }
        for a in bools {
            cases.append((a, "true", "not a"))
            for b in bools {
                for op in boolOperators { cases.append((a, b, "a \(op) b")) }
            }
        }
        /// The value of `r` as kept, a number with its form and scale.
        func exact(_ v: Value?) -> String {
            guard case .number(let n)? = v else { return String(describing: v) }
            switch n.storage {
            case .small(let m, let s): return "small \(m) scale \(s)"
            case .large(let d): return "large \(d)"
            }
        }
        func run(_ p: Program, threshold: Int) -> String {
            HotCode.threshold = threshold
            do {
                let session = try Session(program: p)
                _ = try session.start()
                let slot = p.flows[0].variables.firstIndex(of: "r")!
                return exact(session.state.frames[0].locals[slot])
            } catch {
                return "error \(error.diagnostic.message) at \(error.diagnostic.range)"
            }
        }
        var compared = 0, onIntegers = 0
        for c in cases {
            let compilation = Frontend.compile(source: "flow Main {\n  set a = \(c.a)\n  set b = \(c.b)\n  set r = \(c.expression)\n  response \"{r}\"\n}\n")
            guard let p = compilation.program else { continue }  // a division by a constant zero, say
            let tree = run(p, threshold: .max)
            XCTAssertEqual(run(p, threshold: 0), tree, "\(c.expression) with a = \(c.a), b = \(c.b)")
            compared += 1
            if tree.hasPrefix("small") || tree.hasPrefix("Optional(FlowKit.Value.bool") { onIntegers += 1 }
        }
        // Most cases compile, and most of those are computed on integers (the rest overflow,
        // divide or are decimals).
        XCTAssertGreaterThan(compared, cases.count * 9 / 10)
        XCTAssertGreaterThan(onIntegers, compared / 2)

        // The two paths share their arithmetic on one scale (`HotCode.Small.atOneScale`): it is
        // checked here against `Number`'s own operators, which share nothing with it.
        let operators: [(BinaryOperator, (Number, Number) -> Value?)] = [
            (.add, { .number($0 + $1) }), (.subtract, { .number($0 - $1) }), (.multiply, { .number($0 * $1) }),
            (.remainder, { $1.isZero ? nil : .number($0 % $1) }),
            (.equal, { .bool($0 == $1) }), (.notEqual, { .bool(!($0 == $1)) }),
            (.less, { .bool($0 < $1) }), (.lessEqual, { .bool($0 < $1 || $0 == $1) }),
            (.greater, { .bool($1 < $0) }), (.greaterEqual, { .bool(!($0 < $1)) }),
        ]
        let anywhere = SourceRange(file: FileID(0), start: 0, end: 0)
        for a in numbers {
            for b in numbers {
                let (x, y) = (Number(parsing: a)!, Number(parsing: b)!)
                for (op, expected) in operators {
                    guard let want = expected(x, y) else { continue }
                    let got = try Arithmetic.binary(op, .number(x), .number(y), at: anywhere)
                    XCTAssertEqual(exact(got), exact(want), "\(a) \(op.rawValue) \(b)")
                }
            }
        }
    }

    /// What is not flattened (a text template, a call of a built-in) keeps the tree, in the same
    /// flow as what is.
    func testWhatIsNotFlattenedKeepsTheTree() throws {
        let p = try program("""
            flow Main {
              set i = 0
              set t = ""
              label Again
              set i += 1
              set t = "{len(t)}"
              if i < 3 {
                goto Again
              }
              response "{i} {t}"
            }
            """)
        let code = HotCode(p.flows[0])
        var seen = (templates: 0, constants: 0, conditions: 0)
        for (element, start) in zip(p.flows[0].elements, code.starts) {
            switch element.kind {
            case .set(_, _, let x):
                if case .template(let parts) = x.kind, !parts.isEmpty {
                    XCTAssertEqual(start, -1)
                    seen.templates += 1
                } else if case .constant = x.kind {
                    XCTAssertGreaterThanOrEqual(start, 0)
                    seen.constants += 1
                }
            case .decision:
                XCTAssertGreaterThanOrEqual(start, 0)
                seen.conditions += 1
            default:
                XCTAssertEqual(start, -1)
            }
        }
        XCTAssertEqual(seen.templates, 1)
        XCTAssertGreaterThanOrEqual(seen.constants, 2)
        XCTAssertEqual(seen.conditions, 1)
        HotCode.threshold = 0
        let session = try Session(program: p)
        XCTAssertEqual(try session.start().responses, ["3 1"])
    }
}
