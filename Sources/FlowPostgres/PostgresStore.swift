import Foundation

// The session value and the protocol this store implements, shared with FlowServer.
@_exported import FlowSessionStore

/// The sessions of `flow serve` in PostgreSQL, for several server processes (on one machine or
/// many) sharing them: any process can take any request for any session.
///
/// Design note.
/// - **One table**, `flow_sessions (id text primary key, flow_file text, state bytea, version
///   bigint, expires_at double precision, write_id bytea)` with an index on `expires_at`. `init`
///   creates it when absent, inside a transaction that first takes a transaction-scoped advisory
///   lock, so two processes starting at once on an empty database do not race on the catalogue
///   (`CREATE TABLE IF NOT EXISTS` alone can fail with a unique violation when two run at once).
///   The URL chooses the database and, with libpq's `options=-csearch_path%3D…`, the schema.
/// - **Optimistic concurrency in one statement.** `update` is a single
///   `UPDATE … WHERE id = $1 AND version = $2`: PostgreSQL locks the row, and a second writer
///   that expected the same version re-reads it after the first commits, finds the version
///   changed and updates nothing. Of two servers stepping one session at once exactly one wins;
///   the other gets `false` and answers its client with the current step (409).
/// - **Values only as parameters**: every statement goes through `PQexecParams`, values in
///   binary (`state` as `bytea`, byte for byte). The SQL text is constant.
/// - **Threads**: a pool of connections (`maxConnections`, made lazily); a call borrows one for
///   its statement. The store is safe to share between threads.
/// - **A dropped connection** (the server restarted, `pg_terminate_backend`, a proxy's idle
///   timeout) is replaced and the call retried once. A retried write may find that its first
///   attempt committed after all (the reply was lost, not the statement): every write stores a
///   random `write_id`, and a retry that finds its own id in the row knows it won. So a lost
///   reply never turns a won `update` into a reported conflict, nor a `create` into a duplicate.
///   (Should yet another writer step the session between the lost reply and the retry, the retry
///   sees that writer's id and reports a conflict: the server answers 409 with the current step,
///   which is the safe side; nothing is applied twice.)
/// - **Expiry** compares `expires_at` with the caller's clock (`load` with the current time,
///   `removeExpired` with the time given): the servers' clocks, not the database's, as for the
///   SQLite store.
/// - **Errors** are `PostgresStoreError`, never holding the URL's password.
public final class PostgresStore: SessionStore, @unchecked Sendable {
    /// The table; constant SQL, so never built from input.
    static let table = "flow_sessions"

    private let pool: ConnectionPool

    /// Connects to `url` (a libpq URI, `postgres://user:password@host:port/database?…`, or a
    /// conninfo string) and creates the table when absent. Throws `PostgresStoreError` when the
    /// URL cannot be read or the database cannot be reached.
    public convenience init(url: String) throws {
        try self.init(url: url, maxConnections: 16)
    }

    /// As `init(url:)`, with at most `maxConnections` connections open at once; a call that
    /// finds them all busy waits up to `poolWait` seconds for one.
    public init(url: String, maxConnections: Int, poolWait: TimeInterval = 30) throws {
        pool = ConnectionPool(url: url, redactor: Redactor(url: url), limit: maxConnections, wait: poolWait)
        try createSchema()
    }

    /// Stores a new session. Throws `postgres.duplicateSession` when its id is taken.
    public func create(_ session: StoredSession) throws {
        let token = Self.writeID()
        try run("store a new session") { connection, attempt in
            do {
                _ = try connection.execute(
                    """
                    INSERT INTO flow_sessions (id, flow_file, state, version, expires_at, write_id)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """,
                    [.text(session.id), .text(session.flowFile), .bytes(session.state),
                     .int8(Int64(session.version)), .float8(session.expiresAt), .bytes(token)])
            } catch Connection.Failure.refused(sqlState: "23505", _) {
                // The first attempt's reply may have been lost after its row committed.
                if attempt > 0, try Self.lastWriter(of: session.id, on: connection) == token { return }
                throw PostgresStoreError(.duplicateSession, "a session with this id is already stored")
            }
        }
    }

    /// The session with `id`, or nil when there is none or it has expired.
    public func load(id: String) throws -> StoredSession? {
        let now = Date().timeIntervalSince1970
        return try run("load a session") { connection, _ in
            let outcome = try connection.execute(
                """
                SELECT id, flow_file, state, version, expires_at FROM flow_sessions
                WHERE id = $1 AND expires_at > $2
                """,
                [.text(id), .float8(now)])
            guard let row = outcome.rows.first else { return nil }
            guard row.count == 5, let id = Column.text(row[0]), let flowFile = Column.text(row[1]),
                let state = row[2], let version = Column.int8(row[3]), let expiresAt = Column.float8(row[4])
            else { throw PostgresStoreError(.corruptRow, "a stored session has a column the store cannot read") }
            return StoredSession(
                id: id, flowFile: flowFile, state: Data(state), version: Int(version), expiresAt: expiresAt)
        }
    }

    /// Replaces the stored session with `session` if its stored version is still `expected`, in
    /// one statement; false (and nothing written) when another writer got there first, or the
    /// session is gone.
    public func update(_ session: StoredSession, expected: Int) throws -> Bool {
        let token = Self.writeID()
        return try run("update a session") { connection, attempt in
            let outcome = try connection.execute(
                """
                UPDATE flow_sessions
                SET flow_file = $3, state = $4, version = $5, expires_at = $6, write_id = $7
                WHERE id = $1 AND version = $2
                """,
                [.text(session.id), .int8(Int64(expected)), .text(session.flowFile), .bytes(session.state),
                 .int8(Int64(session.version)), .float8(session.expiresAt), .bytes(token)])
            if outcome.affected == 1 { return true }
            // A retry that finds nothing to update may be looking at its own first attempt.
            if attempt > 0 { return try Self.lastWriter(of: session.id, on: connection) == token }
            return false
        }
    }

    /// Removes the session with `id` (nothing happens when there is none).
    public func delete(id: String) throws {
        try run("delete a session") { connection, _ in
            _ = try connection.execute("DELETE FROM flow_sessions WHERE id = $1", [.text(id)])
        }
    }

    /// Removes every session that expired at or before `now` (Unix seconds); how many it removed.
    /// (After a dropped connection and a retry, the count leaves out what the lost attempt removed.)
    public func removeExpired(now: Double) throws -> Int {
        try run("remove expired sessions") { connection, _ in
            try connection.execute("DELETE FROM flow_sessions WHERE expires_at <= $1", [.float8(now)]).affected
        }
    }

    /// Closes the connections; later calls throw `postgres.closed`. A call in flight finishes.
    public func close() {
        pool.close()
    }

    // MARK: Running statements

    /// Runs `body` on a pooled connection; when the connection broke, once more on a fresh one
    /// (`attempt` 1), which must allow for the first attempt having committed.
    private func run<T>(_ what: String, _ body: (Connection, Int) throws -> T) throws -> T {
        for attempt in 0..<2 {
            let connection = try pool.borrow()
            do {
                let value = try body(connection, attempt)
                pool.giveBack(connection)
                return value
            } catch Connection.Failure.lost(let message) {
                pool.discard(connection)
                if attempt == 1 {
                    throw PostgresStoreError(
                        .connectionLost, "lost the connection to PostgreSQL twice trying to \(what): \(message)")
                }
            } catch Connection.Failure.refused(let sqlState, let message) {
                pool.giveBack(connection)
                throw PostgresStoreError(.statement, "PostgreSQL refused to \(what): \(message) (SQLSTATE \(sqlState))")
            } catch {
                pool.giveBack(connection)
                throw error
            }
        }
        preconditionFailure("run returns or throws within two attempts")
    }

    /// Creates the table and its index when absent. The advisory lock (a constant key, 'flow' in
    /// ASCII) makes concurrent starts take turns; it is released with the transaction.
    private func createSchema() throws {
        try run("create the sessions table") { connection, _ in
            do {
                try connection.execute(
                    script: """
                    BEGIN;
                    SELECT pg_advisory_xact_lock(1718382455);
                    CREATE TABLE IF NOT EXISTS flow_sessions (
                        id text PRIMARY KEY,
                        flow_file text NOT NULL,
                        state bytea NOT NULL,
                        version bigint NOT NULL,
                        expires_at double precision NOT NULL,
                        write_id bytea NOT NULL
                    );
                    CREATE INDEX IF NOT EXISTS flow_sessions_expires_at ON flow_sessions (expires_at);
                    COMMIT;
                    """)
            } catch {
                // A failed statement leaves the transaction aborted; end it before the
                // connection goes back to the pool.
                try? connection.execute(script: "ROLLBACK")
                throw error
            }
        }
    }

    /// The `write_id` of the stored row with `id` (nil when there is none).
    private static func lastWriter(of id: String, on connection: Connection) throws(Connection.Failure) -> Data? {
        let outcome = try connection.execute("SELECT write_id FROM flow_sessions WHERE id = $1", [.text(id)])
        return outcome.rows.first?.first.flatMap { $0.map { Data($0) } }
    }

    /// 128 random bits naming one write.
    private static func writeID() -> Data {
        var generator = SystemRandomNumberGenerator()
        var bytes = Data(count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        return bytes
    }
}
