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
        Analyzer.analyze(root: parse.file, parsedRoot: parse.result, sources: sources, options: options, loader: loader,
                         index: index, cache: cache)
    }
}
