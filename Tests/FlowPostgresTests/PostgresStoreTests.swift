import Foundation
import XCTest

@testable import FlowPostgres

/// The PostgreSQL session store against a real server (see `PostgresServer`), each test in a
/// database of its own.
final class PostgresStoreTests: XCTestCase {
    private var server: PostgresServer!
    private var url = ""

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        url = try server.freshDatabase()
    }

    private func session(_ id: String = UUID().uuidString, version: Int = 1, state: String = "state",
                         expiresIn: Double = 3600) -> StoredSession {
        StoredSession(
            id: id, flowFile: "flows/payment.flow", state: Data(state.utf8), version: version,
            expiresAt: Date().timeIntervalSince1970 + expiresIn)
    }

    // MARK: The operations

    func testCreateLoadUpdateDelete() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        let first = session("s1")
        try store.create(first)
        XCTAssertEqual(try store.load(id: "s1"), first)
        XCTAssertNil(try store.load(id: "s2"), "an id never stored")

        var second = first
        second.version = 2
        second.state = Data("after the first step".utf8)
        second.expiresAt += 60
        second.flowFile = "flows/other.flow"
        XCTAssertTrue(try store.update(second, expected: 1))
        XCTAssertEqual(try store.load(id: "s1"), second)

        var stale = first
        stale.version = 2
        stale.state = Data("a stale writer".utf8)
        XCTAssertFalse(try store.update(stale, expected: 1), "the stored version is 2 now")
        XCTAssertEqual(try store.load(id: "s1"), second, "a refused update writes nothing")

        try store.delete(id: "s1")
        XCTAssertNil(try store.load(id: "s1"))
        try store.delete(id: "s1")  // nothing to delete is not an error
        XCTAssertFalse(try store.update(second, expected: 2), "a deleted session cannot be updated")
    }

    func testCreatingAnIdTwiceIsRefused() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        try store.create(session("dup"))
        XCTAssertThrowsError(try store.create(session("dup", state: "other"))) { error in
            XCTAssertEqual((error as? PostgresStoreError)?.kind, .duplicateSession, "\(error)")
        }
        XCTAssertEqual(try store.load(id: "dup")?.state, Data("state".utf8), "the first one stays")
    }

    func testExpiredSessionsAreHiddenThenRemoved() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        let now = Date().timeIntervalSince1970
        try store.create(session("old", expiresIn: -10))
        try store.create(session("older", expiresIn: -1000))
        try store.create(session("fresh", expiresIn: 3600))
        XCTAssertNil(try store.load(id: "old"), "expired sessions are not loaded")
        XCTAssertNil(try store.load(id: "older"))
        XCTAssertNotNil(try store.load(id: "fresh"))

        XCTAssertEqual(try store.removeExpired(now: now - 500), 1, "only 'older' had expired by then")
        XCTAssertEqual(try store.removeExpired(now: now), 1)
        XCTAssertEqual(try store.removeExpired(now: now), 0)
        let left = try server.execute(
            "SELECT id FROM flow_sessions ORDER BY id", database: PostgresServer.database(of: url))
        XCTAssertEqual(left.rows.compactMap { Column.text($0[0]) }, ["fresh"])
        XCTAssertEqual(try store.removeExpired(now: now + 7200), 1, "'fresh' expires within two hours")
    }

    func testStateBytesRoundTripExactly() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        var every = Data((0...255).map { UInt8($0) })
        every.append(contentsOf: (0...255).reversed().map { UInt8($0) })
        var generator = SystemRandomNumberGenerator()
        let large = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let cases: [(String, Data)] = [("every", every), ("empty", Data()), ("nul", Data([0])), ("large", large)]
        for (id, state) in cases {
            var stored = session(id)
            stored.state = state
            try store.create(stored)
            XCTAssertEqual(try store.load(id: id)?.state, state, id)
            stored.version = 2
            stored.state = Data(state.reversed())
            XCTAssertTrue(try store.update(stored, expected: 1))
            XCTAssertEqual(try store.load(id: id)?.state, Data(state.reversed()), id)
        }
        // The server holds the bytes themselves (compared there, as bytea), not an escaped form.
        let same = try server.execute(
            "SELECT length(state)::bigint, state = $2 FROM flow_sessions WHERE id = $1",
            [.text("every"), .bytes(Data(every.reversed()))], database: PostgresServer.database(of: url))
        XCTAssertEqual(Column.int8(same.rows.first?[0]), 512)
        XCTAssertEqual(same.rows.first?[1], [1])
    }

    func testValuesAreNeverReadAsSQL() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        let id = "x'); DROP TABLE flow_sessions; --"
        let hostile = StoredSession(
            id: id, flowFile: "flöws/päyment $1 '\\x00'.flow", state: Data("'; DELETE FROM flow_sessions; --".utf8),
            version: 1, expiresAt: Date().timeIntervalSince1970 + 60)
        try store.create(hostile)
        XCTAssertEqual(try store.load(id: id), hostile)
        XCTAssertNil(try store.load(id: "' OR '1'='1"))
        try store.delete(id: "' OR '1'='1")
        XCTAssertEqual(try store.load(id: id), hostile, "the table and the row are still there")
    }

    func testAStoreRefusesCallsOnceClosed() throws {
        let store = try PostgresStore(url: url)
        store.close()
        XCTAssertThrowsError(try store.load(id: "any")) { error in
            XCTAssertEqual((error as? PostgresStoreError)?.kind, .closed, "\(error)")
        }
    }

    // MARK: Concurrency

    /// Two stores (two connection pools, as two servers have) and eight threads update the same
    /// session from the same expected version, again and again: exactly one wins each round and
    /// the stored state is the winner's.
    func testOfConcurrentUpdatesFromOneVersionExactlyOneWins() throws {
        let stores = [try PostgresStore(url: url, maxConnections: 4), try PostgresStore(url: url, maxConnections: 4)]
        defer { stores.forEach { $0.close() } }
        try stores[0].create(session("contended", version: 0, state: "start"))
        let writers = 8
        let rounds = 150
        for round in 0..<rounds {
            let wins = Counter()
            let failures = Counter()
            let gate = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for writer in 0..<writers {
                let store = stores[writer % 2]
                var next = session("contended", version: round + 1, state: "round \(round) writer \(writer)")
                next.expiresAt = 4e9
                let update = next
                group.enter()
                Thread.detachNewThread {
                    gate.wait()
                    do {
                        if try store.update(update, expected: round) { wins.add(writer) }
                    } catch {
                        failures.add(writer)
                    }
                    group.leave()
                }
            }
            for _ in 0..<writers { gate.signal() }
            XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "round \(round) finished")
            XCTAssertEqual(failures.count, 0, "round \(round): no update failed")
            XCTAssertEqual(wins.count, 1, "round \(round): exactly one winner, not \(wins.values)")
            let stored = try XCTUnwrap(try stores[1].load(id: "contended"))
            XCTAssertEqual(stored.version, round + 1)
            XCTAssertEqual(String(decoding: stored.state, as: UTF8.self), "round \(round) writer \(wins.values.first ?? -1)")
            if wins.count != 1 { break }
        }
    }

    /// Read, change, write back, retrying on a conflict, as servers stepping one session do: 8
    /// threads over two stores each add 1 to a counter in the state 40 times; no increment is lost.
    func testReadModifyWriteLosesNoUpdate() throws {
        let stores = [try PostgresStore(url: url, maxConnections: 3), try PostgresStore(url: url, maxConnections: 3)]
        defer { stores.forEach { $0.close() } }
        try stores[0].create(session("counter", version: 0, state: "0"))
        let threads = 8
        let increments = 40
        let conflicts = Counter()
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let store = stores[thread % 2]
            for _ in 0..<increments {
                while true {
                    do {
                        guard var current = try store.load(id: "counter") else { failures.add(1); return }
                        let value = Int(String(decoding: current.state, as: UTF8.self)) ?? -1_000_000
                        let expected = current.version
                        current.version += 1
                        current.state = Data(String(value + 1).utf8)
                        if try store.update(current, expected: expected) { break }
                        conflicts.add(1)
                    } catch {
                        failures.add(1)
                        return
                    }
                }
            }
        }
        XCTAssertEqual(failures.count, 0)
        let final = try XCTUnwrap(try stores[1].load(id: "counter"))
        XCTAssertEqual(String(decoding: final.state, as: UTF8.self), String(threads * increments))
        XCTAssertEqual(final.version, threads * increments)
    }

    /// Several processes starting on an empty database at once all find the table made.
    func testStoresStartingAtOnceOnAnEmptyDatabaseAllSucceed() throws {
        for _ in 0..<5 {
            let fresh = try server.freshDatabase()
            let failures = Counter()
            let stores = Locked<[PostgresStore]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do {
                    let store = try PostgresStore(url: fresh, maxConnections: 1)
                    stores.update { $0.append(store) }
                } catch {
                    failures.add(1)
                    print("store start failed: \(error)")
                }
            }
            XCTAssertEqual(failures.count, 0)
            stores.update { $0.forEach { $0.close() } }
        }
    }

    // MARK: Connections

    /// pg_terminate_backend cuts every connection of the store (idle in its pool); the next calls
    /// reconnect and succeed, an update included (reported as won, not as a conflict).
    func testDroppedConnectionsAreReplaced() throws {
        let store = try PostgresStore(url: url, maxConnections: 4)
        defer { store.close() }
        try store.create(session("s"))
        let database = PostgresServer.database(of: url)
        for round in 1...3 {
            let cut = try terminateBackends(of: database)
            XCTAssertGreaterThan(cut, 0, "round \(round): the store had a connection to cut")
            var next = session("s", version: round + 1, state: "after cut \(round)")
            next.expiresAt = 4e9
            XCTAssertTrue(try store.update(next, expected: round), "round \(round)")
            _ = try terminateBackends(of: database)
            XCTAssertEqual(try store.load(id: "s")?.state, Data("after cut \(round)".utf8))
        }
    }

    /// The database restarts: every pooled connection is dead at once. The next calls reconnect.
    func testARestartOfTheDatabaseIsRidden() throws {
        let store = try PostgresStore(url: url, maxConnections: 4)
        defer { store.close() }
        try store.create(session("r", version: 1))
        // Four connections in the pool, all open when the server goes down.
        DispatchQueue.concurrentPerform(iterations: 8) { _ in _ = try? store.load(id: "r") }
        try server.restart()
        var next = session("r", version: 2, state: "after the restart")
        next.expiresAt = 4e9
        XCTAssertTrue(try store.update(next, expected: 1))
        XCTAssertEqual(try store.load(id: "r")?.state, Data("after the restart".utf8))
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do { _ = try store.load(id: "r") } catch { failures.add(1) }
        }
        XCTAssertEqual(failures.count, 0)
    }

    /// With every connection busy (its update waits on a row lock held elsewhere), another call
    /// waits its turn for the pool's wait and then fails with `postgres.poolTimeout`; once the
    /// lock goes, the blocked update finishes and the pool serves again.
    func testAFullPoolMakesCallersWaitThenTimesOut() throws {
        let store = try PostgresStore(url: url, maxConnections: 1, poolWait: 0.5)
        defer { store.close() }
        try store.create(session("busy", version: 1))
        let holder = try Connection(url: url, redactor: Redactor(url: url))
        try holder.execute(script: "BEGIN")
        _ = try holder.execute("SELECT version FROM flow_sessions WHERE id = $1 FOR UPDATE", [.text("busy")])
        let done = DispatchSemaphore(value: 0)
        let outcome = Locked<Result<Bool, Error>?>(nil)
        var next = session("busy", version: 2, state: "after the wait")
        next.expiresAt = 4e9
        let update = next
        Thread.detachNewThread {
            let result = Result { try store.update(update, expected: 1) }
            outcome.update { $0 = result }
            done.signal()
        }
        // Wait until the update holds the only connection, blocked on the lock.
        let database = PostgresServer.database(of: url)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let blocked = try server.execute(
                """
                SELECT pid FROM pg_stat_activity
                WHERE datname = $1 AND application_name = 'flow serve' AND wait_event_type = 'Lock'
                """, [.text(database)])
            if !blocked.rows.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let began = Date()
        XCTAssertThrowsError(try store.load(id: "busy")) { error in
            XCTAssertEqual((error as? PostgresStoreError)?.kind, .poolTimeout, "\(error)")
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(began), 0.45, "it waited for the pool")
        try holder.execute(script: "COMMIT")
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(try XCTUnwrap(outcome.value).get(), true)
        XCTAssertEqual(try store.load(id: "busy")?.state, Data("after the wait".utf8))
    }

    /// A connection cut while its update waits on a row lock: the update did not commit, the
    /// retry on a new connection does it once the lock is released, and reports the win.
    func testAnUpdateCutMidStatementIsRetried() throws {
        let store = try PostgresStore(url: url, maxConnections: 2)
        defer { store.close() }
        try store.create(session("locked", version: 1))
        let database = PostgresServer.database(of: url)
        let holder = try Connection(url: url, redactor: Redactor(url: url))
        try holder.execute(script: "BEGIN")
        _ = try holder.execute("SELECT version FROM flow_sessions WHERE id = $1 FOR UPDATE", [.text("locked")])

        let outcome = Locked<Result<Bool, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        var next = session("locked", version: 2, state: "written once")
        next.expiresAt = 4e9
        let update = next
        Thread.detachNewThread {
            let result = Result { try store.update(update, expected: 1) }
            outcome.update { $0 = result }
            done.signal()
        }
        // Wait until the update is blocked on the lock, then cut its connection.
        let deadline = Date().addingTimeInterval(20)
        var cut = 0
        while cut == 0 && Date() < deadline {
            let waiting = try server.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = $1 AND application_name = 'flow serve' AND wait_event_type = 'Lock'
                """, [.text(database)])
            cut = waiting.rows.count
            if cut == 0 { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertEqual(cut, 1, "the blocked update's connection was cut")
        Thread.sleep(forTimeInterval: 0.3)
        try holder.execute(script: "COMMIT")
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let result = try XCTUnwrap(outcome.value)
        XCTAssertEqual(try result.get(), true)
        let stored = try XCTUnwrap(try store.load(id: "locked"))
        XCTAssertEqual(stored.version, 2)
        XCTAssertEqual(stored.state, Data("written once".utf8))
    }

    /// The reply to a committed update is lost on the way (a relay drops the connection after the
    /// server answered): the retry finds the row already at its version, sees its own write id
    /// there, and reports the update as won, not as a conflict. The same for a create, which
    /// must not turn into a duplicate.
    func testAWriteWhoseReplyWasLostIsReportedAsDone() throws {
        let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)!
        let proxy = try CuttingProxy(targetPort: port)
        defer { proxy.close() }
        let relayed = url.replacingOccurrences(of: ":\(port)/", with: ":\(proxy.port)/")
        let store = try PostgresStore(url: relayed, maxConnections: 1)
        defer { store.close() }

        proxy.arm()
        try store.create(session("lost", version: 1, state: "created"))
        XCTAssertEqual(proxy.cutCount, 1, "the create's reply was lost")
        XCTAssertEqual(try store.load(id: "lost")?.state, Data("created".utf8))

        for version in 2...4 {
            var next = session("lost", version: version, state: "step \(version)")
            next.expiresAt = 4e9
            proxy.arm()
            XCTAssertTrue(try store.update(next, expected: version - 1), "version \(version)")
            XCTAssertEqual(proxy.cutCount, version, "the update's reply was lost")
            let stored = try XCTUnwrap(try store.load(id: "lost"))
            XCTAssertEqual(stored.version, version)
            XCTAssertEqual(stored.state, Data("step \(version)".utf8))
        }
        // A genuinely stale update after a lost reply is still refused.
        var stale = session("lost", version: 3, state: "stale")
        stale.expiresAt = 4e9
        proxy.arm()
        XCTAssertFalse(try store.update(stale, expected: 2))
        XCTAssertEqual(try store.load(id: "lost")?.state, Data("step 4".utf8))
    }

    func testAWrongPasswordIsReportedWithoutThePassword() throws {
        let password = "Wrong-Secret-4711"
        let wrong = server.url(password: password)
        XCTAssertThrowsError(try PostgresStore(url: wrong)) { error in
            let text = "\(error) \(error.localizedDescription) \(String(reflecting: error))"
            XCTAssertEqual((error as? PostgresStoreError)?.kind, .connect, text)
            XCTAssertTrue(text.contains("password authentication failed"), text)
            XCTAssertTrue(text.contains("127.0.0.1"), "the message says where: \(text)")
            XCTAssertFalse(text.contains(password), text)
            XCTAssertFalse(text.contains("Secret"), text)
        }
    }

    func testAnUnreadableURLIsReportedWithoutThePassword() throws {
        let cases = [
            "postgres://flow:sec%zzret-99@127.0.0.1:1/flow",  // a bad percent escape in the password
            "postgres://flow:secret-99@127.0.0.1:1/flow?sslmode=sometimes",
            "postgres://flow:secret-99@127.0.0.1:1/flow?nonsense=1",
            "host=127.0.0.1 password='secret-99 x' port=notaport",
        ]
        for url in cases {
            XCTAssertThrowsError(try PostgresStore(url: url), url) { error in
                let text = "\(error)"
                XCTAssertEqual((error as? PostgresStoreError)?.kind, .badURL, text)
                XCTAssertFalse(text.contains("secret"), text)
                XCTAssertFalse(text.contains("zzret"), text)
            }
        }
        // Nothing listens on port 1: a connection error, naming the place, not the password.
        XCTAssertThrowsError(try PostgresStore(url: "postgres://flow:secret-99@127.0.0.1:1/flow")) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? PostgresStoreError)?.kind, .connect, text)
            XCTAssertTrue(text.contains("127.0.0.1:1"), text)
            XCTAssertFalse(text.contains("secret"), text)
        }
    }

    // MARK: Helpers

    /// Cuts every connection the stores hold to `database`; how many there were.
    private func terminateBackends(of database: String) throws -> Int {
        try server.execute(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'flow serve' AND pid <> pg_backend_pid()
            """, [.text(database)]
        ).rows.count
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func add(_ value: Int) { lock.withLock { items.append(value) } }
    var count: Int { lock.withLock { items.count } }
    var values: [Int] { lock.withLock { items } }
}

final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
