import Foundation
import XCTest

/// `flow test` and `flow run --plan`, end to end through the built binary.
final class TestCommandTests: XCTestCase {
    /// Every flow in flows/ has a plan, every test passes, and together they visit every element
    /// and every branch of every flow.
    func testTheExamplePlansPassWithFullCoverage() throws {
        let run = try FlowProcess.run(["test", "--coverage", "flows"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stderr, "")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let last = try XCTUnwrap(lines.dropLast().last)
        XCTAssertTrue(last.hasSuffix(" passed, 0 failed"), last)
        XCTAssertFalse(run.stdout.contains("FAIL"), run.stdout)
        XCTAssertFalse(run.stdout.contains("never "), "something is not covered:\n\(run.stdout)")

        let flows = try Self.exampleFlows()
        for flow in flows {
            let line = try XCTUnwrap(lines.first { $0.hasPrefix("  \(flow): ") }, "no coverage line for \(flow)\n\(run.stdout)")
            XCTAssertTrue(line.contains("elements 100% ") && line.contains("branches 100% "), line)
        }

        // The same through --json, the figures as numbers.
        let json = try FlowProcess.run(["test", "--coverage", "--json", "flows"])
        XCTAssertEqual(json.status, 0, "\(json)")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["failed"] as? Int, 0)
        XCTAssertGreaterThan(object["passed"] as? Int ?? 0, 20)
        let coverage = try XCTUnwrap(object["coverage"] as? [[String: Any]])
        XCTAssertEqual(Set(coverage.compactMap { $0["file"] as? String }), Set(flows))
        for file in coverage {
            for kind in ["elements", "branches"] {
                let figures = try XCTUnwrap(file[kind] as? [String: Int])
                XCTAssertEqual(figures["percent"], 100, "\(file["file"] ?? "?") \(kind)")
                XCTAssertEqual(figures["covered"], figures["total"])
            }
            XCTAssertEqual((file["missed"] as? [Any])?.count, 0)
        }
    }

    /// Every `.flow` file under flows/ that declares a flow (its extensions' folder aside).
    static func exampleFlows() throws -> [String] {
        let root = FlowProcess.packageRoot.appendingPathComponent("flows")
        var found: [String] = []
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: root.path))
        for case let path as String in enumerator where path.hasSuffix(".flow") {
            let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
            if text.split(separator: "\n").contains(where: { $0.hasPrefix("flow ") }) { found.append("flows/" + path) }
        }
        XCTAssertGreaterThanOrEqual(found.count, 6)
        return found.sorted()
    }

    func testEveryExampleFlowHasAPlan() throws {
        for flow in try Self.exampleFlows() {
            let plan = String(flow.dropLast(".flow".count)) + ".flowtest"
            XCTAssertTrue(FileManager.default.fileExists(atPath: FlowProcess.packageRoot.appendingPathComponent(plan).path), "no \(plan)")
        }
    }

    // MARK: - Failures

    static let flow = """
        ip Charge(amount: number) {
          POST "https://pay.example/charge"
          output id: text = json "id"
        }
        flow Pay {
          question Amount: number
          ip Charge(Amount) -> (id: id)
          on error {
            finish failure "declined"
          }
          response "Paid {id}."
        }
        """

    /// Writes `files` into a fresh folder and runs `flow` there.
    func run(_ arguments: [String], files: [String: String], input: String? = nil) throws -> FlowRun {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try FlowProcess.run(arguments, in: directory, input: input)
    }

    /// Issue 14: `flow check` and `flow fmt` understand test plans (they gave five parse errors
    /// and "not formatted").
    func testCheckAndFmtUnderstandPlans() throws {
        let plan = "tests \"pay.flow\"\n\ntest \"a\" {\n  answer Amount = 4\n  result Charge = { \"id\": \"ch_1\" }\n  expect called Charge(amount: 4)\n}\n"
        let clean = try run(["check", "--strict", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(clean.status, 0, "\(clean)")
        XCTAssertEqual(clean.stderr, "checked 1 file: no problems\n")
        let typo = plan.replacingOccurrences(of: "answer Amount", with: "answer Amout")
        let bad = try run(["check", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": typo])
        XCTAssertEqual(bad.status, 65, "\(bad)")
        XCTAssertTrue(bad.stderr.contains("pay.flowtest:4:10"), bad.stderr)
        let formatted = try run(["fmt", "--check", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(formatted.status, 0, "\(formatted)")
        XCTAssertEqual(formatted.stdout, "")
        let messy = plan.replacingOccurrences(of: "  expect called Charge(amount: 4)", with: "expect called Charge (amount:4)")
        let unformatted = try run(["fmt", "--check", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": messy])
        XCTAssertEqual(unformatted.status, 1, "\(unformatted)")
        XCTAssertEqual(unformatted.stdout, "pay.flowtest\n")
    }

    func testAFailingTestShowsWhereWhatWasExpectedAndWhatHappened() throws {
        let plan = """
            tests "pay.flow"

            test "paid" {
              answer Amount = 4
              result Charge = { "id": "ch_1" }
              expect response "Paid ch_1."
              expect outcome success
            }

            test "declined" {
              answer Amount = 4
              failure Charge = { "status": 402, "message": "Your card was declined." }
              expect outcome failure "card declined"
            }
            """
        let run = try self.run(["test", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(run.stderr, "")
        XCTAssertEqual(run.stdout, """
            pay.flowtest (pay.flow)
              pass  paid
              FAIL  declined
            error[test.outcome]: the flow finished with failure for another reason
              --> pay.flowtest:13:3
               |
            13 |   expect outcome failure "card declined"
               |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
              = expected: failure "card declined"
              = actual:   failure "declined"

            1 passed, 1 failed

            """)
    }

    func testJSONHasEachTestAndEachFailure() throws {
        let plan = "tests \"pay.flow\"\ntest \"a\" {\n  answer Amount = 4\n  result Charge = { \"id\": \"ch_1\" }\n  expect response \"Paid ch_2.\"\n}\n"
        let run = try self.run(["test", "--json", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(run.status, 1, "\(run)")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        XCTAssertEqual(object["passed"] as? Int, 0)
        XCTAssertEqual(object["failed"] as? Int, 1)
        XCTAssertNil(object["coverage"], "coverage only with --coverage")
        let plans = try XCTUnwrap(object["plans"] as? [[String: Any]])
        XCTAssertEqual(plans.first?["flow"] as? String, "pay.flow")
        let test = try XCTUnwrap((plans.first?["tests"] as? [[String: Any]])?.first)
        XCTAssertEqual(test["passed"] as? Bool, false)
        let failure = try XCTUnwrap((test["failures"] as? [[String: Any]])?.first)
        XCTAssertEqual(failure["code"] as? String, "test.response")
        XCTAssertEqual(failure["file"] as? String, "pay.flowtest")
        XCTAssertEqual(failure["line"] as? Int, 5)
        XCTAssertEqual(failure["column"] as? Int, 3)
        XCTAssertEqual(failure["expected"] as? String, "a response \"Paid ch_2.\"")
        XCTAssertEqual(failure["actual"] as? String, "\"Paid ch_1.\"")
    }

    func testCoverageListsWhatNoTestVisited() throws {
        let plan = "tests \"pay.flow\"\ntest \"a\" {\n  answer Amount = 4\n  result Charge = { \"id\": \"ch_1\" }\n}\n"
        let run = try self.run(["test", "--coverage", "."], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertTrue(run.stdout.hasSuffix("""
            coverage:
              pay.flow: elements 80% (4/5), branches 50% (1/2)
                pay.flow:7:3: ip Charge(Amount) -> (id: id): never failed
                pay.flow:9:5: finish failure "declined": never run
            1 passed, 0 failed

            """), run.stdout)
    }

    func testAPlanThatDoesNotFitItsFlowIsNotRun() throws {
        let plan = "tests \"pay.flow\"\ntest \"a\" {\n  answer Amont = 4\n}\n"
        let run = try self.run(["test", "pay.flowtest"], files: ["pay.flow": Self.flow, "pay.flowtest": plan])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "0 passed, 0 failed\n")
        XCTAssertTrue(run.stderr.contains("error[plan.unknownQuestion]: no question 'Amont' in this flow\n --> pay.flowtest:3:10"), run.stderr)
        XCTAssertTrue(run.stderr.contains("hint: did you mean 'Amount'?"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("error: pay.flowtest: 1 error; its tests were not run\n"), run.stderr)
    }

    func testAFlowThatDoesNotCheckGivesCheckDiagnostics() throws {
        let plan = "tests \"pay.flow\"\ntest \"a\" {\n}\n"
        let run = try self.run(["test", "pay.flowtest"], files: ["pay.flow": "flow Main {\n  set x = \n}\n", "pay.flowtest": plan])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertTrue(run.stderr.contains("error[parse.expectedExpression]"), run.stderr)
        XCTAssertTrue(run.stderr.contains("--> pay.flow:2:10"), run.stderr)
    }

    func testMissingInputsExit66AndTheOthersStillRun() throws {
        let plan = "tests \"pay.flow\"\ntest \"a\" {\n  answer Amount = 4\n  result Charge = { \"id\": \"ch_1\" }\n}\n"
        let run = try self.run(
            ["test", "missing.flowtest", "pay.flow", "other.flow", "empty"],
            files: ["pay.flow": Self.flow, "pay.flowtest": plan, "other.flow": Self.flow, "empty/notes.txt": ""])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertEqual(run.stderr, """
            error: cannot read 'missing.flowtest': no such file
            error: no test plan 'other.flowtest' for 'other.flow'
            error: no '.flowtest' files in directory 'empty'

            """)
        XCTAssertTrue(run.stdout.hasSuffix("1 passed, 0 failed\n"), run.stdout)
    }

    func testUsage() throws {
        var run = try FlowProcess.run(["test"])
        XCTAssertEqual(run.status, 64)
        run = try FlowProcess.run(["test", "--coverag", "flows"])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("did you mean '--coverage'?"), run.stderr)
        run = try FlowProcess.run(["test", "--help"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("usage: flow test"), run.stdout)
        XCTAssertTrue(run.stdout.contains("--coverage"), run.stdout)
    }

    // MARK: - flow run --plan

    func testRunWithAPlanUsesItsCannedResults() throws {
        var run = try FlowProcess.run(["run", "flows/payment.flow", "--plan", "flows/payment.flowtest"], input: "4\n")
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "You paid 4.00. Your charge reference is ch_1.\nfinished: success: charged 400 cents as ch_1\n")

        run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--plan", "flows/payment.flowtest", "--test", "the card is declined (402)", "--json"],
            input: "4\n")
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertTrue(run.stdout.contains("\"reason\": \"charge failed: Your card was declined.\""), run.stdout)

        // A --stub still wins over the plan.
        run = try FlowProcess.run(
            ["run", "flows/payment.flow", "--plan", "flows/payment.flowtest", "--stub", #"Tokenize={"token": "tok_x"}"#,
             "--stub", #"StripeCharge={"id": "ch_9", "status": "succeeded", "paid": true, "amount": 400, "failure message": null}"#],
            input: "4\n")
        XCTAssertEqual(run.stdout, "You paid 4.00. Your charge reference is ch_9.\nfinished: success: charged 400 cents as ch_9\n", "\(run)")
    }

    func testRunWithAPlanSetsUpTheTestsFlowAndArguments() throws {
        let run = try FlowProcess.run(["run", "flows/lib/common.flow", "--plan", "flows/lib/common.flowtest", "--test", "the ticket system fails"])
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(run.stdout, "finished: failure: ticket system: Service Unavailable\n")
    }

    func testRunWithAPlanReportsMistakes() throws {
        var run = try FlowProcess.run(["run", "flows/payment.flow", "--plan", "flows/payment.flowtest", "--test", "the card is charged"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stderr, "error: no test 'the card is charged' in 'flows/payment.flowtest'\nhint: did you mean 'a card is charged'?\n")

        run = try FlowProcess.run(["run", "flows/balance.flow", "--plan", "flows/payment.flowtest"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: the plan 'flows/payment.flowtest' tests 'flows/payment.flow', not 'flows/balance.flow'\n"), run.stderr)

        run = try FlowProcess.run(["run", "flows/payment.flow", "--test", "a card is charged"])
        XCTAssertEqual(run.status, 64, "\(run)")

        run = try FlowProcess.run(["run", "flows/payment.flow", "--plan", "flows/nope.flowtest"])
        XCTAssertEqual(run.status, 66, "\(run)")
    }
}
