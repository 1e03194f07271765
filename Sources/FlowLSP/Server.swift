import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow lsp`: a Language Server Protocol (3.17) server for `*.flow` and `*.flowtest` files over
/// standard input and output.
///
/// Design note: one thread handles every message in order (a reader thread only reads frames and
/// notes cancellations), so a request is always answered against the text of the document as
/// the client had it when it sent the request: the changes sent before it have been applied, the
/// ones after it not yet. An analysis (diagnostics and the symbol index, `Analyzer`) is made for
/// one version of a document and of what it imports; an edit drops the analyses of every open
/// document that read the edited file, and they are made again when next asked for; the parse of
/// each open flow document is kept (`IncrementalParse`), so making an analysis again after an edit
/// parses only the declarations the edit touched (the compiler and its checks still run on the
/// whole program). Diagnostics
/// are published once no message is waiting, so a burst of edits is checked once, on the latest
/// text. A request cancelled before it is answered gets `RequestCancelled`.
public final class LanguageServer {
    let queue = MessageQueue()
    let writer: FrameWriter
    let input: Int32
    var encoding = PositionEncoding.utf16
    var documents: [String: Document] = [:]
    var analyses: [String: Analysis] = [:]
    /// The kept parse of each open flow document: an edit parses again only what it touched.
    var parses: [String: IncrementalParse] = [:]
    /// Per open flow file: what the compiler lowered of each flow, reused for the flows an edit left alone.
    var flowCaches: [String: FlowCache] = [:]
    /// Documents whose diagnostics must be published again.
    var dirty = Set<String>()
    var workspaceRoots: [String] = []
    var shutdown = false
    let releaseQueue = DispatchQueue(label: "flow.lsp.release", qos: .utility)

    public init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.writer = FrameWriter(fd: output)
    }

    /// Serves until the client sends `exit` or closes standard input; returns the exit status.
    public func run() -> Int32 {
        let queue = self.queue
        let fd = input
        let reader = Thread {
            let frames = FrameReader(fd: fd)
            while true {
                switch frames.next() {
                case .end:
                    queue.end()
                    return
                case .malformed(let why):
                    queue.push(ParseProblem(reason: why))
                case .message(let data):
                    guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
                        queue.push(ParseProblem(reason: "a message that is not a JSON object"))
                        continue
                    }
                    if dict["method"] as? String == "$/cancelRequest", let params = dict["params"] as? [String: Any] {
                        queue.cancel(params["id"])
                        continue
                    }
                    queue.push(MessageBox(dict: dict))
                }
            }
        }
        reader.stackSize = 1 << 20
        reader.start()
        while let item = queue.pop() {
            if let problem = item as? ParseProblem {
                writer.send(["jsonrpc": "2.0", "id": NSNull(), "error": ["code": -32700, "message": "parse error: \(problem.reason)"]])
                continue
            }
            guard let box = item as? MessageBox else { continue }
            let dict = box.dict
            guard let method = dict["method"] as? String else { continue }  // a response to us
            let message = Message(id: dict["id"], method: method, params: dict["params"])
            if method == "exit" { return shutdown ? 0 : 1 }
            handle(message)
            if queue.isEmpty { publishDirty() }
        }
        return shutdown ? 0 : 1
    }

    struct ParseProblem { let reason: String }
    struct MessageBox { let dict: [String: Any] }

    // MARK: - Dispatch

    struct RequestError: Error {
        var code: Int
        var message: String
        static func invalidParams(_ m: String) -> RequestError { RequestError(code: -32602, message: m) }
        static func failed(_ m: String) -> RequestError { RequestError(code: -32803, message: m) }
    }

    func handle(_ message: Message) {
        let params = message.params as? [String: Any] ?? [:]
        guard message.isRequest else {
            notification(message.method, params)
            return
        }
        if queue.isCancelled(message.id, forget: true) {
            respond(message.id, error: RequestError(code: -32800, message: "cancelled"))
            return
        }
        if shutdown && message.method != "shutdown" {
            respond(message.id, error: RequestError(code: -32600, message: "the server is shutting down"))
            return
        }
        do {
            let result = try request(message.method, params)
            if queue.isCancelled(message.id, forget: true) {
                respond(message.id, error: RequestError(code: -32800, message: "cancelled"))
            } else {
                writer.send(["jsonrpc": "2.0", "id": message.id ?? NSNull(), "result": result])
            }
        } catch let e as RequestError {
            respond(message.id, error: e)
        } catch {
            respond(message.id, error: RequestError(code: -32603, message: "\(error)"))
        }
    }

    func respond(_ id: Any?, error: RequestError) {
        writer.send(["jsonrpc": "2.0", "id": id ?? NSNull(), "error": ["code": error.code, "message": error.message]])
    }

    func notify(_ method: String, _ params: [String: Any]) {
        writer.send(["jsonrpc": "2.0", "method": method, "params": params])
    }

    func request(_ method: String, _ params: [String: Any]) throws -> Any {
        switch method {
        case "initialize": return initialize(params)
        case "shutdown":
            shutdown = true
            return NSNull()
        case "textDocument/definition": return try definition(params)
        case "textDocument/references": return try references(params)
        case "textDocument/prepareRename": return try prepareRename(params)
        case "textDocument/rename": return try rename(params)
        case "textDocument/hover": return try hover(params)
        case "textDocument/documentSymbol": return try documentSymbols(params)
        case "textDocument/formatting": return try formatting(params)
        case "textDocument/completion": return try completion(params)
        case "textDocument/signatureHelp": return try signatureHelp(params)
        case "textDocument/codeAction": return try codeActions(params)
        case "textDocument/diagnostic":
            let (doc, analysis) = try context(params)
            return ["kind": "full", "items": diagnostics(doc, analysis)]
        default:
            throw RequestError(code: -32601, message: "method not found: \(method)")
        }
    }

    func notification(_ method: String, _ params: [String: Any]) {
        switch method {
        case "textDocument/didOpen":
            guard let item = params["textDocument"] as? [String: Any], let uri = item["uri"] as? String,
                  let text = item["text"] as? String else { return }
            let doc = Document(uri: uri, path: URIs.path(uri), version: intValue(item["version"]) ?? 0, text: Array(text.utf8))
            documents[uri] = doc
            changed(doc.path)
            dirty.insert(uri)
        case "textDocument/didChange":
            guard let item = params["textDocument"] as? [String: Any], let uri = item["uri"] as? String,
                  var doc = documents[uri], let changes = params["contentChanges"] as? [[String: Any]] else { return }
            for change in changes { doc.apply(change, encoding) }
            doc.version = intValue(item["version"]) ?? doc.version + 1
            documents[uri] = doc
            changed(doc.path)
        case "textDocument/didClose":
            guard let item = params["textDocument"] as? [String: Any], let uri = item["uri"] as? String,
                  let doc = documents.removeValue(forKey: uri) else { return }
            drop(uri)
            parses.removeValue(forKey: uri)
            flowCaches.removeValue(forKey: uri)
            dirty.remove(uri)
            changed(doc.path)
            notify("textDocument/publishDiagnostics", ["uri": uri, "diagnostics": []])
        case "textDocument/didSave":
            break
        case "workspace/didChangeWatchedFiles":
            // A file changed on disk: what reads it is checked again (open documents win).
            for change in params["changes"] as? [[String: Any]] ?? [] {
                if let uri = change["uri"] as? String { changed(URIs.path(uri)) }
            }
        default:
            break  // initialized, $/setTrace, unknown notifications: nothing to do
        }
    }

    /// A file's text changed: every analysis that read it is stale.
    func changed(_ path: String) {
        var stale: [String] = []
        for (uri, analysis) in analyses where analysis.sources.files.contains(where: { URIs.normalize($0.path) == path })
            || analysis.diagnosticSources.files.contains(where: { URIs.normalize($0.path) == path }) {
            stale.append(uri)
        }
        for (uri, doc) in documents where doc.path == path { stale.append(uri) }
        for uri in stale {
            drop(uri)
            dirty.insert(uri)
        }
    }

    /// Forgets a document's analysis. Freeing the syntax trees and the index of a large file takes
    /// a tenth of checking it again, so it happens on another thread, off the path to the next
    /// diagnostics (the analysis is immutable and shared with nothing else).
    func drop(_ uri: String) {
        guard let old = analyses.removeValue(forKey: uri) else { return }
        // Later than this function's own reference goes, so the last release is the queue's.
        releaseQueue.asyncAfter(deadline: .now() + .milliseconds(20)) { withExtendedLifetime(old) {} }
    }

    func publishDirty() {
        for uri in dirty.sorted() {
            guard let doc = documents[uri] else { continue }
            let analysis = analyze(doc, indexed: false)
            notify("textDocument/publishDiagnostics", ["uri": uri, "version": doc.version, "diagnostics": diagnostics(doc, analysis)])
        }
        dirty.removeAll()
    }

    // MARK: - Analysis

    var overlay: OverlayLoader {
        var open: [String: [UInt8]] = [:]
        for doc in documents.values { open[doc.path] = doc.text }
        return OverlayLoader(open: open)
    }

    /// A document's analysis; with its symbol index when `indexed` (diagnostics need none).
    func analyze(_ doc: Document, indexed: Bool = true) -> Analysis {
        if let a = analyses[doc.uri], a.isIndexed || !indexed { return a }
        if let a = analyses[doc.uri] {
            let full = a.indexed()
            analyses[doc.uri] = full
            return full
        }
        let a: Analysis
        if doc.isPlan {
            a = analyze(path: doc.path, loader: overlay, indexed: indexed)
        } else {
            // The root's parse is the kept one, brought up to the document's text.
            let sources = SourceManager()
            let root = sources.add(path: doc.path, bytes: doc.text)
            let parse = parses[doc.uri].map { $0.updated(to: root) } ?? IncrementalParse(file: root)
            if let old = parses.removeValue(forKey: doc.uri) {
                // The replaced parse's own trees are freed off the path to the diagnostics, as `drop` does.
                releaseQueue.asyncAfter(deadline: .now() + .milliseconds(20)) { withExtendedLifetime(old) {} }
            }
            parses[doc.uri] = parse
            let cache = flowCaches[doc.uri] ?? FlowCache()
            flowCaches[doc.uri] = cache
            a = IncrementalCheck.analyze(parse, sources: sources, loader: overlay, index: indexed, cache: cache)
        }
        analyses[doc.uri] = a
        return a
    }

    /// The analysis of any file (open or on disk); an unreadable file gives an empty analysis.
    func analyze(path: String, loader: OverlayLoader, indexed: Bool = true) -> Analysis {
        let result: Analysis?
        if path.hasSuffix(".flowtest") {
            result = try? Analyzer.analyzePlan(path: path, loader: loader)
        } else {
            result = try? Analyzer.analyze(path: path, loader: loader, index: indexed)
        }
        if let result { return result }
        let sources = SourceManager()
        sources.add(path: path, bytes: (try? loader.load(path: path)) ?? [])
        return Analysis(sources: sources, diagnostics: [], diagnosticSources: sources, index: SymbolIndex(), syntax: [], plan: nil)
    }

    func context(_ params: [String: Any]) throws -> (Document, Analysis) {
        guard let item = params["textDocument"] as? [String: Any], let uri = item["uri"] as? String else {
            throw RequestError.invalidParams("textDocument is missing")
        }
        guard let doc = documents[uri] else { throw RequestError.invalidParams("the document is not open: \(uri)") }
        return (doc, analyze(doc))
    }

    func position(_ params: [String: Any], _ doc: Document) -> Int {
        doc.offset(params["position"] as? [String: Any] ?? [:], encoding)
    }

    /// An LSP range for a source range of an analysis: from the open document when the file is
    /// open (its text is the analysed text), else from the analysed file.
    func location(_ range: SourceRange, _ sources: SourceManager) -> [String: Any] {
        let file = sources[range.file]
        return ["uri": URIs.uri(file.path), "range": lspRange(range, in: file, encoding)]
    }

    // MARK: - initialize

    func initialize(_ params: [String: Any]) -> [String: Any] {
        if let general = (params["capabilities"] as? [String: Any])?["general"] as? [String: Any],
           let encodings = general["positionEncodings"] as? [String], encodings.contains("utf-8") {
            encoding = .utf8
        }
        if let folders = params["workspaceFolders"] as? [[String: Any]] {
            workspaceRoots = folders.compactMap { ($0["uri"] as? String).map(URIs.path) }
        }
        if workspaceRoots.isEmpty, let root = params["rootUri"] as? String {
            workspaceRoots = [URIs.path(root)]
        } else if workspaceRoots.isEmpty, let root = params["rootPath"] as? String {
            workspaceRoots = [root]
        }
        let capabilities: [String: Any] = [
            "positionEncoding": encoding.rawValue,
            "textDocumentSync": ["openClose": true, "change": 2, "save": ["includeText": false]],
            "definitionProvider": true,
            "referencesProvider": true,
            "renameProvider": ["prepareProvider": true],
            "hoverProvider": true,
            "documentSymbolProvider": true,
            "documentFormattingProvider": true,
            "completionProvider": ["triggerCharacters": [".", " ", "{", "("], "resolveProvider": false],
            "signatureHelpProvider": ["triggerCharacters": ["(", ","], "retriggerCharacters": [","]],
            "codeActionProvider": ["codeActionKinds": ["quickfix"]],
        ]
        return ["capabilities": capabilities, "serverInfo": ["name": "flow", "version": flowVersion]]
    }

    // MARK: - Diagnostics

    func diagnostics(_ doc: Document, _ analysis: Analysis) -> [[String: Any]] {
        let sources = analysis.diagnosticSources
        guard !sources.files.isEmpty else { return [] }
        var result: [[String: Any]] = []
        for d in analysis.diagnostics where d.range.file == FileID(0) {
            var item: [String: Any] = [
                "range": lspRange(d.range, in: sources[d.range.file], encoding),
                "severity": d.severity == .error ? 1 : d.severity == .warning ? 2 : 3,
                "code": d.id,
                "source": "flow",
                "message": Self.message(d),
            ]
            let related = d.notes.compactMap { note -> [String: Any]? in
                guard let r = note.range, Int(r.file.index) < sources.files.count else { return nil }
                return ["location": location(r, sources), "message": note.message]
            }
            if !related.isEmpty { item["relatedInformation"] = related }
            if let hint = d.hint { item["data"] = ["hint": hint] }
            result.append(item)
        }
        return result
    }

    /// The message as `flow check` shows it: the headline, the label, notes without a place and
    /// the hint, one a line.
    static func message(_ d: Diagnostic) -> String {
        var lines = [d.message]
        if let label = d.label, !label.isEmpty { lines[0] += ": \(label)" }
        for note in d.notes where note.range == nil { lines.append("note: \(note.message)") }
        if let hint = d.hint { lines.append("hint: \(hint)") }
        return lines.joined(separator: "\n")
    }
}
