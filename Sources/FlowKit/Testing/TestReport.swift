/// Turns test results and coverage into text, for people and for tools. Pure functions of their
/// inputs; colour is a decoration the caller asks for.
public struct TestReportRenderer: Sendable {
    public var color: Bool

    public init(color: Bool = false) { self.color = color }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    // MARK: - Human

    /// `  pass  name` or `  FAIL  name`.
    public func testLine(_ result: TestResult) -> String {
        (result.passed ? "  " + paint("pass", "1;32") : "  " + paint("FAIL", "1;31")) + "  \(result.name)\n"
    }

    /// A failure as `flow check` shows a diagnostic (headline, `--> file:line:col`, the line with
    /// a caret), then what was expected and what was found.
    public func failure(_ f: TestFailure, sources: SourceManager) -> String {
        var text = DiagnosticRenderer(format: .human, color: color).render([f.diagnostic], sources: sources)
        guard f.expected != nil || f.actual != nil else { return text }
        if text.hasSuffix("\n\n") { text.removeLast() }
        // Values start in one column: `  = expected: …` and `  = actual:   …`; later lines of a
        // value (several responses, several calls) under the first.
        func block(_ label: String, _ value: String) -> String {
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            let pad = String(repeating: " ", count: "expected".count - label.count)
            var out = "  = \(paint(label, "1")):\(pad) \(lines[0])\n"
            let indent = String(repeating: " ", count: "  = expected: ".count)
            for line in lines.dropFirst() { out += indent + line + "\n" }
            return out
        }
        if let e = f.expected { text += block("expected", e) }
        if let a = f.actual { text += block("actual", a) }
        return text + "\n"
    }

    /// One line a file, `path: elements 100% (19/19), branches 90% (9/10)`, each missed point
    /// under it as `path:line:col: text: never run`.
    public func coverage(_ files: [FileCoverage]) -> String {
        var out = "coverage:\n"
        for c in files {
            let complete = c.elementsCovered == c.elementsTotal && c.branchesCovered == c.branchesTotal
            let figures = "elements \(c.elementPercent)% (\(c.elementsCovered)/\(c.elementsTotal)), "
                + "branches \(c.branchPercent)% (\(c.branchesCovered)/\(c.branchesTotal))"
            out += "  \(c.path): " + paint(figures, complete ? "32" : "33") + "\n"
            for p in c.missed {
                out += "    \(p.path):\(p.line):\(p.column): \(p.text): \(p.missedText)\n"
            }
        }
        return out
    }

    /// The closing line, which CI reads: `3 passed, 1 failed`.
    public static func summary(passed: Int, failed: Int) -> String { "\(passed) passed, \(failed) failed\n" }

    // MARK: - JSON

    /// One test as a JSON object: `{"name", "passed", "steps", "failures": [...]}`.
    public static func json(_ result: TestResult, sources: SourceManager) -> String {
        let failures = result.failures.map { f -> String in
            let d = f.diagnostic
            let file = sources[d.range.file]
            let start = file.location(of: Int(d.range.start))
            let end = file.location(of: Int(d.range.end))
            var fields = [
                "\"code\": \(JSONText.quote(d.id))", "\"message\": \(JSONText.quote(d.message))",
                "\"file\": \(JSONText.quote(file.path))", "\"line\": \(start.line)", "\"column\": \(start.column)",
                "\"endLine\": \(end.line)", "\"endColumn\": \(end.column)",
            ]
            if let e = f.expected { fields.append("\"expected\": \(JSONText.quote(e))") }
            if let a = f.actual { fields.append("\"actual\": \(JSONText.quote(a))") }
            if let h = d.hint { fields.append("\"hint\": \(JSONText.quote(h))") }
            return "{" + fields.joined(separator: ", ") + "}"
        }
        return "{\"name\": \(JSONText.quote(result.name)), \"passed\": \(result.passed), \"steps\": \(result.steps), "
            + "\"failures\": [\(failures.joined(separator: ", "))]}"
    }

    /// One file's coverage as a JSON object.
    public static func json(_ c: FileCoverage) -> String {
        let missed = c.missed.map { p in
            "{\"kind\": \"\(p.kind.rawValue)\", \"flow\": \(JSONText.quote(p.flow)), \"text\": \(JSONText.quote(p.text)), "
                + "\"file\": \(JSONText.quote(p.path)), \"line\": \(p.line), \"column\": \(p.column)}"
        }
        return "{\"file\": \(JSONText.quote(c.path)), "
            + "\"elements\": {\"covered\": \(c.elementsCovered), \"total\": \(c.elementsTotal), \"percent\": \(c.elementPercent)}, "
            + "\"branches\": {\"covered\": \(c.branchesCovered), \"total\": \(c.branchesTotal), \"percent\": \(c.branchPercent)}, "
            + "\"missed\": [\(missed.joined(separator: ", "))]}"
    }
}
