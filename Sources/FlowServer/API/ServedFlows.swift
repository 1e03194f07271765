import FlowIntegration
import FlowKit
import Foundation

/// One checked flow file that `flow serve` serves, with what running it needs on the server.
public struct ServedFile: Sendable {
    /// As given on the command line; sessions record it (`StoredSession.flowFile`).
    public var path: String
    public var program: Program
    /// Of every source the program was compiled from: a session started on another version of the
    /// file is not resumed (its state would not fit the new element graph).
    public var fingerprint: String
    /// `--define` values for the configs this file declares.
    public var configs: [String: String]
    /// Calls its IPs; holds its secrets.
    public var caller: IPCaller
    /// For each flow of the program, the file that declares it (an imported flow is declared in
    /// the file it comes from), as an absolute path.
    var declaredIn: [String]

    public init(path: String, program: Program, sources: SourceManager, configs: [String: String], caller: IPCaller) {
        self.path = path
        self.program = program
        self.configs = configs
        self.caller = caller
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for file in sources.files {
            for b in file.bytes {
                hash ^= UInt64(b)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x100_0000_01b3
        }
        fingerprint = String(hash, radix: 16)
        declaredIn = program.flows.map { URL(fileURLWithPath: sources[$0.range.file].path).standardizedFileURL.path }
    }
}

/// Canned replies for calls (`--stubs`, `--stub`): an IP with a stub is not called, an extension
/// with one is not sent to the client.
public protocol CallStubs: Sendable {
    /// The reply for this call of the program of `file` (an index into the served files), or nil.
    func reply(to call: CallRequest, isIP: Bool, file: Int) -> Reply?
}

public struct NoStubs: CallStubs {
    public init() {}
    public func reply(to call: CallRequest, isIP: Bool, file: Int) -> Reply? { nil }
}

/// The flows served, by name.
struct FlowCatalogue {
    let files: [ServedFile]
    /// Flow name → index of its file.
    let byName: [String: Int]

    init(files: [ServedFile]) throws(ServiceSetupError) {
        self.files = files
        var names: [String: Int] = [:]
        var declared: [String: String] = [:]
        for (k, f) in files.enumerated() {
            for (i, flow) in f.program.flows.enumerated() {
                // The same flow reached through two files (one imports the other) is one flow.
                if let other = declared[flow.name], other != f.declaredIn[i] {
                    throw ServiceSetupError(message: "the flow '\(flow.name)' is declared in both '\(other)' and '\(f.declaredIn[i])'")
                }
                if names[flow.name] == nil {
                    names[flow.name] = k
                    declared[flow.name] = f.declaredIn[i]
                }
            }
        }
        byName = names
    }

    func file(path: String) -> Int? { files.firstIndex { $0.path == path } }
}

public struct ServiceSetupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
