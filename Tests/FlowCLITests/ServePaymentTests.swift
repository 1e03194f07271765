import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `flow serve flows/payment.flow` against localstripe: the amount answered over the API, the
/// Tokenize extension done as a client does it (the card sent to the gateway, only the `pm_` id
/// posted to the server), StripeCharge made by the server with its secret key; the same step
/// posted again is refused with 409 and charges nothing more. (The server killed during a charge
/// is `ServeTests.testCallInFlightAtACrashIsResentWithTheSameKey`, with a gateway that holds the
/// first request.) localstripe is installed and started as for `PaymentEndToEndTests`.
final class ServePaymentTests: XCTestCase {
    private var gateway: LocalStripe?
    private var server: Process?
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-serve-pay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let server, server.isRunning {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        gateway?.stop()
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    func testThePaymentFlowOverTheAPIChargesOnce() throws {
        let stripe = try LocalStripe.start(secretKey: PaymentEndToEndTests.secretKey)
        gateway = stripe
        let secrets = directory.appendingPathComponent("secrets.env")
        try "STRIPE_SECRET_KEY=\(PaymentEndToEndTests.secretKey)\n".write(to: secrets, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = FlowProcess.binary
        process.arguments = ["serve", "flows/payment.flow", "--listen", "127.0.0.1:0", "--store", "sqlite:" + directory.appendingPathComponent("s.db").path,
                             "--secrets", secrets.path, "--define", "STRIPE_BASE=http://127.0.0.1:\(stripe.port)",
                             "--define", "STRIPE_PUBLISHABLE_KEY=\(PaymentEndToEndTests.publishableKey)"]
        process.currentDirectoryURL = FlowProcess.packageRoot
        process.environment = FlowProcess.environment([:])
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
        server = process
        var port = 0
        let until = Date().addingTimeInterval(30)
        while port == 0 && Date() < until {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let r = text.range(of: #"127\.0\.0\.1:\d+"#, options: .regularExpression) { port = Int(text[r].split(separator: ":")[1]) ?? 0 }
            usleep(20_000)
        }
        XCTAssertGreaterThan(port, 0, "flow serve did not start")

        func call(_ method: String, _ path: String, _ json: String? = nil) throws -> (Int, [String: Any]) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 60)
            request.httpMethod = method
            if let json {
                request.httpBody = Data(json.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let box = Reply()
            let done = DispatchSemaphore(value: 0)
            URLSession.shared.dataTask(with: request) { data, response, _ in
                box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
                box.data = data ?? Data()
                done.signal()
            }.resume()
            guard done.wait(timeout: .now() + 90) == .success else { throw FlowProcessError("no answer from flow serve") }
            return (box.status, (try? JSONSerialization.jsonObject(with: box.data) as? [String: Any]) ?? [:])
        }

        let (created, session) = try call("POST", "/v1/sessions", #"{"flow": "Payment"}"#)
        XCTAssertEqual(created, 201)
        let id = try XCTUnwrap(session["id"] as? String)
        let (_, tokenize) = try call("POST", "/v1/sessions/\(id)/steps", "{\"version\": \(session["version"] as! Int), \"answers\": {\"Embedded Payment\": \"4.00\"}}")
        XCTAssertEqual(tokenize["status"] as? String, "extension")
        let ext = try XCTUnwrap(tokenize["extension"] as? [String: Any])
        let arguments = try XCTUnwrap(ext["arguments"] as? [String: Any])
        XCTAssertEqual(arguments["publishable key"] as? String, PaymentEndToEndTests.publishableKey)
        XCTAssertEqual(arguments["gateway"] as? String, "http://127.0.0.1:\(stripe.port)")

        // The client's part: the card goes to the gateway, never to flow serve.
        let (pmStatus, pm) = try XCTUnwrap(stripe.post("/v1/payment_methods", [
            ("type", "card"), ("card[number]", PaymentEndToEndTests.card), ("card[exp_month]", "12"), ("card[exp_year]", "2034"),
            ("card[cvc]", PaymentEndToEndTests.cvc),
        ]))
        XCTAssertEqual(pmStatus, 200, "\(pm)")
        let token = try XCTUnwrap(pm["id"] as? String)
        let step = "{\"version\": \(tokenize["version"] as! Int), \"extension\": {\"outputs\": {\"token\": \"\(token)\"}}}"
        let (paidStatus, paid) = try call("POST", "/v1/sessions/\(id)/steps", step)
        XCTAssertEqual(paidStatus, 200, "\(paid)")
        XCTAssertEqual(paid["status"] as? String, "finished", "\(paid)")
        XCTAssertEqual((paid["outcome"] as? [String: Any])?["outcome"] as? String, "success", "\(paid)")
        let responses = try XCTUnwrap(paid["responses"] as? [String])
        XCTAssertTrue(responses.first?.hasPrefix("You paid 4.00. Your charge reference is ch_") == true, "\(responses)")

        // The same step again (a double-clicked submit): 409, and still one charge.
        let (again, conflict) = try call("POST", "/v1/sessions/\(id)/steps", step)
        XCTAssertEqual(again, 409)
        XCTAssertEqual((conflict["current"] as? [String: Any])?["status"] as? String, "finished")
        let charges = try stripe.charges()
        XCTAssertEqual(charges.count, 1)
        XCTAssertEqual(charges.first?["amount"] as? Int, 400)
        XCTAssertEqual(charges.first?["status"] as? String, "succeeded")

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        // Nothing secret in what the server said or logged; the card never reached it.
        let logged = try String(contentsOf: log, encoding: .utf8)
        for text in [logged, "\(paid)", "\(tokenize)"] {
            XCTAssertFalse(text.contains(PaymentEndToEndTests.secretKey), text)
            XCTAssertFalse(text.contains(PaymentEndToEndTests.card), text)
        }
        let stored = try Data(contentsOf: directory.appendingPathComponent("s.db"))
        XCTAssertNil(stored.range(of: Data(PaymentEndToEndTests.card.utf8)), "the card is not in the store")
        XCTAssertNil(stored.range(of: Data(PaymentEndToEndTests.secretKey.utf8)), "the secret key is not in the store")
    }
}

private final class Reply: @unchecked Sendable {
    var status = 0
    var data = Data()
}
