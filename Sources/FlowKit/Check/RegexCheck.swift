import Foundation

/// Validates a question's `pattern` when the flow is checked, not when a customer answers.
enum RegexCheck {
    static func isValid(_ pattern: String) -> Bool {
        (try? NSRegularExpression(pattern: pattern)) != nil
    }
}
