import FlowKit
import Foundation
import XCTest

/// End-to-end tests of the `flow` executable: arguments, streams, exit statuses, formats, colour.
/// (What diagnostics say is pinned by the golden files; these tests pin the command line around them.)
final class CommandLineTests: XCTestCase {
    /// One error in the lexer, whatever the parser and checker make of the rest.
    static let unterminatedString = "flow Greeting {\n  response \"Hello\n}\n"
    static let clean = "flow Greeting {\n  response \"Hello\"\n}\n"

    /// A fresh directory holding `files` (relative path: contents), removed after the test.
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("flow-cli-tests-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    func assertUsageError(
        _ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let run = try FlowProcess.run(arguments)
        XCTAssertEqual(run.status, 64, "\(run)", file: file, line: line)
        XCTAssertEqual(run.stderr, expected, file: file, line: line)
        XCTAssertEqual(run.stdout, "", file: file, line: line)
    }

    // MARK: - Help and version

    func testHelpExitsZeroAndMentionsCheck() throws {
        for arguments in [["--help"], ["-h"], ["help"]] {
            let run = try FlowProcess.run(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run)")
            XCTAssertTrue(run.stdout.contains("check"), "\(arguments): \(run)")
            XCTAssertEqual(run.stderr, "", "\(arguments)")
        }
    }

    func testCheckHelpListsOptionsAndExitStatuses() throws {
        for arguments in [
            ["check", "--help"], ["check", "-h"], ["help", "check"], ["check", "x.flow", "--bogus", "--help"],
        ] {
            let run = try FlowProcess.run(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run)")
            for word in ["--format", "--strict", "--color", "64", "65", "66", "70"] {
                XCTAssertTrue(run.stdout.contains(word), "\(arguments): no '\(word)' in \(run)")
            }
            XCTAssertEqual(run.stderr, "", "\(arguments)")
        }
    }

    func testVersion() throws {
        let run = try FlowProcess.run(["--version"])
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(run.stdout, "flow \(flowVersion)\n")
        XCTAssertEqual(run.stderr, "")
    }

    // MARK: - Usage errors (64)

    func testNoCommandIsAUsageError() throws {
        let run = try FlowProcess.run([])
        XCTAssertEqual(run.status, 64, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: no command given\nhint: "), "\(run)")
    }

    func testUnknownOptionSuggestsTheClosest() throws {
        try assertUsageError(
            ["check", "--stirct", "x.flow"], "error: unknown option '--stirct'\nhint: did you mean '--strict'?\n")
        try assertUsageError(
            ["check", "--fromat=json", "x.flow"],
            "error: unknown option '--fromat=json'\nhint: did you mean '--format'?\n")
    }

    func testUnknownOptionWithNothingCloseListsTheOptions() throws {
        try assertUsageError(
            ["check", "--zzzzzzzz", "x.flow"],
            "error: unknown option '--zzzzzzzz'\nhint: the options of 'check' are: --format, --strict, --color, --help\n"
        )
    }

    func testUnknownCommandSuggestsTheClosest() throws {
        try assertUsageError(["chek", "x.flow"], "error: unknown command 'chek'\nhint: did you mean 'check'?\n")
        try assertUsageError(
            ["x.flow"], "error: unknown command 'x.flow'\nhint: to check a file, run 'flow check x.flow'\n")
    }

    func testMissingFormatValue() throws {
        try assertUsageError(
            ["check", "x.flow", "--format"],
            "error: missing value for '--format'\nhint: give one of 'human', 'gcc', 'json': '--format human'\n")
        try assertUsageError(
            ["check", "--format", "--strict", "x.flow"],
            "error: missing value for '--format'\nhint: give one of 'human', 'gcc', 'json': '--format human'\n")
    }

    func testInvalidFormatValueSuggestsTheClosest() throws {
        try assertUsageError(
            ["check", "--format", "jsn", "x.flow"],
            "error: invalid value 'jsn' for '--format'\nhint: did you mean 'json'?\n")
        try assertUsageError(
            ["check", "--format=xml", "x.flow"],
            "error: invalid value 'xml' for '--format'\nhint: use one of 'human', 'gcc', 'json'\n")
    }

    func testFlagWithAValueIsAUsageError() throws {
        try assertUsageError(
            ["check", "--strict=yes", "x.flow"],
            "error: option '--strict' takes no value\nhint: write '--strict' on its own\n")
    }

    func testNoInputsIsAUsageError() throws {
        try assertUsageError(
            ["check", "--strict"],
            "error: no input files\nhint: give files or directories to check: 'flow check main.flow flows/'\n")
    }

    /// What a command lists as its options (the hint for an unknown one), what its help shows and
    /// what it accepts are one set: each listed option is in the help's option table and is not
    /// refused as unknown.
    func testEachCommandsOptionsAreListedHelpedAndAccepted() throws {
        for command in ["check", "run", "ip", "graph", "fmt", "test", "explore"] {
            let unknown = try FlowProcess.run([command, "--zzzzzzzz"])
            let prefix = "hint: the options of '\(command)' are: "
            let line = try XCTUnwrap(
                unknown.stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }, "\(command): \(unknown)")
            let options = line.dropFirst(prefix.count).components(separatedBy: ", ")
            XCTAssertTrue(options.count > 1, "\(command): \(options)")
            let help = try FlowProcess.run([command, "--help"]).stdout
            let table = help.components(separatedBy: "\noptions:\n").last ?? ""
            for option in options {
                XCTAssertTrue(
                    table.contains("  \(option) ") || table.contains("  \(option)\n") || table.contains(", \(option) "),
                    "'flow \(command) --help' does not explain \(option)")
                let run = try FlowProcess.run([command, option])
                XCTAssertFalse(run.stderr.contains("unknown option"), "\(command) \(option): \(run)")
            }
        }
    }

    // MARK: - Inputs (66)

    func testMissingFileExits66() throws {
        let run = try FlowProcess.run(["check", "no/such/file.flow"])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: cannot read 'no/such/file.flow'"), "\(run)")
        XCTAssertEqual(run.stdout, "")
    }

    func testMissingFileDoesNotStopTheOtherInputsAndWinsOver65() throws {
        let directory = try makeDirectory(["bad.flow": Self.unterminatedString])
        let run = try FlowProcess.run(["check", "--format", "gcc", "missing.flow", "bad.flow"], in: directory)
        XCTAssertEqual(run.status, 66, "\(run)")
        let lines = run.stderr.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("error: cannot read 'missing.flow'") ?? false, "\(run)")
        XCTAssertTrue(lines.dropFirst().contains { $0.hasPrefix("bad.flow:2:") }, "bad.flow was not checked: \(run)")
    }

    func testInputStartingWithDashAfterDoubleDash() throws {
        let run = try FlowProcess.run(["check", "--", "--strict"])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: cannot read '--strict'"), "\(run)")
    }

    func testDirectoryWithoutFlowFilesExits66() throws {
        let directory = try makeDirectory(["notes.txt": "hello\n", ".hidden/a.flow": Self.unterminatedString])
        let run = try FlowProcess.run(["check", "."], in: directory)
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: no '.flow' files in directory '.'\n"), "\(run)")
    }

    // MARK: - Directories

    func testDirectoryChecksEveryFlowFileInSortedOrder() throws {
        let directory = try makeDirectory([
            "flows/b.flow": Self.unterminatedString,
            "flows/a.flow": Self.unterminatedString,
            "flows/sub/c.flow": Self.unterminatedString,
            "flows/notes.txt": Self.unterminatedString,
            "flows/.hidden/d.flow": Self.unterminatedString,
        ])
        let cases = [
            (directory.appendingPathComponent("flows"), ".", ""),
            (directory, "flows", "flows/"),
            (directory, "flows/", "flows/"),
        ]
        for (workingDirectory, input, prefix) in cases {
            let run = try FlowProcess.run(["check", "--format", "json", input], in: workingDirectory)
            XCTAssertEqual(run.status, 65, "\(input): \(run)")
            let files = try Self.jsonDiagnostics(run.stdout).compactMap { $0["file"] as? String }
            var distinct: [String] = []
            for file in files where distinct.last != file { distinct.append(file) }
            XCTAssertEqual(distinct, ["a.flow", "b.flow", "sub/c.flow"].map { prefix + $0 }, "\(input): \(run)")
        }
    }

    func testTheSameFileNamedTwiceIsCheckedOnce() throws {
        let directory = try makeDirectory(["bad.flow": Self.unterminatedString])
        let once = try FlowProcess.run(["check", "--format", "json", "bad.flow"], in: directory)
        let twice = try FlowProcess.run(["check", "--format", "json", "bad.flow", "./bad.flow", "."], in: directory)
        XCTAssertEqual(once.stdout, twice.stdout)
        XCTAssertEqual(twice.status, 65)
    }

    // MARK: - Formats

    static func jsonDiagnostics(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String:
        Any]]
    {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(value as? [[String: Any]], "not an array of objects: \(text)", file: file, line: line)
    }

    func testJSONFormatIsOneArrayOnStandardOutput() throws {
        let directory = try makeDirectory(["one.flow": Self.unterminatedString, "two.flow": Self.unterminatedString])
        let run = try FlowProcess.run(["check", "--format", "json", "one.flow", "two.flow"], in: directory)
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stderr, "", "JSON runs write nothing else")
        let diagnostics = try Self.jsonDiagnostics(run.stdout)
        XCTAssertFalse(diagnostics.isEmpty)
        for d in diagnostics {
            for key in ["file", "line", "column", "endLine", "endColumn", "severity", "code", "message"] {
                XCTAssertNotNil(d[key], "no '\(key)' in \(d)")
            }
            for key in ["line", "column", "endLine", "endColumn"] {
                XCTAssertNotNil(d[key] as? Int, "'\(key)' is not a number in \(d)")
            }
            XCTAssertTrue(["error", "warning", "note"].contains(d["severity"] as? String ?? ""), "\(d)")
        }
        XCTAssertEqual(Set(diagnostics.compactMap { $0["file"] as? String }), ["one.flow", "two.flow"])
        XCTAssertTrue(
            diagnostics.contains {
                $0["file"] as? String == "one.flow" && $0["line"] as? Int == 2 && $0["column"] as? Int == 12
            })
    }

    func testJSONFormatOfACleanFileIsAnEmptyArray() throws {
        let directory = try makeDirectory(["ok.flow": Self.clean])
        let run = try FlowProcess.run(["check", "--format", "json", "ok.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "[]\n")
        XCTAssertEqual(run.stderr, "")
    }

    func testGCCFormatIsOneLineEachOnStandardError() throws {
        let directory = try makeDirectory(["bad.flow": Self.unterminatedString])
        let run = try FlowProcess.run(["check", "--format", "gcc", "bad.flow"], in: directory)
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "")
        let pattern = try NSRegularExpression(pattern: #"^[^:]+:[0-9]+:[0-9]+: (error|warning|note): .+$"#)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.isEmpty)
        for line in lines {
            let range = NSRange(line.startIndex..., in: line)
            XCTAssertNotNil(
                pattern.firstMatch(in: line, range: range), "not 'path:line:col: severity: message': \(line)")
        }
        XCTAssertTrue(lines[0].hasPrefix("bad.flow:2:12: error: "), "\(run)")
    }

    func testHumanFormatEndsWithASummary() throws {
        let directory = try makeDirectory(["bad.flow": Self.unterminatedString, "ok.flow": Self.clean])
        let bad = try FlowProcess.run(["check", "bad.flow"], in: directory)
        XCTAssertEqual(bad.status, 65, "\(bad)")
        XCTAssertEqual(bad.stdout, "")
        XCTAssertTrue(bad.stderr.contains(" --> bad.flow:2:12\n"), "\(bad)")
        let last = bad.stderr.split(separator: "\n").last ?? ""
        XCTAssertTrue(last.hasPrefix("error: found ") && last.hasSuffix(" in 1 file"), "\(bad)")

        let ok = try FlowProcess.run(["check", "ok.flow"], in: directory)
        XCTAssertEqual(ok.status, 0, "\(ok)")
        XCTAssertEqual(ok.stdout, "")
        XCTAssertEqual(ok.stderr, "checked 1 file: no problems\n")
    }

    /// Any flow whose only problems are warnings will do; today, an extension output never read.
    static let warningOnly = """
        extension Tokenize(publishable key: text) {
          run "extensions/tokenize"
          output token: text
        }

        flow Checkout {
          response "done"
        }

        """

    func testWarningsAloneAreCleanUnlessStrict() throws {
        // The extension's program is there (else its absence is a second warning).
        let directory = try makeDirectory(["warn.flow": Self.warningOnly, "extensions/tokenize": "#!/bin/sh\n"])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.appendingPathComponent("extensions/tokenize").path)
        let lenient = try FlowProcess.run(["check", "warn.flow"], in: directory)
        XCTAssertEqual(lenient.status, 0, "\(lenient)")
        XCTAssertTrue(lenient.stderr.hasPrefix("warning"), "the fixture no longer gives a warning: \(lenient)")
        XCTAssertTrue(lenient.stderr.hasSuffix("\nchecked 1 file: 1 warning in 1 file\n"), "\(lenient)")

        let strict = try FlowProcess.run(["check", "--strict", "warn.flow"], in: directory)
        XCTAssertEqual(strict.status, 65, "\(strict)")
        XCTAssertTrue(strict.stderr.hasPrefix("error"), "\(strict)")
        XCTAssertTrue(strict.stderr.hasSuffix("\nerror: found 1 error in 1 file\n"), "\(strict)")
    }

    func testStrictKeepsACleanFileClean() throws {
        let directory = try makeDirectory(["ok.flow": Self.clean])
        let run = try FlowProcess.run(["check", "--strict", "ok.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
    }

    // MARK: - Colour

    static let escape = "\u{1B}"

    func testColourOnlyOnATerminalAndNeverWithNoColor() throws {
        let directory = try makeDirectory(["bad.flow": Self.unterminatedString])
        let path = directory.appendingPathComponent("bad.flow").path

        // A pipe or file is never coloured unless asked for; the flag wins over NO_COLOR.
        XCTAssertFalse(
            try FlowProcess.run(["check", path], environment: ["NO_COLOR": nil]).stderr.contains(Self.escape))
        XCTAssertTrue(try FlowProcess.run(["check", "--color", "always", path]).stderr.contains(Self.escape))

        // On a terminal: coloured by default (which shows the test can see colour at all),
        // plain with NO_COLOR set to anything but the empty string, or with --color never.
        let plain = try FlowProcess.runOnTerminal(["check", path], environment: ["NO_COLOR": nil])
        XCTAssertEqual(plain.status, 65)
        XCTAssertTrue(plain.stderr.contains(Self.escape), "no colour on a terminal: \(plain.stderr)")
        XCTAssertTrue(
            try FlowProcess.runOnTerminal(["check", path], environment: ["NO_COLOR": ""]).stderr.contains(Self.escape))

        let noColor = try FlowProcess.runOnTerminal(["check", path], environment: ["NO_COLOR": "1"])
        XCTAssertEqual(noColor.status, 65)
        XCTAssertTrue(noColor.stderr.contains("bad.flow"), "\(noColor.stderr)")
        XCTAssertFalse(noColor.stderr.contains(Self.escape), "colour despite NO_COLOR: \(noColor.stderr)")
        XCTAssertFalse(
            try FlowProcess.runOnTerminal(["check", "--color", "never", path], environment: ["NO_COLOR": nil]).stderr
                .contains(Self.escape))

        // Usage errors follow the same rule.
        XCTAssertTrue(
            try FlowProcess.runOnTerminal(["chek"], environment: ["NO_COLOR": nil]).stderr.contains(Self.escape))
        XCTAssertFalse(
            try FlowProcess.runOnTerminal(["chek"], environment: ["NO_COLOR": "1"]).stderr.contains(Self.escape))
    }
}
