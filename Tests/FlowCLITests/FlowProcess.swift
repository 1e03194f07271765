import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the built `flow` executable, as a user would, and captures what it does.
///
/// Finding the binary: `swift build`/`swift test` put every product of the package in one products
/// directory (`.build/debug`, or `<scratch-path>/debug` with `--scratch-path`), and the test bundle
/// is built there too. On Linux `Bundle.main` is the test runner `<products>/flowPackageTests.xctest`
/// so its directory is the products directory; on macOS the `.xctest` bundle is found among
/// `Bundle.allBundles`. `FLOW_BIN=/path/to/flow` overrides this (to test an installed binary).
/// `swift test` builds every target, the `flow` executable included, before it runs the tests.
///
/// The process runs with the package root as its working directory, so relative paths in its
/// output are stable, and with `NO_COLOR=1` unless a test sets the environment itself.
struct FlowRun: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\n--- stderr\n\(stderr)--- stdout\n\(stdout)" }
}

struct FlowProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum FlowProcess {
    /// The root of the package: this file is `<root>/Tests/FlowCLITests/FlowProcess.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let productsDirectory: URL = {
        #if os(macOS)
            for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
                return bundle.bundleURL.deletingLastPathComponent()
            }
        #endif
        return Bundle.main.bundleURL
    }()

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return productsDirectory.appendingPathComponent("flow")
    }

    /// The environment the binary sees: the test's own, without colour settings, plus `extra`
    /// (a nil value removes a variable).
    static func environment(_ extra: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["NO_COLOR", "FLOW_BACKTRACE", "TERM"] { environment[name] = nil }
        environment["NO_COLOR"] = "1"
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// Runs `flow arguments…` from `directory` (the package root by default). Output goes to
    /// temporary files rather than pipes, so a large output can never fill a pipe and stall.
    /// Standard input is `input` (from a file) when given, else /dev/null.
    static func run(
        _ arguments: [String], in directory: URL = packageRoot, environment extra: [String: String?] = [:],
        input: String? = nil, timeout: TimeInterval = 60
    ) throws -> FlowRun {
        let binary = self.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw FlowProcessError("no flow executable at '\(binary.path)': run 'swift build --product flow' first")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("flow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment(extra)
        if let input {
            let inURL = scratch.appendingPathComponent("stdin")
            try Data(input.utf8).write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        try out.close()
        try err.close()
        try wait(for: process, timeout: timeout, arguments: arguments)
        return FlowRun(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Runs `flow arguments…` with its standard error connected to a pseudo-terminal, as in an
    /// interactive shell, and returns what it wrote there. Standard output goes to /dev/null.
    static func runOnTerminal(
        _ arguments: [String], environment extra: [String: String?] = [:]
    ) throws -> (status: Int32, stderr: String) {
        let pty = try PseudoTerminalFunctions()
        let master = pty.openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, pty.grantpt(master) == 0, pty.unlockpt(master) == 0, let name = pty.ptsname(master) else {
            throw XCTSkip("no pseudo-terminal available")
        }
        defer { close(master) }
        let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw XCTSkip("cannot open the pseudo-terminal") }

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        process.environment = environment(extra)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        do {
            try process.run()
        } catch {
            close(slave)
            throw error
        }
        close(slave)
        // Read until every copy of the slave side is closed (the child has exited): then `read`
        // fails with EIO on Linux or returns 0.
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        try wait(for: process, timeout: 60, arguments: arguments)
        return (process.terminationStatus, String(decoding: bytes, as: UTF8.self))
    }

    private static func wait(for process: Process, timeout: TimeInterval, arguments: [String]) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw FlowProcessError("flow \(arguments.joined(separator: " ")) ran longer than \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        process.waitUntilExit()
    }
}

/// `posix_openpt`, `grantpt`, `unlockpt` and `ptsname` from the C library. Swift's Glibc module
/// does not export them (they need `_XOPEN_SOURCE`), so on Linux they are looked up at run time.
struct PseudoTerminalFunctions {
    let openpt: @convention(c) (Int32) -> Int32
    let grantpt: @convention(c) (Int32) -> Int32
    let unlockpt: @convention(c) (Int32) -> Int32
    let ptsname: @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

    init() throws {
        #if canImport(Darwin)
            openpt = { posix_openpt($0) }
            grantpt = { Darwin.grantpt($0) }
            unlockpt = { Darwin.unlockpt($0) }
            ptsname = { Darwin.ptsname($0) }
        #else
            let handle = dlopen(nil, RTLD_NOW)
            func symbol<F>(_ name: String, as type: F.Type) throws -> F {
                guard let pointer = dlsym(handle, name) else { throw XCTSkip("no \(name) in the C library") }
                return unsafeBitCast(pointer, to: type)
            }
            openpt = try symbol("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)
            grantpt = try symbol("grantpt", as: (@convention(c) (Int32) -> Int32).self)
            unlockpt = try symbol("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
            ptsname = try symbol("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        #endif
    }
}

/// A listening TCP socket on a free port of 127.0.0.1, for the test gateways of this target.
func listenOnLoopback(backlog: Int32) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw FlowProcessError("socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)  // 127.0.0.1
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, backlog) == 0 else {
        close(fd)
        throw FlowProcessError("bind or listen: \(String(cString: strerror(errno)))")
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
