/// Arrays the graph checks of a flow take and give back, for the next flow checked on the same
/// thread. A flow's reads before sets made some thirty arrays and freed them again, and its
/// graph index, reachable elements and loops without exit some ten more; on the generated
/// benchmark (2,500 flows of about 40 lines) the reads before sets alone were 82,500 of the
/// 589,907 heap blocks of a check (dhat), and each array made and freed cost about 800
/// instructions (callgrind), more than the work on a small flow. One pool per thread: a builder
/// keeps one, and each batch the second thread runs.
///
/// Only small arrays are kept (`largest`): a long flow's arrays are freed as before, so holding
/// them does not raise the peak memory of checking one long flow.
final class CheckScratch {
    static let largest = 4_096
    private var bools: [[Bool]] = []
    private var int8s: [[Int8]] = []
    private var int32s: [[Int32]] = []
    private var intArrays: [[Int]] = []
    private var words: [[UInt64]] = []
    private var rangeArrays: [[SourceRange]] = []
    private var readArrays: [[(bit: Int, range: SourceRange)]] = []

    init() {}

    func bools(_ count: Int, _ value: Bool) -> [Bool] { Self.take(&bools, count, value) }
    func int8s(_ count: Int, _ value: Int8) -> [Int8] { Self.take(&int8s, count, value) }
    func int32s(_ count: Int, _ value: Int32) -> [Int32] { Self.take(&int32s, count, value) }
    func ints() -> [Int] { Self.takeEmpty(&intArrays) }
    func words(_ count: Int, _ value: UInt64) -> [UInt64] { Self.take(&words, count, value) }
    func ranges() -> [SourceRange] { Self.takeEmpty(&rangeArrays) }
    func reads() -> [(bit: Int, range: SourceRange)] { Self.takeEmpty(&readArrays) }

    func give(_ a: [Bool]) { Self.put(&bools, a) }
    func give(_ a: [Int8]) { Self.put(&int8s, a) }
    func give(_ a: [Int32]) { Self.put(&int32s, a) }
    func give(_ a: [Int]) { Self.put(&intArrays, a) }
    func give(_ a: [UInt64]) { Self.put(&words, a) }
    func give(_ a: [SourceRange]) { Self.put(&rangeArrays, a) }
    func give(_ a: [(bit: Int, range: SourceRange)]) { Self.put(&readArrays, a) }

    /// An array of `count` times `value`, in the room of one given back when there is one.
    private static func take<T>(_ pool: inout [[T]], _ count: Int, _ value: T) -> [T] {
        guard var a = pool.popLast() else { return [T](repeating: value, count: count) }
        a.removeAll(keepingCapacity: true)
        a.append(contentsOf: repeatElement(value, count: count))
        return a
    }

    private static func takeEmpty<T>(_ pool: inout [[T]]) -> [T] {
        guard var a = pool.popLast() else { return [] }
        a.removeAll(keepingCapacity: true)
        return a
    }

    private static func put<T>(_ pool: inout [[T]], _ a: [T]) {
        guard a.capacity <= largest, pool.count < 16 else { return }
        pool.append(a)
    }
}
