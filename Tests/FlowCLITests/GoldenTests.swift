import Foundation
import XCTest

/// Golden files: what a person sees when they check a flow, pinned down byte for byte.
///
/// Every `golden/<name>.flow` is run through the built binary as `flow check golden-path`, from
/// the package root (so the paths in the output are `Tests/FlowCLITests/golden/<name>.flow`), with
/// `NO_COLOR=1`. When the first line of the `.flow` file is `// args: <options>`, those options go
/// between `check` and the path (`// args: --format gcc --strict`). The result is compared with
/// `golden/<name>.expected`:
///
///     exit: 65
///     --- stderr
///     <everything written to standard error>
///     --- stdout
///     <everything written to standard output>
///
/// An output that does not end with a newline gets one, followed by the line
/// `\ no newline at end of output`.
///
/// Recording: with `FLOW_RECORD=1` in the environment every expected file is rewritten from the
/// actual output, and each test that wrote one fails (saying so), so a recording can never pass
/// silently; review the change with `git diff` and run again. A missing expected file is written
/// the same way, without the variable. Keep each case small and about one behaviour; name a
/// regression case after the bug.
final class GoldenTests: XCTestCase {
    static let goldenDirectory = "Tests/FlowCLITests/golden"

    func testGoldenFiles() throws {
        let directory = FlowProcess.packageRoot.appendingPathComponent(Self.goldenDirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".flow") }
            .map { String($0.dropLast(".flow".count)) }
            .sorted()
        XCTAssertFalse(names.isEmpty, "no golden files in \(Self.goldenDirectory)")
        let record = ProcessInfo.processInfo.environment["FLOW_RECORD"] == "1"

        for name in names {
            let flowPath = "\(Self.goldenDirectory)/\(name).flow"
            let expectedPath = "\(Self.goldenDirectory)/\(name).expected"
            let expectedURL = FlowProcess.packageRoot.appendingPathComponent(expectedPath)

            // Some cases are deliberately not UTF-8; only the `// args:` line is read here.
            let source = String(
                decoding: try Data(contentsOf: FlowProcess.packageRoot.appendingPathComponent(flowPath)), as: UTF8.self)
            let arguments = ["check"] + Self.options(in: source) + [flowPath]
            let actual = Self.serialize(try FlowProcess.run(arguments))

            let expected = try? String(contentsOf: expectedURL, encoding: .utf8)
            if record || expected == nil {
                try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
                XCTFail(
                    "\(flowPath): recorded \(expectedPath)\(expected == nil ? " (it was missing)" : ""); review it and run the tests again"
                )
                continue
            }
            if let expected, expected != actual {
                XCTFail(
                    """
                    \(flowPath): output differs from \(expectedPath) (run with FLOW_RECORD=1 to re-record)
                    \(Self.firstDifference(expected, actual))
                    --- actual, in full:
                    \(actual)
                    """)
            }
        }
    }

    /// The options given by a first line `// args: …`.
    static func options(in source: String) -> [String] {
        guard let firstLine = source.split(separator: "\n", maxSplits: 1).first,
            firstLine.hasPrefix("// args:")
        else { return [] }
        return firstLine.dropFirst("// args:".count).split(separator: " ").map(String.init)
    }

    static func serialize(_ run: FlowRun) -> String {
        func section(_ text: String) -> String {
            if text.isEmpty || text.hasSuffix("\n") { return text }
            return text + "\n\\ no newline at end of output\n"
        }
        return "exit: \(run.status)\n--- stderr\n\(section(run.stderr))--- stdout\n\(section(run.stdout))"
    }

    static func firstDifference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<end of file>"
            let al = i < a.count ? String(a[i]) : "<end of output>"
            if el != al { return "first difference at line \(i + 1):\n  expected: \(el)\n  actual:   \(al)" }
        }
        return "(no line differs)"
    }
}
