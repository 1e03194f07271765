#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Positions in flow source text.
///
/// Design note: every token, syntax node, graph element and runtime error carries a `SourceRange`
/// of UTF-8 byte offsets into one `SourceFile`. Line and column are computed only when something is
/// printed, by `SourceFile.location(of:)`; columns count characters (Unicode scalars), not bytes.

/// Identifies a file inside a `SourceManager`.
public struct FileID: Hashable, Codable, Sendable {
    public let index: UInt32
    public init(_ index: UInt32) { self.index = index }
}

/// A half-open byte range `[start, end)` in one source file.
public struct SourceRange: Hashable, Codable, Sendable {
    public var file: FileID
    public var start: UInt32
    public var end: UInt32

    public init(file: FileID, start: Int, end: Int) {
        self.file = file
        self.start = UInt32(truncatingIfNeeded: start)
        self.end = UInt32(truncatingIfNeeded: max(start, end))
    }

    /// The smallest range covering both.
    public func union(_ other: SourceRange) -> SourceRange {
        SourceRange(file: file, start: Int(min(start, other.start)), end: Int(max(end, other.end)))
    }

    public var length: Int { Int(end - start) }
}

/// A printable position: 1-based line and column (in characters).
public struct SourceLocation: Hashable, Sendable {
    public var line: Int
    public var column: Int
}

/// The text of one flow file and the table of its line starts.
// Unchecked: `storage` is written once in init and only read afterwards.
public final class SourceFile: @unchecked Sendable {
    public let id: FileID
    /// The path as the user named it, used in diagnostics.
    public let path: String
    /// The file's bytes. Invalid UTF-8 is reported by the lexer, never repaired silently.
    public var bytes: UnsafeBufferPointer<UInt8> { buffer }
    private let count: Int
    /// The same bytes at a stable address for the lexer: owned by this file, freed with it.
    let storage: UnsafeMutableBufferPointer<UInt8>
    /// Byte offset of the first byte of each line.
    public let lineStarts: [Int]

    public init(id: FileID, path: String, bytes: [UInt8]) {
        self.id = id
        self.path = path
        self.count = bytes.count
        var starts = [0]
        starts.reserveCapacity(bytes.count / 24 + 1)
        SourceFile.appendLineStarts(of: bytes, from: 0, to: &starts)
        self.lineStarts = starts
        self.storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count))
        _ = self.storage.initialize(from: bytes)
    }

    deinit { storage.deallocate() }

    /// Appends the offset of every line that begins after offset `from` of `bytes` (a LF, a lone
    /// CR or a CRLF ends a line). An editor's document (FlowLSP) keeps its line starts with it too.
    public static func appendLineStarts(of bytes: [UInt8], from: Int, to starts: inout [Int]) {
        bytes.withUnsafeBufferPointer { buffer in
            let n = buffer.count
            guard let base = buffer.baseAddress, from < n else { return }
            // Most files have no CR: then memchr finds each line end.
            if memchr(base + from, 0x0D, n - from) == nil {
                var p = UnsafeRawPointer(base + from)
                let end = UnsafeRawPointer(base + n)
                while p < end, let hit = memchr(p, 0x0A, end - p) {
                    let offset = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                    starts.append(offset + 1)
                    p = UnsafeRawPointer(hit) + 1
                }
                return
            }
            var i = from
            while i < n {
                let b = buffer[i]
                if b == 0x0A {
                    starts.append(i + 1)
                } else if b == 0x0D {
                    // A lone CR or a CRLF both end a line.
                    if i + 1 < n && buffer[i + 1] == 0x0A { i += 1 }
                    starts.append(i + 1)
                }
                i += 1
            }
        }
    }

    /// The file's bytes, valid as long as the file is.
    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: storage.baseAddress, count: count) }

    public convenience init(id: FileID = FileID(0), path: String, text: String) {
        self.init(id: id, path: path, bytes: Array(text.utf8))
    }

    public func range(_ start: Int, _ end: Int) -> SourceRange {
        SourceRange(file: id, start: start, end: end)
    }

    /// The 0-based index of the line holding `offset`.
    public func lineIndex(of offset: Int) -> Int {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Line and column (both 1-based; the column counts characters) of a byte offset.
    public func location(of offset: Int) -> SourceLocation {
        let clamped = min(max(0, offset), bytes.count)
        let line = lineIndex(of: clamped)
        return SourceLocation(line: line + 1, column: characterCount(from: lineStarts[line], to: clamped) + 1)
    }

    /// Counts the characters (Unicode scalars) in a byte range as the line is shown: each
    /// invalid sequence counts as the one U+FFFD that `String(decoding:as:)` puts in its place,
    /// so a caret lands under the right column after invalid bytes too.
    public func characterCount(from start: Int, to end: Int) -> Int {
        // The buffer is fetched once: per byte, its getter made this the bulk of rendering many
        // diagnostics on one long line (in a debug build).
        let bytes = self.buffer
        var i = start
        while i < end && bytes[i] < 0x80 { i += 1 }
        if i == end { return end - start }
        var count = i - start
        var decoder = UTF8()
        var iterator = UnsafeBufferPointer(rebasing: bytes[i..<end]).makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue, .error: count += 1
            case .emptyInput: return count
            }
        }
    }

    /// The byte offset where a line (0-based index) ends, before its line ending.
    public func lineEnd(_ index: Int) -> Int {
        let start = lineStarts[index]
        var end = index + 1 < lineStarts.count ? lineStarts[index + 1] : bytes.count
        while end > start && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) { end -= 1 }
        return end
    }

    /// The text of a line (0-based index) without its line ending.
    public func lineText(_ index: Int) -> String {
        String(decoding: bytes[lineStarts[index]..<lineEnd(index)], as: UTF8.self)
    }

    /// The source text of a range, decoded leniently.
    public func text(_ range: SourceRange) -> String {
        let s = min(Int(range.start), bytes.count)
        let e = min(Int(range.end), bytes.count)
        return String(decoding: bytes[s..<e], as: UTF8.self)
    }
}

/// All files of one compilation (the root file and what it imports).
public final class SourceManager: @unchecked Sendable {
    // Files are only appended, from the one thread that compiles; read-only afterwards.
    public private(set) var files: [SourceFile] = []

    public init() {}

    @discardableResult
    public func add(path: String, bytes: [UInt8]) -> SourceFile {
        let file = SourceFile(id: FileID(UInt32(files.count)), path: path, bytes: bytes)
        files.append(file)
        return file
    }

    public subscript(id: FileID) -> SourceFile { files[Int(id.index)] }
}
