import CSQLite
import Foundation

/// Sessions in one SQLite file, through the system's libsqlite3: the embedded default store of
/// `flow serve` (`--store sqlite:PATH`).
///
/// Design note: the database is in WAL mode with `synchronous=FULL`, so a transaction is on disk
/// when COMMIT returns (a step is acknowledged only after that). Writes go through one connection
/// with group commit: a writer queues its change; the first writer to find no commit running
/// becomes the leader and commits every change queued so far in one transaction (one WAL sync
/// for all of them), then wakes the others with their own results. A failed statement (a
/// duplicate id) fails only its own change; a failed COMMIT fails the whole group. Reads use a
/// small pool of connections of their own, which WAL lets run beside the writer. A busy timeout
/// covers another process holding the file (a second server on the same file works, slowly).
public final class SQLiteStore: SessionStore, @unchecked Sendable {
    public let path: String
    private let writer: Connection
    private let lock = NSCondition()
    private var queue: [Write] = []
    private var committing = false
    private var readers: [Connection] = []
    private var closed = false

    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        writer = try Connection(path: path, busyTimeout: busyTimeoutMilliseconds)
        try writer.exec("PRAGMA journal_mode=WAL")
        try writer.exec("PRAGMA synchronous=FULL")
        try writer.exec(
            """
            CREATE TABLE IF NOT EXISTS flow_sessions (
              id TEXT PRIMARY KEY NOT NULL,
              flow_file TEXT NOT NULL,
              state BLOB NOT NULL,
              version INTEGER NOT NULL,
              expires_at REAL NOT NULL
            )
            """)
        try writer.exec("CREATE INDEX IF NOT EXISTS flow_sessions_expiry ON flow_sessions (expires_at)")
    }

    deinit { close() }

    // MARK: - SessionStore

    public func create(_ session: StoredSession) throws {
        let result = try write(.create(session))
        if result == 0 { throw SessionStoreError(.duplicate, "a session with this id exists") }
    }

    public func load(id: String) throws -> StoredSession? {
        let c = try reader()
        defer { giveBack(c) }
        let s = try c.statement("SELECT flow_file, state, version, expires_at FROM flow_sessions WHERE id = ?1 AND expires_at > ?2")
        defer { s.reset() }
        s.bind(1, id)
        s.bind(2, Date().timeIntervalSince1970)
        guard try s.step() else { return nil }
        return StoredSession(id: id, flowFile: s.text(0), state: s.blob(1), version: s.int(2), expiresAt: s.double(3))
    }

    public func update(_ session: StoredSession, expected: Int) throws -> Bool {
        try write(.update(session, expected: expected)) > 0
    }

    public func delete(id: String) throws {
        _ = try write(.delete(id))
    }

    public func removeExpired(now: Double) throws -> Int {
        try write(.removeExpired(now))
    }

    public func close() {
        lock.lock()
        while committing { lock.wait() }
        if closed {
            lock.unlock()
            return
        }
        closed = true
        let pool = readers
        readers = []
        lock.unlock()
        for c in pool { c.close() }
        writer.close()
    }

    // MARK: - Group commit

    private enum Change {
        case create(StoredSession)
        case update(StoredSession, expected: Int)
        case delete(String)
        case removeExpired(Double)
    }

    private final class Write {
        let change: Change
        var done = false
        /// Set (under the lock) when this writer is to commit the queue next.
        var leads = false
        var rows = 0
        var error: SessionStoreError?
        /// Posted once: when the change is committed (or failed), or when the writer leads.
        let wake = DispatchSemaphore(value: 0)
        init(_ change: Change) { self.change = change }
    }

    /// Queues the change and returns the rows it changed once its transaction is committed.
    ///
    /// Each waiting writer is woken once, by its own semaphore: when its batch is committed, or
    /// when it is to lead the next one (the leader of a batch hands the queue that built up
    /// meanwhile to its oldest writer). A condition broadcast woke every waiting thread after
    /// each commit, most of them to wait again: on 2 cores, with 8 workers, that was a good part
    /// of a step's time in the scheduler.
    private func write(_ change: Change) throws -> Int {
        let w = Write(change)
        lock.lock()
        guard !closed else {
            lock.unlock()
            throw SessionStoreError(.io, "the session store is closed")
        }
        queue.append(w)
        if committing {
            lock.unlock()
            w.wake.wait()
            // Either done, or told to lead (with `committing` still true for us).
        } else {
            committing = true
            w.leads = true
            lock.unlock()
        }
        if w.leads {
            lock.lock()
            let batch = queue
            queue = []
            lock.unlock()
            commit(batch)
            lock.lock()
            var next: Write?
            if let first = queue.first {
                first.leads = true
                next = first
            } else {
                committing = false
                lock.broadcast()  // `close()` waits for `committing` to end
            }
            lock.unlock()
            for other in batch where other !== w { other.wake.signal() }
            next?.wake.signal()
        }
        if let error = w.error { throw error }
        return w.rows
    }

    /// Runs a group of changes in one transaction (on the writer connection, by one thread).
    private func commit(_ batch: [Write]) {
        do {
            try writer.exec("BEGIN IMMEDIATE")
        } catch {
            for w in batch {
                w.error = error as? SessionStoreError ?? SessionStoreError(.io, "\(error)")
                w.done = true
            }
            return
        }
        for w in batch {
            do {
                w.rows = try apply(w.change)
            } catch {
                w.error = error as? SessionStoreError ?? SessionStoreError(.io, "\(error)")
            }
        }
        do {
            try writer.exec("COMMIT")
        } catch {
            try? writer.exec("ROLLBACK")
            for w in batch where w.error == nil {
                w.error = error as? SessionStoreError ?? SessionStoreError(.io, "\(error)")
            }
        }
        for w in batch { w.done = true }
    }

    private func apply(_ change: Change) throws -> Int {
        switch change {
        case .create(let session):
            let s = try writer.statement(
                "INSERT OR IGNORE INTO flow_sessions (id, flow_file, state, version, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            defer { s.reset() }
            s.bind(1, session.id)
            s.bind(2, session.flowFile)
            s.bind(3, session.state)
            s.bind(4, session.version)
            s.bind(5, session.expiresAt)
            _ = try s.step()
            return writer.changes
        case .update(let session, let expected):
            let s = try writer.statement(
                "UPDATE flow_sessions SET state = ?2, version = ?3, expires_at = ?4, flow_file = ?5 WHERE id = ?1 AND version = ?6")
            defer { s.reset() }
            s.bind(1, session.id)
            s.bind(2, session.state)
            s.bind(3, session.version)
            s.bind(4, session.expiresAt)
            s.bind(5, session.flowFile)
            s.bind(6, expected)
            _ = try s.step()
            return writer.changes
        case .delete(let id):
            let s = try writer.statement("DELETE FROM flow_sessions WHERE id = ?1")
            defer { s.reset() }
            s.bind(1, id)
            _ = try s.step()
            return writer.changes
        case .removeExpired(let now):
            let s = try writer.statement("DELETE FROM flow_sessions WHERE expires_at <= ?1")
            defer { s.reset() }
            s.bind(1, now)
            _ = try s.step()
            return writer.changes
        }
    }

    // MARK: - Readers

    private func reader() throws -> Connection {
        lock.lock()
        if closed {
            lock.unlock()
            throw SessionStoreError(.io, "the session store is closed")
        }
        if let c = readers.popLast() {
            lock.unlock()
            return c
        }
        lock.unlock()
        return try Connection(path: path, busyTimeout: 5000)
    }

    private func giveBack(_ c: Connection) {
        lock.lock()
        if closed || readers.count >= 16 {
            lock.unlock()
            c.close()
            return
        }
        readers.append(c)
        lock.unlock()
    }
}

/// One sqlite3 connection and its prepared statements; used by one thread at a time.
final class Connection {
    private var db: OpaquePointer?
    private var statements: [String: Statement] = [:]

    init(path: String, busyTimeout: Int32) throws {
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, db != nil else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            db = nil
            throw SessionStoreError(.open, "cannot open the SQLite database '\(path)': \(message)")
        }
        sqlite3_busy_timeout(db, busyTimeout)
        sqlite3_extended_result_codes(db, 1)
    }

    func exec(_ sql: String) throws {
        guard let db else { throw SessionStoreError(.io, "the session store is closed") }
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(error)
            throw SessionStoreError(.io, "SQLite: \(message)")
        }
    }

    func statement(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        guard let db else { throw SessionStoreError(.io, "the session store is closed") }
        var handle: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &handle, nil) == SQLITE_OK, let handle else {
            throw SessionStoreError(.io, "SQLite: \(String(cString: sqlite3_errmsg(db)))")
        }
        let s = Statement(handle, db: db)
        statements[sql] = s
        return s
    }

    var changes: Int { db.map { Int(sqlite3_changes($0)) } ?? 0 }

    func close() {
        for s in statements.values { s.finalize() }
        statements = [:]
        if let db { sqlite3_close_v2(db) }
        db = nil
    }
}

/// SQLITE_TRANSIENT: SQLite copies what is bound.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class Statement {
    private var handle: OpaquePointer?
    private let db: OpaquePointer

    init(_ handle: OpaquePointer, db: OpaquePointer) {
        self.handle = handle
        self.db = db
    }

    func bind(_ i: Int32, _ text: String) { sqlite3_bind_text(handle, i, text, -1, transient) }
    func bind(_ i: Int32, _ value: Int) { sqlite3_bind_int64(handle, i, Int64(value)) }
    func bind(_ i: Int32, _ value: Double) { sqlite3_bind_double(handle, i, value) }
    func bind(_ i: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, i, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), transient)
        }
    }

    /// True when a row is there to read, false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw SessionStoreError(.io, "SQLite: \(String(cString: sqlite3_errmsg(db)))")
    }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: p)
    }
    func blob(_ column: Int32) -> Data {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return Data() }
        return Data(bytes: p, count: n)
    }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }
}
