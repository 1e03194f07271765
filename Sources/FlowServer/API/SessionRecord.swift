import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
    /// Who is making the IP call in flight (nil in records from before claims, and when no call
    /// is in flight): another request for the session resumes the call only once that one can no
    /// longer be waiting for it (`CallClaim.isLive`).
    var claim: CallClaim?

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
    /// the rest of the record as JSON, with `"view":""`.
    ///
    /// The JSON is written by hand (`SessionStateJSON`), not by `JSONEncoder` (which was the
    /// largest cost of a step); it is what the synthesized `Codable` describes, so `decode`
    /// (JSONDecoder) reads it and records written by `JSONEncoder` before alike.
    func encoded() -> Data {
        let viewBytes = Array(view.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(viewBytes.count + 2048)
        out.append(contentsOf: "flow-session 1\n\(viewBytes.count)\n".utf8)
        out.append(contentsOf: viewBytes)
        Self.appendJSON(of: self, to: &out)
        return Data(out)
    }

    /// The record without its view, as JSON: every field of the record (a field added to it needs
    /// a line here; `SessionRecordCodingTests` compares this with JSONEncoder's JSON).
    static func appendJSON(of record: SessionRecord, to out: inout [UInt8]) {
        func texts(_ list: [String]) {
            out.append(91)
            for (k, t) in list.enumerated() {
                if k > 0 { out.append(44) }
                SessionStateJSON.appendString(t, to: &out)
            }
            out.append(93)
        }
        out.append(contentsOf: "{\"flow\":".utf8)
        SessionStateJSON.appendString(record.flow, to: &out)
        out.append(contentsOf: ",\"fingerprint\":".utf8)
        SessionStateJSON.appendString(record.fingerprint, to: &out)
        out.append(contentsOf: ",\"state\":".utf8)
        SessionStateJSON.append(record.state, to: &out)
        out.append(contentsOf: ",\"view\":\"\",\"conversation\":".utf8)
        texts(record.conversation)
        out.append(contentsOf: ",\"pendingResponses\":".utf8)
        texts(record.pendingResponses)
        out.append(contentsOf: (record.finished ? ",\"finished\":true" : ",\"finished\":false").utf8)
        if let claim = record.claim {
            out.append(contentsOf: ",\"claim\":{\"host\":".utf8)
            SessionStateJSON.appendString(claim.host, to: &out)
            out.append(contentsOf: ",\"pid\":\(claim.pid),\"started\":".utf8)
            SessionStateJSON.appendString(claim.started, to: &out)
            // Swift's shortest text that reads back as the same Double.
            out.append(contentsOf: ",\"since\":\(claim.since.isFinite ? claim.since : 0)}".utf8)
        }
        out.append(125)
    }

    /// The stored form as Foundation's `JSONEncoder` wrote it (before the hand-written JSON):
    /// kept for the tests that prove old records still load.
    func encodedWithJSONEncoder() -> Data {
        var rest = self
        rest.view = ""
        let json = (try? JSONEncoder().encode(rest)) ?? Data()
        let viewBytes = Data(view.utf8)
        var data = Data("flow-session 1\n\(viewBytes.count)\n".utf8)
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
}

/// The process making a session's IP call, recorded with the call in flight. A call whose
/// process is still waiting for it is not sent again by another request (a double-clicked submit,
/// a client reconnecting to another server): the gateway might answer the second with an error
/// (Stripe answers a request whose idempotency key is still in progress with 409), which the flow
/// would take as the charge failing while it succeeds.
struct CallClaim: Codable, Equatable {
    var host: String
    var pid: Int32
    /// The process's start time (`/proc/<pid>/stat`, field 22), so a reused pid is not taken for it.
    var started: String
    /// Unix seconds when the call was claimed.
    var since: Double

    /// This process, now.
    static func mine() -> CallClaim {
        CallClaim(host: Self.host, pid: getpid(), started: Self.myStart, since: Date().timeIntervalSince1970)
    }

    private static let myStart = startTime(of: getpid()) ?? ""

    static let host: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count) == 0 else { return "" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Whether the claiming process may still be waiting for the call: this very process while
    /// `busyHere`; another for at most `lease` seconds from the claim, and on this host only
    /// while it runs (so a server killed during a call has it resumed at once by the next request).
    func isLive(lease: Double, busyHere: (() -> Bool)) -> Bool {
        if host == Self.host && pid == getpid() && started == Self.myStart { return busyHere() }
        guard Date().timeIntervalSince1970 < since + lease else { return false }
        guard host == Self.host else { return true }
        return Self.startTime(of: pid).map { $0 == started } ?? false
    }

    private static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3 (Z or X: it has ended), starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return String(fields[19])
    }
}

/// Session ids: random bytes from the system's generator (getrandom, /dev/urandom).
enum RandomID {
    /// 192 bits, base64url without padding: 32 characters.
    static func session() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        for _ in 0..<3 { withUnsafeBytes(of: g.next() as UInt64) { bytes += $0 } }
        return base64URL(bytes)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url (RFC 4648 section 5) of a multiple of 3 bytes: no padding. (Foundation's base64
    /// and two `replacingOccurrences` cost more than the rest of making a session id.)
    static func base64URL(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 3 == 0)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            out.append(alphabet[n >> 18 & 63])
            out.append(alphabet[n >> 12 & 63])
            out.append(alphabet[n >> 6 & 63])
            out.append(alphabet[n & 63])
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a path segment can be a session id at all (checked before the store is asked).
    static func isWellFormed(_ id: Substring) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95
        }
    }
}
