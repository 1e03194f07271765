import Foundation
import XCTest

/// End-to-end tests of `flow explore` through the built binary: the report, `--json`, exit
/// statuses, and reproductions that `flow run` really reproduces, pasted as printed.
final class ExploreCommandTests: XCTestCase {
    static let split = """
        flow Split {
          question People: number {
            min 0
            max 10
          }
          set share = 100 / People
          response "Each pays {share}."
        }

        """

    static let lookup = """
        ip Lookup(id: text) {
          GET "https://people.example/{id}"
          output name: text = json "name"
        }
        flow Greet {
          question Id: text
          ip Lookup(Id) -> (name: name)
          response "Hello {name}"
        }

        """

    static let clean = """
        flow Hello {
          question Age: number {
            min 0
            max 130
          }
          if Age >= 18 {
            response "Hello"
          } else {
            response "Hi"
          }
        }

        """

    /// A fresh directory holding `files` (name: contents), removed after the test.
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-explore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    func testACleanFlowExitsZero() throws {
        let directory = try makeDirectory(["clean.flow": Self.clean])
        let run = try FlowProcess.run(["explore", "clean.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stderr, "")
        XCTAssertTrue(run.stdout.hasPrefix("explored "), run.stdout)
        XCTAssertTrue(run.stdout.contains("(every path), 0 distinct findings\n"), run.stdout)
        XCTAssertTrue(run.stdout.contains("reached 4 of 4 elements (100%)\n"), run.stdout)
    }

    func testAFindingIsReportedWithAReproductionThatFlowRunReproduces() throws {
        let directory = try makeDirectory(["split.flow": Self.split])
        let run = try FlowProcess.run(["explore", "split.flow"], in: directory)
        XCTAssertEqual(run.status, 1, "\(run)")
        let expected = """
            error[run.divisionByZero]: division by zero
             --> split.flow:6:15
              |
            6 |   set share = 100 / People
              |               ^^^^^^^^^^^^
              = when: 'People.People' answered '0' (min)
              = answers: {"People.People": "0"}
              = stubs: {}
              = reproduce: flow run split.flow --answer People.People=0

            """
        XCTAssertTrue(run.stdout.hasSuffix(expected), run.stdout)
        XCTAssertTrue(run.stdout.hasPrefix("explored "), run.stdout)
        XCTAssertTrue(run.stdout.contains(", 1 distinct finding\n"), run.stdout)

        // The printed command, run as printed (with this build's binary for `flow`).
        let command = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.contains("= reproduce: ") })
            .components(separatedBy: "= reproduce: flow ")[1]
        let replay = try shell("'\(FlowProcess.binary.path)' \(command)", in: directory)
        XCTAssertEqual(replay.status, 70, "\(replay)")
        XCTAssertTrue(replay.stderr.contains("error[run.divisionByZero]: division by zero"), "\(replay)")
    }

    func testJSONReproductionFeedsFlowRunAnswersAndStubs() throws {
        let directory = try makeDirectory(["lookup.flow": Self.lookup])
        let run = try FlowProcess.run(["explore", "lookup.flow", "--json"], in: directory)
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(run.stderr, "")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        XCTAssertEqual(object["complete"] as? Bool, true)
        XCTAssertNotNil(object["playthroughs"] as? Int)
        XCTAssertNotNil(object["coverage"] as? [String: Any])
        let findings = try XCTUnwrap(object["findings"] as? [[String: Any]])
        XCTAssertEqual(findings.count, 1, run.stdout)
        let f = findings[0]
        XCTAssertEqual(f["kind"] as? String, "unhandledFailure")
        XCTAssertEqual(f["code"] as? String, "explore.unhandledFailure")
        XCTAssertEqual(f["line"] as? Int, 7)
        XCTAssertEqual(f["reproduced"] as? Bool, true)

        // Written to files as they are, the answers and stubs are what --answers and --stubs take.
        let answers = try JSONSerialization.data(withJSONObject: try XCTUnwrap(f["answers"]))
        let stubs = try JSONSerialization.data(withJSONObject: try XCTUnwrap(f["stubs"]))
        try answers.write(to: directory.appendingPathComponent("answers.json"))
        try stubs.write(to: directory.appendingPathComponent("stubs.json"))
        let replay = try FlowProcess.run(["run", "lookup.flow", "--answers", "answers.json", "--stubs", "stubs.json"], in: directory)
        XCTAssertEqual(replay.status, 70, "\(replay)")
        XCTAssertTrue(replay.stderr.contains("error[run.callFailed]: the call of 'Lookup' failed"), "\(replay)")
    }

    func testAnEndlessLoopReplaysToTheStepLimit() throws {
        let directory = try makeDirectory(["code.flow": """
            flow Code {
              label Ask
              question Code: number {
                min 0
                max 9
              }
              if Code == 10 {
                finish success
              }
              goto Ask
            }

            """])
        let run = try FlowProcess.run(["explore", "code.flow", "--max-steps", "500"], in: directory)
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertTrue(run.stdout.contains("error[explore.noWayOut]: no answer or result tried leads out of this loop\n"), run.stdout)
        let command = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.contains("= reproduce: ") })
            .components(separatedBy: "= reproduce: flow ")[1]
        XCTAssertTrue(command.hasSuffix("--max-steps 500"), command)
        let replay = try shell("'\(FlowProcess.binary.path)' \(command)", in: directory)
        XCTAssertEqual(replay.status, 70, "\(replay)")
        XCTAssertTrue(replay.stderr.contains("error[run.stepLimit]"), "\(replay)")
    }

    func testTheRunBudgetIsReported() throws {
        let run = try FlowProcess.run(["explore", "flows/support.flow", "--max-runs", "5"])
        XCTAssertTrue(run.stdout.hasPrefix("explored "), "\(run)")
        XCTAssertTrue(run.stdout.contains("(stopped at --max-runs 5)"), "\(run)")
        XCTAssertTrue(run.stdout.contains("not reached:\n"), "\(run)")
    }

    func testAFlowThatDoesNotCheckExits65() throws {
        let directory = try makeDirectory(["bad.flow": "flow A {\n  set x = y\n}\n"])
        let run = try FlowProcess.run(["explore", "bad.flow"], in: directory)
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "")
        XCTAssertTrue(run.stderr.contains("error[check."), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("error: found 1 error in 1 file\n"), run.stderr)
    }

    func testAMissingFileExits66() throws {
        let run = try FlowProcess.run(["explore", "no-such.flow"])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertEqual(run.stderr, "error: cannot read 'no-such.flow': no such file\n")
    }

    func testHelpAndUsage() throws {
        let help = try FlowProcess.run(["explore", "--help"])
        XCTAssertEqual(help.status, 0, "\(help)")
        XCTAssertTrue(help.stdout.hasPrefix("usage: flow explore <file> [--max-runs N] [--max-steps N] [--json]\n"), help.stdout)
        XCTAssertTrue(help.stdout.contains("exit status:"), help.stdout)
        let bad = try FlowProcess.run(["explore", "flows/payment.flow", "--max-runs", "lots"])
        XCTAssertEqual(bad.status, 64, "\(bad)")
    }

    /// Runs a command line with /bin/sh, as a user pasting it would.
    func shell(_ line: String, in directory: URL) throws -> FlowRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line + " </dev/null"]
        process.currentDirectoryURL = directory
        process.environment = FlowProcess.environment([:])
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return FlowRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }
}
