/// Renders diagnostics as text: the one place where a diagnostic becomes output.
///
/// Rendering is a pure function of the diagnostics and the sources. Colour is a decoration that
/// the caller asks for (only when writing to a terminal with `NO_COLOR` unset); tests use `.plain`.
public struct DiagnosticRenderer: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// `error: message`, `--> file:line:col`, the source line and a caret under the span.
        case human
        /// `file:line:col: error: message`, one a line, for editors.
        case gcc
        /// A JSON array of objects, for tools.
        case json
    }

    public var format: Format
    public var color: Bool
    /// The most diagnostics the human format shows; a note says how many more there are. (A
    /// reader cannot use 20,000 snippets; gcc and JSON, read by tools, list them all.)
    public var maxShown: Int

    public init(format: Format = .human, color: Bool = false, maxShown: Int = 100) {
        self.format = format
        self.color = color
        self.maxShown = maxShown
    }

    public func render(_ diagnostics: [Diagnostic], sources: SourceManager) -> String {
        var locations = Locations(sources)
        switch format {
        case .human:
            var out = diagnostics.prefix(maxShown).map { human($0, &locations) }.joined()
            if diagnostics.count > maxShown {
                let more = diagnostics.count - maxShown
                out += "\(severityWord(.note)): \(more) more \(more == 1 ? "diagnostic" : "diagnostics") not shown; "
                out += "`--format gcc` lists them all\n\n"
            }
            return out
        case .gcc:
            return diagnostics.map { gcc($0, &locations) }.joined()
        case .json:
            return json(diagnostics, &locations)
        }
    }

    /// Line and column of offsets, for diagnostics that come in source order: a column is counted
    /// on from the previous offset on the same line instead of from the line's start, so many
    /// diagnostics on one long line cost what the line does, not the line's length for each. The
    /// line being shown is decoded once, too.
    struct Locations {
        let sources: SourceManager
        private var file = FileID(0), line = -1, offset = 0, column = 0
        private var shownFile = FileID(0), shownLine = -1
        private var shownScalars: [Unicode.Scalar] = []

        init(_ sources: SourceManager) { self.sources = sources }

        mutating func location(_ fileID: FileID, _ at: Int) -> SourceLocation {
            let file = sources[fileID]
            let clamped = min(max(0, at), file.bytes.count)
            let index = file.lineIndex(of: clamped)
            // Counting on is exact only from the start of a character (not inside a sequence).
            if fileID == self.file && index == line && clamped >= offset
                && (offset == file.bytes.count || file.bytes[offset] & 0xC0 != 0x80) {
                column += file.characterCount(from: offset, to: clamped)
            } else {
                column = file.characterCount(from: file.lineStarts[index], to: clamped)
            }
            (self.file, line, offset) = (fileID, index, clamped)
            return SourceLocation(line: index + 1, column: column + 1)
        }

        /// The characters of a line (0-based), without its line ending, as shown.
        mutating func scalars(_ fileID: FileID, line index: Int) -> [Unicode.Scalar] {
            if fileID != shownFile || index != shownLine {
                shownScalars = Array(sources[fileID].lineText(index).unicodeScalars)
                (shownFile, shownLine) = (fileID, index)
            }
            return shownScalars
        }
    }

    // MARK: - Styles

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func severityWord(_ severity: Severity) -> String {
        switch severity {
        case .error: paint("error", "1;31")
        case .warning: paint("warning", "1;33")
        case .note: paint("note", "1;36")
        }
    }

    // MARK: - Human

    private func human(_ d: Diagnostic, _ locations: inout Locations) -> String {
        var out = "\(severityWord(d.severity))\(paint("[\(d.id)]", "2")): \(paint(d.message, "1"))\n"
        out += snippet(d.range, label: d.label, marker: d.severity == .warning ? "1;33" : "1;31", &locations)
        for note in d.notes {
            if let range = note.range {
                out += "\(severityWord(.note)): \(note.message)\n"
                out += snippet(range, label: nil, marker: "1;36", &locations)
            } else {
                out += "  = \(paint("note", "1")): \(note.message)\n"
            }
        }
        if let hint = d.hint {
            let lines = hint.split(separator: "\n", omittingEmptySubsequences: false)
            out += "  = \(paint("hint", "1;32")): \(lines[0])\n"
            for line in lines.dropFirst() { out += "          \(line)\n" }
        }
        out += "\n"
        return out
    }

    /// `--> path:line:col`, the line of source and a caret line under the span. A span that runs
    /// over several lines is underlined to the end of its first line.
    private func snippet(_ range: SourceRange, label: String?, marker: String, _ locations: inout Locations) -> String {
        let file = locations.sources[range.file]
        let start = min(max(0, Int(range.start)), file.bytes.count)
        let loc = locations.location(range.file, start)
        let lineIndex = loc.line - 1
        let gutter = String(loc.line).count
        let pad = String(repeating: " ", count: gutter)
        var out = "\(pad)\(paint("-->", "1;34")) \(file.path):\(loc.line):\(loc.column)\n"
        let shownLine = displayLine(locations.scalars(range.file, line: lineIndex), column: loc.column)
        out += "\(pad) \(paint("|", "1;34"))\n"
        out += "\(paint(String(loc.line), "1;34")) \(paint("|", "1;34")) \(shownLine.text)\n"
        // Caret position and width in displayed columns. The start is never past the line's end
        // (the line ending itself is the only thing after it on its line).
        let lineEnd = file.lineEnd(lineIndex)
        let spanEnd = min(max(Int(range.end), start), lineEnd)
        let prefixChars = min(loc.column - 1, shownLine.count)
        let spanChars = max(1, file.characterCount(from: min(start, lineEnd), to: spanEnd))
        let caretColumn = shownLine.column(forCharacter: prefixChars)
        let caretWidth = max(1, shownLine.column(forCharacter: prefixChars + spanChars) - shownLine.column(forCharacter: prefixChars))
        var carets = String(repeating: " ", count: max(0, caretColumn)) + paint(String(repeating: "^", count: min(caretWidth, 200)), marker)
        if let label { carets += " " + paint(label, marker) }
        out += "\(pad) \(paint("|", "1;34")) \(carets)\n"
        return out
    }

    /// A line prepared for display: tabs expanded to four spaces, very long lines cut around the span.
    /// Only the characters shown are looked at one by one, so a diagnostic on a very long line
    /// costs little more than one on a short line (a line of 600 KB with 50 diagnostics on it
    /// took seconds when every character got a column).
    private struct DisplayLine {
        var text: String
        /// The first character shown, and the display column of each character shown (tabs widen).
        var first: Int
        var columns: [Int]
        /// The display column after the last character shown, and the number of characters in the line.
        var endColumn: Int
        var count: Int
        /// Columns taken by the "…" before the text, when the line is cut at its start.
        var shift: Int

        func column(forCharacter index: Int) -> Int {
            if index < first { return shift }
            if index - first < columns.count { return columns[index - first] + shift }
            return endColumn + shift + max(0, index - count)
        }
    }

    private func displayLine(_ scalars: [Unicode.Scalar], column: Int) -> DisplayLine {
        var text = ""
        var columns: [Int] = []
        var col = 0
        // Show at most 160 characters, starting a little before the span on very long lines.
        let first = scalars.count > 160 ? max(0, min(column - 40, scalars.count - 160)) : 0
        let last = min(scalars.count, first + 160)
        for s in scalars[first..<last] {
            columns.append(col)
            if s == "\t" {
                text += "    "
                col += 4
            } else if s.value == 0 {
                text += "\u{2400}"  // ␀, so a NUL byte does not look like an encoding fault
                col += 1
            } else if s.value < 0x20 || s.value == 0x7F {
                text += "\u{FFFD}"
                col += 1
            } else if VisibleText.mustEscape(s.value) {
                // C1 and direction controls: shown as the escape a terminal host would write
                // anyway, taking its width, so carets after it stay aligned (and the line is
                // shown in its real order).
                let escape = VisibleText.escape(s.value)
                text += escape
                col += escape.count
            } else {
                text.unicodeScalars.append(s)
                col += 1
            }
        }
        let prefix = first > 0 ? "…" : ""
        let line = DisplayLine(
            text: prefix + text + (last < scalars.count ? "…" : ""), first: first, columns: columns, endColumn: col,
            count: scalars.count, shift: prefix.count)
        return line
    }

    // MARK: - gcc

    private func gcc(_ d: Diagnostic, _ locations: inout Locations) -> String {
        let sources = locations.sources
        let file = sources[d.range.file]
        let loc = locations.location(d.range.file, Int(d.range.start))
        var line = "\(file.path):\(loc.line):\(loc.column): \(d.severity.rawValue): \(d.message) [\(d.id)]\n"
        for note in d.notes {
            if let r = note.range {
                let noteFile = sources[r.file]
                let l = locations.location(r.file, Int(r.start))
                line += "\(noteFile.path):\(l.line):\(l.column): note: \(note.message)\n"
            } else {
                line += "\(file.path):\(loc.line):\(loc.column): note: \(note.message)\n"
            }
        }
        if let hint = d.hint {
            line += "\(file.path):\(loc.line):\(loc.column): note: \(hint.replacingNewlines())\n"
        }
        return line
    }

    // MARK: - JSON

    private func json(_ diagnostics: [Diagnostic], _ locations: inout Locations) -> String {
        let sources = locations.sources
        var out = "["
        for (i, d) in diagnostics.enumerated() {
            let file = sources[d.range.file]
            let start = locations.location(d.range.file, Int(d.range.start))
            let end = locations.location(d.range.file, Int(d.range.end))
            out += i == 0 ? "\n  " : ",\n  "
            out += "{\"file\": \(JSONText.quote(file.path)), \"line\": \(start.line), \"column\": \(start.column), "
            out += "\"endLine\": \(end.line), \"endColumn\": \(end.column), "
            out += "\"severity\": \"\(d.severity.rawValue)\", \"code\": \(JSONText.quote(d.id)), "
            out += "\"message\": \(JSONText.quote(d.message))"
            if let label = d.label { out += ", \"label\": \(JSONText.quote(label))" }
            if let hint = d.hint { out += ", \"hint\": \(JSONText.quote(hint))" }
            if !d.notes.isEmpty {
                out += ", \"notes\": ["
                for (k, note) in d.notes.enumerated() {
                    out += k == 0 ? "{" : ", {"
                    if let r = note.range {
                        let noteFile = sources[r.file]
                        let l = locations.location(r.file, Int(r.start))
                        out += "\"file\": \(JSONText.quote(noteFile.path)), \"line\": \(l.line), \"column\": \(l.column), "
                    }
                    out += "\"message\": \(JSONText.quote(note.message))}"
                }
                out += "]"
            }
            out += "}"
        }
        out += diagnostics.isEmpty ? "]\n" : "\n]\n"
        return out
    }
}

extension String {
    /// A multi-line hint on one line: its lines joined with a space, their indentation dropped.
    fileprivate func replacingNewlines() -> String {
        split(separator: "\n").map { $0.drop { $0 == " " } }.joined(separator: " ")
    }
}

/// JSON string quoting, shared by every JSON writer in FlowKit: `"`, `\` and control characters
/// escaped (and U+2028, U+2029, which some JSON readers take for line ends); all else as is.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        append(s, to: &out, asciiOnly: false, lineSeparators: true)
        return out + "\""
    }

    /// The text between the quotes of a JSON string as other writers write it: `"`, `\` and
    /// control characters escaped; with `asciiOnly`, everything beyond ASCII (and DEL) as `\u`
    /// escapes of its UTF-16 units, as Python's json does by default; with `lineSeparators`,
    /// U+2028 and U+2029 escaped, as `quote` does.
    public static func escaped(_ s: String, asciiOnly: Bool, lineSeparators: Bool) -> String {
        var out = ""
        append(s, to: &out, asciiOnly: asciiOnly, lineSeparators: lineSeparators)
        return out
    }

    private static func append(_ s: String, to out: inout String, asciiOnly: Bool, lineSeparators: Bool) {
        // Most strings need no escape at all (0xE2 leads U+2028 and U+2029).
        let plain = !s.utf8.contains { b in
            b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || (asciiOnly ? b > 0x7E : lineSeparators && b == 0xE2)
        }
        if plain {
            out += s
            return
        }
        out.reserveCapacity(out.utf8.count + s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E)
                    || (lineSeparators && (scalar.value == 0x2028 || scalar.value == 0x2029)) {
                    for unit in scalar.utf16 {
                        let hex = String(unit, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}
