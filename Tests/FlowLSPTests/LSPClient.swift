import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An editor's side of the Language Server Protocol, enough to drive the built `flow lsp`:
/// spawns the binary, frames messages with `Content-Length`, sends requests and notifications,
/// and collects what the server sends (responses by id, notifications in order).
///
/// The binary is the one `swift build` put beside the test bundle (`FLOW_BIN` overrides it), run
/// with the package root as its working directory.
final class LSPClient: @unchecked Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
        #if os(macOS)
            for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
                return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("flow")
            }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("flow")
    }

    let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private let condition = NSCondition()
    private var responses: [Int: [String: Any]] = [:]
    private var notifications: [[String: Any]] = []
    private var ended = false
    private var nextID = 1
    /// Everything the server wrote that was not a well-framed JSON message.
    private(set) var garbage: [String] = []

    init(arguments: [String] = ["lsp"]) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = Self.packageRoot
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    private func readLoop() {
        let fd = stdout.fileHandleForReading.fileDescriptor
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        func take() -> [String: Any]? {
            guard let end = buffer.indices.dropLast(3).first(where: {
                buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
            }) else { return nil }
            let header = String(decoding: buffer[..<end], as: UTF8.self)
            guard header.hasPrefix("Content-Length: "), let length = Int(header.dropFirst(16)) else {
                garbage.append(header)
                buffer.removeAll()
                return nil
            }
            guard buffer.count >= end + 4 + length else { return nil }
            let body = Data(buffer[(end + 4)..<(end + 4 + length)])
            buffer.removeFirst(end + 4 + length)
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                garbage.append(String(decoding: body, as: UTF8.self))
                return [:]
            }
            return object
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            buffer.append(contentsOf: chunk[0..<n])
            while let message = take() {
                condition.lock()
                if message["method"] == nil, let id = message["id"] as? Int {
                    responses[id] = message
                } else if !message.isEmpty {
                    notifications.append(message)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    func sendRaw(_ bytes: [UInt8]) {
        stdin.fileHandleForWriting.write(Data(bytes))
    }

    func send(_ object: [String: Any]) {
        let body = try! JSONSerialization.data(withJSONObject: object)
        sendRaw(Array("Content-Length: \(body.count)\r\n\r\n".utf8) + [UInt8](body))
    }

    /// Sends a request without waiting; returns its id.
    @discardableResult
    func sendRequest(_ method: String, _ params: Any) -> Int {
        condition.lock()
        let id = nextID
        nextID += 1
        condition.unlock()
        send(["jsonrpc": "2.0", "id": id, "method": method, "params": params])
        return id
    }

    func response(_ id: Int, timeout: TimeInterval = 30) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while responses[id] == nil {
            if ended { throw LSPTestError("the server exited before answering request \(id)") }
            if !condition.wait(until: deadline) { throw LSPTestError("no answer to request \(id) within \(timeout) s") }
        }
        return responses.removeValue(forKey: id)!
    }

    /// Sends a request and waits for its result; an error response fails.
    func request(_ method: String, _ params: Any, timeout: TimeInterval = 30) throws -> Any {
        let r = try response(sendRequest(method, params), timeout: timeout)
        if let error = r["error"] { throw LSPTestError("\(method) failed: \(error)") }
        return r["result"] ?? NSNull()
    }

    func notify(_ method: String, _ params: Any) {
        send(["jsonrpc": "2.0", "method": method, "params": params])
    }

    /// The first notification (not yet taken) with this method that satisfies `predicate`.
    func waitNotification(_ method: String, timeout: TimeInterval = 30, where predicate: ([String: Any]) -> Bool = { _ in true }) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let k = notifications.firstIndex(where: { $0["method"] as? String == method && predicate($0["params"] as? [String: Any] ?? [:]) }) {
                return notifications.remove(at: k)["params"] as? [String: Any] ?? [:]
            }
            if ended { throw LSPTestError("the server exited while waiting for \(method)") }
            if !condition.wait(until: deadline) { throw LSPTestError("no \(method) within \(timeout) s") }
        }
    }

    /// Diagnostics published for `uri` at `version` (the latest version the test sent).
    func diagnostics(_ uri: String, version: Int, timeout: TimeInterval = 30) throws -> [[String: Any]] {
        let p = try waitNotification("textDocument/publishDiagnostics", timeout: timeout) {
            $0["uri"] as? String == uri && $0["version"] as? Int == version
        }
        return p["diagnostics"] as? [[String: Any]] ?? []
    }

    func initialize(root: URL = LSPClient.packageRoot.appendingPathComponent("flows"), capabilities: [String: Any] = [:]) throws -> [String: Any] {
        let result = try request("initialize", [
            "processId": Int(getpid()), "rootUri": root.absoluteString, "capabilities": capabilities,
        ] as [String: Any])
        notify("initialized", [String: Any]())
        return result as? [String: Any] ?? [:]
    }

    /// Opens a document with the given text (by default, the file's own).
    @discardableResult
    func open(_ path: String, text: String? = nil, version: Int = 1) throws -> (uri: String, text: String) {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : Self.packageRoot.appendingPathComponent(path)
        let content = try text ?? String(contentsOf: url, encoding: .utf8)
        notify("textDocument/didOpen", ["textDocument": [
            "uri": url.absoluteString, "languageId": url.pathExtension, "version": version, "text": content,
        ] as [String: Any]])
        return (url.absoluteString, content)
    }

    func shutdown() throws -> Int32 {
        _ = try request("shutdown", NSNull())
        notify("exit", NSNull())
        process.waitUntilExit()
        return process.terminationStatus
    }

    var isRunning: Bool { process.isRunning }
}

struct LSPTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Positions in a text as LSP counts them (UTF-16 code units).
enum Marker {
    /// The position `delta` characters into the `occurrence`-th (0-based) match of `needle`.
    static func position(in text: String, of needle: String, occurrence: Int = 0, delta: Int = 0) -> [String: Int] {
        var searchStart = text.startIndex
        var found: Range<String.Index>?
        for _ in 0...occurrence {
            guard let r = text.range(of: needle, range: searchStart..<text.endIndex) else {
                XCTFail("'\(needle)' occurs fewer than \(occurrence + 1) times")
                return ["line": 0, "character": 0]
            }
            found = r
            searchStart = r.upperBound
        }
        let offset = text.utf16.distance(from: text.utf16.startIndex, to: found!.lowerBound.samePosition(in: text.utf16)!) + delta
        return position(in: text, utf16Offset: offset)
    }

    static func position(in text: String, utf16Offset: Int) -> [String: Int] {
        var line = 0, character = 0, i = 0
        for unit in text.utf16 {
            if i == utf16Offset { break }
            if unit == 10 {
                line += 1
                character = 0
            } else {
                character += 1
            }
            i += 1
        }
        return ["line": line, "character": character]
    }

    /// The text a range covers.
    static func text(_ text: String, _ range: [String: Any]) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array(String($0).utf16) }
        guard let s = range["start"] as? [String: Int], let e = range["end"] as? [String: Int], s["line"]! == e["line"]! else { return "?" }
        let line = lines[s["line"]!]
        return String(decoding: line[s["character"]!..<e["character"]!], as: UTF16.self)
    }
}
