/// Paths into a JSON value, as `json "…"` outputs write them: keys separated by `.`, list items
/// as `[n]` counted from 0, `$` for the whole value.
///
/// ```
/// id                   the field "id" of the top object
/// data[0].id           "id" of the first item of "data"
/// error.decline_code   a field of a field
/// $  $.a.b  $[2]  [2]  the whole value; from the top; an item of a top-level list
/// ["a.b"].c            a key that holds a '.' or '[', in double quotes (\" and \\ escaped)
/// ```
///
/// A key is any text up to the next `.` or `[` (blanks included: `order id`), without `]`.
public enum JSONPath {
    public enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    /// The steps of `path`, or nil when it is not a path (empty, an empty key, `[x]`, an
    /// unclosed bracket).
    public static func parse(_ path: String) -> [Step]? {
        let u = Array(path.utf8)
        var i = 0
        var steps: [Step] = []
        if u.first == UInt8(ascii: "$") {
            i = 1
            if i < u.count && u[i] == UInt8(ascii: ".") {
                i += 1
                guard let (key, next) = readKey(u, i) else { return nil }
                steps.append(.key(key))
                i = next
            }
        } else {
            guard !u.isEmpty else { return nil }
            if u[0] != UInt8(ascii: "[") {
                guard let (key, next) = readKey(u, 0) else { return nil }
                steps.append(.key(key))
                i = next
            }
        }
        while i < u.count {
            switch u[i] {
            case UInt8(ascii: "."):
                guard let (key, next) = readKey(u, i + 1) else { return nil }
                steps.append(.key(key))
                i = next
            case UInt8(ascii: "["):
                i += 1
                guard i < u.count else { return nil }
                if u[i] == UInt8(ascii: "\"") {
                    // ["quoted key"]
                    var key: [UInt8] = []
                    i += 1
                    var closed = false
                    while i < u.count {
                        let c = u[i]
                        if c == UInt8(ascii: "\\"), i + 1 < u.count {
                            key.append(u[i + 1])
                            i += 2
                            continue
                        }
                        i += 1
                        if c == UInt8(ascii: "\"") {
                            closed = true
                            break
                        }
                        key.append(c)
                    }
                    guard closed, i < u.count, u[i] == UInt8(ascii: "]") else { return nil }
                    i += 1
                    steps.append(.key(String(decoding: key, as: UTF8.self)))
                } else {
                    var n = 0
                    let start = i
                    while i < u.count, u[i] &- 48 < 10 {
                        guard n < 100_000_000 else { return nil }
                        n = n * 10 + Int(u[i] &- 48)
                        i += 1
                    }
                    guard i > start, i < u.count, u[i] == UInt8(ascii: "]") else { return nil }
                    i += 1
                    steps.append(.index(n))
                }
            default:
                return nil
            }
        }
        return steps
    }

    /// A plain key from `start` to the next `.` or `[`; nil when empty or holding a `]`.
    private static func readKey(_ u: [UInt8], _ start: Int) -> (String, Int)? {
        var i = start
        while i < u.count, u[i] != UInt8(ascii: "."), u[i] != UInt8(ascii: "[") {
            guard u[i] != UInt8(ascii: "]") else { return nil }
            i += 1
        }
        guard i > start else { return nil }
        return (String(decoding: u[start..<i], as: UTF8.self), i)
    }

    /// The value at `path` in `value`; nil when the path is not valid or leads nowhere (a missing
    /// key, an index past the end, a key of something that is not an object). A JSON `null`
    /// that is there is `.null`, not nil.
    public static func read(_ path: String, in value: Value) -> Value? {
        parse(path).flatMap { read($0, in: value) }
    }

    /// The value at the steps of a parsed path; see `read(_:in:)`.
    public static func read(_ steps: [Step], in value: Value) -> Value? {
        var current = value
        for step in steps {
            switch (step, current) {
            case (.key(let k), .object(let fields)):
                guard let v = fields[k] else { return nil }
                current = v
            case (.index(let n), .list(let items)):
                guard n < items.count else { return nil }
                current = items[n]
            default:
                return nil
            }
        }
        return current
    }
}

