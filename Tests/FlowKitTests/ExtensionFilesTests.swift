import FlowKit
import Foundation
import XCTest

/// `check.extensionRun*` and `check.extensionWeb*`: the files an extension's `run` and `web` name,
/// looked up through the loader (never the disk directly), at the path literal.
final class ExtensionFilesTests: XCTestCase {
    /// Flow files in memory, and what `fileKind` answers for every other path (missing unless said).
    struct Disk: SourceLoader {
        var files: [String: String]
        var kinds: [String: FileKind] = [:]
        func load(path: String) throws(InputError) -> [UInt8] {
            try MemoryLoader(files).load(path: path)
        }
        func fileKind(path: String) -> FileKind { kinds[path] ?? .missing }
    }

    static func flow(run: String, web: String? = nil) -> String {
        """
        extension Tokenize {
          run \(run)
        \(web.map { "  web \($0)\n" } ?? "")  output token: text
        }

        flow Payment {
          extension Tokenize -> token
          finish success "token {token}"
        }

        """
    }

    func compile(_ loader: Disk, path: String = "flows/pay.flow", strict: Bool = false) throws -> Compilation {
        try Frontend.compile(path: path, options: CheckOptions(strict: strict), loader: loader)
    }

    func extensionDiagnostics(_ c: Compilation) -> [Diagnostic] {
        c.diagnostics.filter { $0.id.hasPrefix("check.extensionRun") || $0.id.hasPrefix("check.extensionWeb") }
    }

    func text(_ d: Diagnostic, _ source: String) -> String {
        String(decoding: Array(source.utf8)[Int(d.range.start)..<Int(d.range.end)], as: UTF8.self)
    }

    func testExecutableRunAndPresentWebAreClean() throws {
        let source = Self.flow(run: "\"extensions/tokenize\"", web: "\"extensions/tokenize.js\"")
        let c = try compile(Disk(files: ["flows/pay.flow": source],
                                 kinds: ["flows/extensions/tokenize": .file(executable: true),
                                         "flows/extensions/tokenize.js": .file(executable: false)]))
        XCTAssertEqual(c.diagnostics.map(\.id), [])
        XCTAssertNotNil(c.program)
    }

    func testMissingRunIsAWarningAtTheLiteral() throws {
        let source = Self.flow(run: "\"extensions/tokenise\"")
        let c = try compile(Disk(files: ["flows/pay.flow": source]))
        let found = extensionDiagnostics(c)
        XCTAssertEqual(found.map(\.id), ["check.extensionRunMissing"])
        XCTAssertEqual(found.first?.severity, .warning)
        XCTAssertEqual(found.first?.message, "the program 'extensions/tokenise' of extension 'Tokenize' does not exist")
        XCTAssertEqual(found.first.map { text($0, source) }, "\"extensions/tokenise\"")
        XCTAssertTrue(found.first?.hint?.contains("'flows/extensions/tokenise'") ?? false, found.first?.hint ?? "no hint")
        XCTAssertNotNil(c.program, "a warning does not fail the check")
    }

    func testStrictMakesAMissingRunAnError() throws {
        let c = try compile(Disk(files: ["flows/pay.flow": Self.flow(run: "\"extensions/tokenise\"")]), strict: true)
        XCTAssertEqual(extensionDiagnostics(c).map(\.severity), [.error])
        XCTAssertNil(c.program)
    }

    func testRunThatIsNotExecutableOrADirectory() throws {
        let source = Self.flow(run: "\"extensions/tokenize\"")
        var disk = Disk(files: ["flows/pay.flow": source], kinds: ["flows/extensions/tokenize": .file(executable: false)])
        var found = extensionDiagnostics(try compile(disk))
        XCTAssertEqual(found.map(\.id), ["check.extensionRunNotExecutable"])
        XCTAssertEqual(found.first?.message, "the program 'extensions/tokenize' of extension 'Tokenize' is not executable")
        XCTAssertTrue(found.first?.hint?.contains("chmod +x 'flows/extensions/tokenize'") ?? false)
        disk.kinds["flows/extensions/tokenize"] = .directory
        found = extensionDiagnostics(try compile(disk))
        XCTAssertEqual(found.map(\.message), ["the program 'extensions/tokenize' of extension 'Tokenize' is a directory"])
        XCTAssertEqual(found.first.map { text($0, source) }, "\"extensions/tokenize\"")
    }

    func testAbsoluteRunIsLookedUpAsItIs() throws {
        let disk = Disk(files: ["flows/pay.flow": Self.flow(run: "\"/opt/pad/tokenize\"")],
                        kinds: ["/opt/pad/tokenize": .file(executable: true)])
        XCTAssertEqual(extensionDiagnostics(try compile(disk)).map(\.id), [])
    }

    func testWebOutsideTheFolderIsAnError() throws {
        for web in ["\"../shared/tokenize.js\"", "\"extensions/../../tokenize.js\"", "\"/srv/tokenize.js\"", "\"..\""] {
            let source = Self.flow(run: "\"extensions/tokenize\"", web: web)
            // Even when the file is there: serve never serves it.
            let disk = Disk(files: ["flows/pay.flow": source],
                            kinds: ["flows/extensions/tokenize": .file(executable: true), "shared/tokenize.js": .file(executable: false),
                                    "tokenize.js": .file(executable: false), "/srv/tokenize.js": .file(executable: false)])
            let c = try compile(disk)
            let found = extensionDiagnostics(c)
            XCTAssertEqual(found.map(\.id), ["check.extensionWebOutsideFolder"], web)
            XCTAssertEqual(found.first?.severity, .error, web)
            XCTAssertEqual(found.first.map { text($0, source) }, web)
            XCTAssertNil(c.program, web)
        }
    }

    func testWebThroughDotDotThatStaysInsideIsLookedUp() throws {
        let source = Self.flow(run: "\"extensions/tokenize\"", web: "\"extensions/../web/tokenize.js\"")
        var disk = Disk(files: ["flows/pay.flow": source], kinds: ["flows/extensions/tokenize": .file(executable: true)])
        var found = extensionDiagnostics(try compile(disk))
        XCTAssertEqual(found.map(\.id), ["check.extensionWebMissing"])
        XCTAssertEqual(found.first?.severity, .warning)
        XCTAssertEqual(found.first?.message, "the web module 'extensions/../web/tokenize.js' of extension 'Tokenize' does not exist")
        disk.kinds["flows/web/tokenize.js"] = .directory
        found = extensionDiagnostics(try compile(disk))
        XCTAssertEqual(found.map(\.message), ["the web module 'extensions/../web/tokenize.js' of extension 'Tokenize' is a directory"])
        disk.kinds["flows/web/tokenize.js"] = .file(executable: false)
        XCTAssertEqual(extensionDiagnostics(try compile(disk)).map(\.id), [])
    }

    func testPathsAreRelativeToTheDeclaringFile() throws {
        let root = """
        import "lib/pad.flow"

        flow Payment {
          extension Tokenize -> token
          finish success "token {token}"
        }

        """
        let lib = """
        extension Tokenize {
          run "bin/tokenize"
          web "tokenize.js"
          output token: text
        }

        """
        var disk = Disk(files: ["flows/pay.flow": root, "flows/lib/pad.flow": lib],
                        kinds: ["flows/bin/tokenize": .file(executable: true), "flows/tokenize.js": .file(executable: false)])
        let found = extensionDiagnostics(try compile(disk))
        XCTAssertEqual(found.map(\.id), ["check.extensionRunMissing", "check.extensionWebMissing"])
        XCTAssertEqual(found.map { c in text(c, lib) }, ["\"bin/tokenize\"", "\"tokenize.js\""])
        disk.kinds = ["flows/lib/bin/tokenize": .file(executable: true), "flows/lib/tokenize.js": .file(executable: false)]
        XCTAssertEqual(extensionDiagnostics(try compile(disk)).map(\.id), [])
    }

    func testTemplatesAndConfigsAreNotLookedUp() throws {
        let source = "config PAD = \"extensions/pad\"\n" + Self.flow(run: "PAD", web: "\"{PAD}.js\"")
        let c = try compile(Disk(files: ["flows/pay.flow": source]))
        XCTAssertEqual(extensionDiagnostics(c).map(\.id), [])
    }

    func testALoaderThatCannotSayReportsNothing() {
        // MemoryLoader (and Frontend.compile(source:)) answers `.unknown`.
        let c = Frontend.compile(source: Self.flow(run: "\"extensions/nowhere\"", web: "\"extensions/nowhere.js\""))
        XCTAssertEqual(c.diagnostics.map(\.id), [])
        XCTAssertEqual(MemoryLoader([:]).fileKind(path: "anything"), .unknown)
    }

    func testTheAnalyzerReportsThemToo() throws {
        // The language server's path (Analyzer.analyze) runs the same check.
        let analysis = try Analyzer.analyze(path: "flows/pay.flow", loader: Disk(files: ["flows/pay.flow": Self.flow(run: "\"extensions/tokenise\"")]))
        XCTAssertEqual(analysis.diagnostics.map(\.id), ["check.extensionRunMissing"])
    }

    func testFileSystemLoaderAnswersFromTheDisk() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flow-ext-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let program = folder.appendingPathComponent("program").path
        let module = folder.appendingPathComponent("module.js").path
        XCTAssertTrue(FileManager.default.createFile(atPath: program, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
        XCTAssertTrue(FileManager.default.createFile(atPath: module, contents: Data("export {}\n".utf8), attributes: [.posixPermissions: 0o644]))
        let loader = FileSystemLoader()
        XCTAssertEqual(loader.fileKind(path: program), .file(executable: true))
        XCTAssertEqual(loader.fileKind(path: module), .file(executable: false))
        XCTAssertEqual(loader.fileKind(path: folder.path), .directory)
        XCTAssertEqual(loader.fileKind(path: folder.appendingPathComponent("nothing").path), .missing)

        // And end to end: a flow beside them.
        let flowPath = folder.appendingPathComponent("pay.flow").path
        try Self.flow(run: "\"module.js\"", web: "\"program\"").write(toFile: flowPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(extensionDiagnostics(try Frontend.compile(path: flowPath)).map(\.id), ["check.extensionRunNotExecutable"])
    }
}
