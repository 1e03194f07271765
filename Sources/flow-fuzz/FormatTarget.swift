import FlowKit
import Foundation

/// Target `format`: `flow fmt` on a flow file read as bytes.
///
/// Holds: no crash; never `internalError` (the formatter's own check that its output reads as
/// the same tokens: a failure is a formatter bug); formatting the output again gives it back
/// unchanged; and the output means what the input meant: checking it reports the same
/// diagnostics (by id, in order).
enum FormatTarget {
    static func run(_ bytes: [UInt8]) {
        let file = SourceManager().add(path: "fuzz.flow", bytes: bytes)
        switch FlowFormatter.format(file) {
        case .syntaxErrors:
            return
        case .internalError(let problem):
            fatalError("flow-fuzz: flow fmt reports an internal error: \(problem)")
        case .formatted(let text):
            switch FlowFormatter.format(source: text, path: "fuzz.flow") {
            case .formatted(let again):
                require(again == text, "formatting twice changes the text:\n\(text.prefix(2000))\n---\n\(again.prefix(2000))")
            case .syntaxErrors(let diagnostics):
                fatalError("flow-fuzz: the formatted text has syntax errors: \(diagnostics.map(\.message))\n\(text.prefix(2000))")
            case .internalError(let problem):
                fatalError("flow-fuzz: formatting the formatted text reports an internal error: \(problem)")
            }
            let before = try? Frontend.compile(path: "fuzz.flow", loader: BytesLoader(path: "fuzz.flow", root: bytes))
            let after = try? Frontend.compile(path: "fuzz.flow", loader: BytesLoader(path: "fuzz.flow", root: Array(text.utf8)))
            let ids = { (c: Compilation?) in (c?.diagnostics ?? []).map(\.id) }
            require(ids(before) == ids(after), "formatting changes the diagnostics: \(ids(before)) → \(ids(after))")
        }
    }
}
