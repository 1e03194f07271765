@testable import FlowKit
import Foundation
import XCTest

/// The frame's answers: copies share storage, a write to one never shows in another.
final class PersistentArrayTests: XCTestCase {
    func testCopiesAreIndependentAtEverySize() throws {
        for count in [0, 1, 31, 32, 33, 64, 65, 512, 513, 1024, 1025, 4096, 4097, 32_768, 32_769, 40_000] {
            var a = PersistentArray(repeating: 0, count: count)
            XCTAssertEqual(a.count, count)
            var copies: [PersistentArray<Int>] = []
            for i in stride(from: 0, to: count, by: max(1, count / 50)) {
                copies.append(a)
                a[i] = i + 1
            }
            for (k, copy) in copies.enumerated() {
                let i = k * max(1, count / 50)
                XCTAssertEqual(copy[i], 0, "copy \(k) saw a later write")
                if i > 0 { XCTAssertEqual(copy[i - max(1, count / 50)], i - max(1, count / 50) + 1) }
            }
            XCTAssertEqual(Array(a), (0..<count).map { $0 % max(1, count / 50) == 0 ? $0 + 1 : 0 })
            let data = try JSONEncoder().encode(a)
            XCTAssertEqual(try JSONDecoder().decode([Int].self, from: data), Array(a))
            XCTAssertEqual(try JSONDecoder().decode(PersistentArray<Int>.self, from: data), a)
        }
    }

    /// Equality compares the elements, whichever way the arrays are stored (up to 32 elements
    /// they are a plain array, beyond that a tree): a changed copy is never equal to the original.
    func testEqualityComparesTheElements() {
        for count in [1, 2, 31, 32, 33, 1025] {
            let a = PersistentArray((0..<count).map { $0 })
            var b = a
            XCTAssertEqual(a, b)
            b[count - 1] = -1
            XCTAssertNotEqual(a, b, "\(count) elements")
            XCTAssertEqual(a[count - 1], count - 1)
            b[count - 1] = count - 1
            XCTAssertEqual(a, b, "\(count) elements, changed back")
        }
        XCTAssertEqual(PersistentArray<Int>([]), PersistentArray<Int>([]))
        XCTAssertNotEqual(PersistentArray([1]), PersistentArray([1, 1]))
    }

    /// Elements that hold references, written at random into random copies, with copies dropped
    /// on the way, against plain arrays doing the same: every copy reads as its array does, and
    /// once all are dropped every element is freed, once (nodes hold their elements in their own
    /// blocks, copied and released by hand).
    func testRandomWritesToRandomCopiesMatchPlainArrays() {
        final class Counter { var live = 0 }
        final class Tracked {
            let counter: Counter
            let value: Int
            init(_ counter: Counter, _ value: Int) {
                self.counter = counter
                self.value = value
                counter.live += 1
            }
            deinit { counter.live -= 1 }
        }
        let counter = Counter()
        var random = SystemRandomNumberGenerator()
        for count in [33, 70, 513, 4_100] {
            do {
                var models: [[Tracked]] = [(0..<count).map { Tracked(counter, -$0) }]
                var arrays: [PersistentArray<Tracked>] = [PersistentArray(models[0])]
                for step in 0..<2_000 {
                    let k = Int.random(in: 0..<arrays.count, using: &random)
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0:
                        models.append(models[k])
                        arrays.append(arrays[k])
                    case 1 where arrays.count > 1:
                        models.remove(at: k)
                        arrays.remove(at: k)
                    default:
                        let i = Int.random(in: 0..<count, using: &random)
                        let element = Tracked(counter, step)
                        models[k][i] = element
                        arrays[k][i] = element
                    }
                }
                for (model, array) in zip(models, arrays) {
                    XCTAssertEqual(array.count, model.count)
                    XCTAssertTrue(zip(model, array).allSatisfy { $0 === $1 }, "\(count) elements: a copy reads another's writes")
                }
                models = []
            }
            XCTAssertEqual(counter.live, 0, "\(count) elements: elements left alive after every copy was dropped")
        }
    }
}
