import Dispatch
import Foundation

/// Work done on a second thread while this one does its own part (`flow check` of a large input:
/// the parse of a file's second half, the value checks of the later flows).
enum SecondThread {
    /// Whether the machine has a second core to run it on.
    static var isAvailable: Bool { ProcessInfo.processInfo.activeProcessorCount > 1 }

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

    private struct Job: @unchecked Sendable {
        let body: () -> Void
    }
}
