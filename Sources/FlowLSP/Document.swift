import FlowKit
import Foundation

/// How the client counts characters in a `Position`: UTF-16 code units (LSP's default) or bytes
/// (when the client offers `utf-8` in `general.positionEncodings`).
enum PositionEncoding: String {
    case utf16 = "utf-16"
    case utf8 = "utf-8"
}

/// The text of an open document, as the editor holds it (unsaved changes included).
///
/// Every conversion clamps: a position beyond a line's end is its end, a line beyond the last is
/// the end of the text, so no position an editor sends can make an offset out of range.
struct Document {
    let uri: String
    let path: String
    var version: Int
    var text: [UInt8]
    private(set) var lineStarts: [Int]

    init(uri: String, path: String, version: Int, text: [UInt8]) {
        self.uri = uri
        self.path = path
        self.version = version
        self.text = text
        self.lineStarts = Document.lineStarts(of: text)
    }

    var isPlan: Bool { path.hasSuffix(".flowtest") }

    static func lineStarts(of text: [UInt8]) -> [Int] {
        var starts = [0]
        SourceFile.appendLineStarts(of: text, from: 0, to: &starts)
        return starts
    }

    /// The offset just before the line end of line `line`.
    func lineEnd(_ line: Int) -> Int {
        var end = line + 1 < lineStarts.count ? lineStarts[line + 1] : text.count
        while end > lineStarts[line] && (text[end - 1] == 10 || text[end - 1] == 13) { end -= 1 }
        return end
    }

    func offset(line: Int, character: Int, _ encoding: PositionEncoding) -> Int {
        if line < 0 { return 0 }
        if line >= lineStarts.count { return text.count }
        let start = lineStarts[line]
        let end = lineEnd(line)
        if encoding == .utf8 { return min(start + max(0, character), end) }
        var units = 0
        var i = start
        while i < end && units < character {
            let b = text[i]
            let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            units += length == 4 ? 2 : 1
            i = min(i + length, end)
        }
        return i
    }

    func position(_ offset: Int, _ encoding: PositionEncoding) -> (line: Int, character: Int) {
        let offset = min(max(0, offset), text.count)
        let line = lineIndex(of: offset)
        let start = lineStarts[line]
        if encoding == .utf8 { return (line, offset - start) }
        return (line, utf16Units(text, from: start, to: offset))
    }

    /// Applies one `TextDocumentContentChangeEvent`: with a range, that range is replaced; without,
    /// the whole text is.
    mutating func apply(_ change: [String: Any], _ encoding: PositionEncoding) {
        guard let newText = change["text"] as? String else { return }
        if let range = change["range"] as? [String: Any], let (s, e) = offsets(range, encoding) {
            text.replaceSubrange(s..<max(s, e), with: Array(newText.utf8))
            // Line starts before the edit stay; the rest are found again from the edit's line.
            let firstLine = lineIndex(of: s)
            var starts = Array(lineStarts[0...firstLine])
            SourceFile.appendLineStarts(of: text, from: starts[firstLine], to: &starts)
            lineStarts = starts
        } else {
            text = Array(newText.utf8)
            lineStarts = Document.lineStarts(of: text)
        }
    }

    func lineIndex(of offset: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    func offsets(_ range: [String: Any], _ encoding: PositionEncoding) -> (Int, Int)? {
        guard let s = range["start"] as? [String: Any], let e = range["end"] as? [String: Any] else { return nil }
        let a = offset(s, encoding)
        let b = offset(e, encoding)
        return (min(a, b), max(a, b))
    }

    func offset(_ position: [String: Any], _ encoding: PositionEncoding) -> Int {
        offset(line: intValue(position["line"]) ?? 0, character: intValue(position["character"]) ?? 0, encoding)
    }

    func lspRange(_ start: Int, _ end: Int, _ encoding: PositionEncoding) -> [String: Any] {
        let s = position(start, encoding)
        let e = position(end, encoding)
        return ["start": ["line": s.line, "character": s.character], "end": ["line": e.line, "character": e.character]]
    }
}

/// A range in a file that may not be open: positions from a `SourceFile`.
func lspRange(_ range: SourceRange, in file: SourceFile, _ encoding: PositionEncoding) -> [String: Any] {
    func position(_ offset: Int) -> [String: Any] {
        let bytes = file.bytes
        let offset = min(max(0, offset), bytes.count)
        let line = file.lineIndex(of: offset)
        let start = file.lineStarts[line]
        if encoding == .utf8 { return ["line": line, "character": offset - start] }
        return ["line": line, "character": utf16Units(bytes, from: start, to: offset)]
    }
    return ["start": position(Int(range.start)), "end": position(Int(range.end))]
}

/// How many UTF-16 code units the UTF-8 bytes `start..<end` make (a character that `end` cuts
/// counts whole), as LSP's default position encoding counts characters.
private func utf16Units<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, from start: Int, to end: Int) -> Int
where Bytes.Index == Int {
    var units = 0
    var i = start
    while i < end {
        let b = bytes[i]
        let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
        units += length == 4 ? 2 : 1
        i += length
    }
    return units
}

func intValue(_ any: Any?) -> Int? {
    switch any {
    case let n as NSNumber:
        let d = n.doubleValue
        guard d.isFinite, abs(d) < 1e15 else { return nil }
        return Int(d)
    case let i as Int: return i
    default: return nil
    }
}

/// Paths and `file://` URIs.
enum URIs {
    static func path(_ uri: String) -> String {
        if uri.hasPrefix("file://"), let url = URL(string: uri), !url.path.isEmpty {
            return normalize(url.path)
        }
        return uri
    }

    static func uri(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: path).absoluteString
    }

    /// Collapses `.` and `..` segments as the import resolver does.
    static func normalize(_ path: String) -> String { SourcePath.normalize(path) }
}

/// Reads open documents from memory and every other file from the disk.
struct OverlayLoader: SourceLoader {
    let open: [String: [UInt8]]
    func load(path: String) throws(InputError) -> [UInt8] {
        if let text = open[path] { return text }
        return try FileSystemLoader().load(path: path)
    }
    /// An extension's program or module is read from the disk (an open document is a flow file).
    func fileKind(path: String) -> FileKind { FileSystemLoader().fileKind(path: path) }
}
