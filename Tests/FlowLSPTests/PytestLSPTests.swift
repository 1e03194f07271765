import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow lsp` driven by an independent client: pytest-lsp (PyPI), which checks every message
/// against LSP 3.17's types. The test installs it into `<build folder>/pytest-lsp-venv` once
/// (`FLOW_PYTEST_LSP_VENV` overrides the place), then runs `support/test_flow_lsp.py` with the
/// built binary. Without python3 or PyPI the test is skipped, except under CI (`CI=true`), where
/// that is a failure.
final class PytestLSPTests: XCTestCase {
    static let requirement = "pytest-lsp==1.0.1"

    func testPytestLSPSuite() throws {
        let python: URL
        do {
            python = try Self.installed()
        } catch let error as LSPTestError {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("pytest-lsp is not available (CI=true, so this is a failure): \(error)")
                return
            }
            throw XCTSkip("pytest-lsp is not available: \(error)")
        }
        let support = LSPClient.packageRoot.appendingPathComponent("Tests/FlowLSPTests/support")
        let run = try Self.command(
            [python.path, "-m", "pytest", "-p", "no:cacheprovider", "-c", support.appendingPathComponent("pytest.ini").path,
             support.appendingPathComponent("test_flow_lsp.py").path],
            environment: ["FLOW_BIN": LSPClient.binary.path, "FLOW_ROOT": LSPClient.packageRoot.path], timeout: 300)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("5 passed"), run.output)
    }

    // MARK: Installing

    static func installed() throws -> URL {
        let venv = venvDirectory
        let python = venv.appendingPathComponent("bin/python")
        try FileManager.default.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = open(venv.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw LSPTestError("cannot create \(venv.path).lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.isExecutableFile(atPath: python.path),
           (try? command([python.path, "-c", "import pytest_lsp"], timeout: 60))?.status == 0 {
            return python
        }
        let made = try command(["/usr/bin/env", "python3", "-m", "venv", "--clear", venv.path], timeout: 120)
        guard made.status == 0 else { throw LSPTestError("python3 -m venv \(venv.path) failed:\n\(made.output)") }
        let pip = try command([python.path, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", requirement], timeout: 600)
        guard pip.status == 0 else { throw LSPTestError("pip install \(requirement) failed:\n\(pip.output)") }
        return python
    }

    /// `<scratch path>/pytest-lsp-venv`: the build folder is the nearest folder above the products
    /// directory that holds SwiftPM's `workspace-state.json`.
    static var venvDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_PYTEST_LSP_VENV"], !path.isEmpty { return URL(fileURLWithPath: path) }
        var folder = LSPClient.binary.deletingLastPathComponent().resolvingSymlinksInPath()
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("workspace-state.json").path) {
                return folder.appendingPathComponent("pytest-lsp-venv")
            }
        }
        return LSPClient.binary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("pytest-lsp-venv")
    }

    /// Runs a command with standard output and error together; kills it after `timeout` seconds.
    static func command(_ argv: [String], environment extra: [String: String] = [:], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw LSPTestError("cannot run \(argv[0]): \(error)") }
        let timer = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
