import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file `flow` writes as it goes (`--trace FILE`), opened where it is.
///
/// Design note: the path is opened as given with open(2): a symlink is followed and its target
/// written, a FIFO or a device is written to (never replaced by a regular file), a file with
/// other hard links is truncated and written in place, so every name shows the new text. Nothing
/// is ever renamed over the path. The first write error is kept, and the command stops with 73
/// (`ExitCode.cannotCreate`) at its next step; a write is never silently lost.
final class OutputFile {
    let path: String
    private let descriptor: Int32
    private let owned: Bool
    /// Why the first write failed, if one did.
    private(set) var failure: String?

    /// Standard output, for `-`.
    init(standardOutput: ()) {
        path = "-"
        descriptor = STDOUT_FILENO
        owned = false
    }

    /// Opens `path` for writing, creating a regular file when nothing is there (mode 0666 less
    /// the umask) and truncating a regular file that is.
    init(path: String) throws(OutputFileError) {
        self.path = path
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw OutputFileError(path: path, reason: "it is a directory")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0o666)
        guard fd >= 0 else { throw OutputFileError(path: path, reason: OutputFile.reason(errno)) }
        descriptor = fd
        owned = true
    }

    deinit {
        if owned { close(descriptor) }
    }

    /// Writes all of `text`, or records why it could not.
    func write(_ text: String) {
        guard failure == nil else { return }
        var bytes = Array(text.utf8)
        let total = bytes.count
        var done = 0
        while done < total {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + done, total - done) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = OutputFile.reason(errno)
                return
            }
            done += n
        }
        bytes.removeAll()
    }
}

extension OutputFile {
    /// The system's reason, lowercase as every message of flow: `no such file or directory`.
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

struct OutputFileError: Error {
    var path: String
    var reason: String
}
