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
    /// Responses shown on the way to an IP call in flight (not yet in a view).
    var pendingResponses: [String]
    var finished: Bool

    /// An IP call recorded in flight (`SessionState.effects`) is one the server was making when
    /// the record was committed: a crash left it unanswered. (An extension in flight is one the
    /// client is asked to run.)
    var callInFlight: Bool { state.effects.inFlight?.kind == "ip" }

    static let maxConversation = 500

    mutating func add(_ responses: [String]) {
        conversation += responses
        if conversation.count > Self.maxConversation { conversation.removeFirst(conversation.count - Self.maxConversation) }
    }

    /// The stored form: `flow-session 1\n`, the view's length in bytes and a newline, the view
    /// (JSON text kept as it is, not escaped into a JSON string: it is the largest part), then
    /// the rest of the record as JSON.
    func encoded() -> Data {
        var rest = self
        rest.view = ""
        // Encoding a value of our own types cannot fail.
        let json = (try? Self.encoder.encode(rest)) ?? Data()
        let viewBytes = Data(view.utf8)
        var data = Data("flow-session 1\n\(viewBytes.count)\n".utf8)
        data.reserveCapacity(data.count + viewBytes.count + json.count)
        data.append(viewBytes)
        data.append(json)
        return data
    }

    static func decode(_ data: Data) -> SessionRecord? {
        let magic = Data("flow-session 1\n".utf8)
        guard data.count > magic.count, data.prefix(magic.count) == magic else { return nil }
        var index = data.startIndex + magic.count
        var length = 0
        while index < data.endIndex, data[index] != 10 {
            guard data[index] >= 48 && data[index] <= 57, length < 100_000_000 else { return nil }
            length = length * 10 + Int(data[index] - 48)
            index += 1
        }
        index += 1
        guard index + length <= data.endIndex else { return nil }
        let view = String(decoding: data[index..<(index + length)], as: UTF8.self)
        guard var record = try? JSONDecoder().decode(SessionRecord.self, from: data[(index + length)...]) else { return nil }
        record.view = view
        return record
    }

    private static let encoder: JSONEncoder = JSONEncoder()
}

/// Session ids: random bytes from the system's generator (getrandom, /dev/urandom).
enum RandomID {
    /// 192 bits, base64url without padding: 32 characters.
    static func session() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<3 { withUnsafeBytes(of: g.next() as UInt64) { bytes += $0 } }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// Whether a path segment can be a session id at all (checked before the store is asked).
    static func isWellFormed(_ id: Substring) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95
        }
    }
}
