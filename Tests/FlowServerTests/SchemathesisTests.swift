import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// schemathesis (PyPI) against the server's own `/v1/openapi.json`: every check (no 5xx, every
/// status, content type, header and body as described, schema-violating requests refused,
/// stateful runs through the links) except `positive_data_acceptance`, which expects every
/// schema-valid request to succeed: whether answers fit a page depends on the flow, which a
/// schema cannot say (such requests get 422, as described).
///
/// schemathesis is installed into `<build folder>/schemathesis-venv` the first time
/// (`FLOW_SCHEMATHESIS_VENV=DIR` puts it elsewhere). Without Python or PyPI the test is skipped
/// with the reason, except when `CI=true`: then it fails.
final class SchemathesisTests: XCTestCase {
    static let requirement = "schemathesis==4.32.5"

    func testEveryAnswerMatchesTheDescription() throws {
        let schemathesis = try Self.install()
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore(), "--stub",
                                       #"StripeCharge={"id": "ch_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": null}"#])
        // schemathesis keeps a cache in its working directory: a temporary one, not the package.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("flow-schemathesis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try Command.run(
            [schemathesis, "run", "http://127.0.0.1:\(server.port)/v1/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--max-examples", "40", "--seed", "20261204", "--no-color"],
            timeout: 900, directory: scratch)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("passed"), run.output)
        XCTAssertFalse(server.log.contains("error:"), server.log)
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// The venv's `schemathesis`, installed when missing. A lock file keeps parallel test
    /// processes from installing at once.
    static func install() throws -> String {
        let venv: URL
        if let dir = ProcessInfo.processInfo.environment["FLOW_SCHEMATHESIS_VENV"], !dir.isEmpty {
            venv = URL(fileURLWithPath: dir)
        } else {
            venv = Bundle.main.bundleURL.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("schemathesis-venv")
        }
        let executable = venv.appendingPathComponent("bin/schemathesis").path
        let lock = open(venv.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw unavailable("cannot create \(venv.path).lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.isExecutableFile(atPath: executable),
            let check = try? Command.run([executable, "--version"], timeout: 60), check.status == 0,
            check.output.contains(requirement.split(separator: "=").last!)
        {
            return executable
        }
        let made = try Command.run(["/usr/bin/env", "python3", "-m", "venv", "--clear", venv.path], timeout: 120)
        guard made.status == 0 else { throw unavailable("python3 -m venv failed:\n\(made.output)") }
        let pip = try Command.run(
            [venv.appendingPathComponent("bin/python").path, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", requirement],
            timeout: 900)
        guard pip.status == 0 else { throw unavailable("pip install \(requirement) failed:\n\(pip.output)") }
        return executable
    }

    static func unavailable(_ reason: String) -> Error {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            return HarnessError("schemathesis is not available (CI=true, so this is a failure): \(reason)")
        }
        return XCTSkip("schemathesis is not available: \(reason)")
    }
}

/// Runs a program to its end; its output and error together (in a file, so nothing can stall).
enum Command {
    static func run(_ arguments: [String], timeout: Double, directory: URL? = nil) throws -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("flow-cmd-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        if let directory { p.currentDirectoryURL = directory }
        try p.run()
        try handle.close()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            throw HarnessError("\(arguments.joined(separator: " ")) ran longer than \(Int(timeout)) s")
        }
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}
