import Foundation

/// Up to `limit` connections shared by the threads of one process.
///
/// A thread borrows a connection for one store call and gives it back; no two threads ever hold
/// the same connection. Connections are made lazily, up to the limit; past it a thread waits for
/// one to come back (at most `wait` seconds, then `postgres.poolTimeout`). A connection that
/// broke is never given back: the pool forgets it and, because a broken connection usually means
/// the server restarted or a proxy cut them all, drops the idle ones too.
final class ConnectionPool: @unchecked Sendable {
    private let url: String
    private let redactor: Redactor
    private let limit: Int
    private let wait: TimeInterval
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var open = 0
    private var closed = false

    init(url: String, redactor: Redactor, limit: Int, wait: TimeInterval) {
        self.url = url
        self.redactor = redactor
        self.limit = max(1, limit)
        self.wait = wait
    }

    /// A connection for the caller alone: an idle one, a new one, or the first to come back.
    func borrow() throws -> Connection {
        condition.lock()
        let deadline = Date().addingTimeInterval(wait)
        while true {
            if closed {
                condition.unlock()
                throw PostgresStoreError(.closed, "the PostgreSQL store is closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                return connection
            }
            if open < limit {
                open += 1
                condition.unlock()
                do {
                    return try Connection(url: url, redactor: redactor)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw PostgresStoreError(
                    .poolTimeout, "no PostgreSQL connection came free within \(Int(wait)) s (\(limit) in use)")
            }
        }
    }

    /// Takes back a connection that is still good.
    func giveBack(_ connection: Connection) {
        condition.lock()
        if closed || !connection.isUsable {
            open -= 1
        } else {
            idle.append(connection)
        }
        condition.signal()
        condition.unlock()
    }

    /// Forgets a connection that broke, and the idle ones with it (they are closed here).
    func discard(_ connection: Connection) {
        condition.lock()
        open -= 1 + idle.count
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the idle connections and refuses new borrowers; a borrowed one closes when it
    /// comes back.
    func close() {
        condition.lock()
        closed = true
        open -= idle.count
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
