import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow fmt` rewrites a file where it is: hard links keep sharing the new text, the owner, group
/// and permissions stay, a symbolic link stays a link, and a write that fails exits 73 with the
/// path and the reason, leaving the file as it was.
final class FormatFileTests: XCTestCase {
    static let messy = "flow   Greeting {\n    response \"Hello\"\n\n\n}"
    static let tidy = "flow Greeting {\n  response \"Hello\"\n}\n"

    func makeDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-fmt-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    func read(_ directory: URL, _ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    func status(_ url: URL) throws -> stat {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { throw FlowProcessError("cannot stat \(url.path): \(String(cString: strerror(errno)))") }
        return info
    }

    /// The names in `directory` (the test's temporary files must all be gone).
    func names(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func testAHardLinkedFileKeepsItsLinks() throws {
        let directory = try makeDirectory(["a.flow": Self.messy])
        let a = directory.appendingPathComponent("a.flow")
        let b = directory.appendingPathComponent("b.flow")
        XCTAssertEqual(link(a.path, b.path), 0)
        XCTAssertEqual(chmod(a.path, 0o640), 0)
        let before = try status(a)
        XCTAssertEqual(before.st_nlink, 2)

        let run = try FlowProcess.run(["fmt", "a.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "a.flow\n")
        XCTAssertEqual(try read(directory, "a.flow"), Self.tidy)
        XCTAssertEqual(try read(directory, "b.flow"), Self.tidy, "the other name of the file shows the new text")
        let after = try status(a)
        XCTAssertEqual(after.st_nlink, 2)
        XCTAssertEqual(after.st_ino, before.st_ino)
        XCTAssertEqual(try status(b).st_ino, before.st_ino)
        XCTAssertEqual(after.st_mode & 0o7777, 0o640)
        XCTAssertEqual(try names(directory), ["a.flow", "b.flow"], "no backup or temporary file is left behind")
    }

    func testPermissionsAndOwnershipAreKept() throws {
        let directory = try makeDirectory(["a.flow": Self.messy, "b.flow": Self.messy])
        let a = directory.appendingPathComponent("a.flow")
        let b = directory.appendingPathComponent("b.flow")
        XCTAssertEqual(chmod(a.path, 0o640), 0)
        XCTAssertEqual(chmod(b.path, 0o604), 0)
        // Only root can give a file to another owner; then fmt must keep that owner.
        let root = getuid() == 0
        if root { XCTAssertEqual(chown(a.path, 4321, 4322), 0) }
        let owner = try status(a)
        let run = try FlowProcess.run(["fmt", "a.flow", "b.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(try read(directory, "a.flow"), Self.tidy)
        XCTAssertEqual(try read(directory, "b.flow"), Self.tidy)
        let after = try status(a)
        XCTAssertEqual(after.st_mode & 0o7777, 0o640)
        XCTAssertEqual(try status(b).st_mode & 0o7777, 0o604)
        XCTAssertEqual(after.st_uid, owner.st_uid)
        XCTAssertEqual(after.st_gid, owner.st_gid)
        if root {
            XCTAssertEqual(after.st_uid, 4321)
            XCTAssertEqual(after.st_gid, 4322)
        }
        XCTAssertEqual(try names(directory), ["a.flow", "b.flow"])
    }

    func testASymbolicLinkStaysALinkAndItsTargetIsRewritten() throws {
        let directory = try makeDirectory(["real/a.flow": Self.messy])
        let real = directory.appendingPathComponent("real/a.flow")
        XCTAssertEqual(chmod(real.path, 0o600), 0)
        // A link to a link, and a hard link to the target.
        XCTAssertEqual(symlink("real/a.flow", directory.appendingPathComponent("one.flow").path), 0)
        XCTAssertEqual(symlink("one.flow", directory.appendingPathComponent("two.flow").path), 0)
        XCTAssertEqual(link(real.path, directory.appendingPathComponent("real/hard.flow").path), 0)

        let run = try FlowProcess.run(["fmt", "two.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "two.flow\n")
        for name in ["two.flow", "one.flow", "real/a.flow", "real/hard.flow"] {
            XCTAssertEqual(try read(directory, name), Self.tidy, name)
        }
        XCTAssertEqual(try status(directory.appendingPathComponent("two.flow")).st_mode & S_IFMT, S_IFLNK)
        XCTAssertEqual(try status(directory.appendingPathComponent("one.flow")).st_mode & S_IFMT, S_IFLNK)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("two.flow").path), "one.flow")
        XCTAssertEqual(try status(real).st_nlink, 2)
        XCTAssertEqual(try status(real).st_mode & 0o7777, 0o600)
        XCTAssertEqual(try names(directory.appendingPathComponent("real")), ["a.flow", "hard.flow"])
    }

    /// A flow whose formatted text is longer than its own (each line gains its indentation and
    /// the blanks around `=`): 818 bytes, formatted 1218.
    static let growing = "flow Greeting {\n" + String(repeating: "set a=1\n", count: 100) + "}\n"
    static let limit = 1000

    /// Runs `flow` with a file size limit of `limit` bytes (RLIMIT_FSIZE, which a child inherits;
    /// SIGXFSZ ignored by the shell that starts it, so a write past the limit fails with EFBIG): a
    /// write error as any user, root included.
    func formatWithSizeLimit(_ arguments: [String], in directory: URL) throws -> FlowRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "trap '' XFSZ; exec \"$0\" \"$@\"", FlowProcess.binary.path] + arguments
        process.currentDirectoryURL = directory
        process.environment = FlowProcess.environment([:])
        let out = Pipe()
        let err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        var saved = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        var limited = rlimit(rlim_cur: rlim_t(Self.limit), rlim_max: saved.rlim_max)
        // Only while the child starts: this process writes nothing meanwhile.
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limited), 0)
        let started = Result { try process.run() }
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved), 0)
        try started.get()
        // The outputs are a line or two: they fit in the pipes until the process has ended.
        process.waitUntilExit()
        return FlowRun(
            status: process.terminationStatus,
            stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func testAWriteErrorExits73WithThePathAndTheReasonAndLeavesTheFile() throws {
        let directory = try makeDirectory(["a.flow": Self.growing, "linked.flow": Self.growing])
        XCTAssertLessThan(Self.growing.utf8.count, Self.limit)
        XCTAssertEqual(link(directory.appendingPathComponent("linked.flow").path, directory.appendingPathComponent("other.flow").path), 0)
        // The formatted text is over the limit; the original is under it.
        for name in ["a.flow", "linked.flow"] {
            let run = try formatWithSizeLimit(["fmt", name], in: directory)
            XCTAssertEqual(run.status, 73, "\(name): \(run)")
            XCTAssertEqual(run.stdout, "", name)
            XCTAssertTrue(run.stderr.hasPrefix("error: cannot write '\(name)': file too large"), "\(name): \(run.stderr)")
            XCTAssertEqual(try read(directory, name), Self.growing, "\(name) is as it was")
        }
        XCTAssertEqual(try read(directory, "other.flow"), Self.growing)
        XCTAssertEqual(try status(directory.appendingPathComponent("other.flow")).st_nlink, 2)
        XCTAssertEqual(try names(directory), ["a.flow", "linked.flow", "other.flow"], "no backup or temporary file is left behind")
        // Without the limit it is written.
        let run = try FlowProcess.run(["fmt", "a.flow"], in: directory)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertGreaterThan(try read(directory, "a.flow").utf8.count, Self.limit)
    }

    /// A FIFO given as input is neither waited on nor replaced by a regular file.
    func testAFIFOIsNotReplaced() throws {
        let directory = try makeDirectory([:])
        let fifo = directory.appendingPathComponent("pipe.flow")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let run = try FlowProcess.run(["fmt", "pipe.flow"], in: directory, timeout: 20)
        XCTAssertEqual(run.status, 66, "\(run)")
        XCTAssertTrue(run.stderr.hasPrefix("error: cannot read 'pipe.flow'"), run.stderr)
        XCTAssertEqual(try status(fifo).st_mode & S_IFMT, S_IFIFO)
        XCTAssertEqual(try names(directory), ["pipe.flow"])
    }
}
