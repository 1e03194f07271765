import Foundation

/// A run-time value. Numbers are exact decimals (Foundation's `Decimal`), never binary floating point.
public enum Value: Sendable, Equatable, Codable {
    case text(String)
    case number(Number)
    case bool(Bool)
    case null
    /// A calendar date as `yyyy-mm-dd`.
    case date(String)
    case list([Value])
    case object([String: Value])
}
