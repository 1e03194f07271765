import FlowKit
import Foundation

/// What the server keeps of a session between requests (the `state` of a `StoredSession`, as
/// JSON): FlowKit's `SessionState` and what the client was last told.
struct SessionRecord: Codable {
    /// The flow started (by name).
    var flow: String
    /// `ServedFile.fingerprint` of the file when the session started.
    var fingerprint: String
    var state: SessionState
    /// The last answer's view, a JSON fragment (see `View`), served again by GET and with a 409.
    var view: String
    /// Every response shown so far, oldest first (at most `maxConversation`).
    var conversation: [String]
    /// An IP call sent and not yet answered: recorded before it is sent, cleared with its result.
    var inFlight: InFlightCall?
    /// Responses shown on the way to the call in flight (not yet in a view).
    var pendingResponses: [String]
    /// Random, for idempotency keys (`<prefix>-<n>`): never the session id, which is the
    /// capability to drive the session and must not reach a gateway.
    var keyPrefix: String
    /// IP calls made so far.
    var calls: Int
    var finished: Bool

    static let maxConversation = 500

    mutating func add(_ responses: [String]) {
        conversation += responses
        if conversation.count > Self.maxConversation { conversation.removeFirst(conversation.count - Self.maxConversation) }
    }

    func encoded() -> Data {
        // Encoding a value of our own types cannot fail.
        (try? Self.encoder.encode(self)) ?? Data()
    }

    static func decode(_ data: Data) -> SessionRecord? {
        try? JSONDecoder().decode(SessionRecord.self, from: data)
    }

    private static let encoder: JSONEncoder = JSONEncoder()
}

struct InFlightCall: Codable {
    /// The IP's index in the program, and its name (for the log).
    var ip: Int
    var name: String
    /// Sent as `Idempotency-Key`; the same key when the call is sent again after a crash.
    var key: String
}

/// Session ids and keys: random bytes from the system's generator (getrandom, /dev/urandom).
enum RandomID {
    /// 192 bits, base64url without padding: 32 characters.
    static func session() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<3 { withUnsafeBytes(of: g.next() as UInt64) { bytes += $0 } }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// 128 bits, hex.
    static func key() -> String {
        var g = SystemRandomNumberGenerator()
        return [g.next() as UInt64, g.next() as UInt64].map { n in
            let h = String(n, radix: 16)
            return String(repeating: "0", count: 16 - h.count) + h
        }.joined()
    }

    /// Whether a path segment can be a session id at all (checked before the store is asked).
    static func isWellFormed(_ id: Substring) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95
        }
    }
}
