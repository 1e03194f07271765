import FlowKit
import Foundation

/// Go to definition, find references, rename, hover, document symbols, formatting and code actions.
extension LanguageServer {
    /// The symbol under the cursor in a document's analysis.
    func symbolAt(_ params: [String: Any]) throws -> (Document, Analysis, Int, SymbolOccurrence)? {
        let (doc, analysis) = try context(params)
        let offset = position(params, doc)
        guard let o = analysis.index.occurrence(file: FileID(0), offset: offset) else { return nil }
        return (doc, analysis, o.symbol, o)
    }

    func definition(_ params: [String: Any]) throws -> Any {
        guard let (_, analysis, symbol, _) = try symbolAt(params) else { return NSNull() }
        return location(analysis.index.symbols[symbol].declaration, analysis.sources)
    }

    /// Every file an edit of names may touch: open documents, then the flows and plans under the
    /// workspace folders (at most 2,000 files, found among at most 50,000 entries, so a workspace
    /// opened at `/` cannot stall a request).
    func workspaceAnalyses(including current: Analysis) -> [Analysis] {
        var result = [current]
        var seen = Set<String>([URIs.normalize(current.sources.files.first?.path ?? "")])
        let loader = overlay
        for doc in documents.values.sorted(by: { $0.uri < $1.uri }) where seen.insert(doc.path).inserted {
            result.append(analyze(doc))
        }
        var budget = 2000
        var entries = 50_000
        for root in workspaceRoots {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while entries > 0, budget > 0, let relative = walker.nextObject() as? String {
                entries -= 1
                let last = (relative as NSString).lastPathComponent
                if last.hasPrefix(".") || last == "node_modules" {
                    walker.skipDescendants()
                    continue
                }
                guard last.hasSuffix(".flow") || last.hasSuffix(".flowtest") else { continue }
                let path = URIs.normalize(root + "/" + relative)
                guard seen.insert(path).inserted else { continue }
                budget -= 1
                result.append(analyze(path: path, loader: loader))
            }
        }
        return result
    }

    /// Every occurrence of a symbol (by where it is declared) in the given analyses, once each.
    func allOccurrences(of id: SymbolID, in analyses: [Analysis], includeDeclaration: Bool = true) -> [(path: String, range: SourceRange, sources: SourceManager)] {
        var seen = Set<String>()
        var result: [(String, SourceRange, SourceManager)] = []
        for a in analyses {
            guard let s = a.index.symbol(id) else { continue }
            for o in a.index.occurrences(of: s) where includeDeclaration || !o.isDeclaration {
                let path = URIs.normalize(a.sources[o.range.file].path)
                if seen.insert("\(path)#\(o.range.start)-\(o.range.end)").inserted { result.append((path, o.range, a.sources)) }
            }
        }
        return result.sorted { ($0.0, $0.1.start) < ($1.0, $1.1.start) }
    }

    func references(_ params: [String: Any]) throws -> Any {
        guard let (_, analysis, symbol, _) = try symbolAt(params) else { return [Any]() }
        let includeDeclaration = ((params["context"] as? [String: Any])?["includeDeclaration"] as? Bool) ?? true
        let id = analysis.index.symbols[symbol].id
        return allOccurrences(of: id, in: workspaceAnalyses(including: analysis), includeDeclaration: includeDeclaration)
            .map { location($0.range, $0.sources) }
    }

    func prepareRename(_ params: [String: Any]) throws -> Any {
        guard let (_, analysis, symbol, o) = try symbolAt(params) else {
            throw RequestError.failed("there is no name here to rename")
        }
        return ["range": lspRange(o.range, in: analysis.sources[o.range.file], encoding),
                "placeholder": analysis.index.symbols[symbol].name] as [String: Any]
    }

    /// A name the lexer reads as one name: words of letters, digits and `_`, one space between,
    /// not starting with a digit, not a keyword on its own.
    static func validName(_ name: String) -> Bool {
        let words = name.split(separator: " ", omittingEmptySubsequences: false)
        guard !words.isEmpty, !words.contains(where: \.isEmpty) else { return false }
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        for scalar in name.unicodeScalars where scalar != " " {
            guard scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) else { return false }
        }
        let reserved: Set<String> = ["and", "or", "not", "true", "false", "null", "on"]
        return !words.contains { reserved.contains(String($0)) }
    }

    func rename(_ params: [String: Any]) throws -> Any {
        guard let newName = params["newName"] as? String else { throw RequestError.invalidParams("newName is missing") }
        guard let (_, analysis, symbol, _) = try symbolAt(params) else {
            throw RequestError.failed("there is no name here to rename")
        }
        guard Self.validName(newName) else {
            throw RequestError.failed("'\(newName)' is not a name: use letters, digits and '_', words separated by one space")
        }
        let info = analysis.index.symbols[symbol]
        let analyses = workspaceAnalyses(including: analysis)
        for a in analyses {
            guard let s = a.index.symbol(info.id), let other = a.index.clash(renaming: s, to: newName) else { continue }
            let o = a.index.symbols[other]
            let file = a.sources[o.declaration.file]
            let where_ = file.location(of: Int(o.declaration.start))
            throw RequestError.failed(
                "cannot rename \(info.kind.rawValue) '\(info.name)' to '\(newName)': \(o.kind.rawValue) '\(o.name)' is declared at \((file.path as NSString).lastPathComponent):\(where_.line):\(where_.column)")
        }
        var changes: [String: [[String: Any]]] = [:]
        for (path, range, sources) in allOccurrences(of: info.id, in: analyses) {
            let file = sources[range.file]
            let written = file.text(range)
            let replacement = written.hasPrefix("`") ? "`\(newName)`" : newName
            changes[URIs.uri(path), default: []].append(["range": lspRange(range, in: file, encoding), "newText": replacement])
        }
        return ["changes": changes]
    }

    // MARK: - Hover

    func describe(_ index: SymbolIndex, _ symbol: Int) -> String {
        let s = index.symbols[symbol]
        var lines: [String] = []
        let owner = s.parent.map { index.symbols[$0] }
        switch s.kind {
        case .integrationPoint, .extension, .flow:
            lines.append("```flow\n\(s.kind == .flow ? "flow" : s.kind == .extension ? "extension" : "ip") \(s.signature ?? s.name)\n```")
            lines.append("\(s.kind.rawValue) '\(s.name)'")
            if let r = s.request { lines.append(s.kind == .integrationPoint ? "request: `\(r)`" : "`\(r)`") }
            if !s.outputs.isEmpty { lines.append("outputs: " + s.outputs.map { "`\($0)`" }.joined(separator: ", ")) }
        case .question:
            lines.append("```flow\nquestion \(s.name): \(s.type ?? "text")\n```")
            let page = owner.map { $0.kind == .page ? " on page '\($0.name)'" : "" } ?? ""
            lines.append("question\(page), answer type \(Self.answerType(s.type ?? "text"))")
            if let prompt = s.detail { lines.append("prompt: \"\(prompt)\"") }
        case .page:
            let questions = index.children(of: symbol).map { "`\(s.name).\(index.symbols[$0].name)`" }
            lines.append("```flow\npage \(s.name)\n```")
            lines.append("page of flow '\(owner?.name ?? "")'; asks " + questions.joined(separator: ", "))
        default:
            var head = "\(s.kind.rawValue) \(s.name)"
            if let t = s.type { head += ": \(t)" }
            lines.append("```flow\n\(head)\n```")
            if let owner { lines.append("\(s.kind.rawValue) of \(owner.kind.rawValue) '\(owner.name)'") }
            if s.kind == .config, let v = s.detail { lines.append("value: `\(v)`") }
        }
        return lines.joined(separator: "\n\n")
    }

    static func answerType(_ questionType: String) -> String {
        switch questionType {
        case "number": "number"
        case "currency": "currency"
        case "yesno": "bool"
        case "choices": "list"
        case "date": "date"
        case "password": "secure text"
        default: "text"
        }
    }

    func hover(_ params: [String: Any]) throws -> Any {
        guard let (_, analysis, symbol, o) = try symbolAt(params) else { return NSNull() }
        return ["contents": ["kind": "markdown", "value": describe(analysis.index, symbol)],
                "range": lspRange(o.range, in: analysis.sources[o.range.file], encoding)] as [String: Any]
    }

    // MARK: - Outline

    func documentSymbols(_ params: [String: Any]) throws -> Any {
        let (_, analysis) = try context(params)
        let index = analysis.index
        func lspKind(_ k: SymbolKind) -> Int {
            switch k {
            case .flow: 12  // Function
            case .page: 2  // Module
            case .question: 8  // Field
            case .variable: 13
            case .parameter: 13
            case .output: 7  // Property
            case .integrationPoint: 6  // Method
            case .extension: 6
            case .label: 20  // Key
            case .config: 14  // Constant
            case .secret: 14
            case .sessionVariable: 13
            }
        }
        func node(_ i: Int) -> [String: Any]? {
            let s = index.symbols[i]
            guard s.declaration.file == FileID(0) else { return nil }
            var item: [String: Any] = [
                "name": s.name, "kind": lspKind(s.kind), "detail": s.kind == .question ? (s.type ?? "") : s.kind.rawValue,
                "range": lspRange(s.extent.union(s.declaration), in: analysis.sources[s.declaration.file], encoding),
                "selectionRange": lspRange(s.declaration, in: analysis.sources[s.declaration.file], encoding),
            ]
            let shown: Set<SymbolKind> = [.page, .question, .label, .output, .parameter]
            let children = index.children(of: i).filter { shown.contains(index.symbols[$0].kind) }.compactMap(node)
            if !children.isEmpty { item["children"] = children }
            return item
        }
        return index.children(of: nil).compactMap(node)
    }

    // MARK: - Formatting

    func formatting(_ params: [String: Any]) throws -> Any {
        let (doc, _) = try context(params)
        guard !doc.isPlan else { return NSNull() }
        switch FlowFormatter.format(SourceFile(id: FileID(0), path: doc.path, bytes: doc.text)) {
        case .formatted(let text):
            if Array(text.utf8) == doc.text { return [Any]() }
            return [["range": doc.lspRange(0, doc.text.count, encoding), "newText": text]]
        case .syntaxErrors:
            throw RequestError.failed("the file has syntax errors; fix them to format it")
        case .internalError(let why):
            throw RequestError(code: -32603, message: "flow fmt: \(why)")
        }
    }

    // MARK: - Code actions

    /// One quick fix per "did you mean 'X'?" hint among the diagnostics in the range.
    func codeActions(_ params: [String: Any]) throws -> Any {
        let (doc, analysis) = try context(params)
        guard let range = params["range"] as? [String: Any], let (start, end) = doc.offsets(range, encoding) else { return [Any]() }
        var actions: [[String: Any]] = []
        let sources = analysis.diagnosticSources
        for d in analysis.diagnostics where d.range.file == FileID(0) {
            guard Int(d.range.start) <= end && start <= Int(d.range.end), let hint = d.hint,
                  let suggestion = Self.didYouMean(hint) else { continue }
            let file = sources[d.range.file]
            var replacement = suggestion
            // `did you mean 'Page.Question'?` at a question written after its page.
            if let dot = suggestion.firstIndex(of: ".") {
                let prefix = String(suggestion[...dot])
                let before = Int(d.range.start) >= prefix.utf8.count
                    ? String(decoding: file.bytes[(Int(d.range.start) - prefix.utf8.count)..<Int(d.range.start)], as: UTF8.self) : ""
                if before == prefix { replacement = String(suggestion[suggestion.index(after: dot)...]) }
            }
            let diagnostic: [String: Any] = [
                "range": lspRange(d.range, in: file, encoding), "severity": d.severity == .error ? 1 : 2,
                "code": d.id, "source": "flow", "message": Self.message(d),
            ]
            actions.append([
                "title": "Change to '\(replacement)'",
                "kind": "quickfix",
                "isPreferred": true,
                "diagnostics": [diagnostic],
                "edit": ["changes": [doc.uri: [["range": lspRange(d.range, in: file, encoding), "newText": replacement]]]],
            ])
        }
        return actions
    }

    /// `X` from a hint that starts `did you mean 'X'?`.
    static func didYouMean(_ hint: String) -> String? {
        let prefix = "did you mean '"
        guard hint.hasPrefix(prefix) else { return nil }
        let rest = hint.dropFirst(prefix.count)
        guard let close = rest.range(of: "'?") else { return nil }
        let word = String(rest[..<close.lowerBound])
        return word.isEmpty ? nil : word
    }
}
