import Foundation

/// Up to `limit` connections shared by the threads of one process.
///
/// A thread borrows a connection for one store call and gives it back; no two threads ever hold
/// the same connection. Connections are made lazily, up to the limit. Past it, threads wait in
/// line, first come first served: a connection given back goes straight to the longest waiter
/// (a free-for-all wake-up let some threads wait far longer than others: the p99 of the
/// benchmark). A thread waits at most `wait` seconds, then gets `postgres.poolTimeout`.
///
/// A connection that broke is never given back: the pool forgets it and, since a broken
/// connection usually means the server restarted or a proxy cut them all, drops the idle ones
/// too; a waiter is then allowed to open a new one.
final class ConnectionPool: @unchecked Sendable {
    private let url: String
    private let redactor: Redactor
    private let limit: Int
    private let wait: TimeInterval
    private let lock = NSLock()
    private var idle: [Connection] = []
    private var open = 0
    private var closed = false
    private var line: [Waiter] = []

    /// A thread in line, woken by its own semaphore with what it was granted.
    private final class Waiter: @unchecked Sendable {
        enum Grant {
            case connection(Connection)
            case open
            case closed
        }
        let semaphore = DispatchSemaphore(value: 0)
        var grant: Grant?
    }

    init(url: String, redactor: Redactor, limit: Int, wait: TimeInterval) {
        self.url = url
        self.redactor = redactor
        self.limit = max(1, limit)
        self.wait = wait
    }

    /// A connection for the caller alone: an idle one, a new one, or one handed over in turn.
    func borrow() throws -> Connection {
        lock.lock()
        if closed {
            lock.unlock()
            throw PostgresStoreError(.closed, "the PostgreSQL store is closed")
        }
        if line.isEmpty, let connection = idle.popLast() {
            lock.unlock()
            return connection
        }
        if line.isEmpty, open < limit {
            open += 1
            lock.unlock()
            return try connect()
        }
        let waiter = Waiter()
        line.append(waiter)
        lock.unlock()

        if waiter.semaphore.wait(timeout: .now() + wait) == .timedOut {
            lock.lock()
            if waiter.grant == nil {
                line.removeAll { $0 === waiter }
                lock.unlock()
                throw PostgresStoreError(
                    .poolTimeout, "no PostgreSQL connection came free within \(Int(wait)) s (\(limit) in use)")
            }
            lock.unlock()
            // Granted just as the wait ran out: the semaphore was signalled, take it below.
            waiter.semaphore.wait()
        }
        switch waiter.grant! {
        case .connection(let connection): return connection
        case .open: return try connect()
        case .closed: throw PostgresStoreError(.closed, "the PostgreSQL store is closed")
        }
    }

    /// Takes back a connection that is still good: to the first in line, else to the idle ones.
    func giveBack(_ connection: Connection) {
        lock.lock()
        defer { lock.unlock() }
        if closed || !connection.isUsable {
            open -= 1
            admitWaiters()
            return
        }
        if !line.isEmpty {
            let waiter = line.removeFirst()
            waiter.grant = .connection(connection)
            waiter.semaphore.signal()
        } else {
            idle.append(connection)
        }
    }

    /// Forgets a connection that broke, and the idle ones with it (they are closed here).
    func discard(_ connection: Connection) {
        lock.lock()
        defer { lock.unlock() }
        open -= 1 + idle.count
        idle.removeAll()
        admitWaiters()
    }

    /// Closes the idle connections and refuses new borrowers; a borrowed one closes when it
    /// comes back.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        open -= idle.count
        idle.removeAll()
        for waiter in line {
            waiter.grant = .closed
            waiter.semaphore.signal()
        }
        line.removeAll()
    }

    /// Lets waiters open connections while there is room (the lock is held).
    private func admitWaiters() {
        while open < limit, !closed, !line.isEmpty {
            let waiter = line.removeFirst()
            open += 1
            waiter.grant = .open
            waiter.semaphore.signal()
        }
    }

    /// A new connection, counted in `open` already; the count is given back when it fails.
    private func connect() throws -> Connection {
        do {
            return try Connection(url: url, redactor: redactor)
        } catch {
            lock.lock()
            open -= 1
            admitWaiters()
            lock.unlock()
            throw error
        }
    }
}
