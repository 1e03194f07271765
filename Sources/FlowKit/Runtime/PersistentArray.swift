/// An array whose copies share their storage: writing one element of a copy that shares it
/// copies only the path to that element (a node of 8 references per level, seven levels for a
/// million elements), not the whole array. A frame's answers are one: every page's `back`
/// checkpoint holds a copy of them, and with a plain array the next answer copied all of them,
/// which made a run quadratic in its number of pages. Unshared, a write is in place.
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

    final class Node {
        var children: [Node]
        var items: [Element]

        init(children: [Node] = [], items: [Element] = []) {
            self.children = children
            self.items = items
        }

        func copy() -> Node { Node(children: children, items: items) }
    }

    /// The elements themselves while there are 32 or fewer (`root` is nil then): a write to a
    /// shared copy copies at most 32 of them, and a page or two of answers (most flows) costs no
    /// node to make, copy and free. Empty once there is a tree.
    private var items: [Element]
    /// The trie, for more than 32 elements.
    private var root: Node?
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
        var level: [Node] = stride(from: 0, to: elements.count, by: n).map {
            Node(items: Array(elements[$0..<Swift.min($0 + n, elements.count)]))
        }
        var shift = 0
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: n).map { Node(children: Array(level[$0..<Swift.min($0 + n, level.count)])) }
            shift += Self.bits
        }
        root = level.first ?? Node()
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
                node = node.children[(position >> s) & Self.mask]
                s -= Self.bits
            }
            return node.items[position & Self.mask]
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

    private static func update(_ node: inout Node, _ i: Int, _ shift: Int, _ value: Element) {
        if !isKnownUniquelyReferenced(&node) { node = node.copy() }
        if shift == 0 {
            node.items[i & mask] = value
        } else {
            update(&node.children[(i >> shift) & mask], i, shift - bits, value)
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
