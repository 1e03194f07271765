/// Everything an editor needs about one file: the diagnostics `flow check` (or `flow test`, for a
/// plan) reports, and the index of its names and of the files it imports.
///
/// Design note: `analyze` runs the same stages as `Frontend.compile` (and `TestPlanLoader.load`),
/// so the diagnostics are the same values; it also keeps the syntax trees and the program the
/// compiler built even when there are errors, for `SymbolIndex`.
public struct Analysis: Sendable {
    /// The sources of the index and the syntax trees (the root file is file 0).
    public let sources: SourceManager
    /// The diagnostics, with the sources their ranges point into.
    public let diagnostics: [Diagnostic]
    public let diagnosticSources: SourceManager
    /// Empty until `indexed()` when the analysis was made without one (diagnostics alone).
    public private(set) var index: SymbolIndex
    public private(set) var isIndexed: Bool
    /// The flow files' syntax trees, the root (or the flow a plan tests) first.
    public let syntax: [SourceFileSyntax]
    /// The plan's syntax tree, for a `*.flowtest`.
    public let plan: PlanSyntax?
    /// What the compiler built, errors or not (kept so that it is freed with the analysis).
    public let program: Program?

    public init(sources: SourceManager, diagnostics: [Diagnostic], diagnosticSources: SourceManager, index: SymbolIndex,
                syntax: [SourceFileSyntax], plan: PlanSyntax?, program: Program? = nil, isIndexed: Bool = true) {
        self.sources = sources
        self.diagnostics = diagnostics
        self.diagnosticSources = diagnosticSources
        self.index = index
        self.syntax = syntax
        self.plan = plan
        self.program = program
        self.isIndexed = isIndexed
    }

    /// The analysis with its symbol index (built now if it was left out).
    public func indexed() -> Analysis {
        guard !isIndexed else { return self }
        var copy = self
        copy.index = SymbolIndex.build(files: syntax, sources: sources, program: program)
        copy.isIndexed = true
        return copy
    }
}

public enum Analyzer {
    /// A flow file and what it imports: the diagnostics of `flow check` and the index.
    /// `index: false` leaves the symbol index out (a quarter of the work on a large file) until
    /// `Analysis.indexed()` is asked for.
    public static func analyze(path: String, options: CheckOptions = CheckOptions(), loader: any SourceLoader, index: Bool = true) throws(InputError) -> Analysis {
        let bytes = try loader.load(path: path)
        let sources = SourceManager()
        let root = sources.add(path: path, bytes: bytes)
        return analyze(root: root, sources: sources, options: options, loader: loader, index: index)
    }

    /// `root` (file 0 of `sources`) and what it imports. `parsedRoot` is the root's parse when
    /// the caller keeps it (the language server: `IncrementalCheck`), and `cache` what the last
    /// compile of the same document kept of each flow; the result is the same without them.
    static func analyze(root: SourceFile, parsedRoot: (SourceFileSyntax, [Diagnostic])? = nil, sources: SourceManager,
                        options: CheckOptions, loader: any SourceLoader, index: Bool, cache: FlowCache? = nil) -> Analysis {
        var diagnostics: [Diagnostic] = []
        let files = ImportResolver.loadAll(root: root, parsedRoot: parsedRoot, sources: sources, loader: loader,
                                           diagnostics: &diagnostics)
        let program = Compiler.compile(files, sources: sources, diagnostics: &diagnostics, cache: cache)
        diagnostics += ExtensionFiles.check(program, sources: sources, loader: loader)
        if options.strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning { diagnostics[i].severity = .error }
        }
        let symbols = index ? SymbolIndex.build(files: files, sources: sources, program: program) : SymbolIndex()
        return Analysis(sources: sources, diagnostics: diagnostics.sortedByPosition(), diagnosticSources: sources,
                        index: symbols, syntax: files, plan: nil, program: program, isIndexed: index)
    }

    /// A test plan: the diagnostics of `flow test` before it runs (the plan's and the flow's
    /// errors), and an index of the flow with the plan's uses of its names.
    public static func analyzePlan(path: String, loader: any SourceLoader) throws(InputError) -> Analysis {
        let loaded = try TestPlanLoader.load(path: path, loader: loader)
        let sources = SourceManager()
        let planFile = sources.add(path: path, bytes: Array(loaded.sources[FileID(0)].bytes))
        let (plan, _) = PlanParser.parse(planFile)
        var files: [SourceFileSyntax] = []
        var index = SymbolIndex()
        if let (written, _) = plan.flowPath {
            let flowPath = SourcePath.normalize(ImportResolver.resolve(written, from: path))
            if let bytes = try? loader.load(path: flowPath) {
                let root = sources.add(path: flowPath, bytes: bytes)
                var ignored: [Diagnostic] = []
                files = ImportResolver.loadAll(root: root, sources: sources, loader: loader, diagnostics: &ignored)
                let program = Compiler.compile(files, sources: sources, diagnostics: &ignored)
                index = SymbolIndex.build(files: files, sources: sources, program: program)
            }
        }
        index.addPlan(plan, sources: sources)
        return Analysis(sources: sources, diagnostics: loaded.diagnostics, diagnosticSources: loaded.sources,
                        index: index, syntax: files, plan: plan)
    }
}
