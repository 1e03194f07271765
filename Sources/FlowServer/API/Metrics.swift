import Foundation

/// Counters and histograms for `GET /v1/metrics`, in the Prometheus text format (0.0.4).
public final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: [String: Double]] = [:]
    private var histograms: [String: [String: Histogram]] = [:]
    private var gauges: [String: Double] = [:]
    private let help: [String: (type: String, text: String)] = [
        "flow_sessions_started_total": ("counter", "Sessions started, by flow."),
        "flow_sessions_finished_total": ("counter", "Sessions finished, by flow and outcome (success, failure, error)."),
        "flow_sessions_expired_total": ("counter", "Sessions removed after their idle time."),
        "flow_steps_total": ("counter", "Steps applied, by kind (answers, back, extension)."),
        "flow_step_conflicts_total": ("counter", "Steps refused with 409 (stale or repeated version)."),
        "flow_ip_calls_total": ("counter", "IP calls made by the server, by IP and result (ok or the error kind)."),
        "flow_http_requests_total": ("counter", "HTTP requests answered, by status."),
        "flow_http_request_duration_seconds": ("histogram", "Time to answer a request, by route."),
        "flow_ip_call_duration_seconds": ("histogram", "Time of an IP call, by IP."),
        "flow_store_commit_duration_seconds": ("histogram", "Time for a session change to be committed to the store."),
        "flow_http_connections": ("gauge", "Open HTTP connections."),
    ]

    public init() {}

    struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        var counts = [Int](repeating: 0, count: bounds.count)
        var sum = 0.0
        var count = 0
        mutating func observe(_ v: Double) {
            for (k, b) in Self.bounds.enumerated() where v <= b { counts[k] += 1 }
            sum += v
            count += 1
        }
    }

    public func count(_ name: String, _ labels: [(String, String)] = [], by n: Double = 1) {
        let key = Self.labels(labels)
        lock.lock()
        counters[name, default: [:]][key, default: 0] += n
        lock.unlock()
    }

    public func observe(_ name: String, _ labels: [(String, String)] = [], _ seconds: Double) {
        let key = Self.labels(labels)
        lock.lock()
        histograms[name, default: [:]][key, default: Histogram()].observe(seconds)
        lock.unlock()
    }

    public func set(_ name: String, _ value: Double) {
        lock.lock()
        gauges[name] = value
        lock.unlock()
    }

    /// `{a="x",b="y"}` with values escaped as the format wants; empty for no labels.
    static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        var out = "{"
        for (k, (name, value)) in labels.enumerated() {
            if k > 0 { out += "," }
            out += name
            out += "=\""
            // Most values need no escaping; Foundation's replacingOccurrences was a few per cent of a step.
            if value.utf8.contains(where: { $0 == 92 || $0 == 34 || $0 == 10 }) {
                for c in value.unicodeScalars {
                    switch c {
                    case "\\": out += "\\\\"
                    case "\"": out += "\\\""
                    case "\n": out += "\\n"
                    default: out.unicodeScalars.append(c)
                    }
                }
            } else {
                out += value
            }
            out += "\""
        }
        return out + "}"
    }

    public func text() -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        for name in help.keys.sorted() {
            let (type, text) = help[name]!
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
            switch type {
            case "counter":
                for key in (counters[name] ?? [:]).keys.sorted() { out += "\(name)\(key) \(format(counters[name]![key]!))\n" }
            case "gauge":
                out += "\(name) \(format(gauges[name] ?? 0))\n"
            default:
                for key in (histograms[name] ?? [:]).keys.sorted() {
                    let h = histograms[name]![key]!
                    let inner = key.isEmpty ? "" : String(key.dropFirst().dropLast()) + ","
                    for (k, b) in Histogram.bounds.enumerated() {
                        out += "\(name)_bucket{\(inner)le=\"\(format(b))\"} \(h.counts[k])\n"
                    }
                    out += "\(name)_bucket{\(inner)le=\"+Inf\"} \(h.count)\n"
                    out += "\(name)_sum\(key) \(h.sum)\n\(name)_count\(key) \(h.count)\n"
                }
            }
        }
        return out
    }

    private func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
