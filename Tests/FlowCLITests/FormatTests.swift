import Foundation
import XCTest

/// `flow fmt` through the built binary: rewriting in place, `--check`, directories, exit statuses.
/// Every test works on copies in a temporary directory. (The layout itself is tested in
/// FlowKitTests/FormatterTests.)
final class FormatTests: XCTestCase {
    static let messy = "flow   Greeting {\n    response \"Hello\"\n\n\n}"
    static let tidy = "flow Greeting {\n  response \"Hello\"\n}\n"
    static let broken = "flow Greeting {\n  response \"Hello\n}\n"

    /// A fresh directory holding `files` (relative path: contents), removed after the test.
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-fmt-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    func read(_ directory: URL, _ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    func testRewritesInPlaceAndListsTheFilesChanged() throws {
        let directory = try makeDirectory(["a.flow": Self.messy, "b.flow": Self.tidy])
        let run = try FlowProcess.run(["fmt", "a.flow", "b.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "a.flow\n")
        XCTAssertEqual(run.stderr, "")
        XCTAssertEqual(try read(directory, "a.flow"), Self.tidy)
        XCTAssertEqual(try read(directory, "b.flow"), Self.tidy)

        let again = try FlowProcess.run(["fmt", "a.flow", "b.flow"], in: directory)
        XCTAssertEqual(again.status, 0, "\(again)")
        XCTAssertEqual(again.stdout, "")
        XCTAssertEqual(try read(directory, "a.flow"), Self.tidy)
    }

    func testCheckChangesNothingAndExitsOneWhenAFileWouldChange() throws {
        let directory = try makeDirectory(["a.flow": Self.messy, "b.flow": Self.tidy])
        let run = try FlowProcess.run(["fmt", "--check", "a.flow", "b.flow"], in: directory)
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(run.stdout, "a.flow\n")
        XCTAssertEqual(run.stderr, "1 file is not formatted: run 'flow fmt' on it\n")
        XCTAssertEqual(try read(directory, "a.flow"), Self.messy)

        let clean = try FlowProcess.run(["fmt", "b.flow", "--check"], in: directory)
        XCTAssertEqual(clean.status, 0, "\(clean)")
        XCTAssertEqual(clean.stdout, "")
        XCTAssertEqual(clean.stderr, "")
    }

    func testDirectoriesAreSearchedForFlowFiles() throws {
        let directory = try makeDirectory([
            "flows/a.flow": Self.messy, "flows/lib/b.flow": Self.messy, "flows/c.flow": Self.tidy,
            "flows/notes.txt": Self.messy, "flows/.hidden/d.flow": Self.messy,
        ])
        let check = try FlowProcess.run(["fmt", "--check", "flows"], in: directory)
        XCTAssertEqual(check.status, 1, "\(check)")
        XCTAssertEqual(check.stdout, "flows/a.flow\nflows/lib/b.flow\n")
        XCTAssertEqual(check.stderr, "2 files are not formatted: run 'flow fmt' on them\n")

        let run = try FlowProcess.run(["fmt", "flows"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "flows/a.flow\nflows/lib/b.flow\n")
        XCTAssertEqual(try read(directory, "flows/lib/b.flow"), Self.tidy)
        XCTAssertEqual(try read(directory, "flows/notes.txt"), Self.messy)
        XCTAssertEqual(try read(directory, "flows/.hidden/d.flow"), Self.messy)
    }

    func testAFileWithSyntaxErrorsIsReportedLikeCheckAndLeftAlone() throws {
        let directory = try makeDirectory(["bad.flow": Self.broken, "ok.flow": Self.messy])
        let run = try FlowProcess.run(["fmt", "bad.flow", "ok.flow"], in: directory)
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "ok.flow\n")
        XCTAssertEqual(try read(directory, "bad.flow"), Self.broken)
        XCTAssertEqual(try read(directory, "ok.flow"), Self.tidy)

        // The diagnostics are rendered as `flow check` renders them; then one summary line.
        let check = try FlowProcess.run(["check", "bad.flow"], in: directory)
        let diagnostics = check.stderr.components(separatedBy: "\n").dropLast(2).joined(separator: "\n")
        XCTAssertTrue(diagnostics.contains("bad.flow:2:"), check.stderr)
        XCTAssertTrue(run.stderr.hasPrefix(diagnostics), "\(run)\n--- check\n\(check)")
        XCTAssertTrue(run.stderr.hasSuffix("error: found 1 syntax error in 1 file; it was not formatted\n"), run.stderr)

        let checkOnly = try FlowProcess.run(["fmt", "--check", "bad.flow"], in: directory)
        XCTAssertEqual(checkOnly.status, 65, "\(checkOnly)")
        XCTAssertEqual(try read(directory, "bad.flow"), Self.broken)
    }

    func testMissingInputsExitSixtySix() throws {
        let directory = try makeDirectory(["a.flow": Self.messy, "empty/notes.txt": ""])
        let run = try FlowProcess.run(["fmt", "missing.flow", "empty", "a.flow"], in: directory)
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertEqual(run.stdout, "a.flow\n")
        XCTAssertTrue(run.stderr.contains("error: cannot read 'missing.flow': no such file\n"), run.stderr)
        XCTAssertTrue(run.stderr.contains("error: no '.flow' files in directory 'empty'\n"), run.stderr)
        XCTAssertEqual(try read(directory, "a.flow"), Self.tidy)
    }

    func testRewritingKeepsPermissionsAndFollowsLinks() throws {
        let directory = try makeDirectory(["real/a.flow": Self.messy])
        let real = directory.appendingPathComponent("real/a.flow")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: real.path)
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("link.flow").path, withDestinationPath: "real/a.flow")
        let run = try FlowProcess.run(["fmt", "link.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "link.flow\n")
        XCTAssertEqual(try read(directory, "real/a.flow"), Self.tidy)
        let attributes = try FileManager.default.attributesOfItem(atPath: real.path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o640)
        let link = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("link.flow").path)
        XCTAssertEqual(link[.type] as? FileAttributeType, .typeSymbolicLink)
        // No temporary file is left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("real").path)
        XCTAssertEqual(left, ["a.flow"])
    }

    func testHelpAndUsage() throws {
        let help = try FlowProcess.run(["fmt", "--help"])
        XCTAssertEqual(help.status, 0, "\(help)")
        XCTAssertTrue(help.stdout.hasPrefix("usage: flow fmt <file|directory>... [--check]\n"), help.stdout)
        XCTAssertTrue(help.stdout.contains("--check"))
        let none = try FlowProcess.run(["fmt"])
        XCTAssertEqual(none.status, 64, "\(none)")
    }

    /// The examples in `flows/` are kept formatted (`.ci/run` checks this too).
    func testTheExamplesAreFormatted() throws {
        let run = try FlowProcess.run(["fmt", "--check", "flows"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "")
    }
}
