import CPrefetch

/// A map from names to values for the compiler's hottest lookups (a flow's variables and pages).
/// FNV-1a over the UTF-8 bytes and open addressing with linear probing: for the short names of a
/// flow this costs a fraction of `Dictionary`'s seeded SipHash. Entries are never removed.
///
/// The probe table holds 8 bytes a slot (the entry's index and 32 bits of the hash, so a probe
/// that misses never reads a key, and growing hashes nothing); the names and values sit in one array in insertion order. In
/// a flow of 100,000 names most lookups miss the cache, and a slot of a name and a value in two
/// arrays cost two misses where this costs one. `names` keeps the probe table's order (the order
/// "did you mean" breaks ties in).
struct NameTable<Value> {
    /// 0: empty; else the hash's low 32 bits, then the entry's index + 1.
    private var slots: [UInt64]
    private var entries: [(key: String, value: Value)] = []

    init() {
        slots = Array(repeating: 0, count: 16)
    }

    /// Room for `count` names made at once, for a long flow whose count is known before its
    /// names are added: the table is not grown (every slot moved) a dozen times on the way, and
    /// the entries are not copied into arrays twice as large. The probe table is the size growing
    /// would have reached. Small tables are grown as before (the order of `names`, which breaks
    /// ties between suggestions, stays as it was for them).
    mutating func reserveCapacity(_ count: Int) {
        guard entries.isEmpty else { return }
        // The entries at their size for any count: a small flow's table of locals grew one,
        // two, four and eight entries long, an allocation each, on every flow of a file of
        // many flows. The slots only for a large table (16 hold 8 entries).
        entries.reserveCapacity(count)
        guard count > 4096 else { return }
        var size = slots.count
        while count * 2 > size { size *= 2 }
        slots = Array(repeating: 0, count: size)
    }

    var count: Int { entries.count }

    /// Every name in the table, in no particular order.
    var names: [String] { slots.compactMap { $0 == 0 ? nil : entries[Self.entry($0)].key } }

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

    @inline(__always)
    private static func tag(_ hash: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: hash)) }

    @inline(__always)
    private static func entry(_ slot: UInt64) -> Int { Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: slot)) - 1 }

    /// The slot holding `key`, or the empty slot where it would go, and its entry if present.
    @inline(__always)
    private func find(_ key: String, _ hash: Int) -> (slot: Int, entry: Int?) {
        let mask = slots.count - 1
        let tag = Self.tag(hash)
        var i = hash & mask
        while true {
            let s = slots[i]
            if s == 0 { return (i, nil) }
            if s >> 32 == tag {
                let e = Self.entry(s)
                if entries[e].key == key { return (i, e) }
            }
            i = (i + 1) & mask
        }
    }

    subscript(key: String) -> Value? {
        get {
            if entries.isEmpty { return nil }
            guard let e = find(key, Self.hash(key)).entry else { return nil }
            return entries[e].value
        }
        set {
            guard let newValue else { preconditionFailure("NameTable does not remove entries") }
            let h = Self.hash(key)
            let (i, e) = find(key, h)
            if let e {
                entries[e].value = newValue
                return
            }
            entries.append((key, newValue))
            slots[i] = Self.tag(h) << 32 | UInt64(entries.count)
            if entries.count * 2 > slots.count { grow() }
        }
    }

    /// Whether the probe table is too large to stay in the cache beside a long flow's syntax
    /// (more than 32,768 slots, 256 KB): `prefetch` is worth its second hash only then.
    var isLarge: Bool { slots.count > 32768 }

    /// Asks the processor for the slot a lookup or insertion of `key` probes first, without
    /// waiting for it. In a long flow each probe is a cache miss: in a release build's
    /// `flow-bench check` of one flow of 100,000 lone questions, 85% of `insertIfAbsent`'s
    /// samples were on that one read, 8.4% of the whole check. Asked for a few names ahead, the
    /// misses overlap.
    @inline(__always)
    func prefetch(_ key: String) {
        slots.withUnsafeBufferPointer { flow_prefetch_for_write($0.baseAddress! + (Self.hash(key) & ($0.count - 1))) }
    }

    /// Adds `key` with `value` unless it is there; returns the value it had then (nil: added).
    /// One hash and one probe where a lookup and then an insertion took two of each.
    mutating func insertIfAbsent(_ key: String, _ value: Value) -> Value? {
        let h = Self.hash(key)
        let (i, e) = find(key, h)
        if let e { return entries[e].value }
        entries.append((key, value))
        slots[i] = Self.tag(h) << 32 | UInt64(entries.count)
        if entries.count * 2 > slots.count { grow() }
        return nil
    }

    /// Doubles the probe table, re-inserting in the old table's order (as the table did when it
    /// held the keys itself, so `names` comes out in the same order).
    private mutating func grow() {
        let old = slots
        slots = Array(repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for s in old where s != 0 {
            // The tag is the hash's low 32 bits, all the index needs: no key is hashed again.
            var i = Int(s >> 32) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }
}
