import Foundation

/// What tests visited in one program: fed by `Session.visit` while tests run.
///
/// Design note: a program's elements are indices, so a recorder is a few arrays of flags. Plans
/// compile their flows separately, so indices do not carry from one program to another;
/// `CoverageReport` merges recorders by source position (file, byte range), which is the same
/// in every program that holds the flow.
public final class CoverageRecorder {
    public let program: Program
    var elements: [[Bool]]
    /// Per flow and element: the `next` edge of a decision or call taken (true, or succeeded).
    var nextTaken: [[Bool]]
    /// Per flow and element: the `branch` edge taken (false, or failed).
    var branchTaken: [[Bool]]

    public init(program: Program) {
        self.program = program
        elements = program.flows.map { [Bool](repeating: false, count: $0.elements.count) }
        nextTaken = elements
        branchTaken = elements
    }

    public func record(_ visit: Visit) {
        switch visit {
        case .element(let f, let e):
            elements[f][e] = true
        case .edge(let f, let e, let branch):
            if branch { branchTaken[f][e] = true } else { nextTaken[f][e] = true }
        }
    }
}

/// One thing a test can visit: an element, or one way out of a decision or of a call that has
/// an error edge.
public struct CoveragePoint: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case element
        /// A decision's condition was true / false.
        case yes, no
        /// A call with an `on error` succeeded / failed.
        case ok, error
    }

    public var kind: Kind
    /// The flow's file as named, and its canonical form (the key for merging).
    public var path: String
    var key: String
    public var start: UInt32
    public var end: UInt32
    public var line: Int
    public var column: Int
    /// The flow the element belongs to.
    public var flow: String
    /// The first line of the element's source, shortened.
    public var text: String

    public static func == (a: CoveragePoint, b: CoveragePoint) -> Bool {
        a.key == b.key && a.start == b.start && a.end == b.end && a.kind == b.kind
    }
    public func hash(into h: inout Hasher) {
        h.combine(key)
        h.combine(start)
        h.combine(end)
        h.combine(kind)
    }

    /// How a point that was missed is described: `never run`, `never true`, `never failed`, …
    public var missedText: String {
        switch kind {
        case .element: "never run"
        case .yes: "never true"
        case .no: "never false"
        case .ok: "never succeeded"
        case .error: "never failed"
        }
    }
}

/// The coverage of one flow file, over every test run.
public struct FileCoverage: Sendable {
    public var path: String
    public var elementsCovered: Int
    public var elementsTotal: Int
    public var branchesCovered: Int
    public var branchesTotal: Int
    /// What no test visited, in source order.
    public var missed: [CoveragePoint]

    /// Percentages rounded down, so 100 means everything (an empty total is 100).
    public var elementPercent: Int { Self.percent(elementsCovered, elementsTotal) }
    public var branchPercent: Int { Self.percent(branchesCovered, branchesTotal) }

    static func percent(_ covered: Int, _ total: Int) -> Int {
        total == 0 ? 100 : covered * 100 / total
    }
}

/// Coverage merged over the programs of several plans, by source position.
public struct CoverageReport: Sendable {
    /// Each point seen, and whether some test visited it.
    private var points: [CoveragePoint: Bool] = [:]

    public init() {}

    /// Adds every reachable element and branch of `recorder`'s program (those of every file it
    /// compiled), with what its tests visited.
    public mutating func add(_ recorder: CoverageRecorder, sources: SourceManager) {
        let program = recorder.program
        for (f, flow) in program.flows.enumerated() {
            for e in Self.reachable(flow) {
                let element = flow.elements[e]
                func point(_ kind: CoveragePoint.Kind, _ covered: Bool) {
                    let file = sources[element.range.file]
                    let location = file.location(of: Int(element.range.start))
                    let p = CoveragePoint(
                        kind: kind, path: file.path, key: Self.canonical(file.path), start: element.range.start, end: element.range.end,
                        line: location.line, column: location.column, flow: flow.name, text: Self.text(element, flow, file))
                    points[p] = (points[p] ?? false) || covered
                }
                point(.element, recorder.elements[f][e])
                switch element.kind {
                case .decision:
                    point(.yes, recorder.nextTaken[f][e])
                    point(.no, recorder.branchTaken[f][e])
                case .call where element.branch >= 0:
                    point(.ok, recorder.nextTaken[f][e])
                    point(.error, recorder.branchTaken[f][e])
                default:
                    break
                }
            }
        }
    }

    /// The coverage of each file named (as plans name their flows), in the order given.
    public func files(_ paths: [String]) -> [FileCoverage] {
        var seen = Set<String>()
        var result: [FileCoverage] = []
        for path in paths {
            let key = Self.canonical(path)
            guard seen.insert(key).inserted else { continue }
            var c = FileCoverage(path: path, elementsCovered: 0, elementsTotal: 0, branchesCovered: 0, branchesTotal: 0, missed: [])
            for (p, covered) in points where p.key == key {
                if p.kind == .element {
                    c.elementsTotal += 1
                    if covered { c.elementsCovered += 1 }
                } else {
                    c.branchesTotal += 1
                    if covered { c.branchesCovered += 1 }
                }
                if !covered { c.missed.append(p) }
            }
            c.missed.sort { ($0.start, $0.end, $0.kind.rawValue) < ($1.start, $1.end, $1.kind.rawValue) }
            result.append(c)
        }
        return result
    }

    /// Elements a run can reach from the flow's entry (the checker reports any other statement;
    /// the implicit end of a flow that always finishes is not a thing to cover).
    static func reachable(_ flow: FlowGraph) -> [Int] {
        let seen = GraphIndex.reachable(in: flow)
        return seen.indices.filter { seen[$0] }
    }

    static func canonical(_ path: String) -> String { SourcePath.absolute(path) }

    /// The element as a reader finds it: the first line of its source, without an opening brace,
    /// at most 60 characters; the implicit end of a flow is named so.
    static func text(_ element: Element, _ flow: FlowGraph, _ file: SourceFile) -> String {
        if case .end = element.kind { return "the end of flow '\(flow.name)'" }
        var line = Substring(file.text(element.range).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first ?? "")
        while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
        if line.hasSuffix("{") { line = line.dropLast() }
        while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
        if case .decision = element.kind { line = "if " + line }
        return line.count > 60 ? String(line.prefix(59)) + "…" : String(line)
    }
}
