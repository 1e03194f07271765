import Foundation

/// Where an expression's names get their values. A session is one context; the host that calls
/// an integration point is another (its parameters are the locals, and it alone has secrets).
protocol EvaluationContext {
    func local(_ slot: Int) -> Value?
    func session(_ i: Int) -> Value?
    func answer(page: Int, question: Int) -> Value?
    func config(_ i: Int) -> Value?
    func secret(_ i: Int) -> Value?
    var error: Value? { get }
    var today: String { get }
    func variableName(_ slot: Int) -> String
    /// Calls `body` with local `slot` where it is held (nil: unset), not copied out.
    func withLocal<R>(_ slot: Int, _ body: (UnsafePointer<Value?>) -> R) -> R
    /// The local as a small number or yes/no (`HotCode`'s fast path), nil for anything else.
    func smallLocal(_ slot: Int) -> HotCode.Small?
}

extension EvaluationContext {
    func withLocal<R>(_ slot: Int, _ body: (UnsafePointer<Value?>) -> R) -> R {
        withUnsafePointer(to: local(slot), body)
    }

    func smallLocal(_ slot: Int) -> HotCode.Small? {
        withUnsafePointer(to: local(slot)) { HotCode.Small($0) }
    }
}

/// Evaluates typed expressions. Every failure is a `RuntimeError` at the exact range of the
/// expression that failed; numbers stay exact decimals throughout.
///
/// Design note: expressions are read in place, through pointers: an operator's operands in
/// their `IROperands` object, a template's parts and a call's arguments in their arrays.
/// Passing an operand as a value copied it (its payload retained, through an outlined copy of
/// `IRKind`, and released after) at every node of every evaluation.
enum Evaluator {
    static func evaluate<C: EvaluationContext>(_ e: IRExpr, _ c: inout C) throws(RuntimeError) -> Value {
        try withUnsafePointer(to: e) { (e) throws(RuntimeError) -> Value in try evaluate(at: e, &c) }
    }

    /// Appends the text of a template's part read where its value is held, when the part is a
    /// local or a field of a local (`result.id`) holding text, a number or yes/no: the local is
    /// not copied out (a field's value is) and no text is made for it. False for any other part, and for an unset
    /// local, a missing field or a value of another kind: the general path then evaluates the
    /// part (and gives its error, if it has one).
    @inline(__always) private static func appendHeldText<C: EvaluationContext>(
        _ part: UnsafePointer<IRExpr>, asCurrency: Bool, _ c: inout C, _ bytes: inout UTF8Gathering
    ) -> Bool {
        if let slot = part.pointee.kind.localSlot {
            return c.withLocal(slot) { v in v.pointee?.appendText(asCurrency: asCurrency, to: &bytes) ?? false }
        }
        if let member = part.pointee.kind.member, let slot = member.withBase({ $0.pointee.kind.localSlot }) {
            return c.withLocal(slot) { v in v.pointee?.appendField(member.field, asCurrency: asCurrency, to: &bytes) ?? false }
        }
        return false
    }

    /// Each of `es` in order.
    @inline(__always) private static func evaluateEach<C: EvaluationContext>(_ es: [IRExpr], _ c: inout C) throws(RuntimeError) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(es.count)
        try es.withUnsafeBufferPointer { (es) throws(RuntimeError) in
            for k in es.indices { values.append(try evaluate(at: es.baseAddress! + k, &c)) }
        }
        return values
    }

    static func evaluate<C: EvaluationContext>(at e: UnsafePointer<IRExpr>, _ c: inout C) throws(RuntimeError) -> Value {
        switch e.pointee.kind {
        case .constant(let v):
            return v
        case .local(let slot):
            guard let v = c.local(slot) else { throw RuntimeError(.unsetVariable(c.variableName(slot)), at: e.pointee.range) }
            return v
        case .session(let i):
            return c.session(i) ?? .null
        case .answer(let page, let question):
            guard let v = c.answer(page: page, question: question) else { throw RuntimeError(.unansweredQuestion, at: e.pointee.range) }
            return v
        case .config(let i):
            return c.config(i) ?? .null
        case .secret(let i):
            guard let v = c.secret(i) else { throw RuntimeError(.secretUnavailable, at: e.pointee.range) }
            return v
        case .error:
            return c.error ?? .null
        case .template(let parts):
            // The parts' UTF-8 bytes go into one buffer and the text is made once from it:
            // appending part by part to a `String` costs a few hundred instructions an append.
            // The buffer is on the stack (a text longer than it goes on to the heap).
            // A text without substitutions (a prompt, `"succeeded"`) is its one constant part.
            if parts.count == 1, let t = parts.withUnsafeBufferPointer({ $0[0].kind.constantText }) { return .text(t) }
            var failure: RuntimeError?
            let text = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { stack -> String in
                var bytes = UTF8Gathering(stack: stack)
                parts.withUnsafeBufferPointer { parts in
                    for k in parts.indices {
                        let part = parts.baseAddress! + k
                        if let t = part.pointee.kind.constantText {
                            bytes.append(t)
                            continue
                        }
                        let asCurrency = part.pointee.type == .currency
                        if appendHeldText(part, asCurrency: asCurrency, &c, &bytes) { continue }
                        do throws(RuntimeError) {
                            let v = try evaluate(at: part, &c)
                            if !v.appendText(asCurrency: asCurrency, to: &bytes) {
                                bytes.append(v.displayText(asCurrency: asCurrency))
                            }
                        } catch {
                            failure = error
                            return
                        }
                    }
                }
                return bytes.text
            }
            if let failure { throw failure }
            return .text(text)
        case .member(let m):
            let field = m.field
            let b = try m.withBase { (base) throws(RuntimeError) in try evaluate(at: base, &c) }
            guard case .object(let fields) = b else {
                if case .null = b { throw RuntimeError(.missingField(field), at: e.pointee.range, hint: "the value before '.\(field)' is null") }
                throw RuntimeError(.runTypeMismatch("\(b.kindName) has no field '\(field)'"), at: e.pointee.range)
            }
            guard let v = lookUpField(field, in: fields) else { throw RuntimeError(.missingField(field), at: e.pointee.range) }
            return v
        case .index(let operands):
            return try operands.withOperands { (operands) throws(RuntimeError) in
                let b = try evaluate(at: operands, &c)
                let i = try evaluate(at: operands + 1, &c)
                switch (b, i) {
                case (.list(let items), .number(let n)):
                    guard let k = Arithmetic.integer(n), k >= 0, k < items.count else {
                        throw RuntimeError(.indexOutOfRange(n.description, items.count), at: operands[1].range)
                    }
                    return items[k]
                case (.object(let fields), .text(let key)):
                    guard let v = fields[key] else { throw RuntimeError(.missingField(key), at: e.pointee.range) }
                    return v
                default:
                    throw RuntimeError(.runTypeMismatch("cannot index \(b.kindName) with \(i.kindName)"), at: e.pointee.range)
                }
            }
        case .builtin(let f, let args):
            let values = try evaluateEach(args, &c)
            return try Builtins.call(f, values, args, today: c.today, at: e.pointee.range)
        case .unary(let op, let operand):
            let v = try operand.withOperands { (operand) throws(RuntimeError) in try evaluate(at: operand, &c) }
            switch (op, v) {
            case (.not, .bool(let b)): return .bool(!b)
            case (.negate, .number(let n)): return .number(-n)
            default: throw RuntimeError(.runTypeMismatch("cannot apply '\(op.rawValue)' to \(v.kindName)"), at: e.pointee.range)
            }
        case .binary(let op, let operands):
            return try operands.withOperands { (operands) throws(RuntimeError) in
                // `and` and `or` evaluate their right side only when needed.
                if op == .and || op == .or {
                    let a = try evaluate(at: operands, &c)
                    guard case .bool(let x) = a else {
                        throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(a.kindName)"), at: operands[0].range)
                    }
                    if op == .and && !x { return .bool(false) }
                    if op == .or && x { return .bool(true) }
                    let b = try evaluate(at: operands + 1, &c)
                    guard case .bool(let y) = b else {
                        throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(b.kindName)"), at: operands[1].range)
                    }
                    return .bool(y)
                }
                let a = try evaluate(at: operands, &c)
                let b = try evaluate(at: operands + 1, &c)
                return try Arithmetic.binary(op, a, b, at: e.pointee.range)
            }
        case .list(let items):
            return .list(try evaluateEach(items, &c))
        case .object(let fields):
            var out: [String: Value] = [:]
            for (k, x) in fields { out[k] = try evaluate(x, &c) }
            return .object(out)
        case .invalid:
            throw RuntimeError(.invalidExpression, at: e.pointee.range)
        }
    }
}

extension IRKind {
    /// The text of a constant text (a template's literal part), else nil.
    ///
    /// Read through a pointer (`part.pointee.kind`), these getters still copy the whole kind
    /// first, as a `switch` binding its payload does (callgrind counts the same copies): an
    /// expression's case cannot yet be read here without that copy.
    @inline(__always) var constantText: String? {
        if case .constant(.text(let t)) = self { return t }
        return nil
    }

    /// The slot of a local, else nil.
    @inline(__always) var localSlot: Int? {
        if case .local(let slot) = self { return slot }
        return nil
    }

    /// A member (`base.field`), else nil.
    @inline(__always) var member: IRMember? {
        if case .member(let m) = self { return m }
        return nil
    }
}

extension Value {
    /// Appends `displayText(asCurrency:)` for text, a date, yes/no, null and a number of up to 18
    /// digits, written into `bytes` without making a string. False (nothing appended) for a list,
    /// an object and a number that needs rounding or normalizing, which `displayText` spells.
    @inline(__always) func appendText(asCurrency: Bool, to bytes: inout UTF8Gathering) -> Bool {
        switch self {
        case .text(let t), .date(let t): bytes.append(t)
        case .number(let n): return n.appendText(asCurrency: asCurrency, to: &bytes)
        case .bool(let b): bytes.append(b ? "yes" : "no")
        case .null: break
        case .list, .object: return false
        }
        return true
    }

    /// For an object: appends the text of its field `name` as `appendText` does. False for any
    /// other value, a missing field or a field `appendText` leaves out.
    @inline(__always) func appendField(_ name: String, asCurrency: Bool, to bytes: inout UTF8Gathering) -> Bool {
        guard case .object(let fields) = self, let field = lookUpField(name, in: fields) else { return false }
        return field.appendText(asCurrency: asCurrency, to: &bytes)
    }
}

/// `fields[name]`. In an object of a few fields (a call's outputs, a record) the entries are
/// walked and their keys compared: hashing the name costs more than comparing a few short keys.
@inline(__always) func lookUpField(_ name: String, in fields: [String: Value]) -> Value? {
    lookUpFieldAndPosition(name, in: fields)?.0
}

/// `fields[name]` and, in an object of 8 fields or fewer, the position where it was found
/// (0 ..< 8, distinct for distinct fields; 0 in a larger object).
@inline(__always) func lookUpFieldAndPosition(_ name: String, in fields: [String: Value]) -> (Value, Int)? {
    guard fields.count <= 8 else { return fields[name].map { ($0, 0) } }
    var i = fields.startIndex
    var position = 0
    while i != fields.endIndex {
        if fields.keys[i] == name { return (fields.values[i], position) }
        fields.formIndex(after: &i)
        position += 1
    }
    return nil
}

/// UTF-8 bytes gathered in a buffer of the caller's (on the stack), then on the heap once they
/// no longer fit it, and made into one `String`.
struct UTF8Gathering {
    let stack: UnsafeMutableBufferPointer<UInt8>
    var count = 0
    var heap: [UInt8]?

    init(stack: UnsafeMutableBufferPointer<UInt8>) { self.stack = stack }

    /// The text's bytes read in place (`withContiguousStorageIfAvailable` borrows the text;
    /// `withUTF8` needs a mutable copy of it, retained and released).
    @inline(__always) mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append(bytes: $0) }) == nil {
            var text = text
            text.withUTF8 { append(bytes: $0) }
        }
    }

    @inline(__always) mutating func append(bytes utf8: UnsafeBufferPointer<UInt8>) {
        guard let from = utf8.baseAddress, utf8.count > 0 else { return }
        if heap == nil && count + utf8.count <= stack.count {
            (stack.baseAddress! + count).initialize(from: from, count: utf8.count)
            count += utf8.count
        } else {
            if heap == nil {
                var spilled: [UInt8] = []
                spilled.reserveCapacity(2 * (count + utf8.count))
                spilled.append(contentsOf: UnsafeBufferPointer(rebasing: stack[..<count]))
                heap = spilled
            }
            heap!.append(contentsOf: utf8)
        }
    }

    var text: String {
        if let heap { return String(decoding: heap, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: stack[..<count]), as: UTF8.self)
    }
}

/// Operators on values, exact.
enum Arithmetic {
    static func binary(_ op: BinaryOperator, _ a: Value, _ b: Value, at range: SourceRange) throws(RuntimeError) -> Value {
        if case .number(let x) = a, case .number(let y) = b, let r = sameScale(op, x, y) { return r }
        switch (op, a, b) {
        case (.add, .number(let x), .number(let y)): return try finite(x + y, at: range)
        case (.subtract, .number(let x), .number(let y)): return try finite(x - y, at: range)
        case (.multiply, .number(let x), .number(let y)): return try finite(x * y, at: range)
        case (.divide, .number(let x), .number(let y)):
            if y.isZero { throw RuntimeError(.divisionByZero, at: range) }
            return try finite(x / y, at: range)
        case (.remainder, .number(let x), .number(let y)):
            if y.isZero { throw RuntimeError(.divisionByZero, at: range) }
            return try finite(remainder(x, y), at: range)
        case (.add, .text(let x), .text(let y)): return .text(x + y)
        case (.add, .list(let x), .list(let y)): return .list(x + y)
        case (.equal, _, _): return .bool(equal(a, b))
        case (.notEqual, _, _): return .bool(!equal(a, b))
        case (.less, _, _), (.lessEqual, _, _), (.greater, _, _), (.greaterEqual, _, _):
            let order: Int
            switch (a, b) {
            case (.number(let x), .number(let y)): order = x < y ? -1 : (x == y ? 0 : 1)
            case (.text(let x), .text(let y)), (.date(let x), .date(let y)): order = x < y ? -1 : (x == y ? 0 : 1)
            default:
                throw RuntimeError(.runTypeMismatch("cannot order \(a.kindName) and \(b.kindName) with '\(op.rawValue)'"), at: range)
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        default:
            throw RuntimeError(.runTypeMismatch("cannot use '\(op.rawValue)' on \(a.kindName) and \(b.kindName)"), at: range)
        }
    }

    /// `op` on two small numbers of one scale (a loop's counters and sums), straight on their
    /// integers; nil for anything else or on overflow, which the general case then computes.
    /// The same results as `Number`'s operators: it is only the first of their cases, without
    /// the tuple of values switched on below (a loop step spent a fifth of its time there).
    @inline(__always) private static func sameScale(_ op: BinaryOperator, _ x: Number, _ y: Number) -> Value? {
        guard case .small(let m, let s) = x.storage, case .small(let n, let t) = y.storage, s == t else { return nil }
        return HotCode.Small.atOneScale(op, m, n, s)?.value
    }

    /// A result beyond `Decimal`'s range (about 1e165) is NaN there: an error, not a value.
    static func finite(_ n: Number, at range: SourceRange) throws(RuntimeError) -> Value {
        if case .large(let d) = n.storage, !d.isFinite { throw RuntimeError(.resultOutOfRange, at: range) }
        return .number(n)
    }

    /// Values compare by kind and content; numbers by value (`4.00 == 4`).
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x == y
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        default: return a == b
        }
    }

    /// `x % y` with the sign of `x`, exact.
    static func remainder(_ x: Number, _ y: Number) -> Number { x % y }

    /// The whole number a decimal holds, if it holds one that fits an Int.
    static func integer(_ d: Number) -> Int? { d.intValue }

    /// Rounds half away from zero to `places` decimal places.
    static func round(_ d: Number, places: Int) -> Number { d.rounded(places: places) }
}

/// The built-in functions.
enum Builtins {
    static func call(_ f: Builtin, _ v: [Value], _ args: [IRExpr], today: @autoclosure () -> String, at range: SourceRange) throws(RuntimeError) -> Value {
        func wrong(_ k: Int, _ what: String) -> RuntimeError {
            RuntimeError(.runTypeMismatch("\(f.rawValue)(…) needs \(what), not \(v[k].kindName)"), at: args[k].range)
        }
        func number(_ k: Int) throws(RuntimeError) -> Number {
            guard case .number(let n) = v[k] else { throw wrong(k, "a number") }
            return n
        }
        /// Text, with null as empty text: a text output may be null, and shows as empty.
        func text(_ k: Int) throws(RuntimeError) -> String {
            if case .null = v[k] { return "" }
            guard case .text(let t) = v[k] else { throw wrong(k, "text") }
            return t
        }
        switch f {
        case .len:
            switch v[0] {
            case .null: return .number(0)
            case .text(let t): return .number(Number(t.count))
            case .list(let l): return .number(Number(l.count))
            case .object(let o): return .number(Number(o.count))
            default: throw wrong(0, "text or a list")
            }
        case .upper: return .text(try text(0).uppercased())
        case .lower: return .text(try text(0).lowercased())
        case .trim: return .text(try text(0).trimmingBlanks())
        case .round:
            let places = v.count > 1 ? try number(1) : 0
            guard let p = Arithmetic.integer(places), (0...20).contains(p) else {
                throw RuntimeError(.runTypeMismatch("round(…) takes 0 to 20 places"), at: args[1].range)
            }
            return .number(Arithmetic.round(try number(0), places: p))
        case .abs:
            let n = try number(0)
            return .number(n < 0 ? -n : n)
        case .min: return .number(Swift.min(try number(0), try number(1)))
        case .max: return .number(Swift.max(try number(0), try number(1)))
        case .contains:
            switch v[0] {
            case .null: return .bool(false)
            case .text(let t):
                guard case .text(let needle) = v[1] else { throw wrong(1, "text") }
                return .bool(t.contains(needle))
            case .list(let l): return .bool(l.contains { Arithmetic.equal($0, v[1]) })
            default: throw wrong(0, "text or a list")
            }
        case .text:
            return .text(v[0].displayText(asCurrency: args[0].type == .currency))
        case .number:
            switch v[0] {
            case .number: return v[0]
            case .text(let t):
                guard let n = Value.text(t.trimmingCharacters(in: .whitespaces)).coerced(to: .number), case .number = n else {
                    throw RuntimeError(.notANumber(t), at: args[0].range)
                }
                return n
            default: throw wrong(0, "text or a number")
            }
        case .today:
            return .date(today())
        }
    }
}
