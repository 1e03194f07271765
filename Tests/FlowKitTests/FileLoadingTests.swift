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

    /// A pipe has no size to read ahead of time: it is read to its end, however long.
    func testAPipeIsReadToItsEnd() throws {
        let path = directory.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let bytes = sample(200_003)
        // A reader that stopped early must fail this test, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        let writer = Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            var sent = 0
            bytes.withUnsafeBytes { raw in
                while sent < raw.count {
                    // Small writes, so the reader meets many short reads.
                    let n = write(fd, raw.baseAddress! + sent, min(4_096, raw.count - sent))
                    if n <= 0 { break }
                    sent += n
                }
            }
            close(fd)
        }
        writer.start()
        XCTAssertEqual(FileSystemLoader.readAll(path), bytes)
    }

    func testMissingFilesAndDirectoriesAreErrors() {
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.appendingPathComponent("none.flow").path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "no such file")
        }
        XCTAssertThrowsError(try FileSystemLoader().load(path: directory.path)) { error in
            XCTAssertEqual((error as? InputError)?.reason, "it is a directory")
        }
        XCTAssertNil(FileSystemLoader.readAll(directory.appendingPathComponent("none.flow").path))
    }
}
