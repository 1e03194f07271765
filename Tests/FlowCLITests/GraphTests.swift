import Foundation
import XCTest

/// End-to-end tests of `flow graph`: formats, exit statuses and streams. (What the drawing says
/// element by element is pinned by `GraphExportTests`; Graphviz is not needed here.)
final class GraphTests: XCTestCase {
    /// A fresh directory holding `files` (relative path: contents), removed after the test.
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("flow-graph-tests-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    func testPaymentAsDOT() throws {
        let run = try FlowProcess.run(["graph", "flows/payment.flow"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stderr, "")
        XCTAssertTrue(run.stdout.hasPrefix("digraph flow {\n"), "\(run)")
        XCTAssertTrue(run.stdout.hasSuffix("}\n"), "\(run)")
        for expected in [
            #"label="flow Payment""#, #"label="page Embedded Payment""#, #"[label="extension Tokenize""#,
            #"[label="ip StripeCharge\n(unsafe: no back past it)""#, #"[label="if not result.paid or result.status != …""#,
            #"label="error""#, #"label="yes""#, #"label="no""#,
        ] {
            XCTAssertTrue(run.stdout.contains(expected), "no '\(expected)' in\n\(run.stdout)")
        }
    }

    func testPaymentAsMermaid() throws {
        let run = try FlowProcess.run(["graph", "flows/payment.flow", "--format", "mermaid"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stderr, "")
        XCTAssertTrue(run.stdout.hasPrefix("flowchart TD\n"), "\(run)")
        XCTAssertTrue(run.stdout.contains(#"  subgraph f0["flow Payment"]"#), "\(run)")
        XCTAssertTrue(run.stdout.contains(#"f0_n1[["extension Tokenize"]]"#), "\(run)")
        XCTAssertFalse(run.stdout.contains("digraph"), "\(run)")
    }

    /// The default is every flow of the root file; `--flow` draws one, which may come from an
    /// import, and a sub-flow it calls that is not drawn gets a box of its own.
    func testFlowOption() throws {
        let all = try FlowProcess.run(["graph", "flows/support.flow"])
        XCTAssertEqual(all.status, 0, "\(all)")
        XCTAssertTrue(all.stdout.contains(#"label="flow Support""#), "\(all)")
        XCTAssertTrue(all.stdout.contains(#"label="flow Triage""#), "\(all)")
        XCTAssertFalse(all.stdout.contains(#"label="flow Open Ticket""#), "imported flows are not drawn\n\(all)")
        XCTAssertTrue(all.stdout.contains(#"[label="flow Open Ticket\n(common.flow, not drawn)""#), "\(all)")

        let one = try FlowProcess.run(["graph", "flows/support.flow", "--flow", "Triage"])
        XCTAssertEqual(one.status, 0, "\(one)")
        XCTAssertTrue(one.stdout.contains(#"label="flow Triage""#), "\(one)")
        XCTAssertFalse(one.stdout.contains("flow Support"), "\(one)")

        let imported = try FlowProcess.run(["graph", "flows/support.flow", "--flow", "Open Ticket", "--format", "mermaid"])
        XCTAssertEqual(imported.status, 0, "\(imported)")
        XCTAssertTrue(imported.stdout.contains(#"["flow Open Ticket"]"#), "\(imported)")
    }

    func testUnknownFlowSuggestsTheClosest() throws {
        let run = try FlowProcess.run(["graph", "flows/support.flow", "--flow", "Triag"])
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "")
        XCTAssertEqual(run.stderr, "error: no flow 'Triag' in 'flows/support.flow'\nhint: did you mean 'Triage'?\n")
        let far = try FlowProcess.run(["graph", "flows/support.flow", "--flow", "Zzzzzzzzzz"])
        XCTAssertEqual(far.status, 65, "\(far)")
        XCTAssertEqual(
            far.stderr,
            "error: no flow 'Zzzzzzzzzz' in 'flows/support.flow'\nhint: the flows are: 'Support', 'Triage', 'Open Ticket'\n")
    }

    /// A file that does not check gets check's diagnostics and summary, and no drawing.
    func testFlowWithErrorsExits65() throws {
        let directory = try makeDirectory(["bad.flow": "flow Greeting {\n  finish success\n  response \"never\"\n}\n"])
        let run = try FlowProcess.run(["graph", "bad.flow", "--format", "mermaid"], in: directory)
        XCTAssertEqual(run.status, 65, "\(run)")
        XCTAssertEqual(run.stdout, "")
        XCTAssertTrue(run.stderr.contains("error[check.unreachable]: this element is never reached"), "\(run)")
        XCTAssertTrue(run.stderr.hasSuffix("error: found 1 error in 1 file\n"), "\(run)")
    }

    func testMissingFileExits66() throws {
        let run = try FlowProcess.run(["graph", "flows/no-such.flow"])
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertEqual(run.stdout, "")
        XCTAssertEqual(run.stderr, "error: cannot read 'flows/no-such.flow': no such file\n")
    }

    func testHelp() throws {
        let run = try FlowProcess.run(["graph", "--help"])
        XCTAssertEqual(run.status, 0, "\(run)")
        for word in ["--format", "--flow", "dot", "mermaid", "65", "66"] {
            XCTAssertTrue(run.stdout.contains(word), "no '\(word)' in \(run)")
        }
    }

    /// Every example flow, the imported ones included, draws in both formats.
    func testEveryExampleFlowGraphs() throws {
        let root = FlowProcess.packageRoot.appendingPathComponent("flows")
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: root.path))
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".flow") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for file in files {
            for (format, header) in [("dot", "digraph flow {\n"), ("mermaid", "flowchart TD\n")] {
                let run = try FlowProcess.run(["graph", "flows/" + file, "--format", format])
                XCTAssertEqual(run.status, 0, "\(file) \(format): \(run)")
                XCTAssertEqual(run.stderr, "", "\(file) \(format)")
                XCTAssertTrue(run.stdout.hasPrefix(header), "\(file) \(format): \(run)")
            }
        }
    }
}
