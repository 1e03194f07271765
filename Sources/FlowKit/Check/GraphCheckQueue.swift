import Dispatch
import Foundation

/// What one pass of checks reports, and the ranges the value checks looked at (see
/// `Program.checkedRanges`), added to the builder's when the pass is done.
final class CheckOutput {
    var diagnostics: [Diagnostic] = []
    var checkedRanges: Set<SourceRange>

    init(checkedRanges: Set<SourceRange> = []) {
        self.checkedRanges = checkedRanges
    }

    func report(_ m: Message, _ r: SourceRange, label: String? = nil, notes: [DiagnosticNote] = [], hint: String? = nil) {
        diagnostics.append(Diagnostic(m, at: r, label: label, notes: notes, hint: hint))
    }
}

/// Runs the graph checks (`FlowChecks`) of each flow on a second thread, in the order the flows
/// are lowered (in batches), while this thread lowers the next flows.
///
/// Design note: the checks still running when the last flow is lowered go on beside the solver
/// and the value checks, unless the second thread is wanted for a share of the flows' value checks
/// (then the builder waits for them first, `finish`). The checks of a flow read
/// only its graph, its `FlowContext` and its assignments, which the flow's builder hands over
/// whole and never touches again (the graph is a value; the program's copy shares its storage,
/// copied on write); they report into a list of their own, which `finish` hands back after
/// waiting for them. So nothing is written by both threads, and the diagnostics are the same
/// whatever the timing (sorted by position at the end, as always).
final class GraphCheckQueue: @unchecked Sendable {
    private let queue = DispatchQueue(label: "flow.graph-checks")
    private let group = DispatchGroup()
    /// Written only on `queue` until `finish` has waited for it.
    private let out = CheckOutput()
    /// Flows handed over and not yet sent to `queue`, and their elements: they go in batches of
    /// `batchSize` or more, since waking the other thread for each of a file's many small
    /// flows cost this thread more than checking them would have.
    private var batch: [HandedOver] = []
    private var batchElements = 0
    static let batchSize = 2_000

    /// Long flows (this many elements or more) have their checks in two parts (`Split`).
    static let splitFrom = 20_000
    /// The long flows' split checks, in the order added.
    private var split: [Split] = []

    func add(_ flow: FlowGraph, _ context: FlowContext, _ assignments: [(slot: Int32, range: SourceRange)]) {
        if flow.elements.count >= Self.splitFrom {
            send()
            let job = Split(FlowChecks(out: CheckOutput(), flow: flow, context: context, assignments: assignments))
            split.append(job)
            queue.async(group: group) { job.runThere(into: self.out) }
            return
        }
        batch.append(HandedOver(flow: flow, context: context, assignments: assignments))
        batchElements += flow.elements.count
        if batchElements >= Self.batchSize { send() }
    }

    /// Sends the flows added since the last batch to the other thread.
    private func send() {
        guard !batch.isEmpty else { return }
        let jobs = Batch(jobs: batch)
        batch = []
        batchElements = 0
        queue.async(group: group) {
            let pool = CheckScratch()
            for job in jobs.jobs {
                FlowChecks(out: self.out, flow: job.flow, context: job.context, assignments: job.assignments, pool: pool).run()
            }
        }
    }

    /// Waits for the checks of every flow added, and returns what they reported.
    func finish() -> [Diagnostic] {
        send()
        // The part of a long flow's checks the second thread has not begun is done here.
        for job in split { job.runHereIfNotBegun() }
        split = []
        group.wait()
        return out.diagnostics
    }

    /// A long flow's checks in two parts: the reads before sets, which the second thread starts
    /// with, and the others, which whichever thread comes to them first does: this one once it
    /// has done the value checks (`finish`), or the second once it has done the reads before sets.
    /// A long flow's checks all on the second thread made this thread wait for them after its
    /// value checks (timed on one flow of 100,000 `set` lines: value checks 5.5 ms here, the graph
    /// checks 16.9 ms there, of which the reads before sets 12.2 ms). What each part reports goes
    /// into an output of its own; the second thread adds them to the queue's in `run`'s order.
    private final class Split: @unchecked Sendable {
        let checks: FlowChecks
        private let before = CheckOutput(), after = CheckOutput()
        private let lock = NSLock()
        private var begun = false
        private let othersDone = DispatchSemaphore(value: 0)

        init(_ checks: FlowChecks) { self.checks = checks }

        /// Whether this thread is the first to come to the others (and so does them).
        private func claim() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if begun { return false }
            begun = true
            return true
        }

        func runThere(into out: CheckOutput) {
            checks.runReadsBeforeSets()
            if claim() {
                checks.runOthers(before: before, after: after)
            } else {
                othersDone.wait()
            }
            out.diagnostics += before.diagnostics
            out.diagnostics += checks.out.diagnostics
            out.diagnostics += after.diagnostics
        }

        func runHereIfNotBegun() {
            guard claim() else { return }
            checks.runOthers(before: before, after: after)
            othersDone.signal()
        }
    }

    /// What a flow's builder hands over and never touches again.
    private struct HandedOver {
        let flow: FlowGraph
        let context: FlowContext
        let assignments: [(slot: Int32, range: SourceRange)]
    }

    private struct Batch: @unchecked Sendable {
        let jobs: [HandedOver]
    }
}
