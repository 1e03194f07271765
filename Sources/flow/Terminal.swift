import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's standard streams and what is known about them.
///
/// Writes go straight to the file descriptors through `FileHandle` (no buffering in between), so
/// nothing is left unwritten at exit and stdout/stderr stay in the order they were written. A
/// write to a closed pipe ends the process by SIGPIPE, as for any Unix filter.
struct Terminal {
    let environment: [String: String]

    func out(_ text: String) { write(text, to: .standardOutput) }
    func err(_ text: String) { write(text, to: .standardError) }

    private func write(_ text: String, to handle: FileHandle) {
        guard !text.isEmpty else { return }
        try? handle.write(contentsOf: Data(text.utf8))
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
            if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
            if environment["TERM"] == "dumb" { return false }
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
