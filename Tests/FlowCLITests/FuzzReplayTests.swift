import Foundation
import XCTest

/// Every input that ever crashed a fuzz target (`fuzz/crashes/<target>/`, README "Fuzzing") is
/// run again on every `swift test`, through `flow-fuzz` built without libFuzzer (it then replays
/// the files it is given), with each target's own checks. The defects behind them also have
/// tests of their own (FuzzRegressionTests); this keeps the fuzzer's exact inputs passing.
final class FuzzReplayTests: XCTestCase {
    func testEverySavedCrashInputRunsCleanly() throws {
        let crashes = FlowProcess.packageRoot.appendingPathComponent("fuzz/crashes")
        let targets = try FileManager.default.contentsOfDirectory(atPath: crashes.path).sorted()
        XCTAssertFalse(targets.isEmpty, "no saved crashes in \(crashes.path)")
        let fuzz = FlowProcess.productsDirectory.appendingPathComponent("flow-fuzz")
        for target in targets {
            let folder = crashes.appendingPathComponent(target)
            let inputs = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
            let process = Process()
            process.executableURL = fuzz
            process.arguments = ["--target=\(target)", folder.path]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(target): \(text)")
            XCTAssertTrue(text.contains("flow-fuzz: \(target): ran \(inputs.count) inputs"), "\(target): \(text)")
        }
    }
}
