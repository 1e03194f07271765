import Foundation

/// The files an extension declaration names: its `run` program (what `flow run` starts) and its
/// `web` module (what `flow serve` gives the web client), both relative to the folder of the file
/// that declares the extension. Only plain text literals are checked (a template or a config's
/// name is known at run time only).
///
///     extension Tokenize(...) {
///       run "extensions/tokenise"     // warning: the program 'extensions/tokenise' … does not exist
///       web "../shared/tokenize.js"   // error: the web module … is outside the flow file's folder
///     }
///
/// Design note: what is on the disk is a warning, because a flow may be checked on a machine
/// other than the one that runs it (before deployment, or a flow meant only for `flow serve`
/// that keeps a `run` for later); a `web` path that leaves the folder is an error, because the
/// text alone decides it and `flow serve` never serves such a module. The file system is asked
/// through the loader (`SourceLoader.fileKind`), which answers `.unknown` when it cannot say (a
/// flow held in memory): then nothing is reported.
enum ExtensionFiles {
    static func check(_ program: Program, sources: SourceManager, loader: any SourceLoader) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for e in program.extensions {
            let flowFile = sources[e.range.file].path
            if let run = e.declaration.command, case .string(let written) = run.kind, !written.isEmpty {
                let path = resolved(written, from: flowFile)
                switch loader.fileKind(path: path) {
                case .missing:
                    diagnostics.append(Diagnostic(.extensionRunMissing(written, e.name), at: run.range,
                        hint: "'run' is relative to the flow file's folder, so this is '\(path)'; 'flow run' cannot call '\(e.name)' until it is there"))
                case .directory:
                    diagnostics.append(Diagnostic(.extensionRunNotExecutable(written, e.name, isDirectory: true), at: run.range,
                        hint: "name the program in it, not the folder: run \"extensions/tokenize\""))
                case .file(executable: false):
                    diagnostics.append(Diagnostic(.extensionRunNotExecutable(written, e.name, isDirectory: false), at: run.range,
                        hint: "'flow run' starts it as a program; make it executable: chmod +x '\(path)'"))
                case .file(executable: true), .unknown:
                    break
                }
            }
            if let web = e.declaration.web, case .string(let written) = web.kind {
                let inside = SourcePath.normalize(written)
                if written.hasPrefix("/") || inside == ".." || inside.hasPrefix("../") {
                    diagnostics.append(Diagnostic(.extensionWebOutsideFolder(written, e.name), at: web.range,
                        hint: "'flow serve' serves web modules only from the flow file's folder and below; put it there: web \"extensions/\((written as NSString).lastPathComponent)\""))
                    continue
                }
                let path = resolved(written, from: flowFile)
                switch loader.fileKind(path: path) {
                case .missing:
                    diagnostics.append(Diagnostic(.extensionWebMissing(written, e.name, isDirectory: false), at: web.range,
                        hint: "'web' is relative to the flow file's folder, so this is '\(path)'; 'flow serve' cannot serve it until it is there"))
                case .directory:
                    diagnostics.append(Diagnostic(.extensionWebMissing(written, e.name, isDirectory: true), at: web.range,
                        hint: "name the module itself, an ES module file: web \"extensions/tokenize.js\""))
                case .file, .unknown:
                    break
                }
            }
        }
        return diagnostics
    }

    /// Where the extension runner and the server look: relative to the declaring file's folder.
    static func resolved(_ written: String, from flowFile: String) -> String {
        SourcePath.normalize(ImportResolver.resolve(written, from: flowFile))
    }
}
