import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow fmt`: rewrites each input in the canonical layout (`FlowFormatter`), or with `--check`
/// only says which inputs are not in it.
///
/// Streams: standard output lists the files changed (or, with `--check`, the files that would
/// change), one path a line, so scripts can use it; everything else goes to standard error. A file
/// with syntax errors is left as it is and its diagnostics are rendered as `flow check` renders
/// them. Files are replaced atomically: the new text is written to a temporary file beside the
/// original (same permissions), then renamed over it, so an interrupted run never leaves half a file.
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
            let path: String
            switch item {
            case .problem(let reason):
                terminal.err("\(paint.error("error")): \(reason)\n")
                status = max(status, .noInput)
                continue
            case .file(let file):
                path = file
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
            switch FlowFormatter.format(file) {
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
                    if let problem = Self.replace(path, with: text) {
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

    /// Writes `text` to a temporary file in the same directory as `path` (the target of `path` when
    /// it is a symbolic link), with the original's permissions, then renames it over the original.
    /// Returns a reason when that fails; the original is then unchanged.
    static func replace(_ path: String, with text: String) -> String? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var info = stat()
        let mode = stat(target, &info) == 0 ? mode_t(info.st_mode & 0o7777) : 0o644
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        let temporary =
            (directory.isEmpty ? "" : directory + "/") + ".\(name).fmt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        var failure: String?
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            written += n
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        // The mode given to open() is reduced by the umask; set it exactly.
        if failure == nil && fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, target) != 0 { failure = String(cString: strerror(errno)) }
        if failure != nil { unlink(temporary) }
        return failure
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
