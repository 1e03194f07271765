import Foundation

/// `Analyzer.analyze` for a root file whose parse is kept between edits (`IncrementalParse`):
/// the language server parses again only the declarations an edit touched.
///
/// Design note: the stages are those of `Analyzer.analyze` and `Frontend.compile` (imports
/// resolved depth first, each file parsed once, then the compiler on every tree); only the root's
/// `Parser.parse` is replaced by the kept parse, whose result is the same value. The import walk
/// is `ImportResolver.loadAll`'s, given the root's tree instead of parsing it. With a `FlowCache`,
/// the compiler reuses what it lowered of each flow an edit left alone (the same result).
public enum IncrementalCheck {
    /// The analysis of the root file `parse.file` (which must be file 0 of `sources`, added by
    /// the caller) and what it imports.
    public static func analyze(_ parse: IncrementalParse, sources: SourceManager, options: CheckOptions = CheckOptions(),
                               loader: any SourceLoader, index: Bool = true, cache: FlowCache? = nil) -> Analysis {
        var diagnostics: [Diagnostic] = []
        let files = ImportResolver.loadAll(root: parse.file, parsedRoot: parse.result, sources: sources, loader: loader,
                                           diagnostics: &diagnostics)
        let program = cache.map { Compiler.compile(files, sources: sources, diagnostics: &diagnostics, cache: $0) }
            ?? Compiler.compile(files, sources: sources, diagnostics: &diagnostics)
        diagnostics += ExtensionFiles.check(program, sources: sources, loader: loader)
        if options.strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning { diagnostics[i].severity = .error }
        }
        let symbols = index ? SymbolIndex.build(files: files, sources: sources, program: program) : SymbolIndex()
        return Analysis(sources: sources, diagnostics: diagnostics.sortedByPosition(), diagnosticSources: sources,
                        index: symbols, syntax: files, plan: nil, program: program, isIndexed: index)
    }
}
