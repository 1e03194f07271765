import Foundation

/// What a running session asks of its host, and what the host answers.
///
/// Design note: the interpreter owns no terminal, no socket and no clock. Each step returns a
/// `StepResult`: the responses shown since the last step, and what the session needs next
/// (`Step`). The host does it and hands the answer back with `Session.resume(_:)`.

/// One question of a page, with everything evaluated: the text to show, the options, the bounds.
public struct QuestionRequest: Sendable, Equatable {
    /// The question's name within its page.
    public var name: String
    /// `Page.Question`, the name scripts use for it.
    public var reference: String
    public var type: QuestionType
    public var prompt: String
    public var options: [String]
    public var defaultValue: Value?
    public var optional: Bool
    /// For number, currency and date: the smallest and largest value; for text, email and
    /// password: the shortest and longest length; for choices: the fewest and most picks.
    public var min: Value?
    public var max: Value?
    public var pattern: String?

    public init(name: String, reference: String, type: QuestionType, prompt: String, options: [String] = [],
                defaultValue: Value? = nil, optional: Bool = false, min: Value? = nil, max: Value? = nil, pattern: String? = nil) {
        self.name = name
        self.reference = reference
        self.type = type
        self.prompt = prompt
        self.options = options
        self.defaultValue = defaultValue
        self.optional = optional
        self.min = min
        self.max = max
        self.pattern = pattern
    }
}

/// Why an answer was not accepted, in words for the person who typed it.
public struct AnswerProblem: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
