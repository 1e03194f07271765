import Foundation

/// `Analyzer.analyze` for a root file whose parse is kept between edits (`IncrementalParse`):
/// the language server parses again only the declarations an edit touched.
///
/// Design note: the stages are those of `Analyzer.analyze` and `Frontend.compile` (imports
/// resolved depth first, each file parsed once, then the compiler on every tree); only the root's
/// `Parser.parse` is replaced by the kept parse, whose result is the same value. The import walk
/// is `ImportResolver.loadAll`'s, said again here with the root's tree given instead of parsed.
public enum IncrementalCheck {
    /// The analysis of the root file `parse.file` (which must be file 0 of `sources`, added by
    /// the caller) and what it imports.
    public static func analyze(_ parse: IncrementalParse, sources: SourceManager, options: CheckOptions = CheckOptions(),
                               loader: any SourceLoader, index: Bool = true) -> Analysis {
        var diagnostics: [Diagnostic] = []
        let files = loadAll(root: parse, sources: sources, loader: loader, diagnostics: &diagnostics)
        let program = Compiler.compile(files, sources: sources, diagnostics: &diagnostics)
        if options.strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning { diagnostics[i].severity = .error }
        }
        let symbols = index ? SymbolIndex.build(files: files, sources: sources, program: program) : SymbolIndex()
        return Analysis(sources: sources, diagnostics: diagnostics.sortedByPosition(), diagnosticSources: sources,
                        index: symbols, syntax: files, plan: nil, program: program, isIndexed: index)
    }

    static func loadAll(root: IncrementalParse, sources: SourceManager, loader: any SourceLoader,
                        diagnostics: inout [Diagnostic]) -> [SourceFileSyntax] {
        var result: [SourceFileSyntax] = []
        var loaded: [String: Int] = [ImportResolver.normalize(root.file.path): 0]
        var chain: [String] = []
        visit(root.file, root.result, sources, loader, &result, &loaded, &chain, &diagnostics)
        return result
    }

    private static func visit(
        _ file: SourceFile, _ parsed: (SourceFileSyntax, [Diagnostic])?, _ sources: SourceManager, _ loader: any SourceLoader,
        _ result: inout [SourceFileSyntax], _ loaded: inout [String: Int], _ chain: inout [String], _ diagnostics: inout [Diagnostic]
    ) {
        let (syntax, diags) = parsed ?? Parser.parse(file)
        diagnostics += diags
        result.append(syntax)
        let key = ImportResolver.normalize(file.path)
        chain.append(key)
        defer { chain.removeLast() }
        for d in syntax.declarations {
            guard case .import(let path, let range) = d else { continue }
            let target = ImportResolver.normalize(ImportResolver.resolve(path, from: file.path))
            if chain.contains(target) {
                if target == key {
                    diagnostics.append(Diagnostic(.importsItself, at: range, hint: "remove this import"))
                } else {
                    let names = (chain + [target]).map { lastComponent($0) }
                    diagnostics.append(Diagnostic(.importCycle(names), at: range,
                                                  hint: "move what both files need into a third file and import that from each"))
                }
                continue
            }
            if loaded[target] != nil { continue }
            if chain.count >= ImportResolver.maxChain {
                diagnostics.append(Diagnostic(.importTooDeep(ImportResolver.maxChain), at: range))
                continue
            }
            let bytes: [UInt8]
            do {
                bytes = try loader.load(path: target)
            } catch {
                diagnostics.append(Diagnostic(.importNotFound(path, error.reason), at: range))
                continue
            }
            let imported = sources.add(path: target, bytes: bytes)
            loaded[target] = sources.files.count - 1
            visit(imported, nil, sources, loader, &result, &loaded, &chain, &diagnostics)
        }
    }

    private static func lastComponent(_ p: String) -> String {
        (p as NSString).lastPathComponent
    }
}
