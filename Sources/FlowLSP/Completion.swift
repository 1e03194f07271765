import FlowKit
import Foundation

/// Completion and signature help. Both read the text of the line before the cursor (which may
/// not parse while it is typed) and take names from the last analysis of the document.
extension LanguageServer {
    static let topLevelKeywords = ["import", "config", "secret", "var", "ip", "extension", "flow"]
    static let statementKeywords = ["page", "question", "ip", "extension", "call", "set", "if", "else", "label", "goto",
                                    "response", "finish success", "finish failure", "on error"]
    static let pageKeywords = ["title", "question"]
    static let ipKeywords = ["GET", "POST", "PUT", "PATCH", "DELETE", "soap", "action", "namespace", "query", "headers",
                             "form", "json", "body", "auth bearer", "auth basic", "timeout", "retry", "idempotent", "output"]
    static let extensionKeywords = ["run", "timeout", "output"]
    static let planTopKeywords = ["tests", "test", "config", "today"]
    static let planItemKeywords = ["answer", "result", "failure", "expect", "flow", "argument", "config", "today"]
    static let expectKeywords = ["response", "response contains", "outcome success", "outcome failure", "called", "not called", "variable",
                                 "refused"]
    static let valueTypes = ["text", "number", "currency", "bool", "date", "list", "object", "secure"]
    static let errorFields = ["kind", "message", "status", "code", "body"]

    /// LSP CompletionItemKind values.
    enum ItemKind: Int {
        case method = 2, function = 3, field = 5, variable = 6, module = 9, property = 10, keyword = 14, snippet = 15,
             constant = 21, typeParameter = 25, event = 23
    }

    func item(_ label: String, _ kind: ItemKind, detail: String? = nil, documentation: String? = nil, insert: String? = nil) -> [String: Any] {
        var i: [String: Any] = ["label": label, "kind": kind.rawValue]
        if let detail { i["detail"] = detail }
        if let documentation { i["documentation"] = ["kind": "markdown", "value": documentation] }
        if let insert { i["insertText"] = insert }
        return i
    }

    func itemKind(_ k: SymbolKind) -> ItemKind {
        switch k {
        case .flow, .integrationPoint, .extension: .function
        case .page: .module
        case .question, .output: .field
        case .config, .secret: .constant
        case .label: .event
        default: .variable
        }
    }

    func symbolItem(_ index: SymbolIndex, _ s: Int, label: String? = nil) -> [String: Any] {
        let sym = index.symbols[s]
        let detail: String =
            switch sym.kind {
            case .integrationPoint, .extension, .flow: sym.signature ?? sym.name
            case .question: "question: \(sym.type ?? "text")"
            default: sym.type.map { "\(sym.kind.rawValue): \($0)" } ?? sym.kind.rawValue
            }
        return item(label ?? sym.name, itemKind(sym.kind), detail: detail, documentation: describe(index, s))
    }

    /// The text of the line from its start to the cursor: at most its last 4 KiB, so the patterns
    /// matched on it cost little on a line of megabytes.
    func linePrefix(_ doc: Document, _ offset: Int) -> String {
        let line = doc.lineIndex(of: offset)
        var start = max(doc.lineStarts[line], offset - 4096)
        while start < offset && doc.text[start] & 0xC0 == 0x80 { start += 1 }
        return String(decoding: doc.text[start..<offset], as: UTF8.self)
    }

    /// Whether the cursor is inside `{ … }` of a text literal on this line (a template), and the
    /// text of the template's expression so far.
    static func templateExpression(_ prefix: String) -> String? {
        var inString = false
        var braceStart: String.Index?
        var i = prefix.startIndex
        while i < prefix.endIndex {
            let c = prefix[i]
            if c == "\\" {
                i = prefix.index(after: i)
                if i < prefix.endIndex { i = prefix.index(after: i) }
                continue
            }
            if inString {
                if braceStart != nil {
                    if c == "}" { braceStart = nil }
                } else if c == "{" {
                    braceStart = prefix.index(after: i)
                } else if c == "\"" {
                    inString = false
                }
            } else if c == "\"" {
                inString = true
            } else if c == "/" && prefix[i...].hasPrefix("//") {
                return nil
            }
            i = prefix.index(after: i)
        }
        guard inString, let braceStart else { return nil }
        return String(prefix[braceStart...])
    }

    /// The name before a `.` at the end of `text` (`Issue.`, `result.fail`): the longest run of
    /// words ending there that the analysis knows, and what is typed after the dot.
    func memberBase(_ text: String) -> (base: [String], partial: String)? {
        guard let dot = text.lastIndex(of: ".") else { return nil }
        let partial = String(text[text.index(after: dot)...])
        guard partial.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == " " }) else { return nil }
        var start = dot
        while start > text.startIndex {
            let c = text[text.index(before: start)]
            guard c.isLetter || c.isNumber || c == "_" || c == " " else { break }
            start = text.index(before: start)
        }
        let words = text[start..<dot].split(separator: " ").map(String.init)
        guard !words.isEmpty else { return nil }
        // Longest first: `and Issue` -> `Issue`.
        return ((0..<words.count).map { words[$0...].joined(separator: " ") }, partial)
    }

    func completion(_ params: [String: Any]) throws -> Any {
        let (doc, analysis) = try context(params)
        let offset = position(params, doc)
        let prefix = linePrefix(doc, offset)
        let index = analysis.index
        let trimmed = prefix.drop { $0 == " " || $0 == "\t" }
        let flow = index.enclosing(file: FileID(0), offset: offset, kinds: [.flow])
        var items: [[String: Any]] = []

        func members(_ text: String) -> [[String: Any]]? {
            guard let (bases, _) = memberBase(text) else { return nil }
            for base in bases {
                if base == "error" { return Self.errorFields.map { item($0, .field, detail: "error field") } }
                let candidates = index.namesInScope(flow: flow).filter { index.symbols[$0].name == base }
                    + (doc.isPlan ? index.symbols.indices.filter { index.symbols[$0].name == base && [.page, .question].contains(index.symbols[$0].kind) } : [])
                for s in candidates {
                    switch index.symbols[s].kind {
                    case .page:
                        return index.children(of: s).map { symbolItem(index, $0) }
                    case .question:
                        return [symbolItem(index, s)]
                    default:
                        if let callee = index.boundCallee[s] { return index.outputs(ofCallee: callee).map { symbolItem(index, $0) } }
                    }
                }
            }
            return []
        }
        func scopeItems() -> [[String: Any]] {
            var seen = Set<String>()
            var result: [[String: Any]] = []
            for s in index.namesInScope(flow: flow) where index.symbols[s].kind != .question || index.symbols[s].parent == flow {
                if seen.insert(index.symbols[s].name).inserted { result.append(symbolItem(index, s)) }
            }
            if let ip = index.enclosing(file: FileID(0), offset: offset, kinds: [.integrationPoint, .extension]) {
                for p in index.parameters(of: ip) { result.append(symbolItem(index, p)) }
                for s in index.symbols.indices where index.symbols[s].kind == .secret { result.append(symbolItem(index, s)) }
            }
            result += Builtin.allCases.map { item($0.rawValue, .function, detail: "built-in function", insert: $0.rawValue + "(") }
            result += ["true", "false", "null", "and", "or", "not"].map { item($0, .keyword) }
            return result
        }
        func callees(_ kinds: [SymbolKind]) -> [[String: Any]] {
            index.symbols.indices.filter { kinds.contains(index.symbols[$0].kind) && index.symbols[$0].parent == nil }
                .map { symbolItem(index, $0) }
        }

        if let template = Self.templateExpression(prefix) {
            items = members(template) ?? scopeItems()
        } else if doc.isPlan {
            items = planCompletion(String(trimmed), index, members: members)
        } else if let m = prefix.range(of: #"^\s*(ip|extension|call)\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression), !m.isEmpty {
            let word = trimmed.prefix { $0 != " " }
            items = callees(word == "ip" ? [.integrationPoint] : word == "extension" ? [.extension] : [.flow])
        } else if prefix.range(of: #"^\s*question\s+[^:]+:\s*[\p{L}]*$"#, options: .regularExpression) != nil {
            items = QuestionType.allCases.map { item($0.rawValue, .typeParameter, detail: "question type") }
        } else if let m = members(prefix), prefix.range(of: #"\.[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            items = m
        } else if trimmed.allSatisfy({ $0.isLetter || $0 == "_" }) {
            // The start of a line: keywords that may stand here.
            if let q = index.enclosing(file: FileID(0), offset: offset, kinds: [.question]),
               Int(index.symbols[q].declaration.end) < offset - trimmed.utf8.count {
                items = QuestionProperty.Kind.allCases.map { item($0.rawValue, .property, detail: "question property") }
            } else if index.enclosing(file: FileID(0), offset: offset, kinds: [.page]) != nil {
                items = Self.pageKeywords.map { item($0, .keyword) }
            } else if index.enclosing(file: FileID(0), offset: offset, kinds: [.integrationPoint]) != nil {
                items = Self.ipKeywords.map { item($0, .keyword) }
            } else if index.enclosing(file: FileID(0), offset: offset, kinds: [.extension]) != nil {
                items = Self.extensionKeywords.map { item($0, .keyword) }
            } else if flow != nil {
                items = Self.statementKeywords.map { item($0, .keyword) }
            } else {
                items = Self.topLevelKeywords.map { item($0, .keyword) }
            }
        } else if prefix.range(of: #":\s*[\p{L}]*$"#, options: .regularExpression) != nil
                    && prefix.range(of: #"^\s*(flow|ip|extension|var|output)\s"#, options: .regularExpression) != nil {
            items = Self.valueTypes.map { item($0, .typeParameter, detail: "type") }
        } else if prefix.range(of: #"^\s*goto\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil
                    || prefix.range(of: #"on error goto\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            items = index.symbols.indices.filter { index.symbols[$0].kind == .label && index.symbols[$0].parent == flow }.map { symbolItem(index, $0) }
        } else {
            items = scopeItems()
        }
        return ["isIncomplete": false, "items": items]
    }

    func planCompletion(_ line: String, _ index: SymbolIndex, members: (String) -> [[String: Any]]?) -> [[String: Any]] {
        func top(_ kinds: [SymbolKind]) -> [[String: Any]] {
            index.symbols.indices.filter { kinds.contains(index.symbols[$0].kind) && index.symbols[$0].parent == nil }
                .map { symbolItem(index, $0) }
        }
        if line.range(of: #"^(result|failure)\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            return top([.integrationPoint, .extension, .flow])
        }
        if line.range(of: #"^expect\s+(not\s+)?called\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            return top([.integrationPoint, .extension, .flow])
        }
        if line.range(of: #"^flow\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil { return top([.flow]) }
        if line.range(of: #"^(answer|expect\s+refused)\s+[\p{L}\p{N}_ ]*\.[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            return members(line) ?? []
        }
        if line.range(of: #"^(answer|expect\s+refused)\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            var items: [[String: Any]] = []
            for s in index.symbols.indices {
                let sym = index.symbols[s]
                if sym.kind == .page {
                    for q in index.children(of: s) { items.append(symbolItem(index, q, label: "\(sym.name).\(index.symbols[q].name)")) }
                } else if sym.kind == .question, let p = sym.parent, index.symbols[p].kind == .flow {
                    items.append(symbolItem(index, s))
                }
            }
            return items
        }
        if line.range(of: #"^expect\s+[\p{L}]*$"#, options: .regularExpression) != nil {
            return Self.expectKeywords.map { item($0, .keyword) }
        }
        if line.range(of: #"^expect\s+variable\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil {
            let flow = index.entryFlow
            return index.symbols.indices.filter {
                index.symbols[$0].parent == flow && [.variable, .parameter, .output].contains(index.symbols[$0].kind)
            }.map { symbolItem(index, $0) }
        }
        if line.range(of: #"^config\s+[\p{L}\p{N}_ ]*$"#, options: .regularExpression) != nil { return top([.config]) }
        if line.allSatisfy({ $0.isLetter }) {
            return Set(Self.planTopKeywords + Self.planItemKeywords).sorted().map { item($0, .keyword) }
        }
        return []
    }

    // MARK: - Signature help

    func signatureHelp(_ params: [String: Any]) throws -> Any {
        let (doc, analysis) = try context(params)
        let offset = position(params, doc)
        let index = analysis.index
        // Find the `(` that is still open at the cursor (within 4 KiB), counting commas at its depth.
        var depth = 0
        var commas = 0
        var i = offset - 1
        let limit = max(0, offset - 4096)
        var inString = false
        var open: Int?
        var currentLabel: String?
        var segmentEnd = offset
        while i >= limit {
            let b = doc.text[i]
            if b == UInt8(ascii: "\"") && (i == 0 || doc.text[i - 1] != UInt8(ascii: "\\")) { inString.toggle() }
            if !inString {
                if b == UInt8(ascii: ")") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") { depth += 1 }
                if b == UInt8(ascii: "(") || b == UInt8(ascii: "[") || b == UInt8(ascii: "{") {
                    if depth == 0 {
                        if b == UInt8(ascii: "(") { open = i }
                        break
                    }
                    depth -= 1
                }
                if b == UInt8(ascii: ",") && depth == 0 {
                    if commas == 0 { currentLabel = Self.argumentLabel(doc.text[(i + 1)..<segmentEnd]) }
                    commas += 1
                }
            }
            i -= 1
        }
        guard let open else { return NSNull() }
        if commas == 0 { currentLabel = Self.argumentLabel(doc.text[(open + 1)..<segmentEnd]) }
        segmentEnd = open
        // The name before `(`: `ip Send SMS(`, `call Triage(`, `expect called Triage(`, `round(`.
        let lineStart = doc.lineStarts[doc.lineIndex(of: open)]
        let before = String(decoding: doc.text[lineStart..<open], as: UTF8.self)
        var calleeName = ""
        var kinds: [SymbolKind] = []
        if let r = before.range(of: #"(ip|extension|call|called)\s+[\p{L}\p{N}_ ]+$"#, options: .regularExpression) {
            let words = before[r].split(separator: " ")
            calleeName = words.dropFirst().joined(separator: " ")
            switch words.first {
            case "ip": kinds = [.integrationPoint]
            case "extension": kinds = [.extension]
            case "call": kinds = [.flow]
            default: kinds = [.integrationPoint, .extension, .flow]
            }
        } else if let r = before.range(of: #"[\p{L}_]+$"#, options: .regularExpression), let f = Builtin(rawValue: String(before[r])) {
            let label = Self.builtinSignature(f)
            return ["signatures": [["label": label.0, "parameters": label.1.map { ["label": $0] }]],
                    "activeSignature": 0, "activeParameter": min(commas, max(0, label.1.count - 1))]
        }
        guard let callee = index.symbols.indices.first(where: {
            kinds.contains(index.symbols[$0].kind) && index.symbols[$0].parent == nil && index.symbols[$0].name == calleeName
        }) else { return NSNull() }
        let sym = index.symbols[callee]
        let params = index.parameters(of: callee).map { index.symbols[$0].name }
        var active = commas
        if let currentLabel, let k = params.firstIndex(of: currentLabel) { active = k }
        let label = "\(sym.name)(\(sym.parameters.joined(separator: ", ")))"
        var parameters: [[String: Any]] = []
        var cursor = label.utf16.count - 1 - sym.parameters.joined(separator: ", ").utf16.count
        for p in sym.parameters {
            parameters.append(["label": [cursor, cursor + p.utf16.count]])
            cursor += p.utf16.count + 2
        }
        var signature: [String: Any] = ["label": label, "parameters": parameters]
        if !sym.outputs.isEmpty { signature["documentation"] = "outputs: " + sym.outputs.joined(separator: ", ") }
        return ["signatures": [signature], "activeSignature": 0, "activeParameter": min(active, max(0, params.count - 1))]
    }

    /// `name` from an argument written `name: value` (the part of the argument typed so far).
    static func argumentLabel(_ bytes: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == " " }) else { return nil }
        return name
    }

    static func builtinSignature(_ f: Builtin) -> (String, [String]) {
        let params: [String] =
            switch f {
            case .len: ["value: text or list"]
            case .upper, .lower, .trim: ["value: text"]
            case .round: ["value: number", "places: number"]
            case .abs: ["value: number"]
            case .min, .max: ["a: number", "b: number"]
            case .contains: ["haystack: text or list", "needle"]
            case .text: ["value"]
            case .number: ["value: text"]
            case .today: []
            }
        return ("\(f.rawValue)(\(params.joined(separator: ", ")))", params)
    }
}
