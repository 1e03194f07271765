import Foundation

/// One session as the store keeps it: the same fields as `FlowServer`'s `StoredSession`, which
/// the integrator unifies with this type.
///
/// - `id`: the session's id (the capability to drive it), the primary key.
/// - `flowFile`: the flow file the session runs.
/// - `state`: the session's encoded state, opaque to the store and kept byte for byte.
/// - `version`: raised by the server on every committed step; `update` checks it.
/// - `expiresAt`: Unix seconds; past it, `load` no longer finds the session and
///   `removeExpired` deletes it.
public struct PostgresStoredSession: Sendable, Equatable {
    public var id: String
    public var flowFile: String
    public var state: Data
    public var version: Int
    public var expiresAt: Double

    public init(id: String, flowFile: String, state: Data, version: Int, expiresAt: Double) {
        self.id = id
        self.flowFile = flowFile
        self.state = state
        self.version = version
        self.expiresAt = expiresAt
    }
}
