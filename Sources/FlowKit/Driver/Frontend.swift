import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The version printed by `flow --version`.
public let flowVersion = "0.1.0"

/// Options for compiling and checking a flow file.
public struct CheckOptions: Sendable {
    /// Report warnings as errors.
    public var strict: Bool
    /// Whether the work may be shared with a second thread. The result is the same either way.
    public var workSharing: WorkSharing
    public init(strict: Bool = false, workSharing: WorkSharing = .automatic) {
        self.strict = strict
        self.workSharing = workSharing
    }
}

/// Whether checking shares its work with a second thread: the parse of a share of a large file's
/// pieces (`Parser.parseSharingWork`), and the lowering, the graph checks and the value checks of
/// a share of the flows (`Compiler.compile`).
public enum WorkSharing: Sendable {
    /// With a second core, for inputs large enough to gain from it.
    case automatic
    /// On this thread only.
    case never
    /// With a second core, whatever the size of the input (tests and fuzzing compare it with
    /// `never`).
    case always

    /// The smallest file parsed in pieces on two threads, nil for none.
    var parseFrom: Int? {
        switch self {
        case .automatic: 128 * 1024
        case .never: nil
        case .always: 0
        }
    }

    /// The smallest input whose checks are shared, nil for none.
    var checkFrom: Int? {
        switch self {
        case .automatic: 32 * 1024
        case .never: nil
        case .always: 0
        }
    }
}

/// The root input could not be read (exit code 66 in the command line tool).
public struct InputError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot read '\(path)': \(reason)" }
}

/// Reads source files. The default reads the file system; tests can supply files from memory.
public protocol SourceLoader: Sendable {
    func load(path: String) throws(InputError) -> [UInt8]
    /// What is at `path` (an extension's `run` or `web` file); `.unknown` when the loader cannot say.
    func fileKind(path: String) -> FileKind
}

/// What a loader finds at a path, for the checks of files a flow names but does not import.
public enum FileKind: Sendable, Equatable {
    case missing, directory, unknown
    case file(executable: Bool)
}

extension SourceLoader {
    /// Loaders that hold only flow files (in memory, unsaved documents) cannot say.
    public func fileKind(path: String) -> FileKind { .unknown }
}

public struct FileSystemLoader: SourceLoader {
    public init() {}
    public func load(path: String) throws(InputError) -> [UInt8] {
        guard let mode = Self.mode(path) else { throw InputError(path: path, reason: "no such file") }
        if mode & S_IFMT == S_IFDIR { throw InputError(path: path, reason: "it is a directory") }
        return try Self.readAll(path)
    }

    /// The type and permission bits of what is at `path`, links followed (`stat`); nil when
    /// nothing is there, a link is broken or the path cannot be searched. `stat` itself, not
    /// `FileManager`, which was made at each start for this alone (part of the start of a small
    /// file's `flow check`; the README's benchmarks say what it cost).
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode : nil
    }

    /// The bytes of the regular file at `path`, read straight into the array: through `Data`
    /// (`FileManager.contents` and then `[UInt8](data)`) reading a 2.76 MB file took 2.6 ms
    /// against 0.16 ms, all of it before the parse could start. Anything but a regular file is
    /// refused, as `FileManager.contents` refused it: a FIFO without a writer would wait for one
    /// for ever (it is opened without waiting, `O_NONBLOCK`, to be looked at). The size `fstat`
    /// gives is only a first guess: a file that grows as it is read, or one that says it is
    /// empty and is not (`/proc`), is read to its end.
    static func readAll(_ path: String) throws(InputError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw InputError(path: path, reason: errno == EACCES ? "permission denied" : String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw InputError(path: path, reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw InputError(path: path, reason: "not a regular file (a pipe, a device or a socket)")
        }
        let size = max(0, Int(status.st_size))
        var failure: Int32 = 0, ended = false
        /// Fills `buffer` from the file until it is full, the file ends or a read fails.
        func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
            var filled = 0
            while filled < buffer.count {
                let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n > 0 {
                    filled += n
                } else if n == 0 {
                    ended = true
                    break
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
            return filled
        }
        // One byte more than the size: the read that returns 0 then confirms the end.
        var bytes = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, filled in filled = fill(buffer) }
        while !ended && failure == 0 {
            bytes += [UInt8](unsafeUninitializedCapacity: max(65_536, bytes.count)) { buffer, filled in filled = fill(buffer) }
        }
        if failure != 0 { throw InputError(path: path, reason: String(cString: strerror(failure))) }
        return bytes
    }

    public func fileKind(path: String) -> FileKind { Self.kind(path) }
    public static func kind(_ path: String) -> FileKind {
        guard let mode = mode(path) else { return .missing }
        if mode & S_IFMT == S_IFDIR { return .directory }
        return .file(executable: access(path, X_OK) == 0)
    }
}

/// Files held in memory, keyed by path: for tests and tools.
public struct MemoryLoader: SourceLoader {
    public var files: [String: String]
    public init(_ files: [String: String]) { self.files = files }
    public func load(path: String) throws(InputError) -> [UInt8] {
        guard let text = files[path] else { throw InputError(path: path, reason: "no such file") }
        return Array(text.utf8)
    }
}

/// The result of compiling one root file: every source read, every diagnostic (sorted by
/// position), and the program when there were no errors.
public struct Compilation: Sendable {
    public let sources: SourceManager
    public let diagnostics: [Diagnostic]
    public var program: Program? { box.program }
    /// The program, released on two threads when it is large (`ProgramBox`).
    private let box: ProgramBox

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public init(sources: SourceManager, diagnostics: [Diagnostic], program: Program?) {
        self.sources = sources
        self.diagnostics = diagnostics
        self.box = ProgramBox(program)
    }
}

/// Holds a compiled program and, when the last holder of the compilation lets it go, releases a
/// program of many flows on two threads, half of the flows each. Releasing the graph of a
/// 100,000-line program of 2,500 flows, object by object on one thread while the other core
/// waited, was a tenth of checking it in a process that goes on (an editor, a server, a test run;
/// `flow-bench check`, "releasing the result"): 9.0 to 10.5 ms, against 6.6 to 7.9 ms on two
/// threads (the two share the allocator's locks, so not half). One long flow is released on one
/// thread: splitting its elements from its pages saved nothing measurable.
///
/// Only what no one else holds is split: a program copied out of the compilation (a server
/// keeps it) shares its flows, and splitting a shared array would copy it. Then it is released
/// as before, here.
final class ProgramBox: @unchecked Sendable {
    /// Written by `init` and `deinit` only, when nothing else can read it.
    private(set) var program: Program?

    /// Elements in all, below which a second thread costs more than it saves.
    static let threshold = 2_000

    init(_ program: Program?) { self.program = program }

    deinit {
        if let program = program.take() { Self.release(consume program) }
    }

    /// Releases `program`, on two threads when it has many flows that nothing else holds;
    /// returns whether it did.
    @discardableResult
    static func release(_ program: consuming Program) -> Bool {
        guard SecondThread.isAvailable else { return false }
        var flows: [FlowGraph] = []
        swap(&flows, &program.flows)
        guard flows.count > 1, isUnique(&flows) else { return false }
        // Counted through the buffer: iterating the array copied each flow graph.
        let elements = flows.withUnsafeBufferPointer { flows in flows.indices.reduce(0) { $0 + flows[$1].elements.count } }
        guard elements >= threshold else { return false }
        // A class holds the second thread's half, so that it is released where the closure lets
        // it go, not wherever the optimizer ends a local's lifetime.
        let back = Held(backHalf(&flows))
        SecondThread.run({ back.value = [] }, alongside: { flows = [] })
        return true
    }

    private final class Held {
        var value: [FlowGraph]
        init(_ value: [FlowGraph]) { self.value = value }
    }

    /// The back half of `array`, moved out of it (no element is copied).
    private static func backHalf<T>(_ array: inout [T]) -> [T] {
        let keep = array.count / 2
        var back: [T] = []
        back.reserveCapacity(array.count - keep)
        while array.count > keep { back.append(array.removeLast()) }
        return back
    }

    /// Whether the storage of `flows` is held by no other array. An array here is one reference
    /// to its storage (no Objective-C bridging on this platform), read in place: a copy of the
    /// array would be a second holder. Read as an optional reference: read as `AnyObject`, a debug
    /// build found every array shared.
    static func isUnique(_ flows: inout [FlowGraph]) -> Bool {
        guard MemoryLayout<[FlowGraph]>.size == MemoryLayout<AnyObject?>.size else { return false }
        return withUnsafeMutablePointer(to: &flows) { pointer in
            pointer.withMemoryRebound(to: AnyObject?.self, capacity: 1) { isKnownUniquelyReferenced(&$0.pointee) }
        }
    }
}

public enum Frontend {
    /// Loads `path` and everything it imports, parses, compiles and checks.
    /// Throws only when the root file itself cannot be read; problems with imports are diagnostics.
    public static func compile(
        path: String, options: CheckOptions = CheckOptions(), loader: any SourceLoader = FileSystemLoader()
    ) throws(InputError) -> Compilation {
        let bytes = try loader.load(path: path)
        let sources = SourceManager()
        let root = sources.add(path: path, bytes: bytes)
        var diagnostics: [Diagnostic] = []
        let sharing = options.workSharing
        let program = Compiler.compile(
            ImportResolver.loadAll(root: root, sources: sources, loader: loader, diagnostics: &diagnostics, parseFrom: sharing.parseFrom),
            sources: sources, diagnostics: &diagnostics, releasingSyntax: true, parallel: sharing.checkFrom != nil,
            parallelFrom: sharing.checkFrom ?? 0)
        diagnostics += ExtensionFiles.check(program, sources: sources, loader: loader)
        if options.strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning {
                diagnostics[i].severity = .error
            }
        }
        let sorted = diagnostics.sortedByPosition()
        let ok = !sorted.contains { $0.severity == .error }
        return Compilation(sources: sources, diagnostics: sorted, program: ok ? program : nil)
    }

    /// Compiles source text held in memory (for tests and the library API).
    public static func compile(source: String, path: String = "input.flow", options: CheckOptions = CheckOptions()) -> Compilation {
        // The in-memory loader always has the root file, so this cannot throw.
        (try? compile(path: path, options: options, loader: MemoryLoader([path: source])))!
    }
}
