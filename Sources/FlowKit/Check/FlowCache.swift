import Foundation

/// What `ProgramBuilder` keeps of each flow between two compiles of the same document (the
/// language server passes one per open file): the flow's lowered graph and what lowering and the
/// graph checks did to the program (diagnostics, call edges, outputs read). A flow is
/// taken from it, not lowered again, when lowering it again must give the same:
///
/// - the declaration is the same bytes as before, at the same place of the same file (so its
///   syntax tree and every range in its graph and diagnostics are the same), or moved by an edit
///   before it (then every range of its graph, diagnostics and call edges is moved by as much,
///   `GraphShift`, which is what lowering the moved syntax tree again gives);
/// - everything else lowering reads is the same: the text of every file outside flow bodies
///   (every other declaration, every flow's name, parameters and outputs, in order), so the
///   names, indices, signatures and types of globals, IPs, extensions and flows are, and so
///   the result records, made from the callees' outputs before any flow is lowered;
/// - none of its diagnostics and none of its graph's ranges points outside the declaration (a
///   note at another declaration, which an edit elsewhere could move): such a flow is not kept,
///   or not moved.
///
/// Design note: a flow before the edit is taken as it is, one after it is moved (cheaper than
/// lowering it again: no names resolved, no graph checks). The value checks (with the whole
/// program's constant facts) always run again on every flow: a flow's facts depend on its
/// callers and callees.
public final class FlowCache: @unchecked Sendable {
    public init() {}

    struct Entry {
        var file: FileID
        var start: UInt32
        var end: UInt32
        var graph: FlowGraph
        var diagnostics: [Diagnostic]
        var callEdges: [CallEdge]
        var usedOutputs: [ProgramBuilder.OutputKey]
    }

    /// The files of the compile the entries came from (by `FileID`), and its text outside flow bodies.
    var files: [SourceFile] = []
    var outline: [UInt8] = []
    var entries: [Entry?] = []
    /// Flows taken from the cache by the last compile (for tests), and of those, how many were moved.
    public internal(set) var reused = 0
    public internal(set) var moved = 0

    /// The text outside flow bodies of every file, in order, with each file's path.
    static func outline(_ files: [SourceFileSyntax], _ sources: SourceManager) -> [UInt8] {
        var out: [UInt8] = []
        for f in files {
            let file = sources[f.file]
            let bytes = file.bytes
            out.append(contentsOf: Array("\u{0}file \(f.file.index) \(file.path)\u{0}".utf8))
            var cursor = 0
            func text(_ r: SourceRange) {
                let s = min(Int(r.start), bytes.count), e = min(max(s, Int(r.end)), bytes.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[s..<e]))
                out.append(0)
            }
            for d in f.declarations {
                guard case .flow(let flow) = d else { continue }
                let s = min(max(cursor, Int(flow.range.start)), bytes.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[cursor..<s]))
                out.append(contentsOf: Array("\u{0}flow\u{0}".utf8))
                text(flow.name.range)
                out.append(contentsOf: Array(flow.name.text.utf8))
                out.append(1)
                for p in flow.parameters { text(p.range) }
                out.append(1)
                for p in flow.outputs { text(p.range) }
                out.append(1)
                cursor = min(max(s, Int(flow.range.end)), bytes.count)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[cursor...]))
        }
        return out
    }

    /// Frees the entries of the last compile (the graphs of the flows moved since, most of a large
    /// file after an edit near its start) on another thread, off the path to the diagnostics, as
    /// the language server frees the analyses it replaces.
    func retire(_ old: [Entry?]) {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(20)) { withExtendedLifetime(old) {} }
    }

    /// Whether the bytes of `r` in `file` are those of the cached compile's file from `old` on.
    func sameText(from old: Int, _ r: SourceRange, _ file: SourceFile) -> Bool {
        let i = Int(r.file.index)
        guard i < files.count, files[i].path == file.path else { return false }
        let a = files[i].bytes, b = file.bytes
        let s = Int(r.start), e = Int(r.end)
        guard s <= e, e <= b.count, old >= 0, old + (e - s) <= a.count else { return false }
        return memcmp(a.baseAddress! + old, b.baseAddress! + s, e - s) == 0
    }
}

extension FlowCache.Entry {
    /// Moves the entry to a declaration that starts at `start` (the same bytes, moved by an edit
    /// before them): every range of the graph, the diagnostics and the call edges. False when some
    /// range was outside the declaration (the entry is then not to be used).
    mutating func move(to start: UInt32) -> Bool {
        let shift = GraphShift(delta: Int(start) - Int(self.start), file: file, start: self.start, end: end)
        let moved = shift.graph(graph)
        let movedDiagnostics = diagnostics.map(shift.diagnostic)
        let movedEdges = callEdges.map(shift.callEdge)
        if shift.outside { return false }
        graph = moved
        diagnostics = movedDiagnostics
        callEdges = movedEdges
        end = UInt32(Int(end) + shift.delta)
        self.start = start
        return true
    }
}
