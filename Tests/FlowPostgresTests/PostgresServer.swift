import Foundation
import XCTest

@testable import FlowPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL server of this test process: started once, on first use, by
/// `Tests/support/postgres.sh start --watch <this process>` (a new cluster in /tmp on a free
/// loopback port, run as the `postgres` user when the tests run as root), and stopped by that
/// script's watcher once the process has exited. Each test takes a database of its own.
///
/// Without the server binaries the script installs them with apt-get. When that fails the tests
/// skip, except with `CI=true`, where they fail.
final class PostgresServer: @unchecked Sendable {
    /// `postgres://flow:<password>@127.0.0.1:<port>/flow`.
    let url: String
    let folder: String

    private init(url: String, folder: String) {
        self.url = url
        self.folder = folder
    }

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("support/postgres.sh")

    private static let started: Result<PostgresServer, Error> = Result { try start() }

    /// The server, or the reason there is none (`XCTSkip` outside CI).
    static func shared() throws -> PostgresServer {
        switch started {
        case .success(let server): return server
        case .failure(let error):
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                throw error
            }
            throw XCTSkip("PostgreSQL is not available: \(error)")
        }
    }

    private static func start() throws -> PostgresServer {
        let (exitStatus, text) = try runScript(["start", "--watch", String(getpid())])
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard exitStatus == 0, let url = values["POSTGRES_URL"], let folder = values["POSTGRES_DIR"] else {
            throw PostgresTestError("postgres.sh start failed (exit \(exitStatus)):\n\(text)")
        }
        return PostgresServer(url: url, folder: folder)
    }

    /// Restarts the server (fast shutdown: every connection is cut) and waits until it is back.
    func restart() throws {
        let (status, text) = try Self.runScript(["restart", folder])
        guard status == 0 else { throw PostgresTestError("postgres.sh restart failed (exit \(status)):\n\(text)") }
    }

    /// Runs `postgres.sh arguments…`: its exit status and what it wrote.
    private static func runScript(_ arguments: [String]) throws -> (Int32, String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("flow-pg-script-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        // posix_spawn and waitpid rather than Foundation's Process, whose wait here never saw the
        // script end. Standard output and error go to a file, standard input is /dev/null.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/bin/bash", script.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresTestError("cannot run \(script.path): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// The URL of a new, empty database (`t_<random>`).
    func freshDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // A database name cannot be a parameter; this one is made here of hex digits alone.
        try execute("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// `url` with another database.
    func url(database: String) -> String {
        let slash = url.range(of: "/", options: .backwards)!
        return url[..<slash.upperBound] + database
    }

    /// `url` with another password.
    func url(password: String) -> String {
        let start = url.range(of: "flow:")!.upperBound
        let end = url.range(of: "@")!.lowerBound
        return url.replacingCharacters(in: start..<end, with: password)
    }

    /// Runs `sql` on `database` (the server's `flow` by default) on a connection of its own;
    /// the first column of each row, as text when it is text.
    @discardableResult
    func execute(_ sql: String, _ parameters: [Connection.Parameter] = [], database: String? = nil) throws -> Connection.Outcome {
        let target = database.map { url(database: $0) } ?? url
        let connection = try Connection(url: target, redactor: Redactor(url: target))
        do {
            return try connection.execute(sql, parameters)
        } catch {
            throw PostgresTestError("'\(sql)' failed: \(error)")
        }
    }

    /// The database named in `url`.
    static func database(of url: String) -> String {
        String(url[url.range(of: "/", options: .backwards)!.upperBound...])
    }
}

struct PostgresTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
