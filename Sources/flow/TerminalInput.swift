import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lines of standard input, one at a time.
///
/// Reads the file descriptor directly (no `FILE` buffering in between), so what a terminal in
/// canonical mode delivers is one line per `read`. A line ends at `\n` (a `\r` before it is
/// dropped); text after the last line end is the last line. Once `read` reports the end (Ctrl-D
/// at the start of a line on a terminal, or the end of a pipe or file), every later call returns
/// nil: a terminal is not asked again.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// How much of `buffer` is known to hold no line end: a long line is searched once, not again
    /// after every read (a 10 MB line took minutes).
    private var searched = 0
    private var ended = false

    init(descriptor: Int32 = STDIN_FILENO) { self.descriptor = descriptor }

    func readLine() -> String? {
        while true {
            if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                buffer.removeSubrange(...newline)
                searched = 0
                return text
            }
            searched = buffer.count
            if ended {
                guard !buffer.isEmpty else { return nil }
                defer {
                    buffer = []
                    searched = 0
                }
                return String(decoding: buffer, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                ended = true  // the end, or an error reading (a terminal that went away: EIO)
            }
        }
    }
}

// What a signal handler needs to put the terminal back. Globals, because a C signal handler can
// capture nothing; written only on the main thread, and read by the handler, which runs there.
/// Heap storage for the saved settings: a global C struct with padding gets storage without its
/// tail padding from this Swift compiler (57 of termios's 60 bytes), and tcgetattr writes past it.
nonisolated(unsafe) private let savedSettingsStorage: UnsafeMutablePointer<termios> = {
    let p = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    p.initialize(to: termios())
    return p
}()
nonisolated(unsafe) private var settingsNeedRestoring: sig_atomic_t = 0

/// The terminal on standard input: echo off for passwords, and put back however the run ends.
///
/// Contract: while `withoutEcho` runs, the settings from before are saved where the signal
/// handlers (`Interruption`) and the crash handler can restore them; `withoutEcho` restores them
/// itself when its body returns. Echo is off but `ECHONL` on, so the line end still moves the
/// cursor. Settings change with `TCSANOW`, so nothing typed ahead is lost.
enum TerminalEcho {
    static func withoutEcho<T>(_ body: () -> T) -> T {
        var before = termios()
        guard tcgetattr(STDIN_FILENO, &before) == 0 else { return body() }
        var quiet = before
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        savedSettingsStorage.pointee = before
        settingsNeedRestoring = 1
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSANOW, &before)
            settingsNeedRestoring = 0
        }
        return body()
    }

    /// Async-signal-safe: `tcsetattr` only, and only when echo is off.
    static func restoreFromSignalHandler() {
        if settingsNeedRestoring != 0 {
            _ = tcsetattr(STDIN_FILENO, TCSANOW, savedSettingsStorage)
            settingsNeedRestoring = 0
        }
    }

    /// Touches the globals once, so a signal handler never runs their lazy initialisation.
    static func prepare() {
        _ = settingsNeedRestoring
        _ = savedSettingsStorage.pointee
    }
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP during `flow run`: restore the terminal and exit with
/// 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), saying which.
enum Interruption {
    static func install() {
        TerminalEcho.prepare()
        _ = signal(SIGINT, interrupted)
        _ = signal(SIGTERM, interrupted)
        _ = signal(SIGHUP, interrupted)
    }
}

/// Runs inside a signal handler: only async-signal-safe calls (`tcsetattr`, `write`, `_exit`).
private func interrupted(_ number: Int32) {
    TerminalEcho.restoreFromSignalHandler()
    if number == SIGINT {
        let message: StaticString = "\nflow: interrupted\n"
        _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    } else if number == SIGTERM {
        let message: StaticString = "\nflow: terminated\n"
        _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    } else if number == SIGHUP {
        // Standard error may still reach a log, even when the terminal is gone.
        let message: StaticString = "\nflow: hung up\n"
        _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    }
    _exit(128 + number)
}
