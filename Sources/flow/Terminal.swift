import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's standard streams and what is known about them.
///
/// Writes go straight to the file descriptors through `write` (no buffering in between), so
/// nothing is left unwritten at exit and stdout/stderr stay in the order they were written. A
/// write to a closed pipe ends the process by SIGPIPE, as for any Unix filter.
struct Terminal {
    /// Reads a variable of the environment (`NO_COLOR`, `TERM`).
    let environment: @Sendable (String) -> String?

    /// Text for people on standard output, made `safe` for a terminal.
    func out(_ text: String) { write(Self.safe(text), to: STDOUT_FILENO) }
    /// Text for people on standard error, made `safe` for a terminal.
    func err(_ text: String) { write(Self.safe(text), to: STDERR_FILENO) }
    /// Output for programs (JSON, DOT, Mermaid), written exactly: its own escaping already keeps
    /// control characters out (JSON's `\u001b`), and changing it would break it.
    func data(_ text: String) { write(text, to: STDOUT_FILENO) }

    private func write(_ text: String, to descriptor: Int32) {
        guard !text.isEmpty else { return }
        var text = text
        text.withUTF8 { Self.writeAll($0, to: descriptor) }
    }

    /// Writes every byte, going on after a partial write or an interrupted one, and giving up
    /// quietly on an error (a closed pipe), as `FileHandle.write` under `try?` did. `write` itself,
    /// not `FileHandle` and `Data`: their first use cost each process the runtime's look-up of
    /// a conformance, a scan of every one in the binary.
    static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: Int32) {
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
                let n = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            #else
                let n = Darwin.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            #endif
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// The colour codes `flow` itself writes (`Paint`, `DiagnosticRenderer`); the only escape
    /// sequences let through.
    static let ownColors: Set<Substring> = ["0", "1", "2", "1;31", "1;32", "1;33", "1;34", "1;36"]

    /// Text as it may reach a terminal. What gets written holds text from outside: a gateway's
    /// error message, an IP's outputs, answers, values in responses. A control character in it
    /// could move the cursor, rewrite a line already shown (`\r`), retitle the window or hide
    /// what follows, and right-to-left overrides could reorder it; so each is written as a
    /// visible escape (`\u{1B}`) instead. Kept: line ends (CRLF becomes LF), tabs, and `flow`'s
    /// own colour codes. Text without any of these (nearly all) is written as it is.
    static func safe(_ text: String) -> String {
        let utf8 = text.utf8
        // Fast path: no byte below 0x20 but LF and tab, no DEL, and no lead byte of a C1 control
        // (C2) or of the overrides (E2).
        if !utf8.contains(where: { ($0 < 0x20 && $0 != 0x0A && $0 != 0x09) || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) {
            return text
        }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if s == "\u{1B}", i + 1 < scalars.count, scalars[i + 1] == "[",
               let m = scalars[(i + 2)...].prefix(8).firstIndex(of: "m"),
               ownColors.contains(Substring(String(String.UnicodeScalarView(scalars[(i + 2)..<m])))) {
                out.append(contentsOf: scalars[i...m])
                i = m + 1
                continue
            }
            if s == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" {
                i += 1
                continue
            }
            if VisibleText.mustEscape(s.value) {
                out.append(contentsOf: VisibleText.escape(s.value).unicodeScalars)
            } else {
                out.append(s)
            }
            i += 1
        }
        return String(out)
    }

    /// Whether to colour what goes to standard error (where human diagnostics go).
    func colorsStandardError(_ choice: ColorChoice) -> Bool { colors(STDERR_FILENO, choice) }

    /// Whether to colour what goes to standard output (`flow run`'s conversation at a terminal).
    func colorsStandardOutput(_ choice: ColorChoice) -> Bool { colors(STDOUT_FILENO, choice) }

    private func colors(_ descriptor: Int32, _ choice: ColorChoice) -> Bool {
        switch choice {
        case .always: return true
        case .never: return false
        case .auto:
            // https://no-color.org: set and not empty disables colour; flags override it.
            if let noColor = environment("NO_COLOR"), !noColor.isEmpty { return false }
            if environment("TERM") == "dumb" { return false }
            return isatty(descriptor) != 0
        }
    }
}

/// ANSI decoration for the command line's own messages, matching `DiagnosticRenderer`'s.
struct Paint {
    let enabled: Bool

    func error(_ text: String) -> String { paint(text, "1;31") }
    func hint(_ text: String) -> String { paint(text, "1;32") }
    func bold(_ text: String) -> String { paint(text, "1") }

    private func paint(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
