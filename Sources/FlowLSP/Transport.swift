import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// JSON-RPC 2.0 messages framed as LSP frames them: `Content-Length: N\r\n\r\n` and N bytes of
/// UTF-8 JSON. Other headers (`Content-Type`) are read and ignored.
///
/// Design note: a reader thread reads standard input into `MessageQueue`; the server's one
/// thread takes messages from it. `$/cancelRequest` is noted by the reader as it arrives, so a
/// request still waiting (or being answered) can see that it was cancelled.
final class FrameReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    /// The largest message accepted (a 100,000-line flow is a few megabytes).
    static let maxLength = 256 << 20

    init(fd: Int32) { self.fd = fd }

    enum Frame {
        case message(Data)
        /// A frame whose header made no sense: reported, and reading goes on after it.
        case malformed(String)
        case end
    }

    private func fill() -> Bool {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// The index just after `\r\n\r\n` at or after `start`, if the buffer holds it.
    private func headerEnd() -> Int? {
        var i = start
        while i + 3 < buffer.count {
            if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    func next() -> Frame {
        while true {
            guard let end = headerEnd() else {
                if buffer.count - start > 64 << 10 {
                    // No header ends within 64 KiB: drop what was read.
                    start = buffer.count
                    return .malformed("a header longer than 64 KiB")
                }
                if !fill() { return .end }
                continue
            }
            let header = String(decoding: buffer[start..<end - 4], as: UTF8.self)
            start = end
            var length: Int?
            for line in header.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 && parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-length" {
                    length = Int(parts[1].trimmingCharacters(in: .whitespaces))
                }
            }
            guard let length, length >= 0, length <= Self.maxLength else {
                return .malformed("a frame without a valid Content-Length")
            }
            while buffer.count - start < length {
                if !fill() { return .end }
            }
            let data = Data(buffer[start..<start + length])
            start += length
            return .message(data)
        }
    }
}

/// Writes framed messages to a file descriptor (standard output).
final class FrameWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()

    init(fd: Int32) { self.fd = fd }

    func send(_ object: [String: Any]) {
        guard let body = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]) else { return }
        var bytes = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        bytes.append(contentsOf: body)
        lock.lock()
        defer { lock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// A decoded message: a request has an id and a method, a notification only a method; a
/// response (to a request of ours) is ignored.
struct Message {
    var id: Any?
    var method: String
    var params: Any?

    var isRequest: Bool { id != nil }
}

/// Messages read but not yet handled, and the ids of requests the client cancelled.
final class MessageQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Any] = []
    /// Items before `head` were taken (dropped in bulk, so taking one is O(1)).
    private var head = 0
    private var cancelled = Set<String>()
    private var ended = false

    static func key(_ id: Any?) -> String {
        switch id {
        case let n as NSNumber: "n\(n.int64Value)"
        case let s as String: "s\(s)"
        default: "?"
        }
    }

    func push(_ item: Any) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    func cancel(_ id: Any?) {
        condition.lock()
        cancelled.insert(Self.key(id))
        condition.unlock()
    }

    /// Whether a request was cancelled; forgets it once asked after answering.
    func isCancelled(_ id: Any?, forget: Bool = false) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let k = Self.key(id)
        return forget ? cancelled.remove(k) != nil : cancelled.contains(k)
    }

    func end() {
        condition.lock()
        ended = true
        condition.signal()
        condition.unlock()
    }

    /// The next item, waiting for one; nil once input ended and everything was taken.
    func pop() -> Any? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !ended { condition.wait() }
        if head == items.count { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }

    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return head == items.count
    }
}
