import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one HTTP request and returns the response. The integration layer talks to the network
/// only through this protocol, so tests and hosts can supply their own.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest, maxResponseBytes: Int) throws(TransportError) -> HTTPResponse
}

/// Why no HTTP response came back.
public enum TransportError: Error, Sendable, Equatable {
    case connectionRefused(String)
    case connection(String)
    case timeout(Double)
    case tls(String)
    case tooLarge(Int)
    case invalidURL(String)
    case tooManyRedirects
    /// A redirect to another host, scheme or port that would have carried a secret in the body.
    case credentialsRedirect(String)
    /// A reply that is not valid HTTP, or a redirect that cannot be followed (to a URL that is not
    /// http or https): what is wrong and where, for `error.message`.
    case malformed(String)

    /// The `error.kind` a flow's handler sees.
    public var kind: String {
        switch self {
        case .connectionRefused, .connection, .invalidURL, .tooManyRedirects, .credentialsRedirect: "connection"
        case .timeout: "timeout"
        case .tls: "tls"
        case .tooLarge: "tooLarge"
        case .malformed: "malformed"
        }
    }

    public var message: String {
        switch self {
        case .connectionRefused(let host): "could not connect to \(host): connection refused"
        case .connection(let detail): "the connection failed: \(detail)"
        case .timeout(let seconds): "no complete answer within \(Self.seconds(seconds))"
        case .tls(let detail): "the TLS connection failed: \(detail)"
        case .tooLarge(let limit): "the response is larger than \(limit) bytes"
        case .invalidURL(let url): "'\(url)' is not a valid http or https URL"
        case .tooManyRedirects: "too many redirects"
        case .credentialsRedirect(let host): "a redirect to \(host) was not followed: the request carries a secret"
        case .malformed(let detail): detail
        }
    }

    /// Whether the request may not have reached the server, so sending it again is safe.
    var isConnectionFailure: Bool {
        switch self {
        case .connectionRefused, .connection: true
        default: false
        }
    }

    private static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}

/// HTTP over FoundationNetworking's `URLSession`: TLS verification on, one session (so connections
/// are kept alive between calls), the whole response bounded in time and size, and redirects
/// followed without ever carrying `Authorization` to another host.
public final class URLSessionTransport: NSObject, HTTPTransport, URLSessionDataDelegate, @unchecked Sendable {
    // `lock` guards `tasks`; each task's state is touched by the delegate queue and the waiting
    // thread only under it.
    private let lock = NSLock()
    private var tasks: [Int: TaskState] = [:]
    private var session: URLSession!
    private let delegateQueue = OperationQueue()
    public let maxRedirects: Int

    final class TaskState {
        var data = Data()
        var response: HTTPURLResponse?
        var error: TransportError?
        var limit: Int
        var redirects = 0
        /// The request as it was asked for (the origin its credentials belong to).
        var request: HTTPRequest?
        let done = DispatchSemaphore(value: 0)
        init(limit: Int) { self.limit = limit }
    }

    public init(maxRedirects: Int = 5) {
        self.maxRedirects = maxRedirects
        super.init()
        delegateQueue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 4
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: delegateQueue)
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: HTTPRequest, maxResponseBytes: Int) throws(TransportError) -> HTTPResponse {
        guard let scheme = request.url.scheme?.lowercased(), scheme == "http" || scheme == "https", request.url.host != nil else {
            throw .invalidURL(request.url.absoluteString)
        }
        var r = URLRequest(url: request.url)
        r.httpMethod = request.method
        // URLSession on Linux rounds its own timeout down to whole seconds (0.5 fails at once), so
        // it gets a second more than asked and the exact deadline is kept below.
        r.timeoutInterval = request.timeout.rounded(.up) + 1
        for h in request.headers { r.addValue(h.value, forHTTPHeaderField: h.name) }
        r.httpBody = request.body
        let deadline = Date().addingTimeInterval(request.timeout)
        let task = session.dataTask(with: r)
        let state = TaskState(limit: maxResponseBytes)
        state.request = request
        lock.lock()
        tasks[task.taskIdentifier] = state
        lock.unlock()
        task.resume()
        // The whole exchange is bounded, not just each read: a server that drips one byte a
        // second still times out.
        if state.done.wait(timeout: .now() + request.timeout) == .timedOut {
            task.cancel()
            _ = state.done.wait(timeout: .now() + 5)
            lock.lock()
            tasks[task.taskIdentifier] = nil
            lock.unlock()
            throw .timeout(request.timeout)
        }
        lock.lock()
        tasks[task.taskIdentifier] = nil
        lock.unlock()
        if let error = state.error {
            if case .timeout = error { throw .timeout(request.timeout) }
            throw error
        }
        guard let response = state.response else { throw .connection("no response") }
        var headers: [(name: String, value: String)] = []
        for (k, v) in response.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers.append((k, v)) }
        }
        headers.sort { $0.name.lowercased() < $1.name.lowercased() }
        return HTTPResponse(status: response.statusCode, headers: headers, body: state.data, deadline: deadline)
    }

    private func state(_ task: URLSessionTask) -> TaskState? {
        lock.lock()
        defer { lock.unlock() }
        return tasks[task.taskIdentifier]
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                           completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let s = state(dataTask) {
            s.response = response as? HTTPURLResponse
            if response.expectedContentLength > Int64(s.limit) {
                s.error = .tooLarge(s.limit)
                completionHandler(.cancel)
                return
            }
        }
        completionHandler(.allow)
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let s = state(dataTask) else { return }
        if s.data.count + data.count > s.limit {
            s.error = .tooLarge(s.limit)
            dataTask.cancel()
            return
        }
        s.data.append(data)
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                           newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        guard let s = state(task) else { completionHandler(nil); return }
        s.redirects += 1
        if s.redirects > maxRedirects {
            s.error = .tooManyRedirects
            completionHandler(nil)
            task.cancel()
            return
        }
        // Only to http or https, as `HTTPClient.redirect(from:response:)` decides from the
        // `Location` itself: FoundationNetworking turns `mailto:a@b` or `file:///etc/passwd`
        // into a path on the same server (`http://host/etc/passwd`) and would follow that.
        var location: String?
        for (k, v) in response.allHeaderFields {
            if let k = k as? String, k.caseInsensitiveCompare("Location") == .orderedSame { location = v as? String }
        }
        let base = task.currentRequest?.url ?? s.request?.url
        func refuse(_ shown: String) {
            s.error = .malformed("a redirect (\(response.statusCode)) was not followed: '\(shown)' is not an http or https URL with a host")
            completionHandler(nil)
            task.cancel()
        }
        guard let to = request.url, let scheme = to.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = to.host, !host.isEmpty else {
            return refuse(HTTPResponseParser.shown(Array((location ?? request.url?.absoluteString ?? "").utf8)))
        }
        if let location {
            let resolved = base.flatMap { URL(string: location, relativeTo: $0)?.absoluteURL }
            guard let resolved, let scheme = resolved.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = resolved.host, !host.isEmpty else {
                return refuse(HTTPResponseParser.shown(Array(location.utf8)))
            }
        }
        var next = request
        // Credentials go only where they were meant to: never to another host (or scheme or port).
        if let sent = s.request, let to = request.url, sent.leavesOrigin(to: to) {
            // 307 and 308 send the body again; the others turn a POST into a GET without one.
            if sent.bodyCarriesCredentials && sent.body != nil && (response.statusCode == 307 || response.statusCode == 308) {
                s.error = .credentialsRedirect(to.host ?? to.absoluteString)
                completionHandler(nil)
                task.cancel()
                return
            }
            for name in next.allHTTPHeaderFields?.keys.map({ $0 }) ?? [] where sent.isCredentialHeader(name) {
                next.setValue(nil, forHTTPHeaderField: name)
            }
            for name in ["Authorization", "Cookie", "Proxy-Authorization"] { next.setValue(nil, forHTTPHeaderField: name) }
        }
        completionHandler(next)
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let s = state(task) else { return }
        if let error, s.error == nil {
            s.error = Self.classify(error, url: task.originalRequest?.url)
        }
        s.done.signal()
    }

    static func classify(_ error: any Error, url: URL?) -> TransportError {
        let ns = error as NSError
        let host = url.map { "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" } ?? "the server"
        if ns.domain == NSURLErrorDomain {
            switch ns.code {
            case NSURLErrorTimedOut: return .timeout(0)
            case NSURLErrorCannotConnectToHost: return .connectionRefused(host)
            case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasBadDate,
                 NSURLErrorServerCertificateNotYetValid, NSURLErrorServerCertificateHasUnknownRoot, NSURLErrorClientCertificateRejected:
                return .tls(ns.localizedDescription)
            case NSURLErrorHTTPTooManyRedirects: return .tooManyRedirects
            default:
                // libcurl reports handshake failures under other codes; its text names the TLS library.
                let text = ns.localizedDescription
                if ["SSL", "TLS", "certificate", "OpenSSL"].contains(where: { text.contains($0) }) { return .tls(text) }
                return .connection(text)
            }
        }
        return .connection(ns.localizedDescription)
    }
}
