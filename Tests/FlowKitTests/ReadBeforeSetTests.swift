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
        let variables = ["a", "b", "c", "d", "e"]

        mutating func emit(_ text: String, depth: Int) { lines.append(String(repeating: "  ", count: depth + 1) + text) }

        mutating func read(_ v: String, _ set: Set<String>) {
            if !set.contains(v) { expected.insert(lines.count + 1) }  // 1-based line of the next line
        }

        mutating func block(depth: Int, _ set: Set<String>, length: Int) -> Set<String> {
            var set = set
            for _ in 0..<length {
                switch random.below(depth >= 3 ? 3 : 6) {
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
