/// Diagnostics are values.
///
/// Design note: no stage of FlowKit prints. The lexer, parser, compiler and checks append
/// `Diagnostic`s to the list they return; the renderer (`DiagnosticRenderer`) is the one place
/// that turns them into text. Each diagnostic comes from a catalogue entry (`Message`) with a
/// stable id such as `parse.expectedArrow`, so tools and tests can match on the id rather than
/// on the wording.

public enum Severity: String, Codable, Sendable, Comparable {
    case error
    case warning
    case note

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .note: 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// A catalogue entry: a stable id, a default severity and the headline text.
public struct Message: Sendable, Equatable {
    public let id: String
    public let severity: Severity
    public let text: String

    public init(_ id: String, _ severity: Severity = .error, _ text: String) {
        self.id = id
        self.severity = severity
        self.text = text
    }
}

/// A secondary message pointing at another place (`to match this '{'`).
public struct DiagnosticNote: Sendable, Equatable {
    public var message: String
    public var range: SourceRange?

    public init(_ message: String, at range: SourceRange? = nil) {
        self.message = message
        self.range = range
    }
}

public struct Diagnostic: Sendable, Equatable {
    public var id: String
    public var severity: Severity
    public var message: String
    public var range: SourceRange
    /// Short text printed under the span.
    public var label: String?
    public var notes: [DiagnosticNote]
    /// Help on its own `hint:` line, ideally with a small valid example.
    public var hint: String?

    public init(
        _ message: Message, at range: SourceRange, label: String? = nil,
        notes: [DiagnosticNote] = [], hint: String? = nil
    ) {
        self.id = message.id
        self.severity = message.severity
        self.message = message.text
        self.range = range
        self.label = label
        self.notes = notes
        self.hint = hint
    }
}

extension Array where Element == Diagnostic {
    public var errorCount: Int { lazy.filter { $0.severity == .error }.count }
    public var warningCount: Int { lazy.filter { $0.severity == .warning }.count }

    /// Sorted by file, then position, then id, so output is stable.
    public func sortedByPosition() -> [Diagnostic] {
        sorted {
            ($0.range.file.index, $0.range.start, $0.range.end, $0.id)
                < ($1.range.file.index, $1.range.start, $1.range.end, $1.id)
        }
    }
}
