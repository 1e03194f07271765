import FlowKit
import Foundation

/// Target `check`: the bytes are a flow file, read as bytes (not UTF-8 text), so invalid UTF-8,
/// NUL bytes and stray line ends reach the lexer as they would from disk. Runs the whole front
/// end (`Frontend.compile`: lex, parse, import, compile, check), renders the diagnostics in
/// every format, and parses the same bytes as a test plan (`*.flowtest`).
///
/// Holds: no crash; a program exactly when there is no error; every diagnostic inside a file
/// that was read; `--format json` output is JSON, an array of one object per diagnostic; for one
/// input in 32 (by its length: the same inputs every run), checking with the work shared with
/// a second thread, whatever the size, reports exactly what checking on one thread does, and
/// parsing in pieces on two threads gives the diagnostics of one parse. (Not for every input: handing work to
/// a thread costs more than checking a small input, most of all under AddressSanitizer.)
enum CheckTarget {
    static let path = "fuzz.flow"

    static func run(_ bytes: [UInt8]) {
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: path, loader: BytesLoader(path: path, root: bytes))
        } catch {
            fatalError("flow-fuzz: the root file could not be read from memory: \(error)")
        }
        let diagnostics = compilation.diagnostics
        require((compilation.program == nil) == compilation.hasErrors,
                "a program must be produced exactly when there are no errors")
        for d in diagnostics {
            let files = compilation.sources.files
            require(Int(d.range.file.index) < files.count, "diagnostic \(d.id) points at a file that was not read")
            let file = files[Int(d.range.file.index)]
            require(d.range.start <= d.range.end && Int(d.range.end) <= file.bytes.count,
                    "diagnostic \(d.id) has range \(d.range.start)..<\(d.range.end) in a file of \(file.bytes.count) bytes")
        }
        _ = DiagnosticRenderer(format: .human, color: true).render(diagnostics, sources: compilation.sources)
        _ = DiagnosticRenderer(format: .gcc).render(diagnostics, sources: compilation.sources)
        let json = DiagnosticRenderer(format: .json).render(diagnostics, sources: compilation.sources)
        switch try? Value.fromJSON(json) {
        case .list(let items)?:
            require(items.count == diagnostics.count, "--format json has \(items.count) objects for \(diagnostics.count) diagnostics")
        default:
            fatalError("flow-fuzz: --format json output is not a JSON array: \(json.prefix(200))")
        }

        if bytes.count % 32 == 0 {
            let loader = BytesLoader(path: path, root: bytes)
            let alone = try? Frontend.compile(path: path, options: CheckOptions(workSharing: .never), loader: loader)
            let shared = try? Frontend.compile(path: path, options: CheckOptions(workSharing: .always), loader: loader)
            require(alone?.diagnostics == diagnostics, "checking on one thread must report what checking does")
            require(shared?.diagnostics == diagnostics, "checking with the work shared must report what checking on one thread does")
            let file = SourceManager().add(path: path, bytes: bytes)
            require(Parser.parseSharingWork(file, minimumBytes: 0).1 == Parser.parse(file).1,
                    "parsing in pieces must give the diagnostics of one parse")
        }

        // The same bytes as a test plan.
        let plan = SourceManager().add(path: "fuzz.flowtest", bytes: bytes)
        _ = PlanParser.parse(plan)
    }
}
