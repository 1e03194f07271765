import Foundation

/// A plan read, its flow compiled, and the two matched: what `flow test` and `flow run --plan`
/// start from. The plan file and every flow file share one `SourceManager`, so a diagnostic or a
/// failure about either renders the same way.
public struct LoadedPlan: Sendable {
    public let sources: SourceManager
    /// The plan's own problems and the flow's errors (its warnings are `flow check`'s business).
    public let diagnostics: [Diagnostic]
    /// Nil when there is any error, in the plan or in the flow.
    public let plan: TestPlan?
    /// Nil when the flow does not compile.
    public let program: Program?

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

public enum TestPlanLoader {
    /// Reads the plan at `path`, then the flow it names (relative to the plan's folder) with
    /// everything that imports, and resolves the plan against it. Throws only when the plan
    /// itself cannot be read; a missing flow is a diagnostic at the plan's `tests` line.
    public static func load(path: String, loader: any SourceLoader = FileSystemLoader()) throws(InputError) -> LoadedPlan {
        let bytes = try loader.load(path: path)
        let sources = SourceManager()
        let planFile = sources.add(path: path, bytes: bytes)
        var (syntax, diagnostics) = PlanParser.parse(planFile)
        guard let (written, pathRange) = syntax.flowPath else {
            return LoadedPlan(sources: sources, diagnostics: diagnostics, plan: nil, program: nil)
        }
        if syntax.tests.isEmpty {
            diagnostics.append(Diagnostic(.planNoTests, at: pathRange, hint: "test \"a card is charged\" {\n  answer Amount = 4.00\n  expect outcome success\n}"))
        }
        let flowPath = SourcePath.normalize(ImportResolver.resolve(written, from: path))
        let flowBytes: [UInt8]
        do {
            flowBytes = try loader.load(path: flowPath)
        } catch {
            diagnostics.append(Diagnostic(.planFlowNotFound(flowPath, error.reason), at: pathRange,
                                          hint: "the path is relative to the plan's folder"))
            return LoadedPlan(sources: sources, diagnostics: diagnostics.sortedByPosition(), plan: nil, program: nil)
        }
        // As `Frontend.compile` does, into the plan's source manager.
        let root = sources.add(path: flowPath, bytes: flowBytes)
        var flowDiagnostics: [Diagnostic] = []
        let program = Compiler.compile(
            ImportResolver.loadAll(root: root, sources: sources, loader: loader, diagnostics: &flowDiagnostics),
            sources: sources, diagnostics: &flowDiagnostics)
        let flowErrors = flowDiagnostics.filter { $0.severity == .error }
        guard flowErrors.isEmpty else {
            return LoadedPlan(sources: sources, diagnostics: (diagnostics + flowErrors).sortedByPosition(), plan: nil, program: nil)
        }
        var resolver = PlanResolver(program: program, sources: sources)
        let plan = resolver.resolve(syntax, planPath: path, flowPath: flowPath)
        let all = (diagnostics + resolver.diagnostics).sortedByPosition()
        let ok = !all.contains { $0.severity == .error }
        return LoadedPlan(sources: sources, diagnostics: all, plan: ok ? plan : nil, program: program)
    }

    /// A plan held in memory (for tests): `files` maps paths to texts, the plan's included.
    public static func load(path: String, files: [String: String]) -> LoadedPlan {
        // The in-memory loader has the plan whenever `files` does.
        (try? load(path: path, loader: MemoryLoader(files)))
            ?? LoadedPlan(sources: SourceManager(), diagnostics: [], plan: nil, program: nil)
    }
}
