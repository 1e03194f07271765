import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The loopback server itself, seen from URLSession and from raw sockets. Every wait is bounded:
/// clients time out within a second or two, and every server is stopped by its test.
final class LoopbackServerTests: XCTestCase {

    // MARK: Requests recorded byte for byte

    func testRawGetIsRecordedByteForByte() throws {
        let server = try LoopbackServer(reply: .ok("hello"))
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        let sent = "GET /a/b%20c?x=1&y=%2F+z HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Mixed-Case:   padded value \t\r\nx-mixed-case: second\r\nAccept: */*\r\n\r\n"
        client.send(sent)
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "hello")
        XCTAssertEqual(response.header("content-length"), "5")
        XCTAssertEqual(response.head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n")

        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.raw, Data(sent.utf8))
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/a/b%20c?x=1&y=%2F+z")
        XCTAssertEqual(request.path, "/a/b%20c")
        XCTAssertEqual(request.query, "x=1&y=%2F+z")
        XCTAssertEqual(request.version, "HTTP/1.1")
        XCTAssertEqual(request.headers.map(\.name), ["Host", "X-Mixed-Case", "x-mixed-case", "Accept"])
        XCTAssertEqual(request.headers.map(\.value), ["127.0.0.1", "padded value", "second", "*/*"])
        XCTAssertEqual(request.header("X-MIXED-CASE"), "padded value")
        XCTAssertEqual(request.headers(named: "x-mixed-case"), ["padded value", "second"])
        XCTAssertNil(request.header("Content-Length"))
        XCTAssertEqual(request.body, Data())
        XCTAssertEqual(request.connectionID, 1)
        XCTAssertEqual(request.sequence, 0)
    }

    func testRawPostIsRecordedByteForByte() throws {
        let server = try LoopbackServer(reply: .json(#"{"ok":true}"#, status: 201))
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        let body = "<soap:Envelope>é</soap:Envelope>"
        let sent = "POST /ws?wsdl HTTP/1.1\r\nHost: h\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"urn:x\"\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        client.send(sent)
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 201)
        XCTAssertTrue(response.head.hasPrefix("HTTP/1.1 201 Created\r\n"))
        XCTAssertEqual(response.bodyText, #"{"ok":true}"#)

        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.raw, Data(sent.utf8))
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.target, "/ws?wsdl")
        XCTAssertEqual(request.header("soapaction"), "\"urn:x\"")
        XCTAssertEqual(request.bodyText, body)
    }

    func testURLSessionGetAndPostAreRecorded() throws {
        let server = try LoopbackServer { request in
            request.method == "GET" ? .ok("got \(request.target)") : .status(200, "posted \(request.body.count)")
        }
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }

        var get = URLRequest(url: server.url("/items/a%20b?q=x%2Fy&n=1"))
        get.setValue("Value-1", forHTTPHeaderField: "X-Test")
        let got = loopbackFetch(get, in: session)
        XCTAssertNil(got.error)
        XCTAssertEqual(got.status, 200)
        XCTAssertEqual(got.text, "got /items/a%20b?q=x%2Fy&n=1")

        var post = URLRequest(url: server.url("/submit"))
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.httpBody = Data(#"{"amount":"12.50"}"#.utf8)
        let posted = loopbackFetch(post, in: session)
        XCTAssertNil(posted.error)
        XCTAssertEqual(posted.text, "posted 18")

        XCTAssertEqual(server.requestCount, 2)
        let (first, second) = (server.requests[0], server.requests[1])
        XCTAssertEqual(first.method, "GET")
        XCTAssertEqual(first.target, "/items/a%20b?q=x%2Fy&n=1")
        XCTAssertEqual(first.header("x-test"), "Value-1")
        XCTAssertEqual(first.header("Host"), "127.0.0.1:\(server.port)")
        XCTAssertTrue(first.rawText.hasPrefix("GET /items/a%20b?q=x%2Fy&n=1 HTTP/1.1\r\n"))
        XCTAssertTrue(first.rawText.hasSuffix("\r\n\r\n"))
        XCTAssertEqual(second.method, "POST")
        XCTAssertEqual(second.header("content-type"), "application/json")
        XCTAssertEqual(second.header("content-length"), "18")
        XCTAssertEqual(second.bodyText, #"{"amount":"12.50"}"#)
        XCTAssertTrue(second.rawText.hasPrefix("POST /submit HTTP/1.1\r\n"))
        XCTAssertTrue(second.raw.loopbackEnds(with: second.body))
        // The raw bytes are the head as sent plus the body.
        let head = "POST /submit HTTP/1.1\r\n" + second.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
        XCTAssertEqual(second.raw, Data(head.utf8) + second.body)
    }

    // MARK: Keep-alive

    func testKeepAliveReusesTheConnectionAndHonoursConnectionClose() throws {
        let server = try LoopbackServer { .ok("echo \($0.target)") }
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.bodyText, "echo /one")
        client.send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.bodyText, "echo /two")
        client.send("GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        let last = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(last.bodyText, "echo /three")
        XCTAssertEqual(last.header("Connection"), "close")
        XCTAssertTrue(client.readsEndOfStream(), "the server closes after Connection: close")

        let requests = server.requests
        XCTAssertEqual(requests.map(\.target), ["/one", "/two", "/three"])
        XCTAssertEqual(Set(requests.map(\.connectionID)).count, 1)
        XCTAssertEqual(requests.map(\.indexOnConnection), [0, 1, 2])
        XCTAssertEqual(requests.map(\.sequence), [0, 1, 2])
        XCTAssertEqual(server.connectionsAccepted, 1)

        // A second connection gets a new id.
        let other = try LoopbackRawClient(port: server.port)
        other.send("GET /four HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(other.readResponse()?.bodyText, "echo /four")
        XCTAssertEqual(server.requests.last?.connectionID, requests[0].connectionID + 1)
        XCTAssertEqual(server.requests.last?.indexOnConnection, 0)
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try LoopbackServer { .ok("echo \($0.target)") }
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        let first = "POST /p1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        let second = "GET /p2 HTTP/1.1\r\nHost: h\r\n\r\n"
        client.send(first + second)
        XCTAssertEqual(client.readResponse()?.bodyText, "echo /p1")
        XCTAssertEqual(client.readResponse()?.bodyText, "echo /p2")
        XCTAssertEqual(server.requests.map(\.raw), [Data(first.utf8), Data(second.utf8)])
    }

    func testHTTP10ClosesUnlessKeepAlive() throws {
        let server = try LoopbackServer(reply: .ok("x"))
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 200)
        client.send("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertTrue(client.readsEndOfStream())
        XCTAssertEqual(server.requests.map(\.connectionID), [1, 1])
    }

    func testURLSessionKeepsTheConnectionAlive() throws {
        let server = try LoopbackServer(reply: .ok("x"))
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        for path in ["/1", "/2", "/3"] {
            XCTAssertEqual(loopbackFetch(URLRequest(url: server.url(path)), in: session).status, 200)
        }
        let ids = server.requests.map(\.connectionID)
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(Set(ids).count, 1, "URLSession reused its connection: \(ids)")
    }

    // MARK: Bodies

    func testChunkedRequestBodyIsDecodedAndRecordedRaw() throws {
        let server = try LoopbackServer(reply: .ok("ok"))
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        let sent = "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n" + "6;name=value\r\n world\r\n" + "A\r\n, 10 bytes\r\n" + "0\r\nX-Checksum: abc\r\n\r\n"
        // In pieces, so the parser has to wait for more in the middle of the framing.
        for piece in stride(from: 0, to: sent.utf8.count, by: 7).map({ Array(sent.utf8)[$0..<min(sent.utf8.count, $0 + 7)] }) {
            client.send(Array(piece))
            usleep(1000)
        }
        XCTAssertEqual(client.readResponse()?.status, 200)
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.bodyText, "hello world, 10 bytes")
        XCTAssertEqual(request.raw, Data(sent.utf8))
        XCTAssertEqual(request.trailers.map(\.name), ["X-Checksum"])
        XCTAssertEqual(request.trailers.map(\.value), ["abc"])
        XCTAssertEqual(request.header("transfer-encoding"), "chunked")

        // The connection is still usable afterwards.
        client.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertEqual(server.requests.last?.target, "/after")
    }

    func testURLSessionStreamedBodyArrivesChunked() throws {
        let server = try LoopbackServer(reply: .ok("ok"))
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        let payload = Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        var request = URLRequest(url: server.url("/stream"))
        request.httpMethod = "POST"
        request.httpBodyStream = InputStream(data: payload)
        let result = loopbackFetch(request, in: session)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.status, 200)
        let recorded = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(recorded.body, payload)
        // Without a length URLSession (curl) streams the body chunked.
        XCTAssertEqual(recorded.header("Transfer-Encoding")?.lowercased(), "chunked")
        XCTAssertNil(recorded.header("Content-Length"))
        XCTAssertGreaterThan(recorded.raw.count, recorded.body.count)
    }

    func testExpectContinueGetsAnInterimResponse() throws {
        let server = try LoopbackServer(reply: .ok("done"))
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(interim.status, 100)
        client.send("data")
        let final = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(final.bodyText, "done")
        XCTAssertEqual(server.requests.first?.bodyText, "data")
    }

    func testResponseFramings() throws {
        let body = String(repeating: "0123456789", count: 100)
        let server = try LoopbackServer { request in
            switch request.path {
            case "/chunked": .response(status: 200, body: Data(body.utf8), framing: .chunkedBy(64))
            case "/until-close": .response(status: 200, body: Data(body.utf8), framing: .closeDelimited)
            case "/no-content": .response(status: 204)
            default: .response(status: 418, reason: "I'm a teapot", headers: [("X-A", "1"), ("x-b", "2")], body: Data(body.utf8))
            }
        }
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        for path in ["/chunked", "/until-close", "/plain"] {
            let result = loopbackFetch(URLRequest(url: server.url(path)), in: session)
            XCTAssertNil(result.error, path)
            XCTAssertEqual(result.text, body, path)
        }
        XCTAssertEqual(loopbackFetch(URLRequest(url: server.url("/no-content")), in: session).status, 204)

        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n")
        let chunked = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(chunked.header("Transfer-Encoding"), "chunked")
        XCTAssertNil(chunked.header("Content-Length"))
        XCTAssertTrue(chunked.raw.starts(with: Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n".utf8)))
        XCTAssertEqual(chunked.bodyText, body)
        client.send("HEAD /plain HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = try XCTUnwrap(client.readResponse(bodiless: true))
        XCTAssertEqual(head.head, "HTTP/1.1 418 I'm a teapot\r\nX-A: 1\r\nx-b: 2\r\nContent-Length: 1000\r\n\r\n")
        client.send("GET /until-close HTTP/1.1\r\nHost: h\r\n\r\n")
        let untilClose = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(untilClose.header("Connection"), "close")
        XCTAssertEqual(untilClose.bodyText, body)
    }

    // MARK: Scripts

    func testSequenceAnswersInOrder() throws {
        let server = try LoopbackServer(replies: [.status(500, "first"), .status(503, "second"), .ok("third")])
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(loopbackFetch(URLRequest(url: server.url("/retry")), in: session).status) }
        XCTAssertEqual(statuses, [500, 503, 200, 500])
        XCTAssertEqual(server.requestCount, 4)
        XCTAssertEqual(server.requests.last?.target, "/retry")

        let repeating = try LoopbackServer(handler: LoopbackServer.Reply.sequence([.status(500)], afterwards: .ok("fine")))
        defer { repeating.stop() }
        let codes = (0..<3).map { _ in loopbackFetch(URLRequest(url: repeating.url("/")), in: session).status }
        XCTAssertEqual(codes, [500, 200, 200])
    }

    func testSequenceIsThreadSafe() throws {
        let script = LoopbackReply.Script((0..<200).map { .status(200, "\($0)") })
        let seen = LoopbackTestLocked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            if case .response(_, _, _, let body, _) = script.next() {
                seen.update { $0.append(String(decoding: body, as: UTF8.self)) }
            }
        }
        XCTAssertEqual(Set(seen.value), Set((0..<200).map(String.init)))
        XCTAssertEqual(script.count, 200)
    }

    func testConcurrentClientsAreAllRecorded() throws {
        let server = try LoopbackServer { .ok($0.target) }
        defer { server.stop() }
        let port = server.port
        let answers = LoopbackTestLocked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            guard let client = try? LoopbackRawClient(port: port) else { return }
            client.send("GET /c\(index) HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            if let text = client.readResponse()?.bodyText { answers.update { $0.append(text) } }
        }
        XCTAssertEqual(Set(answers.value), Set((0..<16).map { "/c\($0)" }))
        XCTAssertEqual(server.requestCount, 16)
        XCTAssertEqual(Set(server.requests.map(\.connectionID)).count, 16)
        XCTAssertTrue(server.waitForOpenConnections(atMost: 0))
    }

    // MARK: Misbehaviours

    func testDelayThenAnswer() throws {
        let server = try LoopbackServer(reply: .delay(0.3, then: .ok("late")))
        defer { server.stop() }
        let session = loopbackSession(timeout: 2)
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/slow")), in: session)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.text, "late")
        XCTAssertGreaterThanOrEqual(result.seconds, 0.29)
    }

    func testDelayLongerThanTheClientTimeout() throws {
        let server = try LoopbackServer(reply: .delay(30, then: .ok("too late")))
        defer { server.stop() }
        let session = loopbackSession(timeout: 1)
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/slow")), in: session)
        XCTAssertEqual(result.urlErrorCode, .timedOut)
        XCTAssertGreaterThanOrEqual(result.seconds, 0.9)
        XCTAssertLessThan(result.seconds, 2.5)
        let started = Date()
        server.stop()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "stop() cuts a delay short")
    }

    func testNeverAnswerMakesTheClientTimeOut() throws {
        let server = try LoopbackServer(reply: .neverAnswer)
        defer { server.stop() }
        let session = loopbackSession(timeout: 1)
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/void")), in: session)
        XCTAssertEqual(result.urlErrorCode, .timedOut)
        XCTAssertGreaterThanOrEqual(result.seconds, 0.9)
        XCTAssertLessThan(result.seconds, 2.5)
        XCTAssertEqual(server.requests.first?.target, "/void", "the request was read before the silence")

        // Seen from a raw socket: nothing at all arrives, and the connection stays open.
        let client = try LoopbackRawClient(port: server.port, timeout: 0.3)
        client.send("GET /raw HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertTrue(server.waitForRequests(2))
        XCTAssertEqual(client.receiveOnce(), .timedOut)
    }

    func testCloseMidBody() throws {
        let server = try LoopbackServer(reply: .closeMidBody(status: 200, headers: [("Content-Type", "text/plain")], sendBytes: 10, ofDeclaredLength: 100))
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/cut")), in: session)
        XCTAssertNotNil(result.error, "a short body is an error, not a success")
        XCTAssertLessThan(result.seconds, 2)

        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /cut HTTP/1.1\r\nHost: h\r\n\r\n")
        let received = client.readToEnd()
        XCTAssertTrue(received.endOfStream)
        XCTAssertEqual(
            String(decoding: received.bytes, as: UTF8.self),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 10))
    }

    func testEndlessBodyStopsWhenTheClientStopsReading() throws {
        let server = try LoopbackServer(reply: .endlessBody(status: 200, headers: [("Content-Type", "application/octet-stream")]))
        defer { server.stop() }

        // URLSession: cancel after 200 KB.
        let canceller = LoopbackCanceller(bytes: 200_000)
        let session = URLSession(configuration: loopbackSessionConfiguration(timeout: 2), delegate: canceller, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        session.dataTask(with: server.url("/forever")).resume()
        XCTAssertEqual(canceller.done.wait(timeout: .now() + 5), .success)
        XCTAssertGreaterThanOrEqual(canceller.received.value, 200_000)
        XCTAssertEqual((canceller.error.value as? URLError)?.code, .cancelled)

        // Raw socket, chunked and close-delimited: read a while, hang up; the server's connection
        // thread ends.
        XCTAssertTrue(server.waitForOpenConnections(atMost: 0, timeout: 3), "URLSession's connection ended")
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /forever HTTP/1.1\r\nHost: h\r\n\r\n")
        let some = client.read(atLeast: 100_000)
        XCTAssertGreaterThanOrEqual(some.count, 100_000)
        XCTAssertTrue(String(decoding: some.prefix(200), as: UTF8.self).contains("Transfer-Encoding: chunked\r\n\r\n4000\r\n"))
        client.close()
        XCTAssertTrue(server.waitForOpenConnections(atMost: 0, timeout: 2))

        let plain = try LoopbackServer(reply: .endlessBody(status: 200, headers: [], chunked: false))
        defer { plain.stop() }
        let other = try LoopbackRawClient(port: plain.port)
        other.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let start = other.read(atLeast: 50_000)
        XCTAssertTrue(start.starts(with: Array("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nxxxx".utf8)))
        other.close()
        XCTAssertTrue(plain.waitForOpenConnections(atMost: 0, timeout: 2))
    }

    func testDripSendsTheBodySlowly() throws {
        let body = "twenty bytes of body"
        let server = try LoopbackServer(reply: .drip(status: 200, body: Data(body.utf8), bytesPerSecond: 40))
        defer { server.stop() }
        let session = loopbackSession(timeout: 2)
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/drip")), in: session)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.text, body)
        XCTAssertGreaterThanOrEqual(result.seconds, 0.45, "20 bytes at 40 bytes a second")
        XCTAssertLessThan(result.seconds, 2)

        // A raw client sees the head at once and the body a byte at a time.
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /drip HTTP/1.1\r\nHost: h\r\n\r\n")
        guard case .bytes(let first) = client.receiveOnce() else { return XCTFail("no head") }
        XCTAssertEqual(String(decoding: first, as: UTF8.self), "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
        guard case .bytes(let next) = client.receiveOnce() else { return XCTFail("no body byte") }
        XCTAssertEqual(next, [UInt8(ascii: "t")])
    }

    func testRedirects() throws {
        let server = try LoopbackServer { request in
            switch request.path {
            case "/old": .redirect(status: 302, location: "/new?from=old")
            case "/temp": .redirect(status: 307, location: "/new")
            default: .ok("\(request.method) \(request.target) \(request.bodyText)")
            }
        }
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/old")), in: session)
        XCTAssertEqual(result.text, "GET /new?from=old ")
        XCTAssertEqual(result.response?.url?.path, "/new")
        XCTAssertEqual(server.requests.map(\.target), ["/old", "/new?from=old"])

        let client = try LoopbackRawClient(port: server.port)
        client.send("POST /temp HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
        let redirect = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(redirect.head, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
    }

    func testCloseImmediately() throws {
        let server = try LoopbackServer(reply: .closeImmediately)
        defer { server.stop() }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: server.url("/gone")), in: session)
        XCTAssertNotNil(result.error)
        XCTAssertNil(result.response)
        XCTAssertLessThan(result.seconds, 2)

        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /gone HTTP/1.1\r\nHost: h\r\n\r\n")
        let received = client.readToEnd()
        XCTAssertTrue(received.endOfStream)
        XCTAssertEqual(received.bytes, [])
        XCTAssertEqual(server.requests.last?.target, "/gone")
    }

    func testReset() throws {
        let server = try LoopbackServer(reply: .reset)
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET /rst HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(client.receiveOnce(), .failed(ECONNRESET))
    }

    func testRawReplyIsWrittenAsIs() throws {
        let bytes = Data("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Odd:  spaced \r\n\r\nabc".utf8)
        let server = try LoopbackServer(replies: [.raw(bytes), .raw(Data("HTTP/1.1 204 No Content\r\n\r\n".utf8), thenClose: false)])
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let received = client.readToEnd()
        XCTAssertEqual(Data(received.bytes), bytes)
        XCTAssertTrue(received.endOfStream)

        let second = try LoopbackRawClient(port: server.port)
        second.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(second.readResponse(bodiless: true)?.status, 204)
        second.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(second.readResponse()?.status, 500, "the script ran out, and the connection stayed open")
    }

    // MARK: Limits and malformed requests

    func testLimitsAndMalformedRequests() throws {
        var limits = LoopbackServer.Limits()
        limits.maxHeaderBytes = 1024
        limits.maxBodyBytes = 100
        limits.readTimeout = 0.3
        let server = try LoopbackServer(limits: limits, reply: .ok())
        defer { server.stop() }

        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n", 431),
            ("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413),
            ("GET /nothing-here\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: stalled", 408),
            ("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nonly5", 408),
        ]
        for (sent, status) in cases {
            let client = try LoopbackRawClient(port: server.port)
            client.send(sent)
            let response = client.readResponse()
            XCTAssertEqual(response?.status, status, sent)
            XCTAssertEqual(response?.header("Connection"), "close", sent)
            XCTAssertTrue(client.readsEndOfStream(), sent)
        }
        XCTAssertEqual(server.requestCount, 0)
        XCTAssertEqual(server.problems.count, cases.count)

        // Within the limits all is well.
        let client = try LoopbackRawClient(port: server.port)
        client.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + String(repeating: "b", count: 100))
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertEqual(server.requests.first?.body.count, 100)
    }

    func testLargeBodyWithinTheDefaultLimit() throws {
        let server = try LoopbackServer { .ok("\($0.body.count)") }
        defer { server.stop() }
        let session = loopbackSession(timeout: 5)
        defer { session.invalidateAndCancel() }
        var request = URLRequest(url: server.url("/large"))
        request.httpMethod = "POST"
        request.httpBody = Data(repeating: 0x41, count: 3 * 1024 * 1024)
        XCTAssertEqual(loopbackFetch(request, in: session).text, "\(3 * 1024 * 1024)")
    }

    func testIdleConnectionIsClosedAfterTheIdleTimeout() throws {
        var limits = LoopbackServer.Limits()
        limits.idleTimeout = 0.2
        let server = try LoopbackServer(limits: limits, reply: .ok())
        defer { server.stop() }
        let client = try LoopbackRawClient(port: server.port)
        client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertTrue(client.readsEndOfStream())
        XCTAssertTrue(server.problems.isEmpty, "an idle close is not a problem")
    }

    // MARK: Stopping

    func testStopIsPromptWithConnectionsHeldOpen() throws {
        let server = try LoopbackServer { request in
            switch request.path {
            case "/hold": .neverAnswer
            case "/endless": .endlessBody()
            case "/drip": .drip(body: Data(count: 1000), bytesPerSecond: 1)
            default: .delay(60, then: .ok())
            }
        }
        let port = server.port
        var clients: [LoopbackRawClient] = []
        for path in ["/hold", "/endless", "/drip", "/delay"] {
            let client = try LoopbackRawClient(port: port)
            client.send("GET \(path) HTTP/1.1\r\nHost: h\r\n\r\n")
            clients.append(client)
        }
        let idle = try LoopbackRawClient(port: port)  // connected, never sends
        let partial = try LoopbackRawClient(port: port)
        partial.send("GET /half HTTP/1.1\r\nHo")
        clients += [idle, partial]
        XCTAssertTrue(server.waitForRequests(4))
        XCTAssertTrue(server.waitForConnectionsAccepted(6))
        XCTAssertEqual(server.openConnections, 6)

        let started = Date()
        server.stop()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        XCTAssertEqual(server.openConnections, 0)
        for client in clients { XCTAssertTrue(client.readToEnd().endOfStream) }
        XCTAssertThrowsError(try LoopbackRawClient(port: port), "nothing listens after stop()")
        server.stop()  // twice is fine
    }

    func testDeinitStops() throws {
        var server: LoopbackServer? = try LoopbackServer(reply: .neverAnswer)
        let client = try LoopbackRawClient(port: server!.port)
        client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertTrue(server!.waitForRequests(1))
        let started = Date()
        server = nil
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        XCTAssertTrue(client.readsEndOfStream())
    }

    func testNoDescriptorIsLeftOpen() throws {
        func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        let before = openDescriptors()
        do {
            let server = try LoopbackServer(replies: [.ok(), .neverAnswer, .endlessBody()])
            var clients: [LoopbackRawClient] = []
            for _ in 0..<3 {
                let client = try LoopbackRawClient(port: server.port)
                client.send("GET / HTTP/1.1\r\n\r\n")
                clients.append(client)
            }
            XCTAssertTrue(server.waitForRequests(3))
            server.stop()
            clients.forEach { $0.close() }
        }
        // The wake pipe closes when the last thread lets go of the server's state. (Fewer is fine:
        // sessions of earlier tests may close theirs meanwhile.)
        let deadline = Date(timeIntervalSinceNow: 2)
        while openDescriptors() > before && Date() < deadline { usleep(10_000) }
        XCTAssertLessThanOrEqual(openDescriptors(), before)
    }

    func testUnusedPortRefusesConnections() throws {
        let port = try LoopbackServer.unusedPort()
        XCTAssertGreaterThan(port, 0)
        XCTAssertThrowsError(try LoopbackRawClient(port: port)) { error in
            XCTAssertEqual((error as? LoopbackSocketFailure)?.code, ECONNREFUSED)
        }
        let session = loopbackSession()
        defer { session.invalidateAndCancel() }
        let result = loopbackFetch(URLRequest(url: URL(string: try LoopbackServer.refusedBaseURL() + "/x")!), in: session)
        XCTAssertEqual(result.urlErrorCode, .cannotConnectToHost)
        XCTAssertLessThan(result.seconds, 2)
    }

    func testListensOnLoopbackOnly() throws {
        let server = try LoopbackServer(reply: .ok())
        defer { server.stop() }
        XCTAssertEqual(server.baseURL, "http://127.0.0.1:\(server.port)")
        XCTAssertNotEqual(server.port, 0)
    }
}

// MARK: - URLSession helpers

private final class LoopbackTestLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

private struct LoopbackFetched {
    var data: Data?
    var response: HTTPURLResponse?
    var error: Error?
    var seconds: Double

    var status: Int { response?.statusCode ?? -1 }
    var text: String? { data.map { String(decoding: $0, as: UTF8.self) } }
    var urlErrorCode: URLError.Code? { (error as? URLError)?.code }
}

/// FoundationNetworking truncates timeouts to whole seconds (0.5 times out at once), so tests use
/// whole seconds.
private func loopbackSessionConfiguration(timeout: Double) -> URLSessionConfiguration {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    configuration.timeoutIntervalForResource = timeout + 2
    configuration.urlCache = nil
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return configuration
}

private func loopbackSession(timeout: Double = 2) -> URLSession {
    URLSession(configuration: loopbackSessionConfiguration(timeout: timeout))
}

/// Runs one data task, waiting at most `limit` seconds (then cancels and fails the test).
private func loopbackFetch(_ request: URLRequest, in session: URLSession, limit: Double = 6, file: StaticString = #filePath, line: UInt = #line)
    -> LoopbackFetched
{
    let done = DispatchSemaphore(value: 0)
    let result = LoopbackTestLocked<LoopbackFetched?>(nil)
    let started = Date()
    let task = session.dataTask(with: request) { data, response, error in
        result.update { $0 = LoopbackFetched(data: data, response: response as? HTTPURLResponse, error: error, seconds: Date().timeIntervalSince(started)) }
        done.signal()
    }
    task.resume()
    if done.wait(timeout: .now() + limit) == .timedOut {
        task.cancel()
        _ = done.wait(timeout: .now() + 2)
        XCTFail("URLSession did not finish within \(limit) s", file: file, line: line)
    }
    return result.value ?? LoopbackFetched(data: nil, response: nil, error: URLError(.unknown), seconds: limit)
}

/// Cancels its data task once it has received `bytes` bytes.
private final class LoopbackCanceller: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let limit: Int
    let received = LoopbackTestLocked(0)
    let error = LoopbackTestLocked<Error?>(nil)
    let done = DispatchSemaphore(value: 0)

    init(bytes: Int) { limit = bytes }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        var total = 0
        received.update {
            $0 += data.count
            total = $0
        }
        if total >= limit { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        self.error.update { $0 = error }
        done.signal()
    }
}

// MARK: - Raw socket client

private struct LoopbackSocketFailure: Error {
    var call: String
    var code: Int32
}

private struct LoopbackRawResponse {
    var status: Int
    var head: String
    var headers: [(name: String, value: String)]
    var body: Data
    var raw: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

private enum LoopbackReceived: Equatable {
    case bytes([UInt8])
    case endOfStream
    case timedOut
    case failed(Int32)
}

/// A blocking client socket with receive and send timeouts, so no test can hang on it.
private final class LoopbackRawClient {
    private var fd: Int32
    private var pending: [UInt8] = []

    init(port: UInt16, timeout: Double = 2) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoopbackSocketFailure(call: "socket", code: errno) }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw LoopbackSocketFailure(call: "connect", code: code)
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// One recv (what was left over from parsing comes first).
    func receiveOnce() -> LoopbackReceived {
        if !pending.isEmpty {
            defer { pending = [] }
            return .bytes(pending)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return .bytes(Array(buffer[0..<n])) }
        if n == 0 { return .endOfStream }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK ? .timedOut : .failed(code)
    }

    /// Everything until the server closes (or the timeout).
    func readToEnd() -> (bytes: [UInt8], endOfStream: Bool) {
        var all: [UInt8] = []
        while true {
            switch receiveOnce() {
            case .bytes(let bytes): all += bytes
            case .endOfStream: return (all, true)
            case .timedOut, .failed: return (all, false)
            }
        }
    }

    /// Whether the server closes the connection (rather than sending more or staying silent).
    func readsEndOfStream() -> Bool {
        let rest = readToEnd()
        return rest.endOfStream && rest.bytes.isEmpty
    }

    func read(atLeast count: Int) -> [UInt8] {
        var all: [UInt8] = []
        while all.count < count, case .bytes(let bytes) = receiveOnce() { all += bytes }
        return all
    }

    private func fill() -> Bool {
        guard case .bytes(let bytes) = receiveOnce() else { return false }
        pending += bytes
        return true
    }

    private func takeLine() -> [UInt8]? {
        while true {
            if let index = pending.indices.dropLast().first(where: { pending[$0] == 13 && pending[$0 + 1] == 10 }) {
                let line = Array(pending[0..<index])
                pending.removeFirst(index + 2)
                return line
            }
            guard fill() else { return nil }
        }
    }

    private func take(_ count: Int) -> [UInt8]? {
        while pending.count < count { guard fill() else { return nil } }
        let bytes = Array(pending[0..<count])
        pending.removeFirst(count)
        return bytes
    }

    /// One response: Content-Length, chunked, or until the server closes. `bodiless` for answers
    /// to HEAD and for statuses without a body.
    func readResponse(bodiless: Bool = false) -> LoopbackRawResponse? {
        var raw: [UInt8] = []
        var lines: [String] = []
        while true {
            guard let line = takeLine() else { return nil }
            raw += line + [13, 10]
            if line.isEmpty { break }
            lines.append(String(decoding: line, as: UTF8.self))
        }
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let headers = lines.dropFirst().map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            return (String(line[..<colon]), line[colon...].dropFirst().trimmingCharacters(in: .whitespaces))
        }
        var response = LoopbackRawResponse(status: status, head: String(decoding: raw, as: UTF8.self), headers: headers, body: Data(), raw: raw)
        if bodiless || status / 100 == 1 || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                guard let sizeLine = takeLine() else { return nil }
                response.raw += sizeLine + [13, 10]
                guard let size = Int(String(decoding: sizeLine, as: UTF8.self).split(separator: ";").first ?? "", radix: 16) else { return nil }
                if size == 0 {
                    while let trailer = takeLine() {
                        response.raw += trailer + [13, 10]
                        if trailer.isEmpty { return response }
                    }
                    return nil
                }
                guard let chunk = take(size + 2) else { return nil }
                response.raw += chunk
                response.body += chunk.dropLast(2)
            }
        }
        if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            guard let body = take(length) else { return nil }
            response.raw += body
            response.body = Data(body)
            return response
        }
        let rest = readToEnd()  // takes what is pending first
        response.raw += rest.bytes
        response.body = Data(rest.bytes)
        return response
    }
}

extension Data {
    fileprivate func loopbackEnds(with suffix: Data) -> Bool {
        count >= suffix.count && self.suffix(suffix.count) == suffix
    }
}
