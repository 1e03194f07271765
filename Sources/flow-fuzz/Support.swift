import FlowKit
import Foundation

/// `FLOW_FUZZ_VERBOSE=1`: targets say what they did with each input (for writing seeds).
let verbose = ProcessInfo.processInfo.environment["FLOW_FUZZ_VERBOSE"] != nil

/// Stops the process when a property that must hold does not, so libFuzzer reports it as a
/// crash and keeps the input. `what` says which property, with the values that broke it.
@inline(__always)
func require(_ condition: Bool, _ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("flow-fuzz: " + what(), file: file, line: line) }
}

/// The outputs of the one IP of a flow `source` that a target reads responses with (a source
/// that does not check is a bug of the target, so it stops the process).
func outputsOfTheIP(in source: String, target: String) -> [OutputInfo] {
    let compilation = Frontend.compile(source: source)
    guard let program = compilation.program else {
        fatalError("flow-fuzz: the \(target) target's IP does not check: \(compilation.diagnostics.map(\.message))")
    }
    return program.integrationPoints[0].outputs
}

/// Arbitrary bytes read as the inputs of a target: bytes, small numbers and pieces, each read
/// from the front; an exhausted input reads as zeros and empty pieces.
struct ByteReader {
    var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// A number in `0..<count` (0 when `count` is 0).
    mutating func below(_ count: Int) -> Int { count > 0 ? Int(byte()) % count : 0 }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    /// The bytes up to `separator` (not included) or to the end.
    mutating func piece(upTo separator: UInt8) -> ArraySlice<UInt8> {
        if let k = bytes.firstIndex(of: separator) {
            let piece = bytes[..<k]
            bytes = bytes[(k + 1)...]
            return piece
        }
        let piece = bytes
        bytes = bytes[bytes.endIndex...]
        return piece
    }

    /// The next `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let piece = bytes.prefix(count)
        bytes = bytes.dropFirst(count)
        return piece
    }
}

extension String {
    /// Bytes as text, with U+FFFD for what is not UTF-8.
    init(lossy bytes: some Collection<UInt8>) { self = String(decoding: bytes, as: UTF8.self) }
}

/// Serves one file's bytes as they are (not as text, so bytes that are not UTF-8 reach the
/// lexer), and one small library for any other path, so imports, duplicates and cycles are
/// exercised without a file system.
struct BytesLoader: SourceLoader {
    var path: String
    var root: [UInt8]

    static let library = Array("""
        config LIB RATE = 1.5
        var Lib Count = 0
        flow Lib Double(n: number) -> (twice: number) {
          set twice = n * 2
        }

        """.utf8)

    func load(path: String) throws(InputError) -> [UInt8] {
        path == self.path ? root : BytesLoader.library
    }
}
