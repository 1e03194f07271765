/// A map from names to values for the compiler's hottest lookups (a flow's variables and pages).
/// FNV-1a over the UTF-8 bytes and open addressing with linear probing: for the short names of a
/// flow this costs a fraction of `Dictionary`'s seeded SipHash. Entries are never removed.
struct NameTable<Value> {
    private var keys: [String?]
    private var values: [Value?]
    private(set) var count = 0

    init() {
        keys = Array(repeating: nil, count: 16)
        values = Array(repeating: nil, count: 16)
    }

    /// Every name in the table, in no particular order.
    var names: [String] { keys.compactMap { $0 } }

    @inline(__always)
    private static func hash(_ key: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if let done = key.utf8.withContiguousStorageIfAvailable({ buffer -> UInt64 in
            var h = h
            for b in buffer { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }) {
            h = done
        } else {
            for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    private func slot(of key: String) -> Int {
        let mask = keys.count - 1
        var i = NameTable.hash(key) & mask
        while let k = keys[i], k != key { i = (i + 1) & mask }
        return i
    }

    subscript(key: String) -> Value? {
        get {
            let i = slot(of: key)
            return keys[i] == nil ? nil : values[i]
        }
        set {
            guard let newValue else { preconditionFailure("NameTable does not remove entries") }
            let i = slot(of: key)
            if keys[i] != nil {
                values[i] = newValue
                return
            }
            keys[i] = key
            values[i] = newValue
            count += 1
            if count * 2 > keys.count { grow() }
        }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: nil, count: oldKeys.count * 2)
        values = Array(repeating: nil, count: oldKeys.count * 2)
        count = 0
        for (k, v) in zip(oldKeys, oldValues) {
            if let k, let v { self[k] = v }
        }
    }
}
