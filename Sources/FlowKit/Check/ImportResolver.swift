import Foundation

/// Loads a root file and, depth first, every file it imports (each once).
///
/// An import path is relative to the importing file. A file that imports itself, directly or
/// through others, is an import cycle: reported at the import that closes it. A missing import is
/// reported at its path. Each file is parsed once; the root comes first in the result.
enum ImportResolver {
    static let maxChain = 64

    /// `parsedRoot`, when given, is the root's parse already made (the language server keeps it
    /// between edits: `IncrementalParse`); it must be what `Parser.parse(root)` gives.
    /// `parseFrom`: files of that many bytes or more are parsed in pieces on two threads
    /// (`Parser.parseSharingWork`); nil: none.
    static func loadAll(root: SourceFile, parsedRoot: (SourceFileSyntax, [Diagnostic])? = nil, sources: SourceManager,
                        loader: any SourceLoader, diagnostics: inout [Diagnostic],
                        parseFrom: Int? = WorkSharing.automatic.parseFrom) -> [SourceFileSyntax] {
        var result: [SourceFileSyntax] = []
        var loaded: [String: Int] = [SourcePath.normalize(root.path): 0]
        var chain: [String] = []
        visit(root, parsedRoot, sources, loader, parseFrom, &result, &loaded, &chain, &diagnostics)
        return result
    }

    private static func visit(
        _ file: SourceFile, _ parsed: (SourceFileSyntax, [Diagnostic])?, _ sources: SourceManager, _ loader: any SourceLoader,
        _ parseFrom: Int?,
        _ result: inout [SourceFileSyntax], _ loaded: inout [String: Int], _ chain: inout [String], _ diagnostics: inout [Diagnostic]
    ) {
        let (syntax, diags) = parsed ?? (parseFrom.map { Parser.parseSharingWork(file, minimumBytes: $0) } ?? Parser.parse(file))
        diagnostics += diags
        result.append(syntax)
        let key = SourcePath.normalize(file.path)
        chain.append(key)
        defer { chain.removeLast() }
        for d in syntax.declarations {
            guard case .import(let path, let range) = d else { continue }
            let target = SourcePath.normalize(resolve(path, from: file.path))
            if chain.contains(target) {
                if target == key {
                    diagnostics.append(Diagnostic(.importsItself, at: range, hint: "remove this import"))
                } else {
                    diagnostics.append(Diagnostic(.importCycle(chain.map { shortName($0) } + [shortName(target)]), at: range,
                                                  hint: "move what both files need into a third file and import that from each"))
                }
                continue
            }
            if loaded[target] != nil { continue }
            if chain.count >= maxChain {
                diagnostics.append(Diagnostic(.importTooDeep(maxChain), at: range))
                continue
            }
            let bytes: [UInt8]
            do {
                bytes = try loader.load(path: target)
            } catch {
                diagnostics.append(Diagnostic(.importNotFound(path, error.reason), at: range))
                continue
            }
            let imported = sources.add(path: displayPath(target), bytes: bytes)
            loaded[target] = sources.files.count - 1
            visit(imported, nil, sources, loader, parseFrom, &result, &loaded, &chain, &diagnostics)
        }
    }

    static func resolve(_ path: String, from importer: String) -> String {
        if path.hasPrefix("/") { return path }
        let dir = (importer as NSString).deletingLastPathComponent
        return dir.isEmpty ? path : dir + "/" + path
    }

    private static func displayPath(_ p: String) -> String { p }
    private static func shortName(_ p: String) -> String { (p as NSString).lastPathComponent }
}
