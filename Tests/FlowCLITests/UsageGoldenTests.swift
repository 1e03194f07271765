import Foundation
import XCTest

/// Golden files for the command line itself: every `--help` text and every kind of usage error,
/// pinned byte for byte, so a change to how commands declare their options shows in `git diff`.
///
/// Every `usage/<name>.args` holds the arguments of one `flow` invocation, one argument a line (an
/// empty file: `flow` alone). It is run through the built binary from the package root, with
/// `NO_COLOR=1`, and the result is compared with `usage/<name>.expected`, written as the golden
/// files of `GoldenTests` are (exit status, standard error, standard output). Recording works the
/// same way: `FLOW_RECORD=1` rewrites every expected file and fails each test that wrote one; a
/// missing expected file is written and fails too.
final class UsageGoldenTests: XCTestCase {
    static let directory = "Tests/FlowCLITests/usage"

    func testUsageGoldenFiles() throws {
        let directory = FlowProcess.packageRoot.appendingPathComponent(Self.directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".args") }
            .map { String($0.dropLast(".args".count)) }
            .sorted()
        XCTAssertFalse(names.isEmpty, "no cases in \(Self.directory)")
        let record = ProcessInfo.processInfo.environment["FLOW_RECORD"] == "1"

        for name in names {
            let argsURL = directory.appendingPathComponent("\(name).args")
            let expectedURL = directory.appendingPathComponent("\(name).expected")
            let arguments = try String(contentsOf: argsURL, encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
                .dropLast()  // the newline that ends the last argument
            let actual = GoldenTests.serialize(try FlowProcess.run(Array(arguments)))

            let expected = try? String(contentsOf: expectedURL, encoding: .utf8)
            if record || expected == nil {
                try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
                XCTFail("\(name).args: recorded \(name).expected; review it and run the tests again")
                continue
            }
            if let expected, expected != actual {
                XCTFail(
                    """
                    \(name).args \(arguments): output differs from \(name).expected (FLOW_RECORD=1 re-records)
                    \(GoldenTests.firstDifference(expected, actual))
                    --- actual, in full:
                    \(actual)
                    """)
            }
        }
    }
}
