import Foundation
import XCTest

@testable import FlowKit

#if canImport(Glibc)
    import Glibc
#endif

/// `FileSystemLoader` reads a file straight into its bytes (`readAll`), taking the size `fstat`
/// gives only as a first guess.
final class FileLoadingTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Bytes of every value, in an order that differs from place to place.
    private func sample(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ $0 >> 8) }
    }

    func testAFileIsReadWhole() throws {
        for count in [0, 1, 65_535, 65_536, 65_537, 300_001] {
            let url = directory.appendingPathComponent("f\(count).flow")
            let bytes = sample(count)
            try Data(bytes).write(to: url)
            XCTAssertEqual(try FileSystemLoader().load(path: url.path), bytes, "\(count) bytes")
        }
    }

    /// A file whose size says 0 and is not empty (`/proc`): read to its end, not to its size.
    func testAFileIsReadToItsEndNotToItsSize() throws {
        let path = "/proc/version"
        var status = stat()
        guard stat(path, &status) == 0, status.st_size == 0 else { throw XCTSkip("no /proc/version of size 0 here") }
        let expected = try XCTUnwrap(FileHandle(forReadingAtPath: path)).readDataToEndOfFile()
        XCTAssertGreaterThan(expected.count, 1)
        XCTAssertEqual(try FileSystemLoader().load(path: path), [UInt8](expected))
    }

    /// A FIFO is refused at once, as `FileManager.contents` refused it: opened to be read, one
    /// without a writer would wait for a writer for ever.
    func testAFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let path = directory.appendingPathComponent("pipe.flow").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reason: String?
        Thread {
            do {
                _ = try FileSystemLoader().load(path: path)
            } catch {
                reason = (error as? InputError)?.reason
            }
            done.signal()
        }.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the read of a FIFO waited")
        XCTAssertEqual(reason, "not a regular file (a pipe, a device or a socket)")
    }

    func testMissingFilesAndDirectoriesAreErrors() {
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.appendingPathComponent("none.flow").path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "no such file")
        }
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "it is a directory")
        }
        XCTAssertThrowsError(try FileSystemLoader.readAll(directory.appendingPathComponent("none.flow").path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "No such file or directory")
        }
    }

    /// `FileSystemLoader.kind` asks `stat` and `access` what `FileManager` said before: links
    /// followed, a broken link missing, an executable file told from a plain one.
    func testKindsAreWhatFileManagerSays() throws {
        let plain = directory.appendingPathComponent("plain.js").path
        let tool = directory.appendingPathComponent("tool.sh").path
        let sub = directory.appendingPathComponent("sub").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: plain))
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: tool))
        XCTAssertEqual(chmod(tool, 0o755), 0)
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        XCTAssertEqual(symlink(sub, directory.appendingPathComponent("to-sub").path), 0)
        XCTAssertEqual(symlink(tool, directory.appendingPathComponent("to-tool").path), 0)
        XCTAssertEqual(symlink(directory.appendingPathComponent("gone").path, directory.appendingPathComponent("broken").path), 0)
        let expected: [(String, FileKind)] = [
            ("plain.js", .file(executable: false)), ("tool.sh", .file(executable: true)), ("sub", .directory),
            ("to-sub", .directory), ("to-tool", .file(executable: true)), ("broken", .missing), ("none", .missing),
            ("plain.js/below", .missing),
        ]
        for (name, kind) in expected {
            let path = directory.appendingPathComponent(name).path
            XCTAssertEqual(FileSystemLoader.kind(path), kind, name)
            // What FileManager says of the same path.
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let managers: FileKind = !exists ? .missing : isDirectory.boolValue ? .directory
                : .file(executable: FileManager.default.isExecutableFile(atPath: path))
            XCTAssertEqual(FileSystemLoader.kind(path), managers, name)
        }
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.appendingPathComponent("broken").path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "no such file")
        }
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.appendingPathComponent("to-sub").path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "it is a directory")
        }
    }

    /// `SourcePath.normalize` (import keys) shares its collapsing with `absolute` but keeps a
    /// `..` it cannot take away, also at the root, as it always has.
    func testNormalizedPathsKeepWhatTheyCannotCollapse() {
        let cases: [(String, String)] = [
            ("flows/./sub/../a.flow", "flows/a.flow"), ("flows//a.flow", "flows/a.flow"), ("../a.flow", "../a.flow"),
            ("../../x.flow", "../../x.flow"), ("a/../../b.flow", "../b.flow"), ("a/..", "."), ("", "."), (".", "."),
            ("/", "/"), ("/a/./b/../c.flow", "/a/c.flow"), ("/../a.flow", "/../a.flow"), ("/a/b/", "/a/b"),
        ]
        for (path, expected) in cases {
            XCTAssertEqual(SourcePath.normalize(path), expected, path)
        }
    }

    /// `SourcePath.absolute` gives what `URL(fileURLWithPath:).standardizedFileURL.path` gives
    /// (the key `flow check` and coverage compare files by), for paths relative and absolute.
    func testAbsolutePathsAreWhatURLGives() {
        let paths = [
            "a.flow", "./a.flow", "flows/a.flow", "flows/./sub/../a.flow", "flows//a.flow", "../a.flow", "../../x/../y.flow",
            "/", "/a", "/a/", "/a/b/../c", "/a/./b", "/../a", "/../../a/b", "//a//b", "/a/b/..", "/a/b/../..", "/a/b/../../..",
            ".", "..", "a/..", "dir/", "name with space.flow", "é/ü.flow", "a/.hidden/b.flow", "...", "a/.../b",
        ]
        for path in paths {
            XCTAssertEqual(SourcePath.absolute(path), URL(fileURLWithPath: path).standardizedFileURL.path, path)
        }
    }
}
