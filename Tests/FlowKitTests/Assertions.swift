import FlowKit
import XCTest

/// Source text with position markers (`1️⃣`, `2️⃣`, …): the markers are removed and their byte
/// offsets remembered, so a test can say exactly where a diagnostic must start and end.
struct MarkedSource {
    let text: String
    let markers: [String: Int]

    static let names = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟", "🅰️", "🅱️", "🅲", "🅳", "🅴"]

    init(_ marked: String) {
        var text = ""
        var markers: [String: Int] = [:]
        var rest = Substring(marked)
        while !rest.isEmpty {
            if let name = MarkedSource.names.first(where: { rest.hasPrefix($0) }) {
                markers[name] = text.utf8.count
                rest = rest.dropFirst(name.count)
            } else {
                text.append(rest.removeFirst())
            }
        }
        self.text = text
        self.markers = markers
    }
}

/// An expected diagnostic: its id, (part of) its message, and the markers where its span
/// starts and (optionally) ends.
struct DiagnosticSpec {
    var id: String
    var message: String?
    var at: String
    var to: String?
    var severity: Severity = .error

    init(_ id: String, _ message: String? = nil, at: String = "1️⃣", to: String? = nil, severity: Severity = .error) {
        self.id = id
        self.message = message
        self.at = at
        self.to = to
        self.severity = severity
    }
}

func compile(_ source: String, strict: Bool = false) -> Compilation {
    Frontend.compile(source: source, path: "test.flow", options: CheckOptions(strict: strict))
}

/// Asserts that compiling `marked` gives exactly `expected` diagnostics (in position order).
func assertDiagnostics(
    _ marked: String, _ expected: [DiagnosticSpec], strict: Bool = false, file: StaticString = #filePath, line: UInt = #line
) {
    let source = MarkedSource(marked)
    let result = compile(source.text, strict: strict)
    let rendered = DiagnosticRenderer(format: .gcc).render(result.diagnostics, sources: result.sources)
    XCTAssertEqual(result.diagnostics.count, expected.count, "diagnostics:\n\(rendered)", file: file, line: line)
    for (d, spec) in zip(result.diagnostics, expected) {
        XCTAssertEqual(d.id, spec.id, "diagnostics:\n\(rendered)", file: file, line: line)
        XCTAssertEqual(d.severity, spec.severity, "\(d.id): \(d.message)", file: file, line: line)
        if let m = spec.message {
            XCTAssertTrue(d.message.contains(m) || (d.hint ?? "").contains(m), "'\(d.message)' (hint: \(d.hint ?? "none")) does not contain '\(m)'", file: file, line: line)
        }
        guard let start = source.markers[spec.at] else {
            XCTFail("no marker \(spec.at) in source", file: file, line: line)
            continue
        }
        XCTAssertEqual(Int(d.range.start), start, "\(d.id) '\(d.message)' starts at the wrong place", file: file, line: line)
        if let to = spec.to, let end = source.markers[to] {
            XCTAssertEqual(Int(d.range.end), end, "\(d.id) '\(d.message)' ends at the wrong place", file: file, line: line)
        }
    }
}

/// Asserts the source compiles with no diagnostics at all and returns the program.
@discardableResult
func assertClean(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Program? {
    let result = compile(source)
    let rendered = DiagnosticRenderer(format: .gcc).render(result.diagnostics, sources: result.sources)
    XCTAssertTrue(result.diagnostics.isEmpty, "expected no diagnostics, got:\n\(rendered)", file: file, line: line)
    return result.program
}
