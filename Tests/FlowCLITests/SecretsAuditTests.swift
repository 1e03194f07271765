import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An audit of secrets and card data through the built binary: every example flow in `flows/`
/// is run in every mode (scripted, `--trace FILE`, `--json`, at a pseudo-terminal, `flow ip
/// --verbose` for every integration point) against a gateway that echoes each request whole
/// (request line, headers, body) back in its answers: in every text output, in header values, in
/// error messages and bodies, in SOAP faults, as plain text. The secrets the flows declare are
/// known values, given with `--secrets FILE` and through the environment; the payment flow's
/// Tokenize extension gets a known card typed at the terminal and sends it to the same gateway.
///
/// Then everything written is searched: standard output and error, what the terminal showed,
/// trace files, JSON output, and every file left in the run's temporary directory (`TMPDIR` is
/// pointed into the test's folder, except at a terminal) or newly in the system's. No secret may appear in any form a
/// server might echo it in: as it is, percent-encoded (URL or form style), base64 (alone and as
/// the `user:password` of a basic-auth header), escaped in a JSON string or as XML text, nor ten
/// characters of it in a row. Neither may the card number (also grouped) or, as a word of its
/// own, the CVC or the PIN of `retry-pin.flow`.
///
/// The echo server (`EchoGateway`, Python 3 standard library, bound to 127.0.0.1) decides what
/// to do by the first segment of the path, which each run puts into the flow's base URL configs:
/// `/ok` answers 200 with the echo in every output the example flows read, `/err` and
/// `/charge-err` a 402 (JSON) or a SOAP fault with the echo as message, code and body,
/// `/text-err` a 400 whose text body is the request as it came, `/cut` the same with padding so
/// that the 64 KB an error body is cut to ends inside the Authorization header, `/redirect`
/// a 307 to the same path under `/ok` on `localhost`, which is another host: what arrives there
/// must carry no secret, and `/numbers` (a 402) and `/numbers-ok` (a 200) every value of the
/// request that is all digits as a JSON number, in the message and in a header. `POST …/v1/payment_methods` (Tokenize) succeeds everywhere but `/err`.
/// The server logs every request, so the test also checks that the secrets and the card did
/// reach the gateway (or the audit would prove nothing) and went nowhere else.
///
/// A second echo of an echo (a JSON request body quoted inside a JSON answer) is encoded twice;
/// no list of forms reaches that, so the secrets are chosen such that every place they travel
/// in encodes them once: those in headers have JSON and XML special characters, those in query
/// strings and forms have characters that percent-encoding changes.
final class SecretsAuditTests: XCTestCase {
    // MARK: - What must never be written

    /// Random text, new in every test process, so no other output can contain it by chance.
    static func random() -> String { String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12)) }

    static let tag = random()

    /// Each with its own random part (and none shared with a value that may be shown, such as the
    /// publishable key), since ten characters of a secret in a row count as a leak.
    static let secrets: [String: String] = [
        "STRIPE_SECRET_KEY": "sk_" + "test_Audit\(random())4eC39Hq",
        // Headers only: characters JSON and XML escape.
        "SHOP_API_KEY": "shop\"key<\(random())>&'9f8e",
        "TICKETS_TOKEN": "tkt/\(random())+Z9x=q",
        "SMS_TOKEN": "sms.\(random()).ghijkLM",
        // Basic auth: the header carries base64("user:password").
        "BANK_PASSWORD": "bänk pw:/+&=\(random())Q7",
        "CARDS_PASSWORD": "cärds \"pw\" \(random()) 42",
        // Only the audit flow's.
        "AUDIT_HEADER": "hdr\"<\(random())>&'ü/",
        "AUDIT_QUERY": "q ü+&=/\(random())?#%",
        "AUDIT_JSON": "js<&>'\(random())x",
        "AUDIT_PASSWORD": "pä ss:\(random())\"w",
    ]
    static let basicUsers = ["ivr-balance", "ivr-pin-check", "audit-user"]
    /// A Visa test card (Luhn-valid), its CVC, and the PIN typed into retry-pin.flow.
    static let card = "4000056655665556"
    static let expiry = "12/34"
    static let cvc = "9183"
    static let pin = "7604"
    static let publishableKey = "pk_test_audit\(tag)"

    /// The forms of a secret a server might echo, each with a label for the failure message.
    static func forms(of secret: String) -> [(String, String)] {
        var forms: [(String, String)] = [("as it is", secret), ("base64", Data(secret.utf8).base64EncodedString())]
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        if let e = secret.addingPercentEncoding(withAllowedCharacters: unreserved) {
            forms.append(("percent-encoded", e))
            forms.append(("percent-encoded, lowercase hex", lowercaseHex(e)))
            var spaced = unreserved
            spaced.insert(" ")
            if let f = secret.addingPercentEncoding(withAllowedCharacters: spaced)?.replacingOccurrences(of: " ", with: "+") {
                forms.append(("form-encoded", f))
            }
        }
        if let e = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { forms.append(("percent-encoded (alphanumerics)", e)) }
        for asciiOnly in [false, true] {
            let json = jsonEscaped(secret, asciiOnly: asciiOnly)
            forms.append(("JSON-escaped\(asciiOnly ? ", ASCII only" : "")", json))
            forms.append(("JSON-escaped with \\/", json.replacingOccurrences(of: "/", with: "\\/")))
        }
        let xml = secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        forms.append(("XML-escaped", xml))
        forms.append(("XML-escaped with quotes", xml.replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&apos;")))
        forms.append(("XML-escaped with numeric quotes", xml.replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;")))
        // Ten characters of it in a row: a secret cut in half, or encoded around its middle.
        let characters = Array(secret)
        if characters.count > 10 {
            for start in 0...(characters.count - 10) {
                forms.append(("ten characters of it", String(characters[start..<(start + 10)])))
            }
        }
        return forms
    }

    static func lowercaseHex(_ text: String) -> String {
        var out = ""
        var pending = 0
        for c in text {
            if c == "%" { pending = 2; out.append(c) } else if pending > 0 { pending -= 1; out += c.lowercased() } else { out.append(c) }
        }
        return out
    }

    static func jsonEscaped(_ text: String, asciiOnly: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Every needle: (what it is, the text). Words (CVC, PIN) are matched as whole words.
    static let needles: [(what: String, text: String)] = {
        var all: [(String, String)] = []
        for (name, value) in secrets.sorted(by: { $0.key < $1.key }) {
            for (form, text) in forms(of: value) { all.append(("secret \(name) (\(form))", text)) }
            for user in basicUsers {
                let basic = Data("\(user):\(value)".utf8).base64EncodedString()
                all.append(("secret \(name) in a basic-auth header for \(user)", basic))
                // Without its padding, as it would look cut short.
                all.append(("secret \(name) in a basic-auth header for \(user), unpadded", basic.replacingOccurrences(of: "=", with: "")))
            }
        }
        let grouped = stride(from: 0, to: card.count, by: 4).map { String(card.dropFirst($0).prefix(4)) }
        all.append(("the card number", card))
        all.append(("the card number in groups", grouped.joined(separator: " ")))
        all.append(("the card number with dashes", grouped.joined(separator: "-")))
        all.append(("the card number without its last four", String(card.prefix(12))))
        all.append(("the card number without its first four", String(card.suffix(12))))
        return all
    }()

    static let words: [(what: String, text: String)] = [("the CVC", cvc), ("the PIN", pin)]

    static let needleBytes: [[UInt8]] = needles.map { Array($0.text.utf8) }

    /// glibc's `memmem` (a GNU extension the Glibc module does not declare): several hundred
    /// needles are looked for in every text, which `String.contains` makes slow in a debug build.
    static let memmem: (@convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?)? =
        dlsym(dlopen(nil, RTLD_NOW), "memmem").map {
            unsafeBitCast($0, to: (@convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?).self)
        }

    static func bytes(_ haystack: [UInt8], contain needle: [UInt8]) -> Bool {
        guard let memmem else { return String(decoding: haystack, as: UTF8.self).contains(String(decoding: needle, as: UTF8.self)) }
        return haystack.withUnsafeBytes { h in needle.withUnsafeBytes { n in memmem(h.baseAddress, h.count, n.baseAddress, n.count) != nil } }
    }

    /// Fails for every needle in `text`; `context` says which run wrote it and where.
    func assertNothingSecret(_ text: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let haystack = Array(text.utf8)
        for (needle, bytes) in zip(Self.needles, Self.needleBytes) where Self.bytes(haystack, contain: bytes) {
            XCTFail("\(context): \(needle.what) was written:\n\(Self.excerpt(text, around: needle.text))", file: file, line: line)
        }
        for word in Self.words where Self.containsWord(word.text, in: text) {
            XCTFail("\(context): \(word.what) was written:\n\(Self.excerpt(text, around: word.text))", file: file, line: line)
        }
    }

    /// `word` not preceded or followed by a letter or digit.
    static func containsWord(_ word: String, in text: String) -> Bool {
        var search = text.startIndex..<text.endIndex
        while let range = text.range(of: word, range: search) {
            let before = range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : " "
            let after = range.upperBound < text.endIndex ? text[range.upperBound] : " "
            if !(before.isLetter || before.isNumber) && !(after.isLetter || after.isNumber) { return true }
            search = range.upperBound..<text.endIndex
        }
        return false
    }

    static func excerpt(_ text: String, around needle: String) -> String {
        guard let range = text.range(of: needle) else { return String(text.prefix(2000)) }
        let start = text.index(range.lowerBound, offsetBy: -300, limitedBy: text.startIndex) ?? text.startIndex
        let end = text.index(range.upperBound, offsetBy: 300, limitedBy: text.endIndex) ?? text.endIndex
        return "…" + text[start..<end] + "…"
    }

    // MARK: - The example flows

    struct Example {
        var file: String
        /// The configs that hold its base URLs.
        var bases: [String]
        var answers: String
        /// Stubs for scripted runs (the Tokenize extension reads a terminal).
        var stubs: String?
        var extraDefines: [String] = []
    }

    static let examples: [Example] = [
        Example(
            file: "flows/payment.flow", bases: ["STRIPE_BASE"], answers: #"{"Embedded Payment": "4.00"}"#,
            stubs: #"{"Tokenize": {"token": "pm_card_audit"}}"#, extraDefines: ["STRIPE_PUBLISHABLE_KEY=\(publishableKey)"]),
        Example(
            file: "flows/balance.flow", bases: ["BANK_BASE"],
            answers: #"{"Account.Account number": "12345678", "Account.Include pending": true}"#),
        Example(
            file: "flows/order-status.flow", bases: ["SHOP_BASE"],
            answers: #"""
                {"Order Lookup.Order #": "AB12CD34", "Order Lookup.Order date": "2024-03-01", "Topics.Topics": [["Status", "Items"]],
                 "Next step.Next step": "Change e-mail", "New email.New email": "new@example.com"}
                """#),
        Example(
            file: "flows/retry-pin.flow", bases: ["CARDS_BASE"],
            answers: #"{"Customer number": "12345678", "PIN": "\#(pin)"}"#),
        Example(
            file: "flows/support.flow", bases: ["SMS_BASE", "TICKETS_BASE"],
            answers: #"""
                {"Issue.Product": "Billing", "Issue.Service down": "no", "Issue.Devices affected": 2,
                 "Issue.Contact email": "ann@example.com", "Issue.Details": "The bill is wrong", "Text me.Text me": true,
                 "Mobile number.Mobile number": "+4917012345678"}
                """#),
    ]

    /// Every integration point of the examples, with arguments for `flow ip`.
    static let integrationPoints: [(file: String, name: String, base: String, arguments: [String])] = [
        ("flows/payment.flow", "StripeCharge", "STRIPE_BASE", ["amount=4.00", "token=pm_card_audit"]),
        ("flows/balance.flow", "Get Balance", "BANK_BASE", ["account=12345678"]),
        ("flows/order-status.flow", "Get Order", "SHOP_BASE", ["order number=AB12CD34"]),
        ("flows/order-status.flow", "Update Order Email", "SHOP_BASE", ["order number=AB12CD34", "email=new@example.com", "channel=ivr"]),
        ("flows/order-status.flow", "Cancel Order", "SHOP_BASE", ["order number=AB12CD34", "reason=caller request"]),
        ("flows/retry-pin.flow", "Verify PIN", "CARDS_BASE", ["customer=12345678", "pin=\(pin)"]),
        ("flows/retry-pin.flow", "Lock Card", "CARDS_BASE", ["customer=12345678", "reason=3 wrong PINs"]),
        ("flows/support.flow", "Send SMS", "SMS_BASE", ["phone=+4917012345678", "message=Your case number is T-1."]),
        ("flows/lib/common.flow", "Create Ticket", "TICKETS_BASE",
         ["subject=Router down", "priority=urgent", "queue=network", "email=ann@example.com", "details=none", "language=en"]),
    ]

    static let modes = ["ok", "err", "text-err", "cut", "redirect", "refused"]

    // MARK: - Set-up

    private var root: URL!
    /// What the runs read: the secrets file, answers, stubs, the server's script and log.
    private var inputs: URL!
    /// What the runs write: traces, and `TMPDIR` (`out/tmp`). Searched whole at the end.
    private var out: URL!
    private var gateway: EchoGateway!
    private var refusedPort = 0
    private var temporaryBefore: Set<String> = []
    private var packageBefore: Set<String> = []

    var tmp: URL { out.appendingPathComponent("tmp") }
    var secretsFile: String { inputs.appendingPathComponent("secrets.env").path }

    override func setUpWithError() throws {
        let system = FileManager.default.temporaryDirectory
        temporaryBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: system.path)) ?? [])
        packageBefore = Self.topLevelFiles(FlowProcess.packageRoot).union(Self.topLevelFiles(FlowProcess.packageRoot.appendingPathComponent("flows")))
        root = system.appendingPathComponent("flow-audit-\(UUID().uuidString)")
        inputs = root.appendingPathComponent("inputs")
        out = root.appendingPathComponent("out")
        for d in [inputs!, out!, tmp] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        var text = "# the audit's secrets\n"
        for (name, value) in Self.secrets.sorted(by: { $0.key < $1.key }) { text += "\(name)=\(value)\n" }
        try text.write(toFile: secretsFile, atomically: true, encoding: .utf8)
        gateway = try EchoGateway.start(in: inputs)
        refusedPort = try Self.unusedPort()
        // The ports are echoed (a request's `Host`, a refused connection's message), and a port
        // that holds a number the short-values audit looks for fails it with no leak: with the
        // gateway on port 46503, which holds the PIN read as a number (465), the `cut` mode's
        // output failed the audit (CI, and again with the port fixed at 46503). A port without
        // any of them is taken instead.
        var tries = 0
        while Self.holdsAShortNumber(gateway.port) && tries < 50 {
            gateway.stop()
            gateway = try EchoGateway.start(in: inputs)
            tries += 1
        }
        while Self.holdsAShortNumber(refusedPort) && tries < 100 {
            refusedPort = try Self.unusedPort()
            tries += 1
        }
    }

    /// Whether the digits of `port` hold one of the numbers the short-values audit looks for
    /// (`0465`, `465`, `918`, `583`).
    static func holdsAShortNumber(_ port: Int) -> Bool {
        let digits = String(port)
        return shortNeedles.contains { !$0.text.isEmpty && $0.text.allSatisfy(\.isNumber) && digits.contains($0.text) }
    }

    override func tearDown() {
        gateway?.stop()
        gateway = nil
        if let root { try? FileManager.default.removeItem(at: root) }
        super.tearDown()
    }

    func base(_ mode: String) -> String {
        mode == "refused" ? "http://127.0.0.1:\(refusedPort)" : "http://127.0.0.1:\(gateway.port)/\(mode)"
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = inputs.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The environment of a run: `TMPDIR` into the test's folder, and the secrets named (all by
    /// default) or none of them.
    func environment(secrets: Bool, only names: Set<String>? = nil) -> [String: String?] {
        var environment: [String: String?] = ["TMPDIR": tmp.path]
        for (name, value) in Self.secrets { environment[name] = secrets && (names?.contains(name) ?? true) ? value : nil }
        return environment
    }

    /// Runs `flow arguments…` and checks both streams.
    @discardableResult
    func flow(_ arguments: [String], secretsFromEnvironment: Bool, only names: Set<String>? = nil, _ context: String,
              file: StaticString = #filePath, line: UInt = #line) throws -> FlowRun
    {
        let run = try FlowProcess.run(arguments, environment: environment(secrets: secretsFromEnvironment, only: names), timeout: 90)
        assertNothingSecret(run.stdout, "\(context): standard output", file: file, line: line)
        assertNothingSecret(run.stderr, "\(context): standard error", file: file, line: line)
        return run
    }

    // MARK: - Scripted, traced, JSON

    func testEveryExampleFlowInEveryModeWritesNoSecret() throws {
        let listed = Set(Self.examples.map(\.file))
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: FlowProcess.packageRoot.appendingPathComponent("flows").path)
            .filter { $0.hasSuffix(".flow") }.map { "flows/\($0)" })
        XCTAssertEqual(listed, present, "every example flow is audited: add the new ones to SecretsAuditTests.examples")

        for example in Self.examples {
            let answers = try write("answers-\(example.bases[0]).json", example.answers)
            var combinations = Self.modes.map { mode in Dictionary(uniqueKeysWithValues: example.bases.map { ($0, mode) }) }
            if example.bases.count > 1 {
                // support.flow: the ticket made, then the text message failing in each way.
                for mode in ["err", "text-err", "cut", "redirect", "refused"] { combinations.append(["TICKETS_BASE": "ok", "SMS_BASE": mode]) }
            }
            for modes in combinations {
                var arguments = ["run", example.file, "--answers", answers]
                if let stubs = example.stubs { arguments += ["--stubs", try write("stubs.json", stubs)] }
                for d in example.extraDefines { arguments += ["--define", d] }
                for (config, mode) in modes.sorted(by: { $0.key < $1.key }) { arguments += ["--define", "\(config)=\(base(mode))"] }
                let label = "\(example.file) \(modes.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " "))"

                // Secrets from the file; the conversation and a trace.
                let trace = out.appendingPathComponent("trace-\(UUID().uuidString).jsonl").path
                let plain = try flow(arguments + ["--secrets", secretsFile, "--trace", trace], secretsFromEnvironment: false, "\(label), scripted")
                XCTAssertTrue([0, 1].contains(plain.status), "\(label): the flow should finish: \(plain)")
                let traced = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
                XCTAssertFalse(traced.isEmpty, label)
                assertNothingSecret(traced, "\(label), scripted: the trace")

                // Secrets from the environment; JSON, and a trace.
                let jsonTrace = out.appendingPathComponent("trace-\(UUID().uuidString).jsonl").path
                let json = try flow(arguments + ["--json", "--trace", jsonTrace], secretsFromEnvironment: true, "\(label), --json")
                XCTAssertTrue([0, 1].contains(json.status), "\(label): the flow should finish: \(json)")
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), "\(label): \(json)")
                assertNothingSecret((try? String(contentsOfFile: jsonTrace, encoding: .utf8)) ?? "", "\(label), --json: the trace")

                // The audit proves something only if the echo came back and was shown hidden.
                if Set(modes.values) == ["ok"] || Set(modes.values) == ["err"] {
                    XCTAssertTrue((plain.stdout + traced).contains("***"), "\(label): no echo was shown:\n\(plain)\n\(traced)")
                }
            }
        }
        assertTheSecretsStayedWithTheGateway(expecting: ["STRIPE_SECRET_KEY", "SHOP_API_KEY", "TICKETS_TOKEN", "SMS_TOKEN", "BANK_PASSWORD", "CARDS_PASSWORD"])
        assertNoFileHoldsASecret()
    }

    // MARK: - flow ip

    func testFlowIPVerboseForEveryIntegrationPointWritesNoSecret() throws {
        // Every `ip` declared in flows/ and flows/lib/.
        var declared: Set<String> = []
        for folder in ["flows", "flows/lib"] {
            let url = FlowProcess.packageRoot.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".flow") {
                let text = try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("ip ") {
                    declared.insert("\(folder)/\(name): " + line.dropFirst(3).prefix { $0 != "(" && $0 != "{" }.trimmingCharacters(in: .whitespaces))
                }
            }
        }
        XCTAssertEqual(Set(Self.integrationPoints.map { "\($0.file): \($0.name)" }), declared,
                       "every integration point is audited: add the new ones to SecretsAuditTests.integrationPoints")

        for ip in Self.integrationPoints {
            for mode in Self.modes {
                var arguments = ["ip", ip.file, ip.name, "--define", "\(ip.base)=\(base(mode))", "--verbose"]
                for a in ip.arguments { arguments += ["--arg", a] }
                let label = "flow ip \(ip.file) '\(ip.name)' \(mode)"
                let verbose = try flow(arguments + ["--secrets", secretsFile], secretsFromEnvironment: false, "\(label) --verbose")
                XCTAssertTrue([0, 1].contains(verbose.status), "\(label): \(verbose)")
                XCTAssertTrue(verbose.stderr.contains("> attempt 1: "), "\(label): \(verbose)")
                if mode != "refused" {
                    XCTAssertTrue(verbose.stderr.contains("***"), "\(label): the request's secret should be shown hidden: \(verbose)")
                }
                if mode == "text-err" {
                    // The request echoed as text: every line of it marked as the server's.
                    // (Split as a terminal shows it: "\r\n" is one Character, not "\n".)
                    let shown = verbose.stderr.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                    for l in shown.components(separatedBy: "\n").dropLast() {
                        XCTAssertTrue(["> ", "< ", "error: "].contains { l.hasPrefix($0) } || l == ">" || l == "<",
                                      "\(label): a line of the exchange not marked '> ' or '< ': '\(l)'\n\(verbose.stderr)")
                    }
                }
                let json = try flow(arguments + ["--json"], secretsFromEnvironment: true, "\(label) --verbose --json")
                XCTAssertTrue([0, 1].contains(json.status), "\(label): \(json)")
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), "\(label): \(json)")
            }
        }
        assertTheSecretsStayedWithTheGateway(expecting: ["STRIPE_SECRET_KEY", "SHOP_API_KEY", "TICKETS_TOKEN", "SMS_TOKEN", "BANK_PASSWORD", "CARDS_PASSWORD"])
        // The PIN went to the gateway (a secure argument may go there) and was shown nowhere.
        XCTAssertTrue(gateway.requests().contains { $0.text.contains(#""pin":"\#(Self.pin)""#) }, "the PIN never reached the gateway")
        assertNoFileHoldsASecret()
    }

    // MARK: - A secret in every part of a request

    static let auditFlow = #"""
        config BASE = "http://x"
        config USER = "audit-user"
        secret AUDIT_HEADER
        secret AUDIT_QUERY
        secret AUDIT_JSON
        secret AUDIT_PASSWORD
        secret TICKETS_TOKEN

        ip Form Post(note: text, pin: secure) {
          POST "{BASE}/v1/form"
          auth bearer TICKETS_TOKEN
          headers {
            "X-Audit" = AUDIT_HEADER
          }
          query {
            key = AUDIT_QUERY
          }
          form {
            "api_secret" = AUDIT_QUERY
            pin = pin
            note = note
          }
          output echo: text = json "echo"
        }

        ip JSON Put(pin: secure) {
          PUT "{BASE}/v1/json"
          auth basic USER, AUDIT_PASSWORD
          json { "secret": AUDIT_JSON, "pin": pin, "query": AUDIT_QUERY }
          output echo: text = text
        }

        ip Raw Post() {
          POST "{BASE}/v1/raw"
          headers {
            "Content-Type" = "text/plain"
            "X-Audit" = AUDIT_HEADER
          }
          body "secret={AUDIT_JSON}"
          output echo: text = header "X-Request-Id"
        }

        ip Header Get() {
          GET "{BASE}/v1/header"
          headers {
            "X-Audit" = AUDIT_HEADER
          }
          output echo: text = json "echo"
        }

        ip SOAP Call(pin: secure) {
          soap 1.2 "{BASE}/v1/soap"
          namespace a = "http://audit.example/"
          namespace r = "http://bank.example/accounts"
          auth basic USER, AUDIT_PASSWORD
          body {
            a:Login {
              a:Secret = TICKETS_TOKEN
              a:Pin = pin
            }
          }
          output echo: text = xml "r:GetBalanceResponse/r:AsOf"
        }

        flow Audit {
          question PIN: password {
            prompt "Your PIN?"
          }
          ip Form Post("a note", PIN) -> (echo: form echo)
          on error {
            response "form failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set form echo = "none"
          }
          ip JSON Put(PIN) -> (echo: json echo)
          on error {
            response "json failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set json echo = "none"
          }
          ip Raw Post() -> (echo: raw echo)
          on error {
            response "raw failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set raw echo = "none"
          }
          ip Header Get() -> (echo: header echo)
          on error {
            response "header failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set header echo = "none"
          }
          ip SOAP Call(PIN) -> (echo: soap echo)
          on error {
            response "soap failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            finish failure "{error.message}"
          }
          response "echoes: {form echo} {json echo} {raw echo} {header echo} {soap echo}"
        }
        """#

    func testASecretInEveryPartOfARequestIsNeverShown() throws {
        let path = try write("audit.flow", Self.auditFlow)
        let check = try FlowProcess.run(["check", path])
        XCTAssertEqual(check.status, 0, "\(check)")
        let answers = try write("audit-answers.json", #"{"PIN": "\#(Self.pin)"}"#)
        for mode in Self.modes {
            let label = "audit.flow \(mode)"
            let trace = out.appendingPathComponent("audit-\(mode).jsonl").path
            let run = try flow(["run", path, "--answers", answers, "--define", "BASE=\(base(mode))", "--secrets", secretsFile, "--trace", trace],
                               secretsFromEnvironment: false, label)
            XCTAssertTrue([0, 1].contains(run.status), "\(label): \(run)")
            assertNothingSecret((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "", "\(label): the trace")
            if mode == "ok" || mode == "err" {
                XCTAssertTrue(run.stdout.contains("***"), "\(label): no echo was shown: \(run)")
            }
            for (ip, arguments) in [("Form Post", ["note=n", "pin=\(Self.pin)"]), ("JSON Put", ["pin=\(Self.pin)"]), ("Raw Post", []),
                                    ("Header Get", []), ("SOAP Call", ["pin=\(Self.pin)"])] {
                let verbose = try flow(["ip", path, ip, "--define", "BASE=\(base(mode))", "--verbose"] + arguments.flatMap { ["--arg", $0] },
                                       secretsFromEnvironment: true, "\(label): flow ip '\(ip)' --verbose")
                XCTAssertTrue([0, 1].contains(verbose.status), "\(label) \(ip): \(verbose)")
            }
        }
        // Through a redirect to another host: the headers that carry secrets are left behind, and
        // a request whose body carries one is not sent on at all.
        let redirected = gateway.requests().filter { $0.host.hasPrefix("localhost") }
        XCTAssertEqual(Set(redirected.map(\.path)), ["/ok/v1/header"], redirected.map(\.text).joined(separator: "\n\n"))
        assertTheSecretsStayedWithTheGateway(expecting: ["AUDIT_HEADER", "AUDIT_QUERY", "AUDIT_JSON", "AUDIT_PASSWORD", "TICKETS_TOKEN"])
        assertNoFileHoldsASecret()
    }

    // MARK: - Numbers and short values

    /// Secure values that are numbers or shorter than four characters: a 4-digit PIN with a leading
    /// zero (a gateway that reads it as a number echoes `465`), a 3-digit CVC, a 3-digit secret, a
    /// 3-character secret with a character percent-encoding changes, and a long numeric secret.
    static let shortPIN = "0465"
    static let shortCVC = "918"
    static let shortSecrets: [String: String] = [
        "AUDIT_NUMBER": "7" + String((0..<8).map { _ in "0123456789".randomElement()! }),
        "AUDIT_SHORT": "7&Q",
        "AUDIT_SHORT_NUMBER": "583",
    ]

    /// What must not be written by the short-values audit: (what, text, whole token only).
    static let shortNeedles: [(what: String, text: String, token: Bool)] = {
        var all: [(String, String, Bool)] = []
        var values: [(String, String)] = [("the PIN", shortPIN), ("the PIN as a number", "465"), ("the CVC", shortCVC)]
        for (name, value) in shortSecrets.sorted(by: { $0.key < $1.key }) { values.append(("secret \(name)", value)) }
        for (what, value) in values {
            var forms = SecretsAuditTests.forms(of: value)
            forms.append(("JSON-escaped as Go writes it", value.replacingOccurrences(of: "&", with: "\\u0026")))
            for (form, text) in forms where !form.hasPrefix("ten characters") {
                all.append(("\(what) (\(form))", text, value.count < 4))
            }
        }
        return all
    }()

    /// `token` (ASCII) where it stands on its own in `text`: not preceded or followed by a letter or
    /// digit (any byte beyond ASCII counts as a letter), except that an escape just before it
    /// (`\n`, `%20`) does not join it to what comes before.
    static func containsToken(_ token: [UInt8], in text: [UInt8]) -> Bool {
        guard let first = token.first, let last = token.last, text.count >= token.count else { return false }
        func word(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
        }
        var i = 0
        while i + token.count <= text.count {
            guard text[i] == first, text[i..<(i + token.count)].elementsEqual(token) else {
                i += 1
                continue
            }
            var free = !word(first) || i == 0 || !word(text[i - 1])
            if !free && i >= 2 && text[i - 2] == UInt8(ascii: "\\") { free = true }
            if !free && i >= 3 && text[i - 3] == UInt8(ascii: "%") { free = true }
            let end = i + token.count
            if free && (!word(last) || end == text.count || !word(text[end])) { return true }
            i += 1
        }
        return false
    }

    static let shortNeedleBytes: [[UInt8]] = shortNeedles.map { Array($0.text.utf8) }

    func assertNoShortValue(_ text: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        assertNothingSecret(text, context, file: file, line: line)
        let haystack = Array(text.utf8)
        for (needle, bytes) in zip(Self.shortNeedles, Self.shortNeedleBytes) {
            // Most needles are in no text: a quick look first.
            guard Self.bytes(haystack, contain: bytes) else { continue }
            if !needle.token || Self.containsToken(bytes, in: haystack) {
                XCTFail("\(context): \(needle.what) was written:\n\(Self.excerpt(text, around: needle.text))", file: file, line: line)
            }
        }
    }

    static let shortFlow = #"""
        config BASE = "http://x"
        secret AUDIT_NUMBER
        secret AUDIT_SHORT
        secret AUDIT_SHORT_NUMBER

        ip JSON Check(pin: secure, cvc: secure) {
          POST "{BASE}/v1/json-check"
          headers {
            "X-Short" = AUDIT_SHORT
            "X-Number" = AUDIT_NUMBER
          }
          query {
            short = AUDIT_SHORT
          }
          json { "pin": pin, "cvc": cvc, "number": AUDIT_NUMBER, "short number": AUDIT_SHORT_NUMBER }
          output echo: text = json "echo"
        }

        ip Form Check(pin: secure, cvc: secure) {
          POST "{BASE}/v1/form-check"
          headers {
            "X-Short-Number" = AUDIT_SHORT_NUMBER
          }
          form {
            pin = pin
            cvc = cvc
            short = AUDIT_SHORT
            number = AUDIT_NUMBER
          }
          output echo: text = json "echo"
        }

        ip Text Check(cvc: secure) {
          POST "{BASE}/v1/text-check"
          headers {
            "Content-Type" = "text/plain"
          }
          body "{cvc}"
          output echo: text = header "X-Request-Id"
        }

        ip Echo Numbers(pin: secure, cvc: secure) {
          POST "{BASE}/v1/numbers"
          json { "pin": pin, "cvc": cvc, "number": AUDIT_NUMBER, "short": AUDIT_SHORT_NUMBER }
          output numbers: object = json "numbers"
        }

        flow Short {
          question PIN: password {
            prompt "Your PIN?"
          }
          question CVC: password {
            prompt "Your CVC?"
          }
          ip JSON Check(PIN, CVC) -> (echo: json echo)
          on error {
            response "json failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set json echo = "none"
          }
          ip Form Check(PIN, CVC) -> (echo: form echo)
          on error {
            response "form failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set form echo = "none"
          }
          ip Text Check(CVC) -> (echo: text echo)
          on error {
            response "text failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            set text echo = "none"
          }
          ip Echo Numbers(PIN, CVC) -> (numbers: numbers)
          on error {
            response "numbers failed: {error.kind} {error.status} {error.code} {error.message} {error.body}"
            finish failure "{error.message}"
          }
          response "echoes: {json echo} | {form echo} | {text echo} | {numbers}"
        }
        """#

    /// The gateway echoes every value of the request that is all digits as a JSON number (in an
    /// error body and in an object output), as text in the error message and in a header, and the
    /// whole request as a JSON string, as text and percent-encoded as it came; nothing of the PIN,
    /// the CVC or the short secrets may be written, in a scripted run, its trace, `--json`, or
    /// `flow ip --verbose`. The secrets come from a file with CRLF lines, or the environment.
    func testNumericAndShortSecureValuesAreNeverShown() throws {
        // The gateway's port was taken so as to hold none of the numbers looked for (see setUp).
        XCTAssertTrue(Self.holdsAShortNumber(46503) && Self.holdsAShortNumber(30465) && !Self.holdsAShortNumber(41234))
        XCTAssertFalse(Self.holdsAShortNumber(gateway.port))
        let path = try write("short.flow", Self.shortFlow)
        let check = try FlowProcess.run(["check", path])
        XCTAssertEqual(check.status, 0, "\(check)")
        let secrets = try write(
            "short-secrets.env", Self.shortSecrets.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)\r\n" }.joined())
        let answers = try write("short-answers.json", #"{"PIN": "\#(Self.shortPIN)", "CVC": "\#(Self.shortCVC)"}"#)
        var environment: [String: String?] = ["TMPDIR": tmp.path]
        for (name, value) in Self.shortSecrets { environment[name] = value }
        for mode in ["numbers", "numbers-ok", "ok", "err", "text-err", "cut", "redirect"] {
            let label = "short.flow \(mode)"
            let arguments = ["run", path, "--answers", answers, "--define", "BASE=\(base(mode))"]
            let trace = out.appendingPathComponent("short-\(mode).jsonl").path
            let plain = try FlowProcess.run(arguments + ["--secrets", secrets, "--trace", trace], environment: ["TMPDIR": tmp.path], timeout: 90)
            XCTAssertTrue([0, 1].contains(plain.status), "\(label): \(plain)")
            assertNoShortValue(plain.stdout, "\(label): standard output")
            assertNoShortValue(plain.stderr, "\(label): standard error")
            let traced = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
            XCTAssertFalse(traced.isEmpty, label)
            assertNoShortValue(traced, "\(label): the trace")

            let jsonTrace = out.appendingPathComponent("short-\(mode)-json.jsonl").path
            let json = try FlowProcess.run(arguments + ["--json", "--trace", jsonTrace], environment: environment, timeout: 90)
            XCTAssertTrue([0, 1].contains(json.status), "\(label) --json: \(json)")
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), "\(label): \(json)")
            assertNoShortValue(json.stdout, "\(label) --json: standard output")
            assertNoShortValue(json.stderr, "\(label) --json: standard error")
            assertNoShortValue((try? String(contentsOfFile: jsonTrace, encoding: .utf8)) ?? "", "\(label) --json: the trace")

            // The audit proves something only if the numbers came back and were shown hidden.
            if mode == "numbers" {
                XCTAssertTrue(plain.stdout.contains(#""pin":"***""#), "\(label): the PIN was not echoed as a number:\n\(plain)")
                XCTAssertTrue(plain.stdout.contains("refused: pin ***, cvc ***"), "\(label): the message was not echoed:\n\(plain)")
            }
            if mode == "numbers-ok" {
                XCTAssertTrue(plain.stdout.contains(#""cvc":"***""#), "\(label): the CVC was not echoed as a number:\n\(plain)")
            }

            // `flow ip` where the echoes differ (the others are as in the runs above).
            guard ["numbers", "numbers-ok", "text-err"].contains(mode) else { continue }
            for (ip, ipArguments) in [("JSON Check", ["pin=\(Self.shortPIN)", "cvc=\(Self.shortCVC)"]),
                                      ("Form Check", ["pin=\(Self.shortPIN)", "cvc=\(Self.shortCVC)"]),
                                      ("Text Check", ["cvc=\(Self.shortCVC)"]),
                                      ("Echo Numbers", ["pin=\(Self.shortPIN)", "cvc=\(Self.shortCVC)"])] {
                let ipLabel = "\(label): flow ip '\(ip)'"
                let command = ["ip", path, ip, "--define", "BASE=\(base(mode))", "--verbose"] + ipArguments.flatMap { ["--arg", $0] }
                let verbose = try FlowProcess.run(command + ["--secrets", secrets], environment: ["TMPDIR": tmp.path], timeout: 90)
                XCTAssertTrue([0, 1].contains(verbose.status), "\(ipLabel): \(verbose)")
                XCTAssertTrue(verbose.stderr.contains("> attempt 1: "), "\(ipLabel): \(verbose)")
                assertNoShortValue(verbose.stdout, "\(ipLabel) --verbose: standard output")
                assertNoShortValue(verbose.stderr, "\(ipLabel) --verbose: standard error")
                guard mode == "numbers" else { continue }
                let json = try FlowProcess.run(command + ["--json"], environment: environment, timeout: 90)
                XCTAssertTrue([0, 1].contains(json.status), "\(ipLabel) --json: \(json)")
                assertNoShortValue(json.stdout, "\(ipLabel) --verbose --json: standard output")
                assertNoShortValue(json.stderr, "\(ipLabel) --verbose --json: standard error")
            }
        }
        // Every value went to the gateway, so the audit is not empty.
        let home = gateway.requests().filter { $0.host.hasPrefix("127.0.0.1") }.map(\.text).joined(separator: "\n")
        for sent in [#""pin":"\#(Self.shortPIN)""#, #""cvc":"\#(Self.shortCVC)""#, "cvc=\(Self.shortCVC)", "\r\n\r\n\(Self.shortCVC)",
                     "short=7%26Q", "X-Short: 7&Q", "X-Short-Number: 583", Self.shortSecrets["AUDIT_NUMBER"]!] {
            XCTAssertTrue(home.contains(sent), "'\(sent)' never reached the gateway: the audit proves nothing")
        }
        for request in gateway.requests() where !request.host.hasPrefix("127.0.0.1") {
            assertNoShortValue(request.text, "a request redirected to \(request.host)\(request.path)")
        }
        // Files the runs left: traces, and what is in their TMPDIR.
        for name in (FileManager.default.enumerator(atPath: out.path)?.allObjects as? [String]) ?? [] {
            let file = out.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            assertNoShortValue(String(decoding: data, as: UTF8.self), "the file \(file.path)")
        }
    }

    /// A secrets file line the run cannot read stops it with its line number (exit 65), before
    /// anything is sent, and the value on that line is not shown.
    func testASecretsFileLineThatCannotBeReadStopsTheRun() throws {
        let path = try write("short.flow", Self.shortFlow)
        let value = "sk_" + "live_\(Self.tag)NotShown"
        for (text, line, message) in [
            ("AUDIT_SHORT=7&Q\r\nexport AUDIT_NUMBER=\(value)\r\n", 2, "expected KEY=VALUE without 'export'"),
            ("# keys\nAUDIT_NUMBER \(value)\n", 2, "expected KEY=VALUE"),
            ("AUDIT-NUMBER=\(value)\n", 1, "expected a secret name before '=' (words of letters, digits and '_', or a name in backquotes)"),
        ] {
            let secrets = try write("bad-\(line).env", text)
            let run = try FlowProcess.run(["run", path, "--secrets", secrets, "--answer", "PIN=1234", "--answer", "CVC=123",
                                           "--define", "BASE=\(base("ok"))"], environment: ["TMPDIR": tmp.path])
            XCTAssertEqual(run.status, 65, "\(text.debugDescription): \(run)")
            XCTAssertTrue(run.stderr.hasPrefix("error: \(secrets):\(line): \(message)\n"), "\(text.debugDescription): \(run.stderr)")
            XCTAssertFalse((run.stdout + run.stderr).contains(Self.tag), "the value was shown: \(run)")
        }
        XCTAssertTrue(gateway.requests().isEmpty, "nothing is sent when the secrets file cannot be read")
    }

    // MARK: - Extensions

    /// An extension runs on the customer's side: secrets given through the environment are not
    /// in its environment (its standard output is the run's, which the test reads).
    func testAnExtensionGetsNoSecretThroughItsEnvironment() throws {
        let script = inputs.appendingPathComponent("env-dump")
        try "#!/bin/sh\nenv\nprintf '{\"seen\": \"%s\"}' \"${STRIPE_SECRET_KEY:+key}\" >&4\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let path = try write("extension.flow", """
            config BASE = "http://x"
            secret STRIPE_SECRET_KEY
            secret SHOP_API_KEY

            extension Env Dump() {
              run "env-dump"
              output seen: text
            }

            ip Ping() {
              GET "{BASE}/v1/ping"
              auth bearer STRIPE_SECRET_KEY
              headers {
                "X-Api-Key" = SHOP_API_KEY
              }
              output status: number = status
            }

            flow Main {
              extension Env Dump() -> (seen: seen)
              response "the extension saw: [{seen}]"
              ip Ping() -> (status: status)
              on error {
                finish failure "ping failed"
              }
              response "ping: {status}"
            }

            """)
        // Only the flow's own secrets: other variables of the environment are the extension's.
        let run = try flow(["run", path, "--define", "BASE=\(base("ok"))"], secretsFromEnvironment: true,
                           only: ["STRIPE_SECRET_KEY", "SHOP_API_KEY"], "a run with an extension")
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("FLOW_EXTENSION=Env Dump\n"), "\(run)")
        XCTAssertTrue(run.stdout.contains("the extension saw: []\n"), "\(run)")
        XCTAssertTrue(run.stdout.contains("ping: 200\n"), "the IP still has the secrets: \(run)")
        assertTheSecretsStayedWithTheGateway(expecting: ["STRIPE_SECRET_KEY", "SHOP_API_KEY"])
    }

    // MARK: - At a terminal

    /// Starts `flow` on a pseudo-terminal. `TerminalSession` passes on this process's environment,
    /// so the secrets (when asked) are put there just while it starts. (Not `TMPDIR`: Foundation
    /// keeps the temporary directory it first saw, and this process's must not move; what `flow`
    /// leaves in the system's temporary directory is searched too.)
    func terminal(_ arguments: [String], secretsFromEnvironment: Bool) throws -> TerminalSession {
        let values = secretsFromEnvironment ? Self.secrets : [:]
        var saved: [String: String?] = [:]
        for (name, value) in values {
            saved[name] = getenv(name).map { String(cString: $0) }
            setenv(name, value, 1)
        }
        defer {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
        }
        return try TerminalSession(arguments, timeout: 60)
    }

    /// Reads what the terminal shows up to the end of the run: the process may have exited before
    /// its last lines were read. The end is the `finished:` line, with the reason the trace
    /// recorded (which may run over several lines), or with `--json` the JSON object.
    func readToTheEnd(_ session: TerminalSession, trace: String, json: Bool, _ label: String) throws {
        if json {
            try session.expect(#""steps": "#)
            try session.expect("}\n")
            return
        }
        let lines = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n")
        guard let last = lines.last, let event = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
            event["event"] as? String == "finish", let outcome = event["outcome"] as? String
        else {
            return XCTFail("\(label): the trace does not end with the finish:\n\(lines.suffix(3).joined(separator: "\n"))")
        }
        // The session keeps no "\r" of what the terminal showed.
        let reason = (event["reason"] as? String).map { ": " + $0.replacingOccurrences(of: "\r", with: "") } ?? ""
        try session.expect("finished: \(outcome)\(reason)\n")
    }

    func testEveryExampleFlowAtATerminalShowsNoSecret() throws {
        for example in Self.examples where example.stubs == nil {
            let answers = try write("answers-\(example.bases[0]).json", example.answers)
            for (mode, fromEnvironment) in [("ok", false), ("err", true), ("text-err", false), ("redirect", true)] {
                var arguments = ["run", example.file, "--answers", answers]
                for config in example.bases { arguments += ["--define", "\(config)=\(base(mode))"] }
                if !fromEnvironment { arguments += ["--secrets", secretsFile] }
                let trace = out.appendingPathComponent("pty-\(UUID().uuidString).jsonl").path
                let session = try terminal(arguments + ["--trace", trace], secretsFromEnvironment: fromEnvironment)
                let status = try session.waitForExit()
                let label = "\(example.file) \(mode) at a terminal"
                XCTAssertTrue([0, 1].contains(status), "\(label): exit \(status)\n\(session.output)")
                try readToTheEnd(session, trace: trace, json: false, label)
                assertNothingSecret(session.output, "\(label): the terminal")
                assertNothingSecret((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "", "\(label): the trace")
                if mode == "ok" { XCTAssertTrue(session.output.contains("***"), "\(label): no echo was shown:\n\(session.output)") }
                XCTAssertTrue(session.echoIsOn, "\(label): the terminal was left with echo off")
            }
        }
        assertNoFileHoldsASecret()
    }

    /// payment.flow for real at a terminal: the Tokenize extension reads the card typed there and
    /// sends it to the echo gateway, which echoes it back to the extension (in the payment method
    /// it makes, or in its refusal), and StripeCharge's request comes back in every way too.
    func testAPaymentAtATerminalShowsNoCardDataAndNoKey() throws {
        let runs: [(mode: String, json: Bool, fromEnvironment: Bool)] = [
            ("ok", false, false), ("charge-err", true, true), ("err", false, true), ("text-err", false, false),
            ("cut", true, false), ("redirect", false, false), ("refused", false, true),
        ]
        for run in runs {
            let label = "payment.flow \(run.mode) at a terminal\(run.json ? " with --json" : "")"
            let trace = out.appendingPathComponent("payment-\(UUID().uuidString).jsonl").path
            var arguments = [
                "run", "flows/payment.flow", "--define", "STRIPE_BASE=\(base(run.mode))",
                "--define", "STRIPE_PUBLISHABLE_KEY=\(Self.publishableKey)", "--trace", trace,
            ]
            if run.json { arguments.append("--json") }
            if !run.fromEnvironment { arguments += ["--secrets", secretsFile] }
            let session = try terminal(arguments, secretsFromEnvironment: run.fromEnvironment)
            try session.expect("How much would you like to pay today, in US dollars?\n> ")
            session.type("4\n")
            try session.expect("Card number (not shown): ")
            XCTAssertFalse(session.echoIsOn, "\(label): echo should be off while the card number is typed")
            session.type(Self.card + "\n")
            try session.expect("Expiry date (MM/YY): ")
            session.type(Self.expiry + "\n")
            try session.expect("Security code (CVC, not shown): ")
            XCTAssertFalse(session.echoIsOn, "\(label): echo should be off while the CVC is typed")
            session.type(Self.cvc + "\n")
            let status = try session.waitForExit()
            try readToTheEnd(session, trace: trace, json: run.json, label)
            XCTAssertTrue([0, 1].contains(status), "\(label): exit \(status)\n\(session.output)")
            XCTAssertTrue(session.echoIsOn, "\(label): the terminal was left with echo off")
            assertNothingSecret(session.output, "\(label): the terminal")
            assertNothingSecret((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "", "\(label): the trace")
            switch run.mode {
            case "ok":
                // The echo of the charge, with the key hidden.
                XCTAssertTrue(session.output.contains("The payment did not go through: POST /ok/v1/charges HTTP/1.1"), "\(label):\n\(session.output)")
                XCTAssertTrue(session.output.contains("Authorization: Bearer ***"), "\(label):\n\(session.output)")
            case "charge-err":
                XCTAssertTrue(session.output.contains("Your card was declined: POST /charge-err/v1/charges"), "\(label):\n\(session.output)")
            case "err":
                XCTAssertTrue(session.output.contains("Sorry, we could not read your card details: "), "\(label):\n\(session.output)")
            default:
                break
            }
        }
        // The card went to the gateway's tokenization endpoint, and only there.
        let requests = gateway.requests()
        let tokenizations = requests.filter { $0.path.hasSuffix("/v1/payment_methods") }
        XCTAssertFalse(tokenizations.isEmpty)
        for t in tokenizations {
            XCTAssertTrue(t.text.contains("card%5Bnumber%5D=\(Self.card)"), t.text)
            XCTAssertEqual(t.header("Authorization"), "Bearer \(Self.publishableKey)")
        }
        for r in requests where !r.path.hasSuffix("/v1/payment_methods") {
            XCTAssertFalse(r.text.contains(Self.card), "the card number went to \(r.path):\n\(r.text)")
            XCTAssertFalse(Self.containsWord(Self.cvc, in: r.text), "the CVC went to \(r.path):\n\(r.text)")
        }
        let charges = requests.filter { $0.path.hasSuffix("/v1/charges") && !$0.host.hasPrefix("localhost") }
        XCTAssertTrue(charges.allSatisfy { $0.header("Authorization") == "Bearer \(Self.secrets["STRIPE_SECRET_KEY"]!)" })
        assertTheSecretsStayedWithTheGateway(expecting: ["STRIPE_SECRET_KEY"])
        assertNoFileHoldsASecret()
    }

    // MARK: - flow check

    func testFlowCheckRefusesLiteralSecretKeys() throws {
        let key = "\(Self.tag)4eC39HqLyjWDarjtT1zdp7dc"
        let body = "flow Main {\n  response \"hello\"\n}\n"
        let cases: [(what: String, source: String, line: Int)] = [
            ("a string", "config KEY = \"sk_" + "live_\(key)\"\n" + body, 1),
            ("a string after other text", "config KEY = \"Bearer sk_" + "test_\(key)\"\n" + body, 1),
            ("a template", "config X = 1\nflow Main {\n  response \"use {X} rk_" + "live_\(key) now\"\n}\n", 3),
            ("a restricted test key", "config KEY = \"rk_" + "test_\(key)\"\n" + body, 1),
            ("a comment", "// the old key was sk_" + "live_\(key)\n" + body, 1),
            ("a comment at the end of a line", "config X = 1 // sk_" + "test_\(key)\n" + body, 1),
            ("a word", "flow Main {\n  set key = sk_" + "live_\(key)\n  response \"{key}\"\n}\n", 2),
            ("a quoted name", "flow Main {\n  set `sk_" + "live_\(key)` = 1\n  response \"hi\"\n}\n", 2),
            ("a header value", """
                secret KEY
                ip Ping() {
                  GET "https://api.example.com/ping"
                  headers {
                    Authorization = "Bearer sk_\("live_")\(key)"
                  }
                  output s: number = status
                }
                flow Main {
                  ip Ping() -> (s: s)
                  response "{s}"
                }

                """, 5),
        ]
        for c in cases {
            let path = try write("key-\(UUID().uuidString).flow", c.source)
            let run = try FlowProcess.run(["check", "--format", "json", path])
            XCTAssertEqual(run.status, 65, "\(c.what): \(run)")
            let found = ((try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]] ?? [])
                .filter { $0["code"] as? String == "lex.secretKeyLiteral" }
            XCTAssertEqual(found.count, 1, "\(c.what): a key in \(c.what) should be refused once:\n\(c.source)\n\(run)")
            XCTAssertEqual(found.first?["line"] as? Int, c.line, "\(c.what): \(run)")
        }
        // Publishable keys are public, and a short word is no key.
        for source in ["config KEY = \"pk_live_\(key)\"\n" + body, "config KEY = \"sk_live_short\"\n" + body,
                       "// ask_live_\(key)\n" + body] {
            let path = try write("no-key-\(UUID().uuidString).flow", source)
            let run = try FlowProcess.run(["check", "--format", "json", path])
            XCTAssertEqual(run.status, 0, "\(source)\n\(run)")
        }
    }

    // MARK: - Where the secrets went

    /// Every secret named in `expecting` reached the gateway on 127.0.0.1 (as it is, or as a
    /// basic-auth header), and no request that a redirect took to another host ('localhost')
    /// carried any secret or card data.
    func assertTheSecretsStayedWithTheGateway(expecting names: [String], file: StaticString = #filePath, line: UInt = #line) {
        let requests = gateway.requests()
        XCTAssertFalse(requests.isEmpty, "the gateway got no requests", file: file, line: line)
        let home = requests.filter { $0.host.hasPrefix("127.0.0.1") }.map(\.text).joined(separator: "\n")
        for name in names {
            let value = Self.secrets[name]!
            let forms = [value] + Self.forms(of: value).map(\.1).filter { $0.count > 12 }
                + Self.basicUsers.map { Data("\($0):\(value)".utf8).base64EncodedString() }
            XCTAssertTrue(forms.contains { home.contains($0) }, "\(name) never reached the gateway: the audit proves nothing", file: file, line: line)
        }
        for request in requests where !request.host.hasPrefix("127.0.0.1") {
            assertNothingSecret(request.text, "a request redirected to \(request.host)\(request.path)", file: file, line: line)
        }
    }

    /// Every file under `out` (traces, the runs' `TMPDIR`), and every file that appeared in the
    /// system's temporary directory, the package and `flows/` while the test ran.
    func assertNoFileHoldsASecret(file: StaticString = #filePath, line: UInt = #line) {
        // Files the runs wrote are all searched; what else appeared meanwhile (other test runs on
        // this machine build in the temporary directory) is searched up to a budget.
        var budget = Int.max
        func scan(_ url: URL, depth: Int) {
            guard budget > 0, depth < 6 else { return }
            let values = try? url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey, .fileSizeKey])
            if values?.isSymbolicLink == true { return }
            if values?.isDirectory == true {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
                    scan(url.appendingPathComponent(name), depth: depth + 1)
                }
                return
            }
            budget -= 1
            guard (values?.fileSize ?? 0) <= 4 * 1024 * 1024, let data = FileManager.default.contents(atPath: url.path) else { return }
            assertNothingSecret(String(decoding: data, as: UTF8.self), "the file \(url.path)", file: file, line: line)
        }
        scan(out, depth: 0)
        budget = 500
        let system = FileManager.default.temporaryDirectory
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: system.path)) ?? []) where !temporaryBefore.contains(name) {
            let url = system.appendingPathComponent(name)
            if url.standardizedFileURL.path == root.standardizedFileURL.path { continue }
            // Not what compilers, package managers and shells running meanwhile leave there, nor the
            // inputs of another audit running at the same time (which hold the secrets on purpose).
            if ["TemporaryDirectory.", "bash_", "_", "swift", "clang", "flow-audit-"].contains(where: { name.hasPrefix($0) })
                || name.hasSuffix("-build")
            {
                continue
            }
            scan(url, depth: 3)
        }
        for folder in [FlowProcess.packageRoot, FlowProcess.packageRoot.appendingPathComponent("flows")] {
            for path in Self.topLevelFiles(folder).subtracting(packageBefore) { scan(URL(fileURLWithPath: path), depth: 5) }
        }
    }

    /// The paths of the files (not folders) directly in `folder`.
    static func topLevelFiles(_ folder: URL) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return Set(names.map { folder.appendingPathComponent($0).path }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        })
    }

    /// A port on 127.0.0.1 where nothing listens (bound to port 0, read, closed).
    static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FlowProcessError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw FlowProcessError("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The echo gateway: `python3` running `script` (below) on a free port of 127.0.0.1, which it
/// prints as `port N`; it exits when its standard input ends (so it never outlives the test).
/// Every request is appended to `requests.log` (base64, one a line) in the folder given.
final class EchoGateway {
    struct Request {
        var raw: Data
        var text: String { String(decoding: raw, as: UTF8.self) }
        var requestLine: String { text.components(separatedBy: "\r\n").first ?? "" }
        var path: String {
            let target = requestLine.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            return String(target.prefix { $0 != "?" })
        }
        func header(_ name: String) -> String? {
            let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
            for line in head.components(separatedBy: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].caseInsensitiveCompare(name) == .orderedSame {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
        var host: String { header("Host") ?? "" }
    }

    let port: Int
    private let process: Process
    private let input: Pipe
    private let log: URL

    private init(port: Int, process: Process, input: Pipe, log: URL) {
        self.port = port
        self.process = process
        self.input = input
        self.log = log
    }

    static func start(in folder: URL) throws -> EchoGateway {
        let script = folder.appendingPathComponent("echo-gateway.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let log = folder.appendingPathComponent("requests.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let errors = folder.appendingPathComponent("echo-gateway.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, log.path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        do {
            try process.run()
        } catch {
            throw unavailable("cannot start python3: \(error)")
        }
        var bytes: [UInt8] = []
        let until = Date().addingTimeInterval(20)
        let fd = output.fileHandleForReading.fileDescriptor
        while !bytes.contains(UInt8(ascii: "\n")) && Date() < until {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { break }
            bytes.append(byte)
        }
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("port "), let port = Int(line.dropFirst(5)) else {
            process.terminate()
            process.waitUntilExit()
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw unavailable("it said '\(line)' instead of 'port N'\n\(text)")
        }
        return EchoGateway(port: port, process: process, input: input, log: log)
    }

    /// Under CI a gateway that cannot start fails the test; elsewhere it skips it.
    private static func unavailable(_ reason: String) -> Error {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            return FlowProcessError("the echo gateway (python3) is not available (CI=true, so this is a failure): \(reason)")
        }
        return XCTSkip("the echo gateway (python3) is not available: \(reason)")
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        let until = Date().addingTimeInterval(5)
        while process.isRunning && Date() < until { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Every request received so far, in order.
    func requests() -> [Request] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Data(base64Encoded: String($0)).map { Request(raw: $0) } }
    }

    static let script = #"""
        import base64, json, os, sys, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qsl, urlsplit
        from xml.sax.saxutils import escape

        LOG = sys.argv[1]
        lock = threading.Lock()


        def json_text(raw):
            return json.dumps(raw.decode("utf-8", "replace"))[1:-1].encode("ascii")


        def xml_text(raw):
            return escape(raw.decode("utf-8", "replace"), {'"': "&quot;", "'": "&apos;"}).encode("utf-8")


        def digit_values(path, headers, body):
            found = []

            def add(name, value):
                if isinstance(value, str) and value.strip().isdigit():
                    found.append((name, value.strip()))

            for k, v in parse_qsl(urlsplit(path).query, keep_blank_values=True):
                add("query " + k, v)
            text = body.decode("utf-8", "replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                for k, v in parsed.items():
                    add(k, v)
            elif "=" in text:
                for k, v in parse_qsl(text, keep_blank_values=True):
                    add(k, v)
            else:
                add("body", text)
            for name, value in headers.items():
                add("header " + name, value)
            return found


        def line_text(raw):
            return raw.replace(b"\r", b" ").replace(b"\n", b" ").decode("latin-1")


        class Echo(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                raw = self.requestline.encode("latin-1") + b"\r\n"
                for name, value in self.headers.items():
                    raw += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
                raw += b"\r\n" + body
                with lock:
                    with open(LOG, "ab") as f:
                        f.write(base64.b64encode(raw) + b"\n")
                path = self.path
                mode = path.split("/")[1] if path.startswith("/") else ""
                xml = "xml" in (self.headers.get("Content-Type") or "")
                e = json_text(raw)
                if mode == "redirect":
                    target = "http://localhost:%d/ok%s" % (self.server.server_address[1], path[len("/redirect"):])
                    return self.reply(307, [("Location", target)], b"")
                if path.split("?")[0].endswith("/v1/payment_methods"):
                    if mode == "err":
                        body = b'{"error": {"message": "The card was refused: ' + e + b'", "code": "card_declined"}}'
                        return self.reply(402, [("Content-Type", "application/json")], body)
                    body = b'{"id": "pm_echo", "object": "payment_method", "echo": "' + e + b'"}'
                    return self.reply(200, [("Content-Type", "application/json")], body)
                echoed = [("X-Request-Id", line_text(raw)), ("X-SLA-Hours", "4")]
                if mode in ("numbers", "numbers-ok"):
                    # Every value of the request that is all digits, echoed as a JSON number (as a
                    # gateway that reads a PIN as a number does), as text in the message, and in a header.
                    found = digit_values(path, self.headers, body)
                    numbers = {k: int(v) for k, v in found}
                    message = "refused: " + ", ".join("%s %s" % (k, v) for k, v in found)
                    shown = [("X-Numbers", " ".join(v for _, v in found))]
                    if mode == "numbers":
                        body = json.dumps({"error": {"message": message, "code": found[0][1] if found else "none",
                                                     "numbers": numbers, "pin": numbers.get("pin"), "echo": e.decode("ascii")}})
                        return self.reply(402, [("Content-Type", "application/json")] + shown + echoed, body.encode("utf-8"))
                    body = json.dumps({"echo": message, "numbers": numbers})
                    return self.reply(200, [("Content-Type", "application/json")] + shown + echoed, body.encode("utf-8"))
                if mode == "ok":
                    if xml:
                        body = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                                b'<r:GetBalanceResponse xmlns:r="http://bank.example/accounts"><r:Balance>120.50</r:Balance>'
                                b'<r:Pending>20.25</r:Pending><r:AsOf>' + xml_text(raw) + b'</r:AsOf></r:GetBalanceResponse>'
                                b'</s:Body></s:Envelope>')
                        return self.reply(200, [("Content-Type", "text/xml; charset=utf-8")] + echoed, body)
                    body = (b'{"id": "' + e + b'", "status": "' + e + b'", "paid": true, "amount": 400, "failure_message": "' + e + b'",'
                            b' "placed_on": "2024-03-01", "items": [{"name": "' + e + b'", "quantity": 1}], "total": 12.5,'
                            b' "eta_minutes": 30, "updated": true, "refund_amount": 12.5, "valid": false, "tries_left": 0,'
                            b' "reference": "' + e + b'", "number": 4711, "echo": "' + e + b'"}')
                    return self.reply(200, [("Content-Type", "application/json")] + echoed, body)
                if mode in ("err", "charge-err"):
                    if xml:
                        body = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
                                b'<faultcode>s:Client</faultcode><faultstring>' + xml_text(raw) + b'</faultstring>'
                                b'</s:Fault></s:Body></s:Envelope>')
                        return self.reply(500, [("Content-Type", "text/xml; charset=utf-8")] + echoed, body)
                    body = b'{"error": {"message": "' + e + b'", "code": "' + e + b'", "echo": "' + e + b'"}}'
                    return self.reply(402, [("Content-Type", "application/json")] + echoed, body)
                if mode == "cut":
                    # Padding so that the first 64 KB end 20 bytes into the Authorization header's value.
                    i = raw.find(b"Authorization: ")
                    cut = i + len(b"Authorization: ") + 20 if i >= 0 else len(raw) // 2
                    return self.reply(400, [("Content-Type", "text/plain")], b"x" * max(0, 65536 - cut) + raw)
                # text-err, and anything else: the request as it came, as text.
                return self.reply(400, [("Content-Type", "text/plain")] + echoed, raw)

            def reply(self, status, headers, body):
                self.send_response_only(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one


        def main():
            server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
            server.daemon_threads = True
            print("port %d" % server.server_address[1], flush=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)


        main()
        """#
}
