import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The web client of `flow serve` in a real browser: Debian's `chromium` and `chromium-driver`
/// (installed with apt-get by the test when missing), driven headless through selenium (installed
/// from PyPI into the localstripe venv under the build folder) by `support/web-client-browser.py`,
/// which starts flow serve (and localstripe) itself and prints each check it makes. Under
/// `CI=true` a browser or package that cannot be installed fails the test; elsewhere it skips.
///
/// - `testPageHeadersAndModules`: content types, the Content-Security-Policy, caching, the
///   extension modules (and nothing outside the flow's folder).
/// - `testPaymentInTheBrowser`: the payment flow against localstripe (a refused amount, reload,
///   server restart, the card typed into Tokenize, the paid response and the charge; the declined
///   card; keyboard only; a reload while the charge is held at localstripe, which shows
///   "Working…" until it is paid; a stale version; a cancelled card form; text is text), then the card
///   numbers and the CVC searched for in all flow serve received, stored and logged. Takes the
///   screenshots (into docs/ with FLOW_RECORD=1).
/// - `testEveryExampleFlowInTheBrowser`: every test of every `flows/*.flowtest` plan, its answers
///   typed into the browser and its results given as `--stubs`, reaching the plan's outcome; back.
final class WebClientBrowserTests: XCTestCase {
    func testPageHeadersAndModules() throws {
        try runScenario("headers")
    }

    func testPaymentInTheBrowser() throws {
        try runScenario("payment", docs: true)
    }

    func testEveryExampleFlowInTheBrowser() throws {
        try runScenario("examples")
    }

    private func runScenario(_ scenario: String, docs: Bool = false) throws {
        try Self.ensureBrowser()
        let python = try Self.python()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("flow-web-\(scenario)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        var arguments = [python.path, FlowProcess.packageRoot.appendingPathComponent("Tests/FlowCLITests/support/web-client-browser.py").path,
                         scenario, "--flow", FlowProcess.binary.path, "--root", FlowProcess.packageRoot.path, "--work", work.path]
        // The screenshots (and the layout checks at each width) are always taken; they replace
        // the ones in docs/ only when recording (FLOW_RECORD=1), so a test run leaves the tree as it was.
        if docs {
            let record = ProcessInfo.processInfo.environment["FLOW_RECORD"] == "1"
            arguments += ["--docs", record ? FlowProcess.packageRoot.appendingPathComponent("docs").path : work.appendingPathComponent("docs").path]
        }
        let result = try Command.run(arguments, timeout: 900)
        XCTAssertEqual(result.status, 0, "web-client-browser.py \(scenario):\n\(result.output)")
        XCTAssertTrue(result.output.contains("all checks passed"), result.output)
    }

    private static func unavailable(_ reason: String) -> Error {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            return FlowProcessError("the browser is not available (CI=true, so this is a failure): \(reason)")
        }
        return XCTSkip("the browser is not available: \(reason)")
    }

    /// `chromium` and `chromedriver` from Debian (and `faketime`, which runs the server on a test
    /// plan's `today`): installed when missing (apt-get update first when the install fails).
    static func ensureBrowser() throws {
        let needed = ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/faketime"]
        if needed.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) { return }
        let lock = open(FileManager.default.temporaryDirectory.appendingPathComponent("flow-chromium-install.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { flock(lock, LOCK_UN); close(lock) } }
        if needed.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) { return }
        let install = ["/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver", "faketime"]
        var result = try Command.run(install, timeout: 900)
        if result.status != 0 {
            _ = try Command.run(["/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"], timeout: 600)
            result = try Command.run(install, timeout: 900)
        }
        guard result.status == 0, needed.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw unavailable("apt-get install chromium chromium-driver faketime failed:\n\(result.output.suffix(2000))")
        }
    }

    /// The localstripe venv's python with selenium installed beside it.
    static func python() throws -> URL {
        let python: URL
        do {
            python = try LocalStripe.installed()
        } catch let error as XCTSkip {
            throw error
        } catch {
            throw unavailable("the localstripe venv: \(error)")
        }
        if (try? Command.run([python.path, "-c", "import selenium"], timeout: 60))?.status == 0 { return python }
        let pip = try Command.run([python.path, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "selenium"], timeout: 600)
        guard pip.status == 0 else { throw unavailable("pip install selenium failed:\n\(pip.output)") }
        return python
    }
}
