import CPostgres
import Foundation

/// One libpq connection, used by one thread at a time (the pool hands it out; libpq allows a
/// connection per thread, never one connection from two threads at once).
///
/// Every statement goes through `PQexecParams` with its values as parameters, sent and received in
/// binary form: text as UTF-8 bytes, `bytea` as the bytes themselves, `int8` and `float8` in
/// network byte order. No value is ever spliced into SQL text.
final class Connection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let redactor: Redactor

    /// A statement's value, with the type PostgreSQL is told it has.
    enum Parameter {
        case text(String)
        case bytes(Data)
        case int8(Int64)
        case float8(Double)

        var oid: Oid {
            switch self {
            case .text: 25
            case .bytes: 17
            case .int8: 20
            case .float8: 701
            }
        }

        var binary: [UInt8] {
            switch self {
            case .text(let string): Array(string.utf8)
            case .bytes(let data): [UInt8](data)
            case .int8(let value): withUnsafeBytes(of: value.bigEndian) { Array($0) }
            case .float8(let value): withUnsafeBytes(of: value.bitPattern.bigEndian) { Array($0) }
            }
        }
    }

    /// The rows of a statement (each column's bytes, nil for NULL) and the count of rows it
    /// touched (`UPDATE 1` → 1).
    struct Outcome {
        var rows: [[[UInt8]?]]
        var affected: Int
    }

    /// Why a statement failed: the connection broke (the statement may or may not have run), or
    /// the server refused it (it did not run).
    enum Failure: Error {
        case lost(String)
        case refused(sqlState: String, message: String)
    }

    /// Connects with `url` (a libpq URI or conninfo string). The settings before it are defaults
    /// the URL can override (libpq takes the last value given): a 10 s connect timeout, UTF-8,
    /// and TCP keepalives with a 30 s user timeout, so a database host that vanished from the
    /// network fails a call within about half a minute instead of the system's two hours. The
    /// application name shows the server's connections in `pg_stat_activity`.
    init(url: String, redactor: Redactor) throws {
        self.redactor = redactor
        let keywords = [
            "connect_timeout", "fallback_application_name", "client_encoding", "keepalives", "keepalives_idle",
            "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname",
        ]
        let values = ["10", "flow serve", "UTF8", "1", "30", "10", "3", "30000", url]
        let connection: OpaquePointer? = withCStrings(keywords) { keys in
            withCStrings(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let connection else {
            throw PostgresStoreError(.connect, "cannot connect to PostgreSQL: out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let detail = redactor.redact(Connection.text(PQerrorMessage(connection)))
            let place = Connection.place(connection)
            PQfinish(connection)
            // libpq refuses a URL it cannot parse before it tries the network; its messages
            // then name the option or the token at fault.
            let unreadable = [
                "invalid URI", "invalid connection option", "invalid percent-encoded", "missing \"=\"",
                "unterminated quoted string", "invalid value for parameter", "invalid integer value",
                "invalid sslmode", "end of string reached", "unexpected spaces",
            ].contains { detail.contains($0) }
            if unreadable { throw PostgresStoreError(.badURL, "cannot read the PostgreSQL URL: \(detail)") }
            throw PostgresStoreError(.connect, "cannot connect to PostgreSQL\(place): \(detail)")
        }
        // libpq prints the server's notices (`relation "flow_sessions" already exists, skipping`)
        // on standard error unless told otherwise; a library keeps quiet.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.handle = connection
    }

    deinit { PQfinish(handle) }

    /// Whether libpq still takes the connection for alive (it learns otherwise only when it
    /// reads or writes the socket).
    var isUsable: Bool { PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE }

    /// Runs `sql` with `parameters` ($1, $2, …), results in binary.
    func execute(_ sql: String, _ parameters: [Parameter] = []) throws(Failure) -> Outcome {
        let buffers = parameters.map(\.binary)
        let types = parameters.map(\.oid)
        let lengths = buffers.map { Int32($0.count) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        // Each value is copied into its own allocation (an empty value still gets a non-null
        // pointer: null would mean SQL NULL).
        let pointers: [UnsafeMutablePointer<CChar>] = buffers.map { bytes in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress {
                    UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        let values: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) }

        let result = PQexecParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 1)
        defer { PQclear(result) }
        guard let result else { throw .lost(message) }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
            return Outcome(rows: Connection.rows(result), affected: Int(Connection.text(PQcmdTuples(result))) ?? 0)
        }
        let sqlState = Connection.text(PQresultErrorField(result, Int32(UInt8(ascii: "C"))))
        let primary = Connection.text(PQresultErrorField(result, Int32(UInt8(ascii: "M"))))
        let text = redactor.redact(primary.isEmpty ? message : primary)
        // Class 08 is a connection exception; 57P01..57P03 an administrator's shutdown or
        // pg_terminate_backend; libpq itself fails without a SQLSTATE when the socket is gone.
        if PQstatus(handle) != CONNECTION_OK || sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState.isEmpty {
            throw .lost(text)
        }
        throw .refused(sqlState: sqlState, message: text)
    }

    /// Runs statements that take no values (transaction control, schema): `PQexec`, text.
    func execute(script sql: String) throws(Failure) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        guard let result else { throw .lost(message) }
        let status = PQresultStatus(result)
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        let sqlState = Connection.text(PQresultErrorField(result, Int32(UInt8(ascii: "C"))))
        let text = redactor.redact(Connection.text(PQresultErrorField(result, Int32(UInt8(ascii: "M")))))
        if PQstatus(handle) != CONNECTION_OK || sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState.isEmpty {
            throw .lost(text.isEmpty ? message : text)
        }
        throw .refused(sqlState: sqlState, message: text)
    }

    /// The backend's process id (for `pg_terminate_backend` in tests).
    var backendPID: Int32 { PQbackendPID(handle) }

    /// libpq's last message for the connection, redacted, on one line.
    private var message: String {
        let text = redactor.redact(Connection.text(PQerrorMessage(handle)))
        return text.isEmpty ? "the connection to PostgreSQL was lost" : text
    }

    /// ` at host:port/database`, as libpq understood the URL (never the URL itself).
    private static func place(_ connection: OpaquePointer) -> String {
        let host = text(PQhost(connection))
        let port = text(PQport(connection))
        let database = text(PQdb(connection))
        guard !host.isEmpty else { return "" }
        return " at \(host)\(port.isEmpty ? "" : ":\(port)")\(database.isEmpty ? "" : "/\(database)")"
    }

    private static func rows(_ result: OpaquePointer) -> [[[UInt8]?]] {
        let count = PQntuples(result)
        let columns = PQnfields(result)
        guard count > 0 else { return [] }
        var rows: [[[UInt8]?]] = []
        rows.reserveCapacity(Int(count))
        for row in 0..<count {
            var values: [[UInt8]?] = []
            for column in 0..<columns {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                    continue
                }
                let length = Int(PQgetlength(result, row, column))
                guard let value = PQgetvalue(result, row, column), length > 0 else {
                    values.append([])
                    continue
                }
                values.append(Array(UnsafeRawBufferPointer(start: value, count: length)))
            }
            rows.append(values)
        }
        return rows
    }

    /// A C string from libpq as one trimmed line (libpq's messages end with a newline and may
    /// span lines: `FATAL: …\nDETAIL: …`).
    static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }

    static func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        text(UnsafePointer(pointer))
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Reading the binary form of the columns the store selects.
enum Column {
    static func text(_ bytes: [UInt8]?) -> String? {
        guard let bytes else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    static func int8(_ bytes: [UInt8]?) -> Int64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return bytes.reduce(0) { ($0 << 8) | Int64($1) }
    }

    static func float8(_ bytes: [UInt8]?) -> Double? {
        guard let bytes, bytes.count == 8 else { return nil }
        return Double(bitPattern: bytes.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) })
    }
}
