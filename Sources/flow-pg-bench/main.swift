// Times PostgresStore: `writers` threads, each stepping a session of its own (load-free
// `update` from the version it last wrote, as a server that holds the session does), for
// `seconds`, through one store with at most `connections` connections. Prints the updates per
// second and the latency percentiles of one update. Build it in release:
//
//   eval "$(Tests/support/postgres.sh start)"
//   swift build -c release --product flow-pg-bench
//   .build/release/flow-pg-bench "$POSTGRES_URL" --writers 64 --seconds 10
//   Tests/support/postgres.sh stop "$POSTGRES_DIR"
import FlowPostgres
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("flow-pg-bench: \(message)\n".utf8))
    exit(64)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let url = arguments.first, !url.hasPrefix("--") else {
    fail("usage: flow-pg-bench URL [--writers N] [--seconds S] [--connections N] [--state-bytes N]")
}
arguments.removeFirst()
var options = ["writers": 64, "seconds": 10, "connections": 16, "state-bytes": 2048]
while !arguments.isEmpty {
    let name = arguments.removeFirst()
    guard name.hasPrefix("--"), options[String(name.dropFirst(2))] != nil, let text = arguments.first,
        let value = Int(text), value > 0
    else { fail("unknown option or value near '\(name)'") }
    arguments.removeFirst()
    options[String(name.dropFirst(2))] = value
}
let writers = options["writers"]!
let seconds = options["seconds"]!
let connections = options["connections"]!
let stateBytes = options["state-bytes"]!

let store: PostgresStore
do {
    store = try PostgresStore(url: url, maxConnections: connections)
} catch {
    fail("\(error)")
}

final class Tally: @unchecked Sendable {
    let lock = NSLock()
    var latencies: [Double] = []
    var conflicts = 0
    var errors: [String] = []
}
let tally = Tally()
let run = UUID().uuidString.prefix(8)
let start = DispatchSemaphore(value: 0)
let group = DispatchGroup()
let clock = ContinuousClock()
let measureFrom = Date().addingTimeInterval(1)  // a second of warm-up, left out
let until = measureFrom.addingTimeInterval(Double(seconds))

for writer in 0..<writers {
    group.enter()
    Thread.detachNewThread {
        defer { group.leave() }
        var generator = SystemRandomNumberGenerator()
        var session = StoredSession(
            id: "bench-\(run)-\(writer)", flowFile: "flows/payment.flow",
            state: Data((0..<stateBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }),
            version: 1, expiresAt: Date().timeIntervalSince1970 + 3600)
        var latencies: [Double] = []
        var conflicts = 0
        do {
            try store.create(session)
            start.wait()
            while true {
                let now = Date()
                if now >= until { break }
                let expected = session.version
                session.version += 1
                session.state[session.version % stateBytes] &+= 1
                let began = clock.now
                let won = try store.update(session, expected: expected)
                let took = clock.now - began
                if !won { conflicts += 1 }
                if now >= measureFrom {
                    latencies.append(Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1e3)
                }
            }
            try store.delete(id: session.id)
        } catch {
            tally.lock.withLock { tally.errors.append("\(error)") }
        }
        tally.lock.withLock {
            tally.latencies += latencies
            tally.conflicts += conflicts
        }
    }
}
for _ in 0..<writers { start.signal() }
group.wait()
store.close()

if let first = tally.errors.first { fail("\(tally.errors.count) writers failed; the first: \(first)") }
let sorted = tally.latencies.sorted()
func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print(
    String(
        format: "%d writers, %d connections, %d-byte state, %d s: %d updates, %.0f updates/s, p50 %.2f ms, p99 %.2f ms, conflicts %d",
        writers, connections, stateBytes, seconds, sorted.count, Double(sorted.count) / Double(seconds),
        percentile(0.5), percentile(0.99), tally.conflicts))
