import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// Redaction by value: a secure value is hidden whatever its type and length. Values of four
/// characters or more are hidden wherever they appear; shorter ones (a CVC, a three-digit PIN)
/// wherever they stand as a whole token, never inside a longer word or number; and a number in
/// a parsed body is hidden when it equals a secure value that reads as a number.
final class RedactionTests: XCTestCase {
    // MARK: - Short values, as whole tokens

    func testAThreeDigitValueIsHiddenAsAWholeToken() {
        let r = Redactor(secrets: ["123"])
        XCTAssertEqual(r.redact("PIN 123 refused"), "PIN *** refused")
        XCTAssertEqual(r.redact("123"), "***")
        XCTAssertEqual(r.redact("pin=123&cvc=1"), "pin=***&cvc=1")
        XCTAssertEqual(r.redact(#"{"pin":"123"}"#), #"{"pin":"***"}"#)
        XCTAssertEqual(r.redact(#"{"pin":123}"#), #"{"pin":***}"#)
        XCTAssertEqual(r.redact("X-Pin: 123\r\n"), "X-Pin: ***\r\n")
        XCTAssertEqual(r.redact("tries: 123, 123."), "tries: ***, ***.")
    }

    func testAThreeDigitValueIsNotHiddenInsideALongerNumberOrWord() {
        let r = Redactor(secrets: ["123"])
        XCTAssertEqual(r.redact("order 91234"), "order 91234")
        XCTAssertEqual(r.redact("a1234 x123 123x"), "a1234 x123 123x")
        XCTAssertEqual(r.redact("ref ch_1231"), "ref ch_1231")
    }

    /// The escapes of JSON (`\n`), percent-encoding (`%20`) and `\u` end a token: what follows
    /// them stands on its own once decoded.
    func testAShortValueAfterAnEscapeIsHidden() {
        let r = Redactor(secrets: ["123"])
        XCTAssertEqual(r.redact(#"POST / HTTP/1.1\r\n\r\n123"#), #"POST / HTTP/1.1\r\n\r\n***"#)
        XCTAssertEqual(r.redact("note=my%20123"), "note=my%20***")
        XCTAssertEqual(r.redact(#"pin\u0020123"#), #"pin\u0020***"#)
    }

    func testAShortSecretIsHiddenInTheFormsAServerEchoes() {
        let r = Redactor(secrets: ["7&Q", "5/z"])
        XCTAssertEqual(r.redact("key=7%26Q&x=1"), "key=***&x=1")
        XCTAssertEqual(r.redact("key=5%2Fz&k=5%2fz"), "key=***&k=***")
        XCTAssertEqual(r.redact(#"{"k": "5\/z"}"#), #"{"k": "***"}"#)
        XCTAssertEqual(r.redact("<k>7&amp;Q</k>"), "<k>***</k>")
        XCTAssertEqual(r.redact("X-Short: 7&Q"), "X-Short: ***")
        // As Go's encoding/json escapes it.
        XCTAssertEqual(r.redact(#""k": "7\u0026Q""#), #""k": "***""#)
        // Not inside a longer word.
        XCTAssertEqual(r.redact("a7&Qb 5/zz"), "a7&Qb 5/zz")
    }

    func testAShortValueWithALeadingZeroIsAlsoHiddenAsTheNumberItReads() {
        let r = Redactor(secrets: ["0918"])
        XCTAssertEqual(r.redact("pin 0918"), "pin ***")
        // A gateway that read the PIN as a number echoes it without its zero.
        XCTAssertEqual(r.redact(#"{"pin": 918}"#), #"{"pin": ***}"#)
        XCTAssertEqual(r.redact("x 9180"), "x 9180")
    }

    /// Four characters or more are hidden wherever they appear, as before.
    func testALongerValueIsHiddenEvenInsideAWord() {
        let r = Redactor(secrets: ["7604"])
        XCTAssertEqual(r.redact("pin7604x"), "pin***x")
        // Escaped as Go's encoding/json escapes a string by default.
        XCTAssertEqual(Redactor(secrets: ["k<e&y>9"]).redact(#"{"key": "k\u003ce\u0026y\u003e9"}"#), #"{"key": "***"}"#)
    }

    func testAnEmptyValueHidesNothing() {
        let r = Redactor(secrets: [""])
        XCTAssertTrue(r.isEmpty)
        XCTAssertEqual(r.redact("text"), "text")
    }

    /// Random texts around a three-digit value: every occurrence that stands as a token is hidden,
    /// and nothing else changes.
    func testShortValuesInRandomTexts() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["918", "9", "1", "8", "9180", "x", " ", "=", "&", "\\n", "%20", "é", "\u{301}", "-", ".", "\"", "***", "a918", "918b"]
        let r = Redactor(secrets: ["918"])
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 1...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let shown = r.redact(text)
            XCTAssertFalse(Self.hasToken("918", in: shown), "\(text.debugDescription) -> \(shown.debugDescription)")
            // What was hidden was the value: put it back and the text is as it was.
            if !text.contains("***") {
                XCTAssertEqual(shown.replacingOccurrences(of: "***", with: "918"), text, text.debugDescription)
            }
        }
    }

    /// `token` not next to a letter, digit or mark, nor after an escape (`\n`, `%20`).
    static func hasToken(_ token: String, in text: String) -> Bool {
        let s = Array(text.unicodeScalars)
        let t = Array(token.unicodeScalars)
        func word(_ c: Unicode.Scalar) -> Bool {
            c.properties.isAlphabetic || c.properties.numericType != nil || c.properties.generalCategory == .nonspacingMark
        }
        guard s.count >= t.count else { return false }
        for i in 0...(s.count - t.count) where s[i..<(i + t.count)].elementsEqual(t) {
            let escaped = (i >= 2 && s[i - 2] == "\\") || (i >= 3 && s[i - 3] == "%")
            let before = i == 0 || !word(s[i - 1]) || escaped
            let after = i + t.count == s.count || !word(s[i + t.count])
            if before && after { return true }
        }
        return false
    }

    // MARK: - Numbers in parsed bodies

    func testANumberEqualToASecureValueIsHiddenInAValue() throws {
        let r = Redactor(secrets: ["7604", "918", "0042"])
        let body = try Value.fromJSON(Data(#"{"error": {"pin": 7604, "cvc": 918, "code": 42, "amount": 400, "list": [7604.0, 1], "n": "918"}}"#.utf8))
        let redacted = r.redact(body)
        XCTAssertEqual(
            redacted,
            .object(["error": .object([
                "pin": .text("***"), "cvc": .text("***"), "code": .text("***"), "amount": .number(400),
                "list": .list([.text("***"), .number(1)]), "n": .text("***"),
            ])]))
    }

    func testAFailureBodyWithANumericPINIsRedacted() throws {
        let r = Redactor(secrets: ["7604"])
        let body = try Value.fromJSON(Data(#"{"error": {"message": "wrong PIN", "pin": 7604}}"#.utf8))
        let f = r.redact(CallFailure(kind: "http", message: "PIN 7604 refused", status: 402, code: "7604", body: body))
        XCTAssertEqual(f.message, "PIN *** refused")
        XCTAssertEqual(f.code, "***")
        XCTAssertEqual(f.status, 402)
        XCTAssertEqual(f.body, .object(["error": .object(["message": .text("wrong PIN"), "pin": .text("***")])]))
    }

    func testRedactedPrefixHidesAShortValueAtTheCut() {
        let r = Redactor(secrets: ["123"])
        let data = Data(("x" + String(repeating: " ", count: 10) + "123 tail").utf8)
        let shown = r.redactedPrefix(of: data, maxBytes: 13)
        XCTAssertFalse(shown.contains("12"), shown)
        XCTAssertFalse(shown.contains("123"), shown)
    }

    // MARK: - Through IPCaller, against a server that echoes the PIN

    func compile(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Program {
        let c = Frontend.compile(source: source)
        let rendered = DiagnosticRenderer(format: .gcc).render(c.diagnostics, sources: c.sources)
        return try XCTUnwrap(c.program, rendered, file: file, line: line)
    }

    static let pinFlow = """
        config BASE = "http://x"
        secret KEY

        ip Verify(pin: secure, cvc: secure) {
          POST "{BASE}/v1/pin"
          auth bearer KEY
          json { "pin": pin, "cvc": cvc }
          output valid: bool = json "valid"
          output pin: number = json "pin"
          output echo: object = json "echo"
        }

        flow Main {
          response "hi"
        }

        """

    /// A gateway that refuses the PIN and echoes it as a JSON number, the CVC as a number and in
    /// its message, and the short secret key in a header.
    func testAGatewayEchoingThePINAsANumberShowsNothing() throws {
        let server = try LoopbackServer(handler: { request in
            let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: String] ?? [:]
            let pin = body["pin"] ?? "", cvc = body["cvc"] ?? ""
            return .json(#"{"error": {"message": "PIN \#(pin) or CVC \#(cvc) wrong", "code": "\#(cvc)", "pin": \#(pin), "cvc": \#(cvc), "key": "\#(request.header("Authorization") ?? "")"}}"#,
                         status: 402)
        })
        defer { server.stop() }
        let program = try compile(Self.pinFlow)
        let caller = IPCaller(secrets: Secrets(["KEY": "k9z"]), maxResponseBytes: 64 * 1024, defaultTimeout: 5, sleep: { _ in })
        var log: [IPCaller.Exchange] = []
        let reply = try caller.call(program: program, ip: 0, arguments: [.text("7604"), .text("918")],
                                    configs: try program.configValues(overrides: ["BASE": server.baseURL]), log: { log.append($0) })
        guard case .failure(let f) = reply else { return XCTFail("expected a failure: \(reply)") }
        XCTAssertEqual(f.message, "PIN *** or CVC *** wrong")
        XCTAssertEqual(f.code, "***")
        XCTAssertEqual(
            f.body,
            .object(["error": .object([
                "message": .text("PIN *** or CVC *** wrong"), "code": .text("***"), "pin": .text("***"), "cvc": .text("***"),
                "key": .text("Bearer ***"),
            ])]))
        XCTAssertFalse(log.isEmpty)
        for e in log {
            let sent = String(decoding: e.request.body ?? Data(), as: UTF8.self)
            XCTAssertEqual(sent, #"{"cvc":"***","pin":"***"}"#)
            let received = String(decoding: e.response?.body ?? Data(), as: UTF8.self)
            XCTAssertFalse(received.contains("7604") || received.contains(" 918") || received.contains("k9z"), received)
        }
        // It did reach the gateway.
        XCTAssertTrue(String(decoding: server.requests.first?.body ?? Data(), as: UTF8.self).contains(#""pin":"7604""#))
    }

    /// A number the flow asks for by name and type is the flow's own data and is kept (declare the
    /// output `secure` if it may hold a PIN); numbers inside an object or list output are hidden.
    func testAnOutputNumberIsKeptAndNumbersInsideAnObjectAreHidden() throws {
        let server = try LoopbackServer(reply: .json(#"{"valid": false, "pin": 7604, "echo": {"pin": 7604, "cvc": 918, "n": 5}}"#))
        defer { server.stop() }
        let program = try compile(Self.pinFlow)
        let caller = IPCaller(secrets: Secrets(["KEY": "k9z"]), maxResponseBytes: 64 * 1024, defaultTimeout: 5, sleep: { _ in })
        let reply = try caller.call(program: program, ip: 0, arguments: [.text("7604"), .text("918")],
                                    configs: try program.configValues(overrides: ["BASE": server.baseURL]))
        guard case .result(let outputs) = reply else { return XCTFail("expected a result: \(reply)") }
        XCTAssertEqual(outputs["valid"], .bool(false))
        XCTAssertEqual(outputs["pin"], .number(7604))
        XCTAssertEqual(outputs["echo"], .object(["pin": .text("***"), "cvc": .text("***"), "n": .number(5)]))
    }

    /// A secure value equal to the port makes the redacted URL one that cannot be read as a URL;
    /// the exchange log then shows a placeholder, never the URL as it was (with the key in it).
    func testAnExchangeWhoseRedactedURLIsNotAURLShowsNoneOfIt() throws {
        let server = try LoopbackServer(reply: .json(#"{"ok": true}"#))
        defer { server.stop() }
        let program = try compile("""
            config BASE = "http://x"
            secret KEY

            ip Ping(pin: secure) {
              GET "{BASE}/v1/ping"
              query {
                key = KEY
              }
              output ok: bool = json "ok"
            }

            flow Main {
              response "hi"
            }

            """)
        let key = "key-\(UUID().uuidString)"
        let caller = IPCaller(secrets: Secrets(["KEY": key]), maxResponseBytes: 64 * 1024, defaultTimeout: 5, sleep: { _ in })
        var log: [IPCaller.Exchange] = []
        let reply = try caller.call(program: program, ip: 0, arguments: [.text(String(server.port))],
                                    configs: try program.configValues(overrides: ["BASE": server.baseURL]), log: { log.append($0) })
        guard case .result = reply else { return XCTFail("expected a result: \(reply)") }
        XCTAssertFalse(log.isEmpty)
        for e in log {
            XCTAssertFalse(e.request.url.absoluteString.contains(key), e.request.url.absoluteString)
            XCTAssertFalse(e.request.url.absoluteString.contains(String(server.port)), e.request.url.absoluteString)
        }
    }

    /// A transport that fails as a transport may, with the request's URL in its message.
    struct FailingTransport: HTTPTransport {
        func send(_ request: HTTPRequest, maxResponseBytes: Int) throws(TransportError) -> HTTPResponse {
            throw .invalidURL(request.url.absoluteString)
        }
    }

    /// The error an attempt ended with is shown in the exchange log (`flow ip --verbose`) with
    /// the secrets in it hidden, as in the failure the flow sees.
    func testATransportErrorInTheExchangeLogIsRedacted() throws {
        let program = try compile("""
            config BASE = "http://x"
            secret KEY

            ip Ping(pin: secure) {
              GET "{BASE}/v1/ping/{pin}"
              query {
                key = KEY
              }
              output ok: bool = json "ok"
            }

            flow Main {
              response "hi"
            }

            """)
        let key = "key-\(UUID().uuidString)"
        let caller = IPCaller(transport: FailingTransport(), secrets: Secrets(["KEY": key]), maxResponseBytes: 1024, defaultTimeout: 5,
                              sleep: { _ in })
        var log: [IPCaller.Exchange] = []
        let reply = try caller.call(program: program, ip: 0, arguments: [.text("918")],
                                    configs: try program.configValues(overrides: ["BASE": "http://127.0.0.1:9"]), log: { log.append($0) })
        guard case .failure(let f) = reply else { return XCTFail("expected a failure: \(reply)") }
        XCTAssertEqual(f.message, "'http://127.0.0.1:9/v1/ping/***?key=***' is not a valid http or https URL")
        XCTAssertEqual(log.count, 1)
        XCTAssertEqual(log.first?.error?.message, f.message)
    }

    // MARK: - The secrets file

    func parse(_ text: String) -> Result<[String: String], SecretsFileError> { Secrets.parseFile(Data(text.utf8)) }

    func testTheSecretsFileReadsLFAndCRLFLines() throws {
        XCTAssertEqual(try parse("A=1\r\n# comment\r\n\r\nB = two\r\nC=\"q v\"\r\n").get(), ["A": "1", "B": " two", "C": "q v"])
        XCTAssertEqual(try parse("A=1\nB='x y'\n").get(), ["A": "1", "B": "x y"])
        XCTAssertEqual(try parse("\u{FEFF}A=1\n").get(), ["A": "1"], "a byte order mark is not part of the first name")
        XCTAssertEqual(try parse("Stripe   Key=v\n").get(), ["Stripe Key": "v"], "names compare by their words")
        XCTAssertEqual(try parse("`my-key`=v\n").get(), ["my-key": "v"], "a quoted name, as a flow writes it")
        XCTAssertEqual(try parse("A=x=y\n").get(), ["A": "x=y"])
        XCTAssertEqual(try parse("A=\n").get(), ["A": ""])
        XCTAssertEqual(try parse("A=\u{301}x\r\nB=\"\u{301}\"  \r\n").get(), ["A": "\u{301}x", "B": "\u{301}"], "a mark after '=' is the value's")
    }

    func testALineTheSecretsFileCannotReadIsAnErrorWithItsLine() {
        let value = "sk_live_do-not-show-9f8e"
        let cases: [(String, Int, String)] = [
            ("A=1\nexport KEY=\(value)\n", 2, "expected KEY=VALUE without 'export'"),
            ("A=1\r\n\(value)\r\n", 2, "expected KEY=VALUE"),
            ("=\(value)\n", 1, "expected a name before '='"),
            ("my-key=\(value)\n", 1, "expected a secret name before '=' (words of letters, digits and '_', or a name in backquotes)"),
            ("1KEY=\(value)\n", 1, "expected a secret name before '=' (words of letters, digits and '_', or a name in backquotes)"),
            ("KEY on=\(value)\n", 1, "expected a secret name before '=' (words of letters, digits and '_', or a name in backquotes)"),
            ("# c\nKEY=\"\(value)\n", 2, "expected a '\"' at the end of the quoted value"),
            ("KEY='\(value)' # old\n", 1, "expected a ''' at the end of the quoted value"),
            ("KEY=1\nOTHER=2\nKEY=\(value)\n", 3, "'KEY' is given twice (first on line 1)"),
        ]
        for (text, line, message) in cases {
            switch parse(text) {
            case .success(let values): XCTFail("\(text.debugDescription) was read as \(values.keys.sorted())")
            case .failure(let e):
                XCTAssertEqual(e.line, line, text.debugDescription)
                XCTAssertEqual(e.message, message, text.debugDescription)
                XCTAssertFalse(e.message.contains("do-not-show"), "a value is never in the message: \(e.message)")
            }
        }
    }

    func testASecretsFileThatIsNotUTF8IsAnErrorWithItsLine() {
        var data = Data("A=1\nB=caf".utf8)
        data.append(0xE9)
        data.append(contentsOf: Array("\n".utf8))
        switch Secrets.parseFile(data) {
        case .success: XCTFail("a value that is not UTF-8 would be changed, not read")
        case .failure(let e):
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.message, "expected UTF-8 text")
        }
    }
}
