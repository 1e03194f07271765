@testable import FlowKit
import Foundation
import XCTest

/// The frame's answers: copies share storage, a write to one never shows in another.
final class PersistentArrayTests: XCTestCase {
    func testCopiesAreIndependentAtEverySize() throws {
        for count in [0, 1, 31, 32, 33, 1024, 1025, 40_000] {
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
}
