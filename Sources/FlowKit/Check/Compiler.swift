/// Compiles syntax trees into a `Program`: names resolved to slots, expressions typed, each flow
/// lowered to an element graph; then runs the graph checks (`FlowChecks`).
///
/// Design note: the compiler reports every problem it can find in one run and never reports a
/// problem that stems from one already reported: an expression that failed to compile becomes
/// `.invalid` with type `.any`, and nothing is said about it again. Graph checks (dataflow,
/// reachability, termination) run only on flows whose names all resolved, so a typo gives one
/// error, not a cascade.
public enum Compiler {
    /// Takes the syntax trees (`consuming`), so each flow's tree is freed once it is lowered.
    public static func compile(_ files: consuming [SourceFileSyntax], sources: SourceManager, diagnostics: inout [Diagnostic]) -> Program {
        compile(files, sources: sources, diagnostics: &diagnostics, releasingSyntax: false)
    }

    /// `releasingSyntax`: the caller keeps no other reference to the trees, so each flow's
    /// statements are released one by one as they are lowered (peak memory of `flow check`).
    /// A caller that keeps the trees (the language server's index) passes false: releasing then
    /// would copy each flow's statement array instead.
    /// `cache`: what the last compile of the same document kept of each flow (`FlowCache`); the
    /// result is the same as without it. It is updated for the next compile.
    public static func compile(_ files: consuming [SourceFileSyntax], sources: SourceManager, diagnostics: inout [Diagnostic],
                               cache: FlowCache?) -> Program {
        compile(files, sources: sources, diagnostics: &diagnostics, releasingSyntax: false, cache: cache)
    }

    /// `parallel`: work may be shared with a second thread, when the machine has one and the
    /// sources are `parallelFrom` bytes or more (below that, handing work over costs more than it
    /// saves, and most of all under a sanitizer): the graph checks of each flow
    /// (`GraphCheckQueue`; not with a cache, which keeps each flow's diagnostics as its lowering
    /// reports them), the lowering of flows (`lowerInTwo`) and their value checks
    /// (`ValueChecks.run`). The result is the same either way.
    static func compile(_ files: consuming [SourceFileSyntax], sources: SourceManager, diagnostics: inout [Diagnostic],
                        releasingSyntax: Bool, cache: FlowCache? = nil, parallel: Bool = true,
                        parallelFrom: Int = WorkSharing.automatic.checkFrom!) -> Program {
        let builder = ProgramBuilder(files: files, sources: sources)
        builder.releaseSyntax = releasingSyntax
        builder.cache = cache
        var bytes = 0
        for f in sources.files { bytes += f.bytes.count }
        builder.parallel = parallel && bytes >= parallelFrom && SecondThread.isAvailable
        if cache == nil && builder.parallel { builder.graphChecks = GraphCheckQueue() }
        builder.run()
        diagnostics += builder.diagnostics
        return builder.program
    }
}

/// The fields every `error` object has inside `on error { }`.
let errorFields: [(name: String, type: ValueType)] = [
    ("kind", .text), ("message", .text), ("status", .number), ("code", .text), ("body", .any),
    ("codeNamespace", .text),
]

final class ProgramBuilder {
    /// The syntax trees; released once their declarations are collected, and each flow's body
    /// once it is lowered, so the tree and the graph are never both held whole (peak memory).
    var files: [SourceFileSyntax]
    /// Whether lowering may release each statement once lowered (see `Compiler.compile`).
    var releaseSyntax = false
    var diagnostics: [Diagnostic] = []
    var program = Program(flows: [], entry: -1, integrationPoints: [], extensions: [], configs: [], secrets: [],
                          sessionVariables: [], records: [errorFields])
    static let errorRecord: UInt16 = 0

    enum Global { case config(Int), secret(Int), session(Int) }
    var globals = NameTable<(Global, SourceRange)>()
    var ipIndex = NameTable<Int>()
    var extensionIndex = NameTable<Int>()
    var flowIndex = NameTable<Int>()
    var flowDecls: [FlowDecl] = []
    /// Every `call` of another flow, in source order, for `reportCallCycles`.
    var callEdges: [CallEdge] = []
    /// For records made from declarations: which IP or extension each record came from.
    /// By record number, nil for a record that no callee's result made (records are numbered
    /// from 0, so a list serves where a dictionary hashed each number).
    var recordOrigin: [CallTarget?] = []
    /// Each callee's result record (`makeResultRecords`), -1 for a callee without outputs.
    var resultRecords = ResultRecords(ips: [], extensions: [], flows: [])
    struct ResultRecords { var ips: [Int32]; var extensions: [Int32]; var flows: [Int32] }
    /// (callee, output index) pairs that some flow reads, once for each read. A list, not a set:
    /// the set's type cost each process the runtime's first look-up of `OutputKey: Hashable`, a
    /// scan of every conformance in the binary (about 300,000 instructions, callgrind), at the
    /// start of even a small file's check.
    var usedOutputs: [OutputKey] = []
    /// What the value checks found before anything runs (see `Program.checkedRanges`).
    var checkedRanges = Set<SourceRange>()
    /// Per-flow results of the last compile of the same document, when the caller keeps one.
    var cache: FlowCache?
    /// Whether work may be shared with a second thread (see `Compiler.compile`).
    var parallel = false
    /// Where each flow's graph checks run when not here and now (see `checkGraph`).
    var graphChecks: GraphCheckQueue?
    /// The arrays of the graph checks run here, reused from flow to flow.
    let checkScratch = CheckScratch()
    /// While a flow is lowered for the cache: every output `markOutputUsed` marks.
    var outputLog: [OutputKey]?
    /// Where each flow is declared (file, range), for the cache.
    var flowRanges: [SourceRange] = []
    struct OutputKey: Hashable { var ip: Bool; var index: Int; var output: Int }

    // The scope of the expression being compiled.
    var flow: FlowContext?
    /// Comparisons lowered so far (each thread's builder counts its own): a flow with none and no
    /// decision does not need the constant solver's facts (`FlowGraph.readsLocalFacts`).
    var comparisonsLowered = 0
    var ipParameters: [String: (Int, ValueType)]?
    var allowSecrets = false
    var inHandler = false

    let sources: SourceManager

    init(files: consuming [SourceFileSyntax], sources: SourceManager) {
        self.files = files
        self.sources = sources
    }

    /// A builder for lowering some of `other`'s flows on a second thread (`lowerInTwo`): what
    /// lowering reads is copied from `other` (values, shared until written, and nothing writes
    /// them while both lower); what lowering writes (diagnostics, call edges, outputs read) is
    /// its own, and added to `other`'s after. Its graph checks run inline, each after its flow.
    init(lowering other: ProgramBuilder) {
        files = []
        sources = other.sources
        releaseSyntax = other.releaseSyntax
        program = other.program
        globals = other.globals
        ipIndex = other.ipIndex
        extensionIndex = other.extensionIndex
        flowIndex = other.flowIndex
        recordOrigin = other.recordOrigin
        resultRecords = other.resultRecords
    }

    func report(_ m: Message, _ r: SourceRange, label: String? = nil, notes: [DiagnosticNote] = [], hint: String? = nil) {
        diagnostics.append(Diagnostic(m, at: r, label: label, notes: notes, hint: hint))
    }

    /// Runs the graph checks of a lowered flow here, or hands them to the second thread when
    /// there is one (which takes `context`: the flow's builder no longer touches it).
    func checkGraph(_ flow: FlowGraph, _ context: FlowContext, _ assignments: [(slot: Int32, range: SourceRange)]) {
        if let graphChecks { return graphChecks.add(flow, context, assignments) }
        let out = CheckOutput()
        FlowChecks(out: out, flow: flow, context: context, assignments: assignments, pool: checkScratch).run()
        diagnostics += out.diagnostics
    }

    func run() {
        collectDeclarations()
        if let cache { runCached(cache) } else {
            files = []
            if parallel && flowDecls.count > 1 {
                lowerInTwo()
            } else {
                for i in flowDecls.indices { program.flows[i] = lower(flow: i) }
            }
        }
        // The graph checks still running go on beside the solver and the value checks when
        // those stay on this thread (else the second thread takes a share of the flows' value checks):
        // one long flow's graph checks then no longer wait for its lowering and hold the solver
        // up after it. What both hold at once is the cost (peak memory of one long flow of
        // `set`s), kept down by a small fact per local (`Known`).
        let shared = parallel && ValueChecks.shared(program.flows)
        let overlap = !shared
        if let graphChecks, !overlap { diagnostics += graphChecks.finish() }
        reportUnreadOutputs()
        reportCallCycles()
        ValueChecks(self, shared: shared).run(into: self)
        if let graphChecks, overlap { diagnostics += graphChecks.finish() }
        program.checkedRanges = checkedRanges
        for i in program.integrationPoints.indices {
            program.integrationPoints[i].shape = program.integrationPoints[i].outputs.map { OutputShape(name: $0.name, type: $0.type) }
        }
        for i in program.extensions.indices {
            program.extensions[i].shape = program.extensions[i].outputs.map { OutputShape(name: $0.name, type: $0.type) }
        }
        for i in program.flows.indices {
            program.flows[i].shape = program.flows[i].outputs.map { OutputShape(name: $0.name, type: $0.type) }
        }
        program.noteLiteralConfigs()
        program.noteConstantPages()
    }

    /// Lowers flow `i` (the body moves into its builder, which releases it statement by statement).
    func lower(flow i: Int) -> FlowGraph { lower(&flowDecls[i], index: i) }

    /// Lowers `decl`, flow `i`, moving its body out.
    func lower(_ decl: inout FlowDecl, index i: Int) -> FlowGraph {
        var body: [Statement] = []
        swap(&body, &decl.body)
        let graph = FlowBuilder(self, decl, body: consume body, index: i).build()
        // What is left of the declaration (its parameters and outputs, with their defaults) is
        // freed here, on the thread that lowered it, not all together by this builder's deinit.
        decl.parameters = []
        decl.outputs = []
        return graph
    }

    /// Lowers the flows on two threads, this one taking them from the first on and the second
    /// from the last back, until they meet (`SecondThread.Ends`), each flow's graph checks inline
    /// on the thread that lowered it (a queue of their own would make a third thread on two
    /// cores). Lowering a flow reads the declarations, the callees' signatures and their result
    /// records (`makeResultRecords`), all made before, and never another flow's graph, so the
    /// flows are independent. What the second thread's builder writes (diagnostics, call edges,
    /// outputs read) is put back in flow order after this thread's: the order one thread gives.
    func lowerInTwo() {
        let queue = graphChecks
        graphChecks = nil
        defer { graphChecks = queue }
        let other = ProgramBuilder(lowering: self)
        let count = flowDecls.count
        // The declarations move out of `flowDecls` for the while: each thread takes the bodies
        // of the flows it claims through one pointer, at indices the other never touches.
        var decls: [FlowDecl] = []
        swap(&decls, &flowDecls)
        var first: [FlowGraph] = []
        var last: [FlowGraph] = []  // from the last flow back
        /// The other builder's diagnostics and call edges counted after each flow it lowered.
        var diagnosticMarks: [Int] = [], edgeMarks: [Int] = []
        first.reserveCapacity(count)
        last.reserveCapacity(count)
        diagnosticMarks.reserveCapacity(count)
        edgeMarks.reserveCapacity(count)
        decls.withUnsafeMutableBufferPointer { d in
            let base = d.baseAddress!
            SecondThread.fromBothEnds(count, there: { i in
                last.append(other.lower(&base[i], index: i))
                diagnosticMarks.append(other.diagnostics.count)
                edgeMarks.append(other.callEdges.count)
            }, here: { i in first.append(lower(&base[i], index: i)) })
        }
        swap(&decls, &flowDecls)
        for (k, g) in first.enumerated() { program.flows[k] = g }
        for (k, g) in last.enumerated() { program.flows[count - 1 - k] = g }
        diagnostics += SecondThread.Ends.inIndexOrder(other.diagnostics, marks: diagnosticMarks)
        callEdges += SecondThread.Ends.inIndexOrder(other.callEdges, marks: edgeMarks)
        usedOutputs += other.usedOutputs
    }

    // MARK: - Declarations

    func collectDeclarations() {
        var ipDecls: [IPDecl] = []
        var extDecls: [ExtensionDecl] = []
        var configDecls: [(Name, Expr)] = []
        var sessionDecls: [Parameter] = []
        func claimGlobal(_ name: Name, _ g: Global) -> Bool {
            if let (_, first) = globals[name.text] {
                report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("'\(name.text)' is first declared here", at: first)])
                return false
            }
            globals[name.text] = (g, name.range)
            return true
        }
        func claim(_ table: inout NameTable<Int>, _ name: Name, _ index: Int, _ ranges: [SourceRange]) -> Bool {
            if let first = table[name.text] {
                report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("'\(name.text)' is first declared here", at: ranges[first])])
                return false
            }
            table[name.text] = index
            return true
        }
        var ipRanges: [SourceRange] = [], extRanges: [SourceRange] = [], flowRanges: [SourceRange] = []
        for (fileNumber, file) in files.enumerated() {
            for d in file.declarations {
                switch d {
                case .import: break
                case .config(let name, let value, _):
                    if claimGlobal(name, .config(configDecls.count)) { configDecls.append((name, value)) }
                case .secret(let name, let range):
                    if claimGlobal(name, .secret(program.secrets.count)) {
                        program.secrets.append(NamedValue(name: name.text, type: .secure, value: nil, range: range))
                    }
                case .variable(let p):
                    if claimGlobal(p.name, .session(sessionDecls.count)) { sessionDecls.append(p) }
                case .ip(let ip):
                    if claim(&ipIndex, ip.name, ipDecls.count, ipRanges) { ipDecls.append(ip); ipRanges.append(ip.name.range) }
                case .extension(let e):
                    if claim(&extensionIndex, e.name, extDecls.count, extRanges) { extDecls.append(e); extRanges.append(e.name.range) }
                case .flow(let f):
                    if claim(&flowIndex, f.name, flowDecls.count, flowRanges) {
                        if fileNumber == 0 && program.entry < 0 { program.entry = flowDecls.count }
                        flowDecls.append(f)
                        flowRanges.append(f.name.range)
                    }
                }
            }
        }
        // Configs and session variables: constant-ish expressions over earlier globals.
        for (name, value) in configDecls {
            let ir = lower(value)
            program.configs.append(NamedValue(name: name.text, type: ir.type, value: ir, range: name.range))
        }
        for p in sessionDecls {
            let ir = p.defaultValue.map { lower($0) }
            var type = ir?.type ?? .any
            if let t = p.type, let declared = resolveType(t) {
                if let ir { checkAssignable(ir, to: declared, what: "session variable '\(p.name.text)'") }
                type = declared
            }
            program.sessionVariables.append(NamedValue(name: p.name.text, type: type, value: ir, range: p.name.range))
        }
        // Signatures first (calls may come before declarations), then request bodies.
        program.integrationPoints = ipDecls.map { d in
            IntegrationPoint(name: d.name.text, declaration: d, parameters: parameters(d.parameters, "integration point"),
                             outputs: outputs(d.outputs), range: d.name.range)
        }
        program.extensions = extDecls.map { d in
            ExtensionInfo(name: d.name.text, declaration: d, parameters: parameters(d.parameters, "extension"),
                          outputs: outputs(d.outputs), range: d.name.range)
        }
        program.flows = flowDecls.map { d in
            FlowGraph(name: d.name.text, range: d.name.range, elements: [], entry: 0, variables: [], variableTypes: [],
                      parameterCount: d.parameters.count, parameters: parameters(d.parameters, "flow"),
                      outputs: parameters(d.outputs, "flow output"), pages: [])
        }
        for i in program.integrationPoints.indices { IPChecker(self, i).check() }
        for i in program.extensions.indices { checkExtension(i) }
        makeResultRecords()
    }

    /// The record type of each callee's result (`-> name`), one per callee, made before any flow
    /// is lowered: every call of a callee binds the same type, so a variable bound by one call
    /// and then by another of the same callee (a retry) keeps its type; and lowering only reads
    /// the records, as a second thread lowering other flows may (see `lowerInTwo`).
    func makeResultRecords() {
        func make(_ target: CallTarget) -> Int32 {
            let outputs = program.signature(of: target).outputs
            if outputs.isEmpty { return -1 }
            program.records.append(outputs)
            while recordOrigin.count < program.records.count { recordOrigin.append(nil) }
            recordOrigin[program.records.count - 1] = target
            return Int32(program.records.count - 1)
        }
        resultRecords = ResultRecords(
            ips: program.integrationPoints.indices.map { make(.ip($0)) },
            extensions: program.extensions.indices.map { make(.extension($0)) },
            flows: program.flows.indices.map { make(.flow($0)) })
    }

    func resolveType(_ t: TypeRef) -> ValueType? {
        if let v = ValueType(typeName: t.name) { return v }
        report(.unknownType(t.name), t.range,
               hint: Suggest.closest(to: t.name, in: TypeRef.names).map { "did you mean '\($0)'?" } ?? "types: \(TypeRef.names.joined(separator: ", "))")
        return nil
    }

    /// Reports each name given again in a list (of parameters, of outputs), with a note at its
    /// first declaration. A list of a few names is searched back, not hashed: a dictionary for
    /// each declaration cost more than the rest of collecting a small flow's signature.
    private func reportDuplicates<Names: RandomAccessCollection>(_ names: Names) where Names.Element == Name, Names.Index == Int {
        guard names.count > 1 else { return }
        var seen: [String: SourceRange] = [:]
        for k in names.indices {
            let name = names[k]
            let first = names.count <= 16
                ? names[..<k].first(where: { $0.text == name.text })?.range
                : seen[name.text]
            if let first {
                report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("'\(name.text)' is first declared here", at: first)])
            } else if names.count > 16 {
                seen[name.text] = name.range
            }
        }
    }

    func parameters(_ params: [Parameter], _ owner: String) -> [ParameterInfo] {
        reportDuplicates(params.lazy.map(\.name))
        return params.map { p in
            var type = p.type.flatMap { resolveType($0) } ?? .any
            var value: IRExpr?
            if let d = p.defaultValue {
                let saved = (flow, ipParameters)
                (flow, ipParameters) = (nil, nil)
                let ir = lower(d)
                (flow, ipParameters) = saved
                if p.type != nil { checkAssignable(ir, to: type, what: "the default of '\(p.name.text)'") } else { type = ir.type }
                value = ir
            }
            return ParameterInfo(name: p.name.text, type: type, defaultValue: value, range: p.name.range)
        }
    }

    func outputs(_ outs: [OutputDecl]) -> [OutputInfo] {
        reportDuplicates(outs.lazy.map(\.name))
        return outs.map { o in
            return OutputInfo(name: o.name.text, type: o.type.flatMap { resolveType($0) } ?? .any, source: o.source, range: o.name.range)
        }
    }

    func checkExtension(_ i: Int) {
        let e = program.extensions[i]
        ipParameters = Dictionary(e.parameters.enumerated().map { ($1.name, ($0, $1.type)) }, uniquingKeysWith: { a, _ in a })
        defer { ipParameters = nil }
        if let c = e.declaration.command {
            let ir = lower(c)
            checkAssignable(ir, to: .text, what: "'run'")
        } else {
            report(.extensionWithoutRun(e.name), e.range, hint: "extension \(e.name) {\n  run \"extensions/tokenize\"\n}")
        }
        if let t = e.declaration.timeout { checkAssignable(lower(t), to: .number, what: "'timeout'") }
        if let w = e.declaration.web { checkAssignable(lower(w), to: .text, what: "'web'") }
    }

    /// The type a call's `-> name` binding receives: the callee's record type, with a field per
    /// output, for one output as for several (`makeResultRecords`).
    func resultType(_ target: CallTarget) -> ValueType {
        let r: Int32
        switch target {
        case .ip(let i): r = resultRecords.ips[i]
        case .extension(let i): r = resultRecords.extensions[i]
        case .flow(let i): r = resultRecords.flows[i]
        }
        if r < 0 { return .null }
        return r <= Int32(UInt16.max) ? .record(UInt16(r)) : .object
    }

    /// A type as a message names it: a callee's result by its callee ("the result of integration
    /// point 'Lookup'"), any other by its name.
    func describe(_ type: ValueType) -> String {
        guard case .record(let r) = type, Int(r) < recordOrigin.count, let origin = recordOrigin[Int(r)] else { return "\(type)" }
        switch origin {
        case .ip(let i): return "the result of integration point '\(program.integrationPoints[i].name)'"
        case .extension(let i): return "the result of extension '\(program.extensions[i].name)'"
        case .flow(let i): return "the result of flow '\(program.flows[i].name)'"
        }
    }

    func reportUnreadOutputs() {
        var ipRead = program.integrationPoints.map { [Bool](repeating: false, count: $0.outputs.count) }
        var extensionRead = program.extensions.map { [Bool](repeating: false, count: $0.outputs.count) }
        for key in usedOutputs {
            if key.ip {
                if ipRead.indices.contains(key.index), ipRead[key.index].indices.contains(key.output) { ipRead[key.index][key.output] = true }
            } else if extensionRead.indices.contains(key.index), extensionRead[key.index].indices.contains(key.output) {
                extensionRead[key.index][key.output] = true
            }
        }
        for (i, ip) in program.integrationPoints.enumerated() {
            for (j, o) in ip.outputs.enumerated() where !ipRead[i][j] {
                report(.outputNeverRead(o.name, "integration point '\(ip.name)'"), o.range)
            }
        }
        for (i, e) in program.extensions.enumerated() {
            for (j, o) in e.outputs.enumerated() where !extensionRead[i][j] {
                report(.outputNeverRead(o.name, "extension '\(e.name)'"), o.range)
            }
        }
    }

    func markOutputUsed(_ target: CallTarget, _ output: Int) {
        switch target {
        case .ip(let i): outputLog?.append(OutputKey(ip: true, index: i, output: output))
        case .extension(let i): outputLog?.append(OutputKey(ip: false, index: i, output: output))
        case .flow: break
        }
        switch target {
        case .ip(let i): usedOutputs.append(OutputKey(ip: true, index: i, output: output))
        case .extension(let i): usedOutputs.append(OutputKey(ip: false, index: i, output: output))
        case .flow: break
        }
    }

    func markRecordUsed(_ type: ValueType, field: String?) {
        guard case .record(let r) = type, Int(r) < recordOrigin.count, let origin = recordOrigin[Int(r)] else { return }
        for (j, f) in program.records[Int(r)].enumerated() where field == nil || f.name == field { markOutputUsed(origin, j) }
    }
}

/// The names visible inside one flow, and what the graph checks need to know about them.
final class FlowContext {
    var locals = NameTable<Int>()
    var localNames: [String] = []
    var localTypes: [ValueType] = []
    /// Where each local is first set (for "never read" warnings).
    var firstSet: [SourceRange?] = []
    var reads: [Int] = []
    var pages = NameTable<Int>()
    var pageInfos: [PageInfo] = []
    var parameterCount = 0
    var outputSlots: [Int] = []
    var hadResolutionError = false
    /// The slot `local(_:)` found last.
    private var lastLocal = -1

    /// The slot of local `name`, if the flow has one. The pre-pass gave the locals their slots in
    /// the order of their first sets, and lowering meets them in that order, reading the one just
    /// set: the slot found last and the one after it are tried first, by name, before the table,
    /// whose probes in a long flow are mostly cache misses. The guess is checked, so a wrong one
    /// only costs the compare.
    @inline(__always)
    func local(_ name: String) -> Int? {
        let next = lastLocal + 1
        if next < localNames.count, localNames[next] == name {
            lastLocal = next
            return next
        }
        if lastLocal >= 0, localNames[lastLocal] == name { return lastLocal }
        guard let slot = locals[name] else { return nil }
        lastLocal = slot
        return slot
    }
}

extension ProgramBuilder {
    /// Lowers the flows as `run` does, taking from `cache` each flow lowering would give the same
    /// (see `FlowCache`), and keeps this compile's results in it for the next.
    func runCached(_ cache: FlowCache) {
        let outline = FlowCache.outline(files, sources)
        let sameOutline = outline == cache.outline
        var fileOf: [SourceRange] = []
        fileOf.reserveCapacity(flowDecls.count)
        for d in flowDecls { fileOf.append(Self.declarationRange(d)) }
        files = []
        var entries: [FlowCache.Entry?] = []
        entries.reserveCapacity(flowDecls.count)
        var reused = 0, moved = 0
        for i in flowDecls.indices {
            let range = fileOf[i]
            let file = sources[range.file]
            if sameOutline, i < cache.entries.count, var e = cache.entries[i], e.file == range.file,
               Int(e.end) - Int(e.start) == Int(range.end) - Int(range.start),
               cache.sameText(from: Int(e.start), range, file), e.start == range.start || e.move(to: range.start) {
                if e.start != cache.entries[i]!.start { moved += 1 }
                diagnostics += e.diagnostics
                callEdges += e.callEdges
                usedOutputs += e.usedOutputs
                program.flows[i] = e.graph
                entries.append(e)
                reused += 1
                continue
            }
            let diagnosticBase = diagnostics.count, edgeBase = callEdges.count
            outputLog = []
            let graph = FlowBuilder(self, flowDecls[i], body: flowDecls[i].body, index: i).build()
            program.flows[i] = graph
            let produced = Array(diagnostics[diagnosticBase...])
            let inside = produced.allSatisfy { d in
                Self.contains(range, d.range) && d.notes.allSatisfy { $0.range.map { Self.contains(range, $0) } ?? true }
            }
            if inside {
                entries.append(FlowCache.Entry(
                    file: range.file, start: range.start, end: range.end, graph: graph,
                    diagnostics: produced, callEdges: Array(callEdges[edgeBase...]), usedOutputs: outputLog ?? []))
            } else {
                entries.append(nil)
            }
            outputLog = nil
        }
        cache.files = sources.files
        cache.outline = outline
        cache.retire(cache.entries)
        cache.entries = entries
        cache.reused = reused
        cache.moved = moved
    }

    /// The whole declaration: from its start to its closing brace.
    static func declarationRange(_ d: FlowDecl) -> SourceRange {
        SourceRange(file: d.range.file, start: Int(min(d.range.start, d.name.range.start)),
                    end: Int(max(d.range.end, d.endRange.end)))
    }

    static func contains(_ outer: SourceRange, _ r: SourceRange) -> Bool {
        r.file == outer.file && r.start >= outer.start && r.end <= outer.end
    }
}
