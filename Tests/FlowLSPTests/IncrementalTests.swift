import FlowKit
import Foundation
import XCTest

/// Incremental re-checking (`IncrementalParse`, used by `flow lsp` on every edit) gives exactly
/// what a full parse and a full `flow check` give: random edits (characters typed and deleted,
/// syntax broken and fixed, signatures changed, declarations added and removed) to a generated
/// file, compared after each one.
final class IncrementalTests: XCTestCase {
    /// A reproducible generator (SplitMix64).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    /// A file of many declarations of every kind, flows calling flows, IPs and extensions.
    /// `patterns`: each page also has a question with a `pattern` (for the cache test).
    static func generated(flows: Int, patterns: Bool = false) -> String {
        var out = """
            // Generated for the incremental tests.
            config API BASE = "https://api.example.com"
            config LIMIT = 100
            secret API KEY
            var tier: text = "standard"

            ip Lookup Customer(customer id: text, amount: currency) {
              POST "{API BASE}/v1/customers/{customer id}/quote"
              auth bearer API KEY
              form {
                amount = round(amount * 100)
              }
              timeout 10
              output tier: text = json "tier"
              output limit: currency = json "limits.daily"
            }

            extension Tokenize(card: text) {
              run "extensions/tokenize"
              output token: text
            }


            """
        for n in 0..<flows {
            let call = n == 0 ? "" : "  call Step \(n - 1)(customer id, total) -> sub\n  set total = sub.total\n"
            out += """
                flow Step \(n)(customer id: text, start: currency) -> (total: currency) {
                  page Details \(n) {
                    title "Details for {customer id}"
                    question Amount: currency {
                      prompt "How much, {customer id}?"
                      min 0.50
                      max 10000
                    }
                    question Reason: choice {
                      options "Bill", "Refund", "Other"
                    }
                    question Confirm: yesno
                \(patterns ? "    question Code: text {\n      pattern \"^[A-Z]+$\"\n    }\n" : "")  }
                  set total = start + Details \(n).Amount
                  set tries = 0
                  label Again
                  set tries += 1
                  if Details \(n).Reason == "Refund" and total > LIMIT {
                    set total -= 10.25
                  } else if not Details \(n).Confirm {
                    set total = total * 2
                  }
                  if tries < 3 {
                    goto Again
                  }
                  if start == 0 {
                    response "Nothing owed; share {100 / start}"
                  }
                \(call)  ip Lookup Customer(customer id, total) -> quote
                  on error {
                    response "Lookup failed: {error.message}"
                    finish failure "lookup failed"
                  }
                  extension Tokenize("4242") -> t
                  response "Total {total} for {quote.tier}, token {t.token}, limit {quote.limit}"
                  finish success
                }


                """
        }
        return out
    }

    /// One random edit of `text` as (start, end, replacement) in UTF-8 offsets (the text is ASCII).
    /// `defaults`: a signature change may also add a parameter with a default (for the cache test).
    static func randomEdit(_ text: [UInt8], _ rng: inout Random, defaults: Bool = false) -> (Int, Int, String) {
        let n = text.count
        let at = rng.below(n + 1)
        let lineStarts = [0] + text.indices.filter { text[$0] == 10 }.map { $0 + 1 }.filter { $0 <= n }
        func find(_ needle: String) -> Int? {
            let bytes = Array(needle.utf8)
            guard bytes.count <= n else { return nil }
            var hits: [Int] = []
            var i = 0
            while i + bytes.count <= n {
                if text[i] == bytes[0] && Array(text[i..<i + bytes.count]) == bytes { hits.append(i) }
                i += 1
            }
            return hits.isEmpty ? nil : rng.pick(hits)
        }
        switch rng.below(16) {
        case 0, 1, 2:  // type a character
            return (at, at, rng.pick(["x", "a", " ", "\n", "{", "}", "(", ")", "\"", ":", "=", ".", "1", ",", "-", "/"]))
        case 3, 4:  // delete a few characters
            return (at, min(n, at + 1 + rng.below(12)), "")
        case 5:  // delete a line or a few
            let line = rng.below(lineStarts.count)
            let end = lineStarts.count > line + 1 + rng.below(3) ? lineStarts[min(lineStarts.count - 1, line + 1 + rng.below(3))] : n
            return (lineStarts[line], max(lineStarts[line], end), "")
        case 6:  // add a declaration at a line start
            let line = rng.pick(lineStarts)
            let k = rng.below(1000)
            let decl = rng.pick([
                "flow Extra \(k) {\n  response \"hi\"\n  finish success\n}\n",
                "flow Step \(rng.below(8))(a: text) {\n  finish success\n}\n",
                "ip Extra \(k)(a: text) {\n  GET \"https://example.com/{a}\"\n  output r: text = json \"r\"\n}\n",
                "config LIMIT = 5\n", "secret API KEY\n", "var tier = 1\n",
                "flow Broken \(k) {\n  set y = \n", "}\n", "{\n", "  set total = 1\n", "import \"no-such-dir-\(k)/missing.flow\"\n",
                "flow Deep { set x = ((((((((((((1)))))))))))) }\n",
            ])
            return (line, line, decl)
        case 7:  // change a signature
            if rng.below(2) == 0, let i = find("(customer id: text") {
                return (i + 1, i + 1, rng.pick(["extra: number, ", "customer: text, ", ""] + (defaults ? ["note: text = \"n\", "] : [])))
            }
            if let i = find("-> (total: currency)") { return (i, i + 20, rng.pick(["-> (total: text)", "-> (sum: currency)", ""])) }
            return (at, at, "x")
        case 8:  // rename a flow or a question
            if let i = find("flow Step ") { return (i + 5, i + 9, rng.pick(["Stop", "Step", "Ste"])) }
            return (at, at, "y")
        case 9:  // break or fix a call
            if let i = find("call Step ") { return (i, i + 4, rng.pick(["cal", "call", "ip"])) }
            return (at, at, "\n")
        case 10:  // remove a whole flow
            if let i = find("\nflow Step "), let j = find("\n}\n") {
                let (s, e) = i < j ? (i + 1, j + 3) : (j + 3, i + 1)
                return (s, min(e, n), "")
            }
            return (at, min(n, at + 3), "")
        case 12:  // constants passed between flows: a call's arguments become literals, or stop being literals
            if let i = find("call Step "), let open = text[i...].firstIndex(of: 40), let close = text[open...].firstIndex(of: 41) {
                return (open + 1, close, rng.pick(["customer id, 0", "\"c\", 5", "customer id, total", "\"c\", start", "customer id, 0.0"]))
            }
            return (at, at, "0")
        case 13:  // a sub-flow's outputs: what it sets them to, and how the caller reads them
            if rng.below(2) == 0, let i = find("set total = start + ") {
                return (i + 12, i + 20, rng.pick(["0 + ", "5 + 0 * ", "start + "]))
            }
            if let i = find("set total = sub.total") { return (i + 12, i + 21, rng.pick(["sub.sum", "sub.total + 1", "0", "sub"])) }
            return (at, at, "sub.total")
        case 14:  // duplicate names: a flow, a page, a question, a label or a global declared twice
            let line = rng.pick(lineStarts)
            return (line, line, rng.pick([
                "flow Step \(rng.below(12))(customer id: text, start: currency) -> (total: currency) {\n  finish success\n}\n",
                "  page Details \(rng.below(12)) {\n    question Amount: currency\n  }\n", "  label Again\n",
                "config API BASE = \"x\"\n", "var LIMIT = 2\n", "extension Tokenize(card: text) {\n  run \"x\"\n}\n",
                "ip Lookup Customer(a: text) {\n  GET \"https://example.com/{a}\"\n}\n",
            ]))
        case 15:  // imports of a file that exists (it declares a flow this file declares too, and one it may call)
            let line = rng.pick(lineStarts)
            return (line, line, rng.pick([
                "import \"\(helperName)\"\n", "  call Helper(0) -> h\n", "  call Helper(start) -> h\n  set total = h.y\n",
            ]))
        default:  // replace a word
            return (at, min(n, at + rng.below(6)), rng.pick(["total", "Details 1", "quote", "t.token", "LIMIT", "error"]))
        }
    }

    /// The file `import` edits name, written beside the edited file by the protocol test.
    static let helperName = "incremental-helper-\(getpid()).flow"
    static let helperText = """
        flow Step 3(customer id: text, start: currency) -> (total: currency) {
          set total = start
          finish success
        }

        flow Helper(x: number) -> (y: number) {
          set y = 10 / x
          if x == 0 {
            response "zero"
          }
          finish success
        }

        """

    static func apply(_ text: [UInt8], _ edit: (Int, Int, String)) -> [UInt8] {
        var t = text
        t.replaceSubrange(edit.0..<edit.1, with: Array(edit.2.utf8))
        return t
    }

    func describe(_ parsed: (SourceFileSyntax, [Diagnostic])) -> String {
        "\(parsed.0.declarations)\n\(parsed.1)"
    }

    /// The parse kept between edits is, after every edit, the value a full parse gives (every
    /// range of every node, every diagnostic); a one-character edit parses few declarations again.
    func testIncrementalParseIsAFullParseAfterRandomEdits() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["FLOW_INCREMENTAL_SEED"] ?? "") ?? 20_261_204
        var rng = Random(state: seed)
        var text = Array(Self.generated(flows: 16).utf8)
        var parse = IncrementalParse(file: SourceFile(id: FileID(0), path: "t.flow", bytes: text))
        var small = 0, smallCheap = 0
        for step in 0..<300 {
            let edit = step % 50 == 49 ? (0, text.count, Self.generated(flows: 16)) : Self.randomEdit(text, &rng)
            text = Self.apply(text, edit)
            let file = SourceFile(id: FileID(0), path: "t.flow", bytes: text)
            parse = parse.updated(to: file)
            let full = Parser.parse(file)
            let got = parse.result
            XCTAssertEqual(got.1, full.1, "diagnostics after edit \(step) (seed \(seed)): \(edit)")
            let a = describe(got), b = describe(full)
            if a != b {
                XCTFail("syntax tree after edit \(step) (seed \(seed)): \(edit)\n\(String(decoding: text, as: UTF8.self))")
                return
            }
            if edit.2.count == 1 && edit.0 == edit.1 {
                small += 1
                if parse.reparsedDeclarations <= 4 { smallCheap += 1 }
            }
        }
        // A character typed parses again the declaration it is in and at most a few around it
        // (more when it opens a brace that swallows the rest of the file).
        XCTAssertGreaterThan(small, 50)
        XCTAssertGreaterThan(Double(smallCheap) / Double(small), 0.6, "\(smallCheap) of \(small) one-character edits were cheap")
        // A one-character edit inside a flow of a clean file parses three declarations, not all.
        var clean = IncrementalParse(file: SourceFile(id: FileID(0), path: "t.flow", bytes: Array(Self.generated(flows: 24).utf8)))
        var typed = Array(Self.generated(flows: 24).utf8)
        let needle = Array("set tries = 0".utf8)
        let at = (0..<typed.count).filter { typed[$0..<min(typed.count, $0 + needle.count)].elementsEqual(needle) }[12] + 7
        typed.insert(UInt8(ascii: "x"), at: at)
        clean = clean.updated(to: SourceFile(id: FileID(0), path: "t.flow", bytes: typed))
        XCTAssertLessThanOrEqual(clean.reparsedDeclarations, 3)
    }

    // MARK: - Through the server

    /// An LSP position of a UTF-8 offset in ASCII text.
    static func at(_ text: [UInt8], _ offset: Int) -> String {
        let p = position(text, offset)
        return "\(p["line"]!):\(p["character"]!)"
    }

    static func position(_ text: [UInt8], _ offset: Int) -> [String: Int] {
        var line = 0, lineStart = 0
        for i in 0..<offset where text[i] == 10 {
            line += 1
            lineStart = i + 1
        }
        return ["line": line, "character": offset - lineStart]
    }

    /// What `flow lsp` publishes for these diagnostics of file 0 (`LanguageServer.diagnostics`),
    /// said independently: range, severity, code, message with label, notes and hint, related
    /// information.
    static func expected(_ c: Compilation, _ text: [UInt8], uri: String) -> [String] {
        c.diagnostics.filter { $0.range.file == FileID(0) }.map { d in
            var lines = [d.message + (d.label.map { $0.isEmpty ? "" : ": \($0)" } ?? "")]
            for note in d.notes where note.range == nil { lines.append("note: \(note.message)") }
            if let hint = d.hint { lines.append("hint: \(hint)") }
            let related = d.notes.compactMap { n -> String? in
                guard let r = n.range else { return nil }
                let file = c.sources[r.file]
                let where_ = r.file == FileID(0) ? "\(at(text, Int(r.start)))-\(at(text, Int(r.end)))" : file.path
                return "\(where_): \(n.message)"
            }
            let severity = d.severity == .error ? 1 : d.severity == .warning ? 2 : 3
            return "\(at(text, Int(d.range.start)))-\(at(text, Int(d.range.end))) \(severity) \(d.id) \(lines.joined(separator: "\n")) \(related)"
        }
    }

    static func published(_ items: [[String: Any]]) -> [String] {
        func pos(_ p: Any?) -> String {
            let p = p as? [String: Any] ?? [:]
            return "\(p["line"] as? Int ?? -1):\(p["character"] as? Int ?? -1)"
        }
        func range(_ r: Any?) -> String {
            let r = r as? [String: Any] ?? [:]
            return "\(pos(r["start"]))-\(pos(r["end"]))"
        }
        return items.map { d in
            let related = (d["relatedInformation"] as? [[String: Any]] ?? []).map { info -> String in
                let location = info["location"] as? [String: Any] ?? [:]
                let uri = location["uri"] as? String ?? ""
                let where_ = uri.hasSuffix("incremental-\(getpid()).flow") ? range(location["range"]) : URL(string: uri)?.path ?? uri
                return "\(where_): \(info["message"] as? String ?? "")"
            }
            return "\(range(d["range"])) \(d["severity"] as? Int ?? 0) \(d["code"] as? String ?? "") \(d["message"] as? String ?? "") \(related)"
        }
    }

    /// After each of a few hundred random edits, sent as an editor sends them (ranges, sometimes
    /// two changes at once, sometimes the whole text), the diagnostics `flow lsp` publishes are
    /// those of a full `flow check` of the same text.
    /// The compiler with a `FlowCache` (as the server runs it) against a full compile of the same
    /// text after each random edit: every diagnostic of every file, and the drawing of every flow's
    /// graph; and the cache must have been used (flows reused), or the comparison proves nothing.
    func testCompileWithFlowCacheIsAFullCompileAfterRandomEdits() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["FLOW_INCREMENTAL_SEED"] ?? "") ?? 2_026
        var rng = Random(state: seed)
        let path = "/cache-test/t.flow", helper = "/cache-test/\(Self.helperName)"
        var text = Array(Self.generated(flows: 12, patterns: true).utf8)
        var parse: IncrementalParse?
        let cache = FlowCache()
        var reused = 0, lowered = 0, moved = 0
        for step in 0..<400 {
            let loader = MemoryLoader([path: String(decoding: text, as: UTF8.self), helper: Self.helperText])
            let sources = SourceManager()
            let root = sources.add(path: path, bytes: text)
            let next = parse.map { $0.updated(to: root) } ?? IncrementalParse(file: root)
            parse = next
            let got = IncrementalCheck.analyze(next, sources: sources, loader: loader, index: false, cache: cache)
            reused += cache.reused
            moved += cache.moved
            lowered += (got.program?.flows.count ?? 0) - cache.reused
            let full = try Frontend.compile(path: path, loader: loader)
            XCTAssertEqual(got.diagnostics, full.diagnostics.sortedByPosition(), "step \(step) (seed \(seed))")
            if let a = got.program, let b = full.program {
                XCTAssertEqual(GraphExport(program: a, sources: sources).dot(flows: Array(a.flows.indices)),
                               GraphExport(program: b, sources: full.sources).dot(flows: Array(b.flows.indices)), "graphs, step \(step) (seed \(seed))")
            }  // (`flow check` keeps no program when there are errors)
            // Every field of every flow, every range included (a flow moved by an edit before it
            // must have every range moved): a full compile's, kept or not.
            let whole = try Analyzer.analyze(path: path, loader: loader, index: false)
            if let a = got.program, let b = whole.program {
                XCTAssertEqual(Self.dumped(a.flows), Self.dumped(b.flows), "flows, step \(step) (seed \(seed))")
            }
            if got.diagnostics != full.diagnostics.sortedByPosition() { break }
            text = step % 80 == 79 ? Array(Self.generated(flows: 12, patterns: true).utf8)
                : step % 4 == 3 ? Self.movedAndChanged(text, &rng) : Self.apply(text, Self.randomEdit(text, &rng, defaults: true))
        }
        XCTAssertGreaterThan(reused, 400, "flows taken from the cache")
        XCTAssertGreaterThan(lowered, 400, "flows lowered again")
        XCTAssertGreaterThan(moved, 200, "flows moved by an edit before them")
    }

    /// Two edits at once: a line put in somewhere in the first half, and a letter changed further
    /// on (the same length), so that a flow may be both moved and changed.
    static func movedAndChanged(_ text: [UInt8], _ rng: inout Random) -> [UInt8] {
        let lineStarts = [0] + text.indices.filter { text[$0] == 10 && $0 + 1 < text.count / 2 }.map { $0 + 1 }
        let p = rng.pick(lineStarts)
        let letters = (p..<text.count).filter { text[$0] >= 97 && text[$0] <= 122 }
        var t = text
        if !letters.isEmpty {
            let q = rng.pick(letters)
            t[q] = t[q] == 120 ? 121 : 120  // x or y
        }
        t.insert(contentsOf: Array("\n".utf8), at: p)
        return t
    }

    /// Every field of every flow, as `dump` writes it.
    static func dumped(_ flows: [FlowGraph]) -> String {
        var out = ""
        dump(flows, to: &out)
        return out
    }

    func testPublishedDiagnosticsAreAFullCheckAfterRandomEdits() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["FLOW_INCREMENTAL_SEED"] ?? "") ?? 42
        var rng = Random(state: seed)
        let client = try LSPClient()
        _ = try client.initialize()
        // A folder of its own, with the program the generated extension's `run` names and the
        // file the random edits import.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("incremental-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("extensions"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.appendingPathComponent("extensions/tokenize").path,
                                                     contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
        let path = folder.appendingPathComponent("incremental-\(getpid()).flow").path
        try Self.helperText.write(toFile: folder.appendingPathComponent(Self.helperName).path, atomically: true, encoding: .utf8)
        var text = Array(Self.generated(flows: 12).utf8)
        let (uri, _) = try client.open(path, text: String(decoding: text, as: UTF8.self))
        _ = try client.diagnostics(uri, version: 1)
        var sawErrors = 0, sawClean = 0, sawConstantFacts = 0
        for version in 2..<302 {
            var changes: [[String: Any]] = []
            let count = version % 7 == 0 ? 2 : 1
            for _ in 0..<count {
                if version % 60 == 0 {
                    let original = Self.generated(flows: 12)
                    changes.append(["text": original])
                    text = Array(original.utf8)
                    continue
                }
                let edit = Self.randomEdit(text, &rng)
                changes.append(["range": ["start": Self.position(text, edit.0), "end": Self.position(text, edit.1)], "text": edit.2])
                text = Self.apply(text, edit)
            }
            client.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": version], "contentChanges": changes] as [String: Any])
            let got = Self.published(try client.diagnostics(uri, version: version))
            // As the server reads: the edited text from memory, the rest (the imported helper, an
            // extension's program) from the disk.
            let full = try Frontend.compile(path: path, loader: EditedText(path: path, text: text))
            let want = Self.expected(full, text, uri: uri)
            if got != want {
                XCTFail("edit \(version) (seed \(seed)): published\n\(got.joined(separator: "\n"))\nflow check\n\(want.joined(separator: "\n"))")
                break
            }
            if want.isEmpty { sawClean += 1 } else { sawErrors += 1 }
            // Facts that cross flows: a constant argument or output makes a callee's or a caller's check fire.
            if want.contains(where: { $0.contains("division by zero") || $0.contains("this condition is always") }) { sawConstantFacts += 1 }
        }
        // The edits went both ways: errors made and cleared.
        XCTAssertGreaterThan(sawErrors, 10)
        XCTAssertGreaterThan(sawClean, 3)
        XCTAssertGreaterThan(sawConstantFacts, 3)
        XCTAssertEqual(try client.shutdown(), 0)
    }
}

/// The edited document from memory and every other file (an extension's `run` program) from the
/// disk, as the language server reads them.
private struct EditedText: SourceLoader {
    let path: String
    let text: [UInt8]
    func load(path: String) throws(InputError) -> [UInt8] {
        path == self.path ? text : try FileSystemLoader().load(path: path)
    }
    func fileKind(path: String) -> FileKind { FileSystemLoader().fileKind(path: path) }
}
