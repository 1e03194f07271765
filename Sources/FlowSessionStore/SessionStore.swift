import Foundation

/// One session as a store keeps it: an opaque state (the server's `SessionRecord` as JSON, kept
/// byte for byte), the flow file it runs, a version that goes up by one with every committed
/// change, and when it expires if nothing touches it (past it, `load` no longer finds the session
/// and `removeExpired` deletes it).
public struct StoredSession: Sendable, Equatable {
    /// The session's id: at least 128 random bits, the capability to drive the session.
    public var id: String
    /// The flow file the session runs (as given to `flow serve`).
    public var flowFile: String
    public var state: Data
    public var version: Int
    /// Unix seconds.
    public var expiresAt: Double

    public init(id: String, flowFile: String, state: Data, version: Int, expiresAt: Double) {
        self.id = id
        self.flowFile = flowFile
        self.state = state
        self.version = version
        self.expiresAt = expiresAt
    }
}

/// Where `flow serve` keeps its sessions between requests: FlowServer's `SQLiteStore` and
/// FlowPostgres's `PostgresStore`.
///
/// Contract: a method returns only once what it did is durable (committed and synced), because
/// the server acknowledges a step only after `update` returns true. `update` is a compare-and-set
/// on the version, so two requests racing on one session (two servers over one database, a
/// double-clicked submit) cannot both win. Methods are called from several threads at once.
public protocol SessionStore: AnyObject, Sendable {
    /// Throws `SessionStoreError.duplicate` when the id is taken.
    func create(_ session: StoredSession) throws
    func load(id: String) throws -> StoredSession?  // nil when absent or expired
    /// Commits only if the stored version is still `expected`; false when another writer won.
    func update(_ session: StoredSession, expected: Int) throws -> Bool
    func delete(id: String) throws
    func removeExpired(now: Double) throws -> Int
    func close()
}

/// What FlowServer's stores fail with (`PostgresStore` throws its own `PostgresStoreError`,
/// with a stable id). The message is for the server's log, never for a client.
public struct SessionStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case open, duplicate, io }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
