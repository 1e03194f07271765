@testable import FlowKit
import XCTest

/// Read-before-set is dataflow over the element graph (SSA form over the dominator tree, see
/// ReadBeforeSet.swift). These tests hold it to the plain definition on flows generated at
/// random from nested decisions and loops, whose answer is known as they are written, and check
/// that its cost grows with the flow, not with the flow times its variables.
final class ReadBeforeSetTests: XCTestCase {
    /// A small deterministic generator (SplitMix64): the same flows on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Writes a flow of one statement per line and says which lines read a variable that some
    /// path leaves unset: the definitely-set variables are followed through the structure
    /// (both branches of an `if` and `else`: those set on both; a loop `label … if Q { goto }`:
    /// its body runs at least once, and a later turn only sets more).
    struct FlowWriter {
        var random: Random
        // Every variable is set somewhere (inside a decision, so no path needs it), else a read
        // of it would be an unknown name.
        var lines: [String] = ["flow Generated {", "  question Q: yesno", "  if Q {"]
            + ["a", "b", "c", "d", "e"].map { "    set \($0) = 0" } + ["  }"]
        var expected: Set<Int> = []
        var labels = 0
        var pages = 0
        let variables = ["a", "b", "c", "d", "e"]
        /// Calls with and without `on error`, pages, `finish success` with an output: flows for
        /// comparing the two ways of checking, whose answer `expected` does not follow.
        var rich = false

        mutating func emit(_ text: String, depth: Int) { lines.append(String(repeating: "  ", count: depth + 1) + text) }

        mutating func read(_ v: String, _ set: Set<String>) {
            if !set.contains(v) { expected.insert(lines.count + 1) }  // 1-based line of the next line
        }

        mutating func block(depth: Int, _ set: Set<String>, length: Int) -> Set<String> {
            var set = set
            for _ in 0..<length {
                switch random.below(depth >= 3 ? 3 : rich ? 9 : 6) {
                case 0:
                    let v = variables[random.below(variables.count)]
                    emit("set \(v) = 1", depth: depth)
                    set.insert(v)
                case 1:
                    let v = variables[random.below(variables.count)]
                    let w = variables[random.below(variables.count)]
                    read(w, set)
                    emit("set \(v) = \(w) + 1", depth: depth)
                    set.insert(v)
                case 2:
                    let w = variables[random.below(variables.count)]
                    read(w, set)
                    emit("response \"{\(w)}\"", depth: depth)
                case 3:
                    emit("if Q {", depth: depth)
                    let a = block(depth: depth + 1, set, length: 1 + random.below(3))
                    emit("} else {", depth: depth)
                    let b = block(depth: depth + 1, set, length: 1 + random.below(3))
                    emit("}", depth: depth)
                    set = a.intersection(b)
                case 4:
                    emit("if Q {", depth: depth)
                    _ = block(depth: depth + 1, set, length: 1 + random.below(3))
                    emit("}", depth: depth)
                case 6 where rich:
                    // A call whose outputs hold on its `next` edge only, with or without an
                    // `on error` block that goes on after it.
                    let v = variables[random.below(variables.count)]
                    let w = variables[random.below(variables.count)]
                    read(w, set)
                    emit("call Sub(\(w)) -> (y: \(v))", depth: depth)
                    if random.below(2) == 0 {
                        emit("on error {", depth: depth)
                        _ = block(depth: depth + 1, set, length: 1 + random.below(2))
                        emit("}", depth: depth)
                    } else {
                        set.insert(v)
                    }
                case 7 where rich:
                    // A page asked, then an answer read (of this page or of another).
                    pages += 1
                    emit("question P\(pages): number", depth: depth)
                    let p = 1 + random.below(pages)
                    emit("response \"{P\(p)}\"", depth: depth)
                case 8 where rich:
                    emit("if Q {", depth: depth)
                    if random.below(2) == 0 { emit("set out = 1", depth: depth + 1) }
                    emit("finish success", depth: depth + 1)
                    emit("}", depth: depth)
                default:
                    labels += 1
                    let label = "L\(labels)"
                    emit("label \(label)", depth: depth)
                    set = block(depth: depth, set, length: 1 + random.below(3))
                    emit("if Q {", depth: depth)
                    emit("goto \(label)", depth: depth + 1)
                    emit("}", depth: depth)
                }
            }
            return set
        }
    }

    func testAgreesWithTheDefinitionOnGeneratedFlows() {
        agreesWithTheDefinition()
    }

    /// The same flows through the SSA form, which only flows that read more than 64 variables
    /// and pages take otherwise.
    func testAgreesWithTheDefinitionInSSAForm() {
        ReadBeforeSet.alwaysSSA = true
        defer { ReadBeforeSet.alwaysSSA = false }
        agreesWithTheDefinition()
    }

    /// Both ways report the same diagnostics, at the same places, on generated flows with
    /// calls and their error edges, pages and outputs (half of them with 71 more pages and
    /// variables that nothing reads), and on every example flow. Fails when either way drops an
    /// edge's definitions or a read, or when the bits are not numbered over the tracked ones.
    func testBitSetsAndSSAFormReportTheSame() throws {
        var sources: [String] = []
        for seed in 0..<300 {
            var writer = FlowWriter(random: Random(state: UInt64(seed) &+ 10_000))
            writer.rich = true
            writer.lines[0] = "flow Generated -> (out: number) {"
            _ = writer.block(depth: 0, [], length: 3 + writer.random.below(10))
            writer.lines.append("}")
            if seed % 2 == 1 {
                // Pages and variables read nowhere, before the rest: more than 64 in all, so the
                // bits of those read are not their numbers in the flow.
                writer.lines.insert(contentsOf: (0..<70).map { "  question Pad\($0): text" } + ["  set unread = 1"], at: 1)
            }
            writer.lines += ["flow Sub(n: number) -> (y: number) {", "  set y = n", "}"]
            sources.append(writer.lines.joined(separator: "\n") + "\n")
        }
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("flows")
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() where name.hasSuffix(".flow") {
            sources.append(try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8))
        }
        var reports = 0
        for source in sources {
            guard let found = readsBeforeSetsAgreeWithTheSSAForm(source) else { return }
            reports += found
        }
        // The generated flows do read before setting, on every kind of way.
        XCTAssertGreaterThan(reports, 300)
    }

    /// A flow whose reachable elements are one line (no decision, no error edge, no jump back)
    /// takes its own way (`unsetReadsInLine`); it reports what the SSA form reports. Random lines
    /// of `set`s (some compound), questions, answers and variables read before or after they are
    /// set, outputs set or not, and a `finish` or a jump forward that leaves the rest unreached;
    /// with a decision or a jump back the flow takes the other ways, and is compared too.
    func testALineReportsWhatTheSSAFormReports() {
        var reports = 0
        for seed in 0..<400 {
            var random = Random(state: UInt64(seed) &+ 50_000)
            var lines = ["flow Line -> (out: number) {"]
            let variables = 2 + random.below(6)
            var questions = 0
            for k in 0..<(3 + random.below(25)) {
                let v = "v\(random.below(variables))", w = "v\(random.below(variables))"
                switch random.below(12) {
                case 0, 1, 2: lines.append("  set \(v) = \(w) + \(k)")
                case 3: lines.append("  set \(v) += 1")
                case 4: lines.append("  set \(v) = \(k)")
                case 5:
                    lines.append("  question Q\(questions): number")
                    questions += 1
                case 6: if questions > 0 || random.below(2) == 0 { lines.append("  response \"{Q\(random.below(questions + 1)).Q\(random.below(questions + 1))}\"") }
                case 7: lines.append("  response \"{\(w)}\"")
                case 8: lines.append("  set out = \(w)")
                case 9: if random.below(4) == 0 { lines.append("  finish success \"done\"") }
                case 10: if random.below(5) == 0 { lines.append("  if \(w) > 2 {\n    set \(v) = 1\n  }") }
                default: if random.below(6) == 0 { lines.append(random.below(2) == 0 ? "  goto end\(k)\n  label end\(k)" : "  label top\(k)\n  set \(v) = 1") }
                }
            }
            lines.append("}")
            guard let found = readsBeforeSetsAgreeWithTheSSAForm(lines.joined(separator: "\n") + "\n") else { return }
            reports += found
        }
        XCTAssertGreaterThan(reports, 300)
    }

    /// Compiles `source` the default way and with every flow put through the SSA form, asserts
    /// that both report the same, and returns how many reads before sets (of variables, answers
    /// and outputs) they report; nil when they differ.
    private func readsBeforeSetsAgreeWithTheSSAForm(_ source: String) -> Int? {
        func shown(_ r: Compilation) -> [String] {
            r.diagnostics.map { "\($0.id) \($0.range.start)..<\($0.range.end) \($0.message)" }
        }
        let byDefault = shown(compile(source))
        ReadBeforeSet.alwaysSSA = true
        let ssa = shown(compile(source))
        ReadBeforeSet.alwaysSSA = false
        XCTAssertEqual(byDefault, ssa, source)
        guard byDefault == ssa else { return nil }
        return byDefault.filter { $0.hasPrefix("check.readBeforeSet") || $0.hasPrefix("check.answerBeforeAsked")
            || $0.hasPrefix("check.outputNotSet") }.count
    }

    private func agreesWithTheDefinition() {
        for seed in 0..<300 {
            var writer = FlowWriter(random: Random(state: UInt64(seed)))
            _ = writer.block(depth: 0, [], length: 3 + writer.random.below(8))
            writer.lines.append("}")
            let source = writer.lines.joined(separator: "\n") + "\n"
            let result = compile(source)
            var found: Set<Int> = []
            for d in result.diagnostics where d.id == "check.readBeforeSet" {
                found.insert(result.sources[d.range.file].location(of: Int(d.range.start)).line)
            }
            XCTAssertEqual(found, writer.expected, "seed \(seed):\n\(source)")
            if found != writer.expected { return }
        }
    }

    /// Many generated flows in one file, checked in one compile: each flow's reads are reported
    /// as when it is alone. The checks of a thread reuse their arrays from flow to flow
    /// (`CheckScratch`); fails when a reused array keeps what the flow before left in it.
    func testFlowsCheckedOneAfterAnotherAgreeWithTheDefinition() {
        var lines: [String] = []
        var expected: Set<Int> = []
        for seed in 0..<250 {
            var writer = FlowWriter(random: Random(state: UInt64(1_000 + seed)))
            // Short and long flows in turn, so a reused array is sometimes longer than needed.
            _ = writer.block(depth: 0, [], length: seed % 3 == 0 ? 12 + writer.random.below(10) : 1 + writer.random.below(4))
            writer.lines.append("}")
            writer.lines[0] = "flow Generated \(seed) {"
            expected.formUnion(writer.expected.map { $0 + lines.count })
            lines += writer.lines
        }
        let source = lines.joined(separator: "\n") + "\n"
        let result = compile(source)
        var found: Set<Int> = []
        for d in result.diagnostics where d.id == "check.readBeforeSet" {
            found.insert(result.sources[d.range.file].location(of: Int(d.range.start)).line)
        }
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(found.subtracting(expected).sorted(), [], "reported, not expected")
        XCTAssertEqual(expected.subtracting(found).sorted(), [], "expected, not reported")
    }

    func testOutputsSetOnSomePathsOnly() {
        assertDiagnostics("""
            flow Sub(x: number) -> (y: number) {
              if x > 1 {
                set y = 1
              }
              1️⃣finish success
            }
            flow Main {
              call Sub(x: 2) -> (y: z)
              response "{z}"
            }
            """, [DiagnosticSpec("check.outputNotSet", "'y'")])
        assertClean("""
            flow Sub(x: number) -> (y: number) {
              label Again
              set y = x
              if y > 1 {
                goto Again
              }
              finish success
            }
            flow Main {
              call Sub(x: 2) -> (y: z)
              response "{z}"
            }
            """)
    }

    /// One flow of many questions and many `set` lines: a fact per element per variable would
    /// take gigabytes here; the check's work must grow with the flow.
    func testOneLargeFlowIsCheckedInLinearSpace() {
        var source = "flow Big {\n  set v0 = 1\n"
        let n = 20_000
        for k in 1..<n {
            source += "  question Q\(k): text\n  set v\(k) = v\(k - 1) + 1\n"
        }
        source += "  response \"{v\(n - 1)} {Q1} {Q\(n - 1)} {w}\"\n  set w = 1\n}\n"
        let result = compile(source)
        let ids = result.diagnostics.map(\.id)
        XCTAssertEqual(ids.filter { $0 == "check.readBeforeSet" }.count, 1, "\(ids.prefix(5))")
    }
}
