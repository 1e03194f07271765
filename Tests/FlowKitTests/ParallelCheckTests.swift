import Foundation
import XCTest

@testable import FlowKit

/// The graph checks of each flow run on a second thread while later flows are lowered
/// (`GraphCheckQueue`), and the value checks of the later flows on a second thread while this
/// one checks the earlier (`ValueChecks.run`). What a compile reports and builds must not depend
/// on that.
final class ParallelCheckTests: XCTestCase {
    /// Compiles `path` (through `loader`) with the graph checks on the second thread or here.
    /// `sorted`: the diagnostics sorted by position, else in the order the compiler gave them.
    private func compile(_ path: String, loader: any SourceLoader, parallel: Bool, sorted: Bool = true) -> Compiled {
        let sources = SourceManager()
        guard let bytes = try? loader.load(path: path) else {
            XCTFail("cannot read \(path)")
            return ([], "", [])
        }
        let root = sources.add(path: path, bytes: bytes)
        var diagnostics: [Diagnostic] = []
        let trees = ImportResolver.loadAll(root: root, sources: sources, loader: loader, diagnostics: &diagnostics)
        let program = Compiler.compile(trees, sources: sources, diagnostics: &diagnostics, releasingSyntax: true, parallel: parallel,
                                       parallelFrom: 0)
        var dumped = ""
        dump(program.flows, to: &dumped)
        return (sorted ? diagnostics.sortedByPosition() : diagnostics, dumped, program.checkedRanges)
    }

    private typealias Compiled = (diagnostics: [Diagnostic], program: String, checked: Set<SourceRange>)

    /// The same findings in the same order, the same graphs and the same ranges checked, on one
    /// thread or on two.
    private func assertSameInTheSameOrder(_ serial: Compiled, _ parallel: Compiled, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(parallel.diagnostics.map(\.id), serial.diagnostics.map(\.id), file: file, line: line)
        XCTAssertEqual(parallel.diagnostics, serial.diagnostics, file: file, line: line)
        XCTAssertEqual(parallel.program, serial.program, file: file, line: line)
        XCTAssertEqual(parallel.checked, serial.checked, file: file, line: line)
    }

    /// `text`, as file `name`, compiled on one thread and on two with the findings in the order
    /// given: the serial compile finds each id its count of times, and the two compiles agree in
    /// order (`assertSameInTheSameOrder`). The serial compile, for more assertions.
    @discardableResult
    private func compileInOrderBothWays(_ name: String, _ text: String, counting counts: [(String, Int)],
                                        file: StaticString = #filePath, line: UInt = #line) -> Compiled {
        let loader = MemoryLoader([name: text])
        let serial = compile(name, loader: loader, parallel: false, sorted: false)
        let parallel = compile(name, loader: loader, parallel: true, sorted: false)
        for (id, count) in counts {
            XCTAssertEqual(serial.diagnostics.filter { $0.id == id }.count, count, id, file: file, line: line)
        }
        assertSameInTheSameOrder(serial, parallel, file: file, line: line)
        return serial
    }

    func testTheQueueIsUsedOnThisMachine() throws {
        // Otherwise the comparisons below compare the serial path with itself.
        // Skipped on a one-core machine outside CI; in CI (two cores) it must hold.
        try XCTSkipUnless(SecondThread.isAvailable || ProcessInfo.processInfo.environment["CI"] == "true",
                          "one core: the comparisons below compare one thread with itself")
        XCTAssertTrue(SecondThread.isAvailable, "one core: the graph checks run on this thread only")
    }

    /// Many flows, each with problems only the graph checks find (unreachable code, a loop with
    /// no way out, a read before any set, an unused variable) and problems the value checks find,
    /// so that diagnostics from both threads interleave by position.
    func testManyFlowsWithGraphProblemsReportTheSameEitherWay() {
        var text = "config LIMIT = 0\n"
        for i in 0..<300 {
            text += """
            flow F\(i)(n: number) -> (out: number) {
              if n > \(i) {
                set out = n / LIMIT
              }
              set unused\(i) = 1
              response "{late\(i)}"
              set late\(i) = 2
              if n > 1000 {
                goto Again\(i)
              }
              finish success
              response "never"
              label Again\(i)
              goto Again\(i)
            }

            """
        }
        text += "flow Main {\n" + (0..<300).map { "  call F\($0)(\($0)) -> r\($0)\n  response \"{r\($0)}\"\n" }.joined() + "}\n"
        let loader = MemoryLoader(["many.flow": text])
        let serial = compile("many.flow", loader: loader, parallel: false)
        let parallel = compile("many.flow", loader: loader, parallel: true)
        // Each flow: read before set, unreachable, a loop with no way out, unused, an output
        // not set (graph checks), a division by a config declared 0 (value checks, whose flows
        // are shared by two threads too).
        for id in ["check.readBeforeSet", "check.unreachable", "check.loopWithoutExit", "check.unusedVariable", "check.outputNotSet",
                   "check.divisionByZero"] {
            XCTAssertGreaterThanOrEqual(serial.diagnostics.filter { $0.id == id }.count, 300, id)
        }
        XCTAssertEqual(parallel.diagnostics.count, serial.diagnostics.count)
        XCTAssertEqual(parallel.diagnostics, serial.diagnostics)
        XCTAssertEqual(parallel.program, serial.program)
        XCTAssertEqual(parallel.checked, serial.checked)
        XCTAssertGreaterThanOrEqual(serial.checked.count, 300)
    }

    /// One flow with many locals (the solver's arrays over 1 MB): its graph checks finish before
    /// the solver runs instead of going on beside the value checks. The same either way too.
    func testOneFlowOfManyLocalsReportsTheSameEitherWay() {
        var text = "config LIMIT = 0\nflow Long {\n  set v0 = 1\n"
        for i in 1..<15_000 {
            text += i % 1_000 == 0 ? "  set v\(i) = late\(i) / LIMIT\n  set late\(i) = 1\n" : "  set v\(i) = v\(i - 1) + 1\n"
        }
        text += "  response \"{v14999}\"\n}\n"
        let loader = MemoryLoader(["long.flow": text])
        let serial = compile("long.flow", loader: loader, parallel: false)
        let parallel = compile("long.flow", loader: loader, parallel: true)
        XCTAssertEqual(serial.diagnostics.filter { $0.id == "check.readBeforeSet" }.count, 14)
        XCTAssertGreaterThan(serial.diagnostics.filter { $0.id == "check.unusedVariable" }.count, 0)
        XCTAssertEqual(parallel.diagnostics, serial.diagnostics)
        XCTAssertEqual(parallel.checked, serial.checked)
        XCTAssertEqual(parallel.program, serial.program)
    }

    /// Every example flow and every golden input: the same diagnostics and the same graphs.
    func testEveryExampleAndGoldenInputReportsTheSameEitherWay() throws {
        let corpus = try FormatterTests.corpus()
        XCTAssertGreaterThan(corpus.count, 100)
        var withGraphProblems = 0
        for path in corpus {
            let serial = compile(path, loader: FileSystemLoader(), parallel: false)
            let parallel = compile(path, loader: FileSystemLoader(), parallel: true)
            XCTAssertEqual(parallel.diagnostics, serial.diagnostics, path)
            XCTAssertEqual(parallel.program, serial.program, path)
            XCTAssertEqual(parallel.checked, serial.checked, path)
            if serial.diagnostics.contains(where: { ["check.readBeforeSet", "check.unreachable", "check.loopWithoutExit"].contains($0.id) }) {
                withGraphProblems += 1
            }
        }
        // The corpus exercises the graph checks' reports, not only clean flows.
        XCTAssertGreaterThanOrEqual(withGraphProblems, 5)
    }

    /// Flows lowered and value-checked from both ends (`SecondThread.Ends`): the diagnostics in
    /// the very order one thread gives, flow by flow, though the second thread meets its flows
    /// last first. The flows report while lowering (an unknown name) or in their graph checks (a
    /// read before a set), and each in its value checks (a division by a config declared 0);
    /// sizes differ from flow to flow, so the two threads meet at no fixed place.
    func testFlowsTakenFromBothEndsReportInTheOrderOfOneThread() {
        var text = "config LIMIT = 0\n"
        for i in 0..<200 {
            // An unknown name stops a flow's graph checks: half the flows have one, half a read
            // before a set.
            let read = i % 2 == 0 ? "nowhere\(i)" : "late\(i)"
            text += "flow F\(i)(n: number) {\n  response \"{\(read)}\"\n  set late\(i) = n / LIMIT\n"
            for k in 0..<(i * 7 % 23) { text += "  set pad\(k) = n + \(k)\n  response \"{pad\(k)}\"\n" }
            text += "  call F\((i + 1) % 200)(n)\n}\n\n"
        }
        compileInOrderBothWays("ends.flow", text, counting: [("check.undefinedName", 100), ("check.readBeforeSet", 100), ("check.divisionByZero", 200)])
    }

    /// The question rules of every flow are checked on a second thread while this one solves for
    /// the locals (`ValueChecks.run`), and each flow's findings are put back before its other
    /// value checks' findings. Every flow here reports a rule ('min' above 'max'), then a
    /// division by a config declared 0 and a condition decided by constants, and the flows
    /// differ in size so the two threads sharing the flows' checks meet at no fixed place.
    func testQuestionRulesCheckedBesideTheSolverReportInTheOrderOfOneThread() {
        var text = "config LIMIT = 0\n"
        for i in 0..<150 {
            text += "flow F\(i)(n: number) {\n"
            text += "  question Age\(i): number {\n    min \(10 + i)\n    max 5\n  }\n"
            text += "  set share\(i) = n / LIMIT\n"
            text += "  set fixed\(i) = 3\n  if fixed\(i) > 4 {\n    response \"never\"\n  }\n"
            for k in 0..<(i * 7 % 29) { text += "  set pad\(k) = n + \(k)\n  response \"{pad\(k)} {share\(i)}\"\n" }
            text += "  call F\((i + 1) % 150)(n)\n}\n\n"
        }
        let serial = compileInOrderBothWays("rules.flow", text,
                                            counting: [("check.minAboveMax", 150), ("check.divisionByZero", 150), ("check.constantCondition", 150)])
        // In the order one thread gives: each flow's rule first, then its other findings.
        let ids = serial.diagnostics.map(\.id).filter { ["check.minAboveMax", "check.divisionByZero"].contains($0) }
        XCTAssertEqual(Array(ids.prefix(4)), ["check.minAboveMax", "check.divisionByZero", "check.minAboveMax", "check.divisionByZero"])
    }

    /// A long flow's graph checks run in two parts that may run on two threads at once (the reads
    /// before sets, and the others): what they report comes in the order one thread gives.
    func testALongFlowsChecksInTwoPartsReportInTheOrderOfOneThread() {
        var text = "flow Long(n: number) -> (out: number) {\n  response \"{early}\"\n  set early = 1\n  set unused1 = 2\n"
        for _ in 0..<3 { text += "  response \"{late0}\"\n" }
        let lines = GraphCheckQueue.splitFrom / 2 + 10
        for k in 0..<lines { text += "  set v\(k) = n + \(k)\n  response \"{v\(k)}\"\n" }
        text += "  set late0 = 1\n  set unused2 = 3\n  if n > 1000 {\n    goto Again\n  }\n  set out = 1\n  finish success\n"
        text += "  response \"never\"\n  label Again\n  goto Again\n}\n"
        let loader = MemoryLoader(["long.flow": text])
        let serial = compile("long.flow", loader: loader, parallel: false, sorted: false)
        let parallel = compile("long.flow", loader: loader, parallel: true, sorted: false)
        // Every part reports: the others' first part, the reads before sets, the others' last part.
        for (id, count) in [("check.unreachable", 1), ("check.loopWithoutExit", 2), ("check.readBeforeSet", 4), ("check.unusedVariable", 2)] {
            XCTAssertEqual(serial.diagnostics.filter { $0.id == id }.count, count, id)
        }
        XCTAssertEqual(parallel.diagnostics.map(\.id), serial.diagnostics.map(\.id))
        XCTAssertEqual(parallel.diagnostics, serial.diagnostics)
        XCTAssertEqual(parallel.program, serial.program)
    }

    /// Two threads taking indices from both ends take each exactly once, the front a prefix; what
    /// the back's thread made is put back in index order.
    func testEndsGiveEachIndexOnce() {
        for count in [0, 1, 2, 3, 1_000] {
            var front: [Int] = []
            var back: [Int] = []
            // What the back's thread makes: for index i, i % 3 items (some none), each (i, k).
            var made: [(index: Int, k: Int)] = []
            var marks: [Int] = []
            SecondThread.fromBothEnds(count, there: { i in
                back.append(i)
                for k in 0..<(i % 3) { made.append((i, k)) }
                marks.append(made.count)
            }, here: { i in front.append(i) })
            XCTAssertEqual(front, Array(0..<front.count), "count \(count)")
            XCTAssertEqual(back, Array((front.count..<count).reversed()), "count \(count)")
            let ordered = SecondThread.Ends.inIndexOrder(made, marks: marks)
            let expected = (front.count..<count).flatMap { i in (0..<(i % 3)).map { (index: i, k: $0) } }
            XCTAssertEqual(ordered.map(\.index), expected.map(\.index), "count \(count)")
            XCTAssertEqual(ordered.map(\.k), expected.map(\.k), "count \(count)")
        }
    }
}

/// A compilation of many flows releases its program on two threads (`ProgramBox`), and only
/// when nothing else holds the flows.
final class ProgramReleaseTests: XCTestCase {
    /// 400 flows of a loop of `set`s, `if` and `goto`: 4,000 elements and more, past the threshold.
    private func manyFlows() -> String {
        var text = ""
        for i in 0..<400 {
            text += """
            flow F\(i)(n: number) -> (out: number) {
              set out = n
              set k = 0
              label Again
              set k += 1
              set out = out + k * 2
              if k < 3 {
                goto Again
              }
              response "F\(i) out {out}"
              finish success
            }

            """
        }
        return text
    }

    func testUniquenessIsReadWithoutMakingAHolder() throws {
        var program = try XCTUnwrap(Frontend.compile(source: manyFlows()).program)
        var flows: [FlowGraph] = []
        swap(&flows, &program.flows)
        let alone = ProgramBox.isUnique(&flows)
        XCTAssertTrue(alone)
        var shared = false
        do {
            let copy = flows
            shared = ProgramBox.isUnique(&flows)
            XCTAssertEqual(copy.count, 400)
        }
        XCTAssertFalse(shared, "a copy shares the storage")
        var empty: [FlowGraph] = []
        let emptyIsUnique = ProgramBox.isUnique(&empty)
        XCTAssertFalse(emptyIsUnique, "the empty array's storage is shared by every empty array")
    }

    /// A program taken out of the compilation (as a server keeps it) outlives it whole: each of
    /// its flows runs to its end with the values the flow computes.
    func testAProgramHeldOutsideTheCompilationStaysWhole() throws {
        var program: Program?
        do {
            let compilation = Frontend.compile(source: manyFlows())
            XCTAssertEqual(compilation.diagnostics.filter { $0.severity == .error }.map(\.message), [])
            program = compilation.program
            XCTAssertGreaterThanOrEqual(program?.flows.reduce(0) { $0 + $1.elements.count } ?? 0, ProgramBox.threshold)
        }
        let held = try XCTUnwrap(program)
        XCTAssertEqual(held.flows.count, 400)
        for i in [0, 199, 200, 399] {
            let session = try Session(program: held, options: RuntimeOptions(arguments: ["n": "\(i)"], flow: "F\(i)"))
            let result = try session.start()
            guard case .finished(let outcome) = result.step else { return XCTFail("F\(i) did not finish: \(result.step)") }
            XCTAssertTrue(outcome.success)
            XCTAssertEqual(result.responses, ["F\(i) out \(i + 12)"])
        }
    }

    /// Split across two threads only when it pays and is safe: many flows, enough elements,
    /// and flows nothing else holds.
    func testOnlyALargeProgramNothingElseHoldsIsSplit() throws {
        try XCTSkipUnless(SecondThread.isAvailable || ProcessInfo.processInfo.environment["CI"] == "true",
                          "one core: nothing is released on a second thread")
        // The compilation is gone once the statement ends: this variable is the program's one holder.
        let alone = try XCTUnwrap(Frontend.compile(source: manyFlows()).program)
        // Released outside the assertion: its closure would hold a copy.
        let aloneSplit = ProgramBox.release(consume alone)
        XCTAssertTrue(aloneSplit, "400 flows held by nothing else")

        let kept = try XCTUnwrap(Frontend.compile(source: manyFlows()).program)
        let second = kept
        let sharedSplit = ProgramBox.release(second)
        XCTAssertFalse(sharedSplit, "a program whose flows another holder shares")
        XCTAssertEqual(kept.flows.count, 400)

        let small = try XCTUnwrap(Frontend.compile(source: "flow A {\n  response \"a\"\n}\nflow B {\n  response \"b\"\n}\n").program)
        let smallSplit = ProgramBox.release(consume small)
        XCTAssertFalse(smallSplit, "two flows of a few elements: below the threshold")
    }

    /// Released with nothing else holding it: on two threads, and again and again (a process
    /// that goes on, as an editor checking on every change).
    func testACompilationReleasedAloneAgainAndAgain() {
        let text = manyFlows()
        for _ in 0..<5 {
            let compilation = Frontend.compile(source: text)
            XCTAssertEqual(compilation.program?.flows.count, 400)
        }
    }
}
