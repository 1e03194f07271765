import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow fmt`: rewrites each input in the canonical layout (`FlowFormatter`; a test plan,
/// `*.flowtest`, with `formatPlan`), or with `--check` only says which inputs are not in it.
///
/// Streams: standard output lists the files changed (or, with `--check`, the files that would
/// change), one path a line, so scripts can use it; everything else goes to standard error. A file
/// with syntax errors is left as it is and its diagnostics are rendered as `flow check` renders
/// them. A file is rewritten where it is (`replace(_:with:original:)`): a symbolic link is followed
/// and stays a link, and the file keeps its hard links, owner, group and permissions.
///
/// Exit status, the most severe wins: 70 a formatter bug (nothing written for that file), 73 a
/// file could not be written, 66 an input is missing or unreadable, 65 syntax errors, 1 with
/// `--check` when a file would change, else 0.
struct FormatCommand {
    let arguments: FormatArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let paint = Paint(enabled: terminal.colorsStandardError(.auto))
        let renderer = DiagnosticRenderer(format: .human, color: paint.enabled)
        var status = ExitCode.success
        var errors = 0
        var filesWithErrors = 0
        var changed = 0

        for item in Inputs.expand(arguments.inputs) {
            guard let path = terminal.file(item, paint: paint) else {
                status = max(status, .noInput)
                continue
            }
            let bytes: [UInt8]
            do {
                bytes = try FileSystemLoader().load(path: path)
            } catch {
                terminal.err("\(paint.error("error")): \(error.description)\n")
                status = max(status, .noInput)
                continue
            }
            let sources = SourceManager()
            let file = sources.add(path: path, bytes: bytes)
            switch FlowFormatter.isPlan(path) ? FlowFormatter.formatPlan(file) : FlowFormatter.format(file) {
            case .syntaxErrors(let diagnostics):
                terminal.err(renderer.render(diagnostics, sources: sources))
                errors += diagnostics.errorCount
                filesWithErrors += 1
                status = max(status, .dataError)
            case .internalError(let problem):
                terminal.err(
                    "\(paint.error("error")): internal error: \(problem); the file was left as it is (this is a bug in flow)\n")
                status = max(status, .software)
            case .formatted(let text):
                guard !Array(text.utf8).elementsEqual(bytes) else { continue }
                changed += 1
                if !arguments.check {
                    if let problem = Self.replace(path, with: text, original: bytes) {
                        terminal.err("\(paint.error("error")): cannot write '\(path)': \(problem)\n")
                        status = max(status, .cannotCreate)
                        continue
                    }
                }
                terminal.out(path + "\n")
            }
        }

        if errors > 0 {
            let found = errors == 1 ? "1 syntax error" : "\(errors) syntax errors"
            let files = filesWithErrors == 1 ? "1 file; it was" : "\(filesWithErrors) files; they were"
            terminal.err("\(paint.error("error")): found \(found) in \(files) not formatted\n")
        }
        if arguments.check && changed > 0 {
            let files = changed == 1 ? "1 file is" : "\(changed) files are"
            terminal.err("\(files) not formatted: run 'flow fmt' on \(changed == 1 ? "it" : "them")\n")
            status = max(status, .failure)
        }
        return status
    }

    /// Gives the file at `path` the content `text` (its content was `original`), keeping what the
    /// file is: a symbolic link is followed (the link stays a link), and the file keeps its other
    /// names (hard links), its owner, group and permissions. Returns the reason when that fails;
    /// the file then holds `original`.
    ///
    /// The usual way is atomic: the new text goes to a temporary file beside the target, which is
    /// given the target's owner, group and mode and synced, then renamed over the target, so an
    /// interrupted run leaves the old file or the new one, never half of one. A rename would cut a
    /// hard link (the other names would keep the old text) and would change the owner of a file
    /// this process cannot give away; such a file, and one in a directory where no temporary file
    /// can be made, is rewritten in place instead (`overwrite`).
    static func replace(_ path: String, with text: String, original: [UInt8]) -> String? {
        guard let resolved = realpath(path, nil) else { return reason(errno) }
        let target = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard stat(target, &info) == 0 else { return reason(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { return "it is not a regular file" }
        guard access(target, W_OK) == 0 else { return reason(errno) }
        let bytes = Array(text.utf8)
        if info.st_nlink > 1 { return overwrite(target, with: bytes, original: original) }

        let temporary = sibling(of: target, "fmt")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // No file can be made beside it (a directory this process cannot write): in place.
            return overwrite(target, with: bytes, original: original)
        }
        var failure = writeAll(fd, bytes, at: 0)
        // The owner and group first (changing them clears set-user-ID bits), then the mode exactly
        // (open's mode is reduced by the umask). A file this process cannot give the target's
        // owner is not used: the target is rewritten in place instead.
        var created = stat()
        if failure == nil && fstat(fd, &created) != 0 { failure = reason(errno) }
        if failure == nil && (created.st_uid != info.st_uid || created.st_gid != info.st_gid)
            && fchown(fd, info.st_uid, info.st_gid) != 0
        {
            close(fd)
            unlink(temporary)
            return overwrite(target, with: bytes, original: original)
        }
        if failure == nil && fchmod(fd, info.st_mode & 0o7777) != 0 { failure = reason(errno) }
        if failure == nil && fsync(fd) != 0 { failure = reason(errno) }
        close(fd)
        if failure == nil && rename(temporary, target) != 0 { failure = reason(errno) }
        if failure != nil { unlink(temporary) }
        return failure
    }

    /// Rewrites `target` in its own inode. The old content is first kept in a backup file beside
    /// it (when one can be made), so a run killed meanwhile leaves the old text there; when a
    /// write fails the old content is written back. The backup is removed at the end.
    static func overwrite(_ target: String, with bytes: [UInt8], original: [UInt8]) -> String? {
        let backup = sibling(of: target, "fmt-backup")
        var backedUp = false
        let b = open(backup, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if b >= 0 {
            backedUp = writeAll(b, original, at: 0) == nil && fsync(b) == 0
            close(b)
            if !backedUp { unlink(backup) }
        }
        var removeBackup = backedUp
        defer { if removeBackup { unlink(backup) } }
        let fd = open(target, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return reason(errno) }
        defer { close(fd) }
        guard let failure = writeAll(fd, bytes, at: 0) ?? (ftruncate(fd, off_t(bytes.count)) != 0 ? reason(errno) : nil)
            ?? (fsync(fd) != 0 ? reason(errno) : nil)
        else { return nil }
        // The old content fits where it was.
        if writeAll(fd, original, at: 0) == nil && ftruncate(fd, off_t(original.count)) == 0 && fsync(fd) == 0 { return failure }
        guard backedUp else { return failure + "; the old text could not be written back" }
        removeBackup = false
        return failure + "; the old text is kept in '\(backup)'"
    }

    /// A new name beside `target`: `.NAME.<what>-<pid>-<random>`.
    static func sibling(of target: String, _ what: String) -> String {
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        return (directory.isEmpty ? "" : directory + "/") + ".\(name).\(what)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Writes all of `bytes` at `offset` of `fd`; the reason when that fails.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) -> String? {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset + written)) }
            if n < 0 {
                if errno == EINTR { continue }
                return reason(errno)
            }
            written += n
        }
        return nil
    }

    /// The system's reason for `code`, as a message goes on: `permission denied`.
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

/// `flow fmt FILE|DIR... [--check]`
struct FormatArguments: CommandArguments {
    var inputs: [String] = []
    var check = false

    static var command: Command<Self> {
        Command(
            name: "fmt", summary: "format flow files in the one canonical layout",
            inputs: .many(\.inputs, verb: "format", example: "main.flow flows/"),
            options: [
                .flag("--check", \.check, help: "change nothing: list the files that are not formatted, and exit 1 if any")
            ],
            about: """
                Rewrites each file in the one canonical layout: 2-space indentation by block, one space
                around operators, '=' and '->' and after ',' and ':', '} else {' on one line, at most one
                blank line in a row and one between declarations. Comments stay where they are; names,
                numbers and text literals are kept as written, and lines are not re-wrapped. Formatting
                never changes what a flow means, and formatting twice changes nothing. A directory is
                searched recursively for '*.flow' files, as 'flow check' does. Each file is replaced
                atomically, and the files changed are listed on standard output. A file with syntax errors
                is left as it is and its errors are reported as 'flow check' reports them.
                """,
            exitStatus: """
                  0   done (with --check: every file is formatted)
                  1   --check: some files are not formatted (they are listed)
                  64  usage error: unknown option, no inputs (nothing is formatted)
                  65  a file has syntax errors; it is left unchanged, the other files are still formatted
                  66  an input is missing or unreadable, or a directory holds no '.flow' file
                  70  internal error: a bug in flow (the file it concerns is left unchanged)
                  73  a file could not be written (it is left unchanged)
                """,
            run: { FormatCommand(arguments: $0, terminal: $1).run() })
    }
}
