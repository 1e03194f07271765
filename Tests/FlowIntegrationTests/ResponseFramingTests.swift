import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// What a server's reply can do to the plain-http client (`HTTPClient`): impossible lengths and
/// chunk sizes, interim responses without end, too many or too long headers, status lines that
/// are not HTTP, redirects to what is not http(s). Each must end as a classified failure
/// (`malformed`, `tooLarge`, `timeout`), never a trap, a hang or a guess. Every reply is written
/// byte for byte by the loopback server (`.raw`), then the connection is closed.
final class ResponseFramingTests: XCTestCase {
    /// Sends a GET (or `method`) to a server that answers `raw`; the response or the failure.
    func exchange(_ raw: String, method: String = "GET", limit: Int = 64 * 1024, timeout: Double = 3) throws -> Result<HTTPResponse, TransportError> {
        try exchange(Data(raw.utf8), method: method, limit: limit, timeout: timeout)
    }

    func exchange(_ raw: Data, method: String = "GET", limit: Int = 64 * 1024, timeout: Double = 3) throws -> Result<HTTPResponse, TransportError> {
        let server = try LoopbackServer(reply: .raw(raw))
        defer { server.stop() }
        let request = HTTPRequest(method: method, url: server.url("/p"), timeout: timeout)
        do {
            return .success(try HTTPClient().send(request, maxResponseBytes: limit))
        } catch {
            return .failure(error)
        }
    }

    /// The failure's kind and message, or a test failure when the exchange succeeded.
    func failure(_ result: Result<HTTPResponse, TransportError>, file: StaticString = #filePath, line: UInt = #line) -> (kind: String, message: String)? {
        switch result {
        case .success(let r):
            XCTFail("expected a failure, got \(r.status) with \(r.body.count) bytes", file: file, line: line)
            return nil
        case .failure(let e):
            return (e.kind, e.message)
        }
    }

    func assertKind(_ raw: String, _ kind: String, contains text: String? = nil, method: String = "GET", limit: Int = 64 * 1024,
                    file: StaticString = #filePath, line: UInt = #line) throws {
        guard let f = failure(try exchange(raw, method: method, limit: limit), file: file, line: line) else { return }
        XCTAssertEqual(f.kind, kind, "\(raw.prefix(80).debugDescription): \(f.message)", file: file, line: line)
        if let text { XCTAssertTrue(f.message.contains(text), f.message, file: file, line: line) }
    }

    // MARK: - Lengths

    func testANegativeContentLengthIsMalformed() throws {
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc", "malformed", contains: "Content-Length")
    }

    func testAContentLengthBeyondAnyIntegerIsTooLarge() throws {
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nabc", "tooLarge")
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nabc", "tooLarge")
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\nabc", "tooLarge")
    }

    func testAContentLengthThatIsNotDigitsIsMalformed() throws {
        for length in ["+3", "3 3", "0x3", "3.0", "", "3;", "٣"] {
            try assertKind("HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\nabc", "malformed", contains: "Content-Length")
        }
    }

    func testDifferingContentLengthsAreMalformedAndEqualOnesRead() throws {
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\nabc", "malformed", contains: "two different")
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 3, 2\r\n\r\nabc", "malformed", contains: "two different")
        for same in ["Content-Length: 3\r\nContent-Length: 3", "Content-Length: 3, 3"] {
            let r = try exchange("HTTP/1.1 200 OK\r\n\(same)\r\n\r\nabc").get()
            XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "abc")
        }
    }

    func testABodyCutShortIsAConnectionFailure() throws {
        try assertKind("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "connection")
    }

    // MARK: - Chunks

    func testAChunkSizeThatOverflowsIsTooLarge() throws {
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7fffffffffffffff\r\nx\r\n0\r\n\r\n", "tooLarge")
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nx\r\n0\r\n\r\n", "tooLarge")
        // Leading zeros are still one small size.
        let r = try exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000000000005\r\nhello\r\n0\r\n\r\n").get()
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "hello")
    }

    func testANegativeChunkSizeIsMalformed() throws {
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", "malformed", contains: "chunk 1")
    }

    func testAnEmptyOrGarbageChunkSizeLineIsMalformed() throws {
        for line in ["", ";ext", "zz", " 5", "5 x", "0x5", "+5", "5\u{0B}"] {
            try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(line)\r\nhello\r\n0\r\n\r\n", "malformed", contains: "chunk 1")
        }
        // Extensions are allowed, and ignored.
        let r = try exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n").get()
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "hello")
    }

    func testAHugeChunkExtensionIsMalformed() throws {
        let ext = String(repeating: "a", count: 100_000)
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;\(ext)\r\nhello\r\n0\r\n\r\n", "malformed", contains: "chunk 1")
    }

    func testAChunkLongerThanItsSizeIsMalformed() throws {
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", "malformed", contains: "chunk 1")
    }

    func testTooManyTrailersAreMalformed() throws {
        let trailers = String(repeating: "X-T: 1\r\n", count: 10_000)
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailers)\r\n", "malformed", contains: "trailer")
    }

    func testATransferCodingOtherThanChunkedIsMalformed() throws {
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "malformed", contains: "Transfer-Encoding")
        try assertKind("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", "malformed", contains: "Transfer-Encoding")
    }

    // MARK: - Interim responses

    func testTooManyInterimResponsesAreMalformed() throws {
        // 400,000 of them (10 MB): the client used to recurse once per 100 until its stack ran out.
        let interim = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 400_000)
        let f = failure(try exchange(interim + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", limit: 10 << 20, timeout: 20))
        XCTAssertEqual(f?.kind, "malformed", f?.message ?? "")
        XCTAssertTrue(f?.message.contains("interim") ?? false, f?.message ?? "")
    }

    func testInterimResponsesOtherThan100AreSkipped() throws {
        let raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let r = try exchange(raw).get()
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "ok")
    }

    func testSwitchingProtocolsUnaskedIsMalformed() throws {
        try assertKind("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nxyz", "malformed", contains: "101")
    }

    // MARK: - Status line and headers

    func testAStatusLineThatIsNotHTTPIsMalformed() throws {
        for line in ["HTTP/1.1 2000 OK", "HTTP/1.1 -200 OK", "HTTP/1.1 +20 OK", "HTTP/2 200 OK", "ICY 200 OK", "HTTP/1.1 099 Low",
                     "HTTP/1.1 200OK", "HTTP/1.1  200 OK", "HTTP/1.1 600 Beyond", "HTTP/1.1 20", "garbage", "HTTP/1.1 200 O\u{1B}[31mK"] {
            try assertKind("\(line)\r\nContent-Length: 2\r\n\r\nok", "malformed", contains: "status")
        }
        // A reason is optional.
        XCTAssertEqual(try exchange("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok").get().status, 200)
        XCTAssertEqual(try exchange("HTTP/1.0 201 Created\r\nContent-Length: 2\r\n\r\nok").get().status, 201)
    }

    func testAnAnswerCutBeforeTheHeadersEndIsAConnectionFailure() throws {
        try assertKind("HTTP/1.1 200 OK\r\nContent-Len", "connection")
        try assertKind("", "connection")
    }

    func testTooManyHeadersOrHeaderBytesAreMalformed() throws {
        let many = String(repeating: "X-A: 1\r\n", count: 10_000)
        try assertKind("HTTP/1.1 200 OK\r\n\(many)Content-Length: 2\r\n\r\nok", "malformed", contains: "headers")
        let long = (0..<200).map { "X-\($0): \(String(repeating: "v", count: 1000))\r\n" }.joined()
        try assertKind("HTTP/1.1 200 OK\r\n\(long)Content-Length: 2\r\n\r\nok", "malformed", contains: "headers")
        let line = "X-A: \(String(repeating: "v", count: 100_000))\r\n"
        try assertKind("HTTP/1.1 200 OK\r\n\(line)Content-Length: 2\r\n\r\nok", "malformed", contains: "header line 1")
    }

    func testHeaderLinesThatAreNotFieldsAreMalformed() throws {
        for field in ["no colon here", ": empty name", "Bad Name: x", "X-A: a\u{0}b", "X-A: a\rb", "X-A: 1\r\n folded"] {
            try assertKind("HTTP/1.1 200 OK\r\n\(field)\r\nContent-Length: 2\r\n\r\nok", "malformed", contains: "header line")
        }
    }

    func testAResponseToHEADHasNoBody() throws {
        let r = try exchange("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method: "HEAD", timeout: 2).get()
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body.count, 0)
    }

    func testAMessageNeverShowsTheServersControlCharacters() throws {
        let f = failure(try exchange("HTTP/1.1 200 O\u{1B}]0;pwned\u{07}K\r\nContent-Length: 2\r\n\r\nok"))
        XCTAssertEqual(f?.kind, "malformed")
        XCTAssertFalse(f?.message.contains("\u{1B}") ?? true, f?.message ?? "")
        XCTAssertTrue(f?.message.contains("\\x1B") ?? false, f?.message ?? "")
    }

    // MARK: - Redirects

    func testARedirectToAURLThatIsNotHTTPIsNeverFollowed() throws {
        let target = try LoopbackServer(reply: .ok("reached"))
        defer { target.stop() }
        for location in ["mailto:a@example.com", "file:///etc/passwd", "ftp://127.0.0.1:\(target.port)/x", "javascript:alert(1)",
                         "http:///nohost", "http://", "gopher://127.0.0.1:\(target.port)/", "http://127.0.0.1:99999/", "http://[::1"] {
            let server = try LoopbackServer(reply: .redirect(status: 302, location: location))
            defer { server.stop() }
            let result: Result<HTTPResponse, TransportError>
            do {
                result = .success(try HTTPClient().send(HTTPRequest(method: "GET", url: server.url("/p"), timeout: 3), maxResponseBytes: 1 << 16))
            } catch {
                result = .failure(error)
            }
            let f = failure(result)
            XCTAssertEqual(f?.kind, "malformed", "\(location): \(f?.message ?? "")")
            XCTAssertTrue(f?.message.contains("redirect") ?? false, f?.message ?? "")
            XCTAssertEqual(server.requestCount, 1, location)
        }
        XCTAssertEqual(target.requestCount, 0)
    }

    func testURLSessionNeverFollowsARedirectThatIsNotHTTPEither() throws {
        for location in ["mailto:a@example.com", "file:///etc/passwd", "ftp://127.0.0.1:9/x"] {
            let server = try LoopbackServer(reply: .redirect(status: 302, location: location))
            defer { server.stop() }
            XCTAssertThrowsError(try URLSessionTransport().send(HTTPRequest(method: "GET", url: server.url("/p"), timeout: 3), maxResponseBytes: 1 << 16),
                                 location) { error in
                XCTAssertEqual((error as? TransportError)?.kind, "malformed", "\(location): \(error)")
            }
        }
    }

    func testARedirectLoopStopsAfterTheLimit() throws {
        let server = try LoopbackServer(reply: .redirect(status: 302, location: "/p"))
        defer { server.stop() }
        XCTAssertThrowsError(try HTTPClient(maxRedirects: 5).send(HTTPRequest(method: "GET", url: server.url("/p"), timeout: 3), maxResponseBytes: 1 << 16)) {
            XCTAssertEqual($0 as? TransportError, .tooManyRedirects)
        }
        XCTAssertEqual(server.requestCount, 6)
    }

    func testRelativeRedirectsAreResolvedAgainstTheRequest() throws {
        let server = try LoopbackServer(handler: { request in
            switch request.target {
            case "/a/b": .redirect(status: 302, location: "c")
            case "/a/c": .redirect(status: 301, location: "../d?x=1")
            case "/d?x=1": .redirect(status: 307, location: "?y=2")
            case "/d?y=2": .redirect(status: 308, location: "//127.0.0.1:\(request.header("Host")?.split(separator: ":").last ?? "")/e")
            case "/e": .ok("done")
            default: .status(404)
            }
        })
        defer { server.stop() }
        let r = try HTTPClient().send(HTTPRequest(method: "GET", url: server.url("/a/b"), timeout: 3), maxResponseBytes: 1 << 16)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "done")
        XCTAssertEqual(server.requests.map(\.target), ["/a/b", "/a/c", "/d?x=1", "/d?y=2", "/e"])
    }

    func testARedirectWithoutLocationIsTheAnswer() throws {
        let r = try exchange("HTTP/1.1 302 Found\r\nContent-Length: 5\r\n\r\nmoved").get()
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "moved")
    }

    // MARK: - Through an IP call

    func testAMalformedReplyIsTheCallsMalformedFailureNamingTheServer() throws {
        let server = try LoopbackServer(reply: .raw(Data("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}".utf8)))
        defer { server.stop() }
        let c = Frontend.compile(source: """
            config BASE = "http://x"
            ip Charge(amount: currency) {
              POST "{BASE}/v1/charges"
              form {
                amount = amount
              }
              timeout 2
              retry 2
              idempotent
              output id: text = json "id"
            }
            """)
        let program = try XCTUnwrap(c.program)
        let caller = IPCaller(transport: HTTPClient(), sleep: { _ in })
        let reply = try caller.call(program: program, ip: 0, arguments: [.number(Number(5))],
                                    configs: try program.configValues(overrides: ["BASE": server.baseURL]))
        guard case .failure(let f) = reply else { return XCTFail("\(reply)") }
        XCTAssertEqual(f.kind, "malformed")
        XCTAssertTrue(f.message.contains("127.0.0.1:\(server.port)"), f.message)
        // The charge may have been made: a malformed answer is not a reason to send it again.
        XCTAssertEqual(server.requestCount, 1)
    }
}
