/// An array whose copies share their storage: writing one element of a copy that shares it
/// copies only the path to that element (a node of 8 references per level, seven levels for a
/// million elements, each node one block), not the whole array. A frame's answers are one:
/// every page's `back` checkpoint holds a copy of them, and with a plain array the next answer
/// copied all of them, which made a run quadratic in its number of pages. Unshared, a write is
/// in place.
///
/// Encoded as a plain array, so snapshots read and write the same JSON as before.
public struct PersistentArray<Element> {
    /// A trie of fan-out 8: a leaf holds up to 8 elements, an inner node up to 8 nodes.
    ///
    /// Each write to a shared copy copies one node per level, each of its references retained
    /// (and released when the copy is freed), so the cost of a write is the fan-out times the
    /// depth: 8 × 6 = 48 references for 100,000 elements, against 32 × 4 = 128 with a fan-out of
    /// 32, which was most of a 100,000-page `flow run` (every page's `back` checkpoint shares
    /// the answers, so every answer is such a write).
    static var bits: Int { 3 }
    static var fanOut: Int { 1 << bits }
    static var mask: Int { fanOut - 1 }

    /// A leaf: up to 8 elements (the header counts them), held in the node's own block. Nodes
    /// whose slots were arrays beside them took two blocks each, so each write to a shared copy
    /// allocated, and each freed checkpoint freed, twice as many.
    final class Leaf: ManagedBuffer<Int, Element> {
        deinit { _ = withUnsafeMutablePointers { count, elements in elements.deinitialize(count: count.pointee) } }
    }

    /// An inner node: up to 8 nodes, leaves at the level above the leaves and inner nodes above
    /// that (the depth says which: `shift`).
    ///
    /// Its nodes are released one by one, and copied one by one (`node`): the runtime's
    /// functions for a whole buffer (`deinitialize(count:)`, `initialize(from:count:)`) go
    /// through the type's value witnesses for each element, which was a twentieth of the
    /// instructions of a 100,000-page `flow run` (5.7%).
    final class Inner: ManagedBuffer<Int, AnyObject> {
        deinit {
            withUnsafeMutablePointers { count, nodes in
                for k in 0..<count.pointee { _ = (nodes + k).move() }
            }
        }
    }

    /// A node of type `N` (a `Leaf` or an `Inner`) holding a copy of `slots` (8 at most).
    static func node<N: ManagedBuffer<Int, Slot>, Slot>(_ type: N.Type, _ slots: UnsafeBufferPointer<Slot>) -> N {
        let count = slots.count
        let made = unsafeDowncast(N.create(minimumCapacity: fanOut) { _ in count }, to: N.self)
        made.withUnsafeMutablePointerToElements { p in
            for k in 0..<count { (p + k).initialize(to: slots[k]) }
        }
        return made
    }

    /// The elements themselves while there are 32 or fewer (`root` is nil then): a write to a
    /// shared copy copies at most 32 of them, and a page or two of answers (most flows) costs no
    /// node to make, copy and free. Empty once there is a tree.
    private var items: [Element]
    /// The trie, for more than 32 elements: a `Leaf` when `shift` is 0, an `Inner` otherwise.
    private var root: AnyObject?
    public let count: Int
    /// Bits of the index consumed above the leaves: 0 when the root is a leaf, then 3, 6, …
    private let shift: Int

    public init(_ elements: [Element]) {
        count = elements.count
        if elements.count <= 32 {
            // The array itself, shared, not copied.
            items = elements
            root = nil
            shift = 0
            return
        }
        items = []
        let n = Self.fanOut
        /// `all` cut into runs of 8 (the last may be shorter).
        func runs<T>(_ all: UnsafeBufferPointer<T>) -> [UnsafeBufferPointer<T>] {
            stride(from: 0, to: all.count, by: n).map { UnsafeBufferPointer(rebasing: all[$0..<Swift.min($0 + n, all.count)]) }
        }
        var level: [AnyObject] = elements.withUnsafeBufferPointer { runs($0).map { Self.node(Leaf.self, $0) } }
        var shift = 0
        while level.count > 1 {
            level = level.withUnsafeBufferPointer { runs($0).map { Self.node(Inner.self, $0) } }
            shift += Self.bits
        }
        root = level[0]
        self.shift = shift
    }

    public init(repeating value: Element, count: Int) {
        // Built by appending: `Array(repeating:count:)` allocates through the standard library's
        // unspecialized path, a generic metadata lookup in the runtime on every call.
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(value) }
        self.init(elements)
    }

    public subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "index out of range")
            guard var node = root else { return items[position] }
            var s = shift
            while s > 0 {
                node = unsafeDowncast(node, to: Inner.self).withUnsafeMutablePointerToElements { $0[(position >> s) & Self.mask] }
                s -= Self.bits
            }
            return unsafeDowncast(node, to: Leaf.self).withUnsafeMutablePointerToElements { $0[position & Self.mask] }
        }
        set {
            precondition(position >= 0 && position < count, "index out of range")
            guard var node = root else {
                items[position] = newValue
                return
            }
            // Taken out of `root` while it is changed, so that a tree no copy shares is
            // changed in place.
            root = nil
            Self.update(&node, position, shift, newValue)
            root = node
        }
    }

    /// Writes `value` at `i` below `node` (at depth `shift`), copying first each node on the way
    /// that another copy shares.
    private static func update(_ node: inout AnyObject, _ i: Int, _ shift: Int, _ value: Element) {
        if shift == 0 {
            if !isKnownUniquelyReferenced(&node) {
                node = unsafeDowncast(node, to: Leaf.self).withUnsafeMutablePointers { count, elements in
                    Self.node(Leaf.self, UnsafeBufferPointer(start: elements, count: count.pointee))
                }
            }
            unsafeDowncast(node, to: Leaf.self).withUnsafeMutablePointerToElements { $0[i & mask] = value }
        } else {
            if !isKnownUniquelyReferenced(&node) {
                node = unsafeDowncast(node, to: Inner.self).withUnsafeMutablePointers { count, nodes in
                    Self.node(Inner.self, UnsafeBufferPointer(start: nodes, count: count.pointee))
                }
            }
            unsafeDowncast(node, to: Inner.self).withUnsafeMutablePointerToElements { nodes in
                update(&nodes[(i >> shift) & mask], i, shift - bits, value)
            }
        }
    }
}

extension PersistentArray: RandomAccessCollection {
    public typealias Index = Int
    public typealias Indices = Range<Int>
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
}

extension PersistentArray: Equatable where Element: Equatable {
    public static func == (a: PersistentArray, b: PersistentArray) -> Bool {
        a.count == b.count && ((a.root != nil && a.root === b.root) || a.elementsEqual(b))
    }
}

extension PersistentArray: Codable where Element: Codable {
    public init(from decoder: Decoder) throws {
        self.init(try [Element](from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try Array(self).encode(to: encoder)
    }
}

// Nodes are changed only through a unique reference (copied first otherwise), as an array's
// storage is, so a value can cross threads like an array of the same elements.
extension PersistentArray: @unchecked Sendable where Element: Sendable {}
