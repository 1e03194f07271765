import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow run --session FILE`: the session kept in a file, so that a run stopped at any moment
/// (Ctrl-C, SIGTERM, SIGKILL, a crash, a power cut) goes on from where it was when started again
/// with the same file.
///
/// Design note: the state is written after every step the session takes, before the host acts on
/// it, so an IP call is on disk as in flight, with its identity, before its request is sent; a
/// resumed run sends it with the same idempotency key (`Effect`). Each write is whole and atomic:
/// a new file beside the old one, flushed to the disk (fsync), renamed over it, and the folder
/// flushed, so the file always holds one complete state, the last or the one before. The file is
/// created readable by its owner only (it holds the answers). A symlink is followed and its
/// target replaced; anything that is not a regular file, and a file with other hard links (which
/// a rename would break away from), is refused rather than replaced.
///
/// The file names the flow file's text by its SHA-256: a session is only resumed with the program
/// it was started with.
struct SessionFile {
    static let format = "flow-session 1"

    let path: String
    /// The path written: `path` with symlinks resolved.
    private let target: String
    private let program: String

    struct Saved: Codable {
        var format: String
        /// SHA-256 of every source file of the program, in order.
        var program: String
        var state: SessionState
    }

    init(path: String, sources: SourceManager) throws(RunError) {
        self.path = path
        var text = ""
        for f in sources.files {
            text += f.path + "\u{0}" + String(decoding: f.bytes, as: UTF8.self) + "\u{0}"
        }
        program = SHA256.hex(text)
        var info = stat()
        if lstat(path, &info) == 0 {
            // Follow symlinks to what they name; refuse what a rename would destroy.
            guard let resolved = realpath(path, nil) else {
                throw .cannotWriteSession(path, "it is a symlink to nowhere (\(OutputFile.reason(errno)))")
            }
            target = String(cString: resolved)
            free(resolved)
            guard stat(target, &info) == 0 else { throw .cannotWriteSession(path, OutputFile.reason(errno)) }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotWriteSession(path, "it is not a regular file") }
            guard info.st_nlink <= 1 else {
                throw .cannotWriteSession(path, "it has other hard links, which rewriting it would break")
            }
        } else {
            target = path
        }
        removeStaleTemporaries()
    }

    /// Removes what a run killed between writing its temporary and renaming it left beside the
    /// file: `.NAME.PID.tmp` (the pattern `save` writes) whose PID is no longer a live process.
    /// Done once, when the file is opened, before the first save; a temporary of a run still going
    /// on (another live PID) is left alone. Without this, every SIGKILL at the wrong moment left
    /// one more hidden file, holding the answers, beside the session (issue 10).
    private func removeStaleTemporaries() {
        let folder = (target as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        let prefix = "." + (target as NSString).lastPathComponent + "."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let middle = name.dropFirst(prefix.count).dropLast(".tmp".count)
            guard let pid = pid_t(middle), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno != ESRCH { continue }  // alive (or not ours to ask): keep it
            var info = stat()
            let path = directory + "/" + name
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            unlink(path)
        }
    }

    /// The saved state, or nil when the file does not exist yet or is empty.
    func load(program compiled: Program) throws(RunError) -> SessionState? {
        guard let data = FileManager.default.contents(atPath: target) else {
            if FileManager.default.fileExists(atPath: target) { throw .cannotRead(path, "permission denied") }
            return nil
        }
        if data.isEmpty { return nil }
        let saved: Saved
        do {
            saved = try JSONDecoder().decode(Saved.self, from: data)
        } catch {
            throw .badSessionFile(path, "it is not a flow session file")
        }
        guard saved.format == Self.format else { throw .badSessionFile(path, "it is a session file of another kind ('\(saved.format)')") }
        guard saved.program == program else {
            throw .badSessionFile(path, "it was started with another version of the flow file")
        }
        guard saved.state.fits(compiled) else { throw .badSessionFile(path, "its state does not fit the flow") }
        return saved.state
    }

    /// Replaces the file with `state`, atomically and durably.
    func save(_ state: SessionState) throws(RunError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(Saved(format: Self.format, program: program, state: state))
        } catch {
            throw .cannotWriteSession(path, "the state cannot be written as JSON")
        }
        let folder = (target as NSString).deletingLastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/." + (target as NSString).lastPathComponent + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .cannotWriteSession(path, OutputFile.reason(errno)) }
        var failure: String?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = OutputFile.reason(errno)
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = OutputFile.reason(errno) }
        close(fd)
        if failure == nil, rename(temporary, target) != 0 { failure = OutputFile.reason(errno) }
        if let failure {
            unlink(temporary)
            throw .cannotWriteSession(path, failure)
        }
        let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}
