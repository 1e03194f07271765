import Foundation
import XCTest

/// `flow lsp` never crashes or hangs, whatever the text; requests on stale text are answered on
/// the text the client had, or cancelled; bad frames get an error, and the server goes on.
final class RobustnessTests: XCTestCase {
    /// The inputs of the `check` and `format` fuzz targets (fuzz/seeds) and every saved crash of
    /// any target, each sent as a document (and cut in half) with requests at many places.
    func testEveryFuzzInputAsADocument() throws {
        let root = LSPClient.packageRoot
        var files: [URL] = []
        let fm = FileManager.default
        for folder in ["flows", "flows/lib", "Tests/FlowCLITests/golden"] {
            for name in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            where name.hasSuffix(".flow") || name.hasSuffix(".flowtest") {
                files.append(root.appendingPathComponent(folder).appendingPathComponent(name))
            }
        }
        let crashes = root.appendingPathComponent("fuzz/crashes")
        for target in (try? fm.contentsOfDirectory(atPath: crashes.path)) ?? [] {
            for name in (try? fm.contentsOfDirectory(atPath: crashes.appendingPathComponent(target).path)) ?? [] {
                files.append(crashes.appendingPathComponent(target).appendingPathComponent(name))
            }
        }
        // The corpus a local `fuzz/run` grew, when there is one (CI fuzzes before it tests): a
        // sample of 150, since each input costs about 80 requests (2,000 took CI's debug build
        // past ten minutes).
        let grown = root.appendingPathComponent(".build-fuzz/corpus/check")
        for name in ((try? fm.contentsOfDirectory(atPath: grown.path)) ?? []).sorted().prefix(150) {
            files.append(grown.appendingPathComponent(name))
        }
        XCTAssertGreaterThan(files.count, 150)
        let client = try LSPClient()
        _ = try client.initialize()
        var sent = 0
        for (n, file) in files.enumerated() {
            let bytes = try [UInt8](Data(contentsOf: file))
            let text = String(decoding: bytes, as: UTF8.self)
            for (k, variant) in [text, String(text.prefix(text.count / 2))].enumerated() {
                let ext = file.pathExtension == "flowtest" ? "flowtest" : "flow"
                let uri = root.appendingPathComponent("flows/.lsp-fuzz-\(n)-\(k).\(ext)").absoluteString
                client.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "flow", "version": 1, "text": variant] as [String: Any]])
                let lines = variant.split(separator: "\n", omittingEmptySubsequences: false)
                var positions: [[String: Int]] = [["line": 0, "character": 0], ["line": lines.count + 3, "character": 9999]]
                for i in stride(from: 0, to: lines.count, by: max(1, lines.count / 6)) {
                    let length = lines[i].utf16.count
                    positions += [["line": i, "character": length / 2], ["line": i, "character": length]]
                }
                var ids: [Int] = []
                ids.append(client.sendRequest("textDocument/documentSymbol", ["textDocument": ["uri": uri]]))
                ids.append(client.sendRequest("textDocument/formatting", ["textDocument": ["uri": uri], "options": ["tabSize": 2, "insertSpaces": true]] as [String: Any]))
                for p in positions {
                    let at: [String: Any] = ["textDocument": ["uri": uri], "position": p]
                    for method in ["textDocument/hover", "textDocument/definition", "textDocument/completion", "textDocument/signatureHelp", "textDocument/prepareRename"] {
                        ids.append(client.sendRequest(method, at))
                    }
                    ids.append(client.sendRequest("textDocument/codeAction", ["textDocument": ["uri": uri],
                        "range": ["start": p, "end": p], "context": ["diagnostics": [Any]()]] as [String: Any]))
                }
                // An incremental edit that deletes the middle line, then one that types into the first line.
                let middle = lines.count / 2
                client.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": 2], "contentChanges": [
                    ["range": ["start": ["line": middle, "character": 0], "end": ["line": middle + 1, "character": 0]], "text": ""],
                    ["range": ["start": ["line": 0, "character": 3], "end": ["line": 0, "character": 3]], "text": "{\"x"],
                ]] as [String: Any])
                ids.append(client.sendRequest("textDocument/hover", ["textDocument": ["uri": uri], "position": ["line": 0, "character": 4]] as [String: Any]))
                for id in ids {
                    let r = try client.response(id, timeout: 60)
                    if let error = r["error"] as? [String: Any] {
                        // Refusals are answers; an internal error is a bug.
                        XCTAssertNotEqual(error["code"] as? Int, -32603, "\(file.lastPathComponent): \(error)")
                    }
                }
                _ = try client.diagnostics(uri, version: 2, timeout: 60)
                client.notify("textDocument/didClose", ["textDocument": ["uri": uri]])
                sent += 1
            }
        }
        XCTAssertTrue(client.isRunning)
        XCTAssertEqual(try client.shutdown(), 0)
        XCTAssertEqual(sent, files.count * 2)
    }

    /// A line of megabytes: every request at its end is answered in seconds, not minutes.
    func testRequestsOnAHugeLine() throws {
        let client = try LSPClient()
        _ = try client.initialize()
        for (n, line) in [String(repeating: "a.", count: 600_000), "flow A { set x = \"" + String(repeating: "{x(", count: 300_000),
                          "question Q: " + String(repeating: "(,", count: 600_000)].enumerated() {
            let uri = LSPClient.packageRoot.appendingPathComponent("flows/.lsp-huge-\(n).flow").absoluteString
            client.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "flow", "version": 1, "text": line] as [String: Any]])
            let end: [String: Any] = ["textDocument": ["uri": uri], "position": ["line": 0, "character": line.utf16.count]]
            let started = Date()
            for method in ["textDocument/completion", "textDocument/signatureHelp", "textDocument/hover", "textDocument/definition"] {
                XCTAssertNil(try client.response(client.sendRequest(method, end), timeout: 120)["error"] as? [String: Any], method)
            }
            _ = try client.diagnostics(uri, version: 1, timeout: 120)
            XCTAssertLessThan(Date().timeIntervalSince(started), 60, "line \(n)")
        }
        XCTAssertEqual(try client.shutdown(), 0)
    }

    func testACancelledRequestGetsRequestCancelled() throws {
        let client = try LSPClient()
        _ = try client.initialize()
        let (uri, text) = try client.open("flows/support.flow")
        _ = try client.diagnostics(uri, version: 1)
        // The cancellation reaches the server before the request: it can only be cancelled.
        let at: [String: Any] = ["textDocument": ["uri": uri], "position": Marker.position(in: text, of: "call Triage", delta: 6)]
        client.notify("$/cancelRequest", ["id": 1000])
        client.send(["jsonrpc": "2.0", "id": 1000, "method": "textDocument/references", "params": at])
        let cancelled = try client.response(1000)
        XCTAssertEqual((cancelled["error"] as? [String: Any])?["code"] as? Int, -32800, "\(cancelled)")
        // Cancelling after the answer was sent changes nothing; the next request is answered.
        let id = client.sendRequest("textDocument/hover", at)
        let answered = try client.response(id)
        client.notify("$/cancelRequest", ["id": id])
        XCTAssertNotNil(answered["result"] as? [String: Any])
        XCTAssertNotNil(try client.request("textDocument/hover", at) as? [String: Any])
        XCTAssertEqual(try client.shutdown(), 0)
    }

    /// Edits and requests sent without waiting: each request sees the edits sent before it, none after.
    func testRequestsOnTextBeingEditedAnswerForTheTextTheyFollow() throws {
        let client = try LSPClient()
        _ = try client.initialize()
        let original = try String(contentsOf: LSPClient.packageRoot.appendingPathComponent("flows/payment.flow"), encoding: .utf8)
        let (uri, _) = try client.open("flows/payment.flow")
        // Version k renames the variable `amount` to `amount<k>`, a whole-text change each time;
        // after each, a hover on the `set` line asks for the variable's name.
        let line = Marker.position(in: original, of: "  set amount = Embedded")["line"]!
        var ids: [(Int, Int)] = []
        for k in 2...60 {
            let text = original.replacingOccurrences(of: "amount", with: "amount\(k)")
            client.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": k], "contentChanges": [["text": text]]] as [String: Any])
            ids.append((k, client.sendRequest("textDocument/hover", ["textDocument": ["uri": uri], "position": ["line": line, "character": 7]] as [String: Any])))
        }
        for (k, id) in ids {
            let r = try client.response(id)
            let value = ((r["result"] as? [String: Any])?["contents"] as? [String: Any])?["value"] as? String ?? ""
            XCTAssertTrue(value.contains("variable amount\(k):"), "version \(k): \(value)")
        }
        // Diagnostics come for the last version (a burst is checked once, on the latest text).
        let final = original.replacingOccurrences(of: "amount", with: "amount60").replacingOccurrences(of: "{amount60} on", with: "{amont60} on")
        client.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": 61], "contentChanges": [["text": final]]] as [String: Any])
        let diagnostics = try client.diagnostics(uri, version: 61)
        XCTAssertEqual(diagnostics.compactMap { $0["code"] as? String }, try FlowCheck.json(final, name: "payment.flow", beside: "flows").compactMap { $0["code"] as? String })
        XCTAssertEqual(try client.shutdown(), 0)
    }

    func testBadFramesAndUnknownRequestsGetErrorsAndTheServerGoesOn() throws {
        let client = try LSPClient()
        _ = try client.initialize()
        client.sendRaw(Array("Content-Length: 5\r\n\r\nnot j".utf8))
        client.sendRaw(Array("Content-Type: text/plain\r\n\r\n".utf8))
        client.sendRaw(Array("Content-Length: 7\r\n\r\n[1,2,3]".utf8))
        let unknown = try client.response(client.sendRequest("flow/unknown", [String: Any]()))
        XCTAssertEqual((unknown["error"] as? [String: Any])?["code"] as? Int, -32601)
        let notOpen = try client.response(client.sendRequest("textDocument/hover", ["textDocument": ["uri": "file:///nowhere.flow"], "position": ["line": 0, "character": 0]] as [String: Any]))
        XCTAssertEqual((notOpen["error"] as? [String: Any])?["code"] as? Int, -32602)
        let noParams = try client.response(client.sendRequest("textDocument/definition", NSNull()))
        XCTAssertNotNil(noParams["error"])
        let (uri, _) = try client.open("flows/balance.flow")
        XCTAssertEqual(try client.diagnostics(uri, version: 1).count, 0)
        // A frame with a Content-Type header too (as pygls and VS Code write them), in pieces.
        let body = Array(#"{"jsonrpc":"2.0","id":4242,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":"\#(uri)"}}}"#.utf8)
        let frame = Array("Content-Length: \(body.count)\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n".utf8) + body
        client.sendRaw(Array(frame[..<20]))
        Thread.sleep(forTimeInterval: 0.05)
        client.sendRaw(Array(frame[20...]))
        XCTAssertFalse((try client.response(4242)["result"] as? [Any] ?? []).isEmpty)
        XCTAssertEqual(try client.shutdown(), 0)
    }

    func testExitWithoutShutdownIsStatusOneAndEndOfInputEnds() throws {
        let client = try LSPClient()
        _ = try client.initialize()
        client.notify("exit", NSNull())
        client.process.waitUntilExit()
        XCTAssertEqual(client.process.terminationStatus, 1)
        let second = try LSPClient()
        _ = try second.initialize()
        try FileHandleCloser.close(second)
        second.process.waitUntilExit()
        XCTAssertEqual(second.process.terminationStatus, 1)
    }
}

enum FileHandleCloser {
    static func close(_ client: LSPClient) throws {
        try (client.process.standardInput as? Pipe)?.fileHandleForWriting.close()
    }
}
