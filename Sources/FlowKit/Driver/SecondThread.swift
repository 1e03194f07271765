import Dispatch
import Foundation

/// Work done on a second thread while this one does its own part (`flow check` of a large input:
/// a share of the pieces of a file's parse, the lowering and the value checks of a share of the flows).
enum SecondThread {
    /// Whether the machine has a second core to run it on. Read once: Foundation reads the
    /// process's CPU quota and affinity from files each time it is asked, three times a compile.
    static let isAvailable: Bool = ProcessInfo.processInfo.activeProcessorCount > 1

    /// Runs `there` on a second thread while `here` runs on this one, and returns once both are
    /// done. What `there` writes is read here only after that, so the two closures may share
    /// state as long as they do not touch the same state while both run: the callers keep to
    /// that, which is why `there` need not be `Sendable`.
    ///
    /// A queue of its own rather than a global one: a caller that is itself on a thread of a full
    /// global pool would otherwise wait for work queued behind it.
    static func run(_ there: () -> Void, alongside here: () -> Void) {
        withoutActuallyEscaping(there) { there in
            let job = Job(body: there)
            let group = DispatchGroup()
            DispatchQueue(label: "flow.second-thread").async(group: group) { job.body() }
            here()
            group.wait()
        }
    }

    /// Indices `0..<count` shared out by `Ends`: `there(i)` on the second thread for those taken
    /// from the back, `here(i)` on this one for those from the front, until they meet.
    static func fromBothEnds(_ count: Int, there: (Int) -> Void, here: (Int) -> Void) {
        let ends = Ends(count: count)
        run({ while let i = ends.fromBack() { there(i) } }, alongside: { while let i = ends.fromFront() { here(i) } })
    }

    /// Indices `0..<count` shared by two threads working from both ends: this one takes them
    /// from the front and the second thread from the back, one at a time, until they meet.
    /// Each index is taken once; the front's are `0..<k` and the back's `k..<count` for some `k`,
    /// so each thread's results stay in order (the back's reversed), and neither waits for the
    /// other while both have work: a cut made in advance left one thread idle when the two
    /// halves took different times (the second thread's often did, by 10 to 25%).
    final class Ends: @unchecked Sendable {
        private let lock = NSLock()
        private var front = 0
        private var back: Int

        init(count: Int) { back = count }

        func fromFront() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard front < back else { return nil }
            front += 1
            return front - 1
        }

        func fromBack() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard front < back else { return nil }
            back -= 1
            return back
        }

        /// What the back's thread found, `items`, put in index order: `marks[j]` is how many
        /// items there were once it had done its `j`th index (the last index first), so the
        /// items of each index stay in their order and the indices go up.
        static func inIndexOrder<T>(_ items: [T], marks: [Int]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(items.count)
            for j in marks.indices.reversed() { out += items[(j == 0 ? 0 : marks[j - 1])..<marks[j]] }
            return out
        }
    }

    private struct Job: @unchecked Sendable {
        let body: () -> Void
    }
}
