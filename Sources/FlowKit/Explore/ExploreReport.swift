/// Renders an exploration's result: a summary, coverage, then each finding as a diagnostic with
/// its reproduction. A pure function of the result and the sources; colour is the caller's choice.
///
///     explored 412 playthroughs (every path), 1 distinct finding
///     reached 23 of 23 elements (100%)
///
///     error[run.divisionByZero]: division by zero
///      --> split.flow:6:17
///       |
///     6 |   set share = 100 / Split.People
///       |               ^^^^^^^^^^^^^^^^^^
///       = when: 'Split.People' answered '0' (zero)
///       = answers: {"Split.People": "0"}
///       = stubs: {}
///       = reproduce: flow run split.flow --answer Split.People=0
public struct ExploreReport: Sendable {
    /// The flow file as the user named it, for the `flow run` command lines.
    public var file: String
    public var color: Bool
    /// Unreached elements listed before "… and N more".
    public var unreachedShown = 12

    public init(file: String, color: Bool = false) {
        self.file = file
        self.color = color
    }

    public func human(_ result: ExploreResult, sources: SourceManager) -> String {
        var out = summary(result) + "\n"
        let c = result.coverage
        out += "reached \(c.reached) of \(c.total) element\(c.total == 1 ? "" : "s") (\(percent(c.reached, c.total)))"
        if c.unreached.isEmpty {
            out += "\n"
        } else {
            out += "; not reached:\n"
            for e in c.unreached.prefix(unreachedShown) {
                let f = sources[e.range.file]
                let l = f.location(of: Int(e.range.start))
                out += "  \(f.path):\(l.line):\(l.column)  \(e.kind)\n"
            }
            if c.unreached.count > unreachedShown { out += "  … and \(c.unreached.count - unreachedShown) more\n" }
        }
        for call in result.backStopsAfter {
            let f = sources[call.range.file]
            out += "back stops after: \(call.name) (\(f.path):\(f.location(of: Int(call.range.start)).line))\n"
        }
        for note in result.notes { out += "note: \(note)\n" }
        let renderer = DiagnosticRenderer(format: .human, color: color)
        for f in result.findings {
            var text = renderer.render([f.diagnostic], sources: sources)
            // The renderer ends a diagnostic with a blank line; the reproduction goes before it.
            if text.hasSuffix("\n\n") { text.removeLast() }
            out += "\n" + text
            let needsSteps = f.kind == .endlessLoop || f.kind == .noWayOut
            out += line("when", f.when.isEmpty ? "the first answers and results tried" : f.when.joined(separator: "; "))
            out += line("answers", f.reproduction.answersJSON)
            out += line("stubs", f.reproduction.stubsJSON)
            out += line("reproduce", f.reproduction.command(file: file, withSteps: needsSteps))
            if !f.reproduced { out += line("note", "replaying these answers and results did not meet it again") }
        }
        return out
    }

    /// `explored 412 playthroughs (every path), 1 distinct finding`
    public func summary(_ result: ExploreResult) -> String {
        let scope = result.complete ? "every path" : "stopped at --max-runs \(result.options.maxRuns)"
        let n = result.findings.count
        return "explored \(result.playthroughs) playthrough\(result.playthroughs == 1 ? "" : "s") (\(scope)), "
            + "\(n) distinct finding\(n == 1 ? "" : "s")"
    }

    private func line(_ name: String, _ text: String) -> String {
        let word = color ? "\u{1B}[1m\(name)\u{1B}[0m" : name
        return "  = \(word): \(text)\n"
    }

    private func percent(_ a: Int, _ b: Int) -> String {
        b == 0 ? "100%" : "\(a * 100 / b)%"
    }

    /// One JSON object: the summary, coverage, notes and every finding with its reproduction.
    public func json(_ result: ExploreResult, sources: SourceManager) -> String {
        func location(_ r: SourceRange) -> String {
            let f = sources[r.file]
            let s = f.location(of: Int(r.start))
            let e = f.location(of: Int(r.end))
            return "\"file\": \(JSONText.quote(f.path)), \"line\": \(s.line), \"column\": \(s.column), "
                + "\"endLine\": \(e.line), \"endColumn\": \(e.column)"
        }
        var out = "{\"file\": \(JSONText.quote(file)), \"playthroughs\": \(result.playthroughs), "
        out += "\"complete\": \(result.complete), \"maxRuns\": \(result.options.maxRuns), \"maxSteps\": \(result.options.maxSteps), "
        out += "\"today\": \(JSONText.quote(result.options.today)),\n"
        let c = result.coverage
        let unreached = c.unreached.map { "{\"kind\": \(JSONText.quote($0.kind)), \(location($0.range))}" }
        out += " \"coverage\": {\"elements\": \(c.total), \"reached\": \(c.reached), \"unreached\": [\(unreached.joined(separator: ", "))]},\n"
        let stops = result.backStopsAfter.map { "{\"name\": \(JSONText.quote($0.name)), \(location($0.range))}" }
        out += " \"backStopsAfter\": [\(stops.joined(separator: ", "))],\n"
        out += " \"notes\": [\(result.notes.map(JSONText.quote).joined(separator: ", "))],\n"
        out += " \"findings\": ["
        for (k, f) in result.findings.enumerated() {
            let d = f.diagnostic
            out += k == 0 ? "\n  " : ",\n  "
            out += "{\"kind\": \"\(f.kind.rawValue)\", \"code\": \(JSONText.quote(d.id)), \"severity\": \"\(d.severity.rawValue)\", "
            out += "\"message\": \(JSONText.quote(d.message)), \(location(d.range))"
            if let label = d.label { out += ", \"label\": \(JSONText.quote(label))" }
            if let hint = d.hint { out += ", \"hint\": \(JSONText.quote(hint))" }
            out += ", \"when\": [\(f.when.map(JSONText.quote).joined(separator: ", "))]"
            out += ", \"answers\": \(f.reproduction.answersJSON), \"stubs\": \(f.reproduction.stubsJSON)"
            let needsSteps = f.kind == .endlessLoop || f.kind == .noWayOut
            out += ", \"maxSteps\": \(f.reproduction.maxSteps)"
            out += ", \"command\": \(JSONText.quote(f.reproduction.command(file: file, withSteps: needsSteps)))"
            out += ", \"reproduced\": \(f.reproduced)}"
        }
        out += result.findings.isEmpty ? "]}\n" : "\n ]}\n"
        return out
    }
}
