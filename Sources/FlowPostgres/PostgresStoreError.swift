import Foundation

/// What went wrong in the PostgreSQL store, with a message for the server's log (never for a
/// client of `flow serve`: the server maps any store error to a 5xx of its own).
///
/// Messages follow the project's voice (lowercase, no final period) and never hold the
/// password of the connection URL: every message libpq or the server gives is passed through
/// `Redactor` before it is kept, and the URL itself is never quoted (the host, port and
/// database stand for it).
public struct PostgresStoreError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Kind: String, Sendable {
        /// The URL cannot be read as a libpq connection URI or conninfo string.
        /// `postgres://flow@localhost:5432/flow?sslmode=sometimes`
        case badURL = "postgres.badURL"
        /// No connection could be made (server down, refused, wrong password, unknown database).
        case connect = "postgres.connect"
        /// The connection broke during a statement and a fresh one broke as well.
        case connectionLost = "postgres.connectionLost"
        /// A statement failed on the server (its SQLSTATE is in the message).
        case statement = "postgres.statement"
        /// `create` of an id the store already holds.
        case duplicateSession = "postgres.duplicateSession"
        /// Every pooled connection stayed busy for the whole wait.
        case poolTimeout = "postgres.poolTimeout"
        /// A call after `close()`.
        case closed = "postgres.closed"
        /// A row the store cannot read back (a column of an unexpected size or encoding).
        case corruptRow = "postgres.corruptRow"
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The stable id first, as the server logs it: `postgres.connect: cannot connect to …`.
    public var description: String { "\(kind.rawValue): \(message)" }
    public var errorDescription: String? { description }
}

/// Removes a connection URL's password from any text before it is kept in an error.
///
/// The password is taken from the URI's user info (`postgres://user:PASSWORD@host`), from a
/// `password=` query parameter, or from a `password=` pair of a key/value conninfo string, both
/// as written and percent-decoded. libpq's parse errors quote pieces of the URL (`invalid
/// percent-encoded token: "…"`), so every message is redacted, not only those of a failed login.
struct Redactor: Sendable {
    let secrets: [String]

    init(url: String) {
        var found: [String] = []
        if let schemeEnd = url.range(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            // libpq: the user info ends at the first '@' met before any '/'.
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.firstIndex(of: "@") {
                let userInfo = authority[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    found.append(String(userInfo[userInfo.index(after: colon)...]))
                }
            }
            if let query = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: query)...].split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if parts.count == 2, parts[0] == "password" { found.append(String(parts[1])) }
                }
            }
        } else if let range = url.range(of: "password") {
            // key=value form: `password=secret` or `password = 'a secret'`.
            var rest = url[range.upperBound...].drop(while: { $0 == " " })
            if rest.first == "=" {
                rest = rest.dropFirst().drop(while: { $0 == " " })
                if rest.first == "'" {
                    let body = rest.dropFirst()
                    found.append(String(body.prefix(while: { $0 != "'" })))
                } else {
                    found.append(String(rest.prefix(while: { $0 != " " })))
                }
            }
        }
        var secrets: [String] = []
        for secret in found where !secret.isEmpty {
            secrets.append(secret)
            if let decoded = secret.removingPercentEncoding, decoded != secret, !decoded.isEmpty {
                secrets.append(decoded)
            }
        }
        // Longest first, so a password that holds another is removed whole.
        self.secrets = secrets.sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        var text = text
        for secret in secrets { text = text.replacingOccurrences(of: secret, with: "***") }
        return text
    }
}
