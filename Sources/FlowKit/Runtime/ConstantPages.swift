import Synchronization

/// The page requests of a program's pages that are made only of constants: a title, prompts,
/// options, defaults and bounds that are literals or texts without substitutions, as most pages
/// are. Such a request is the same for every session, so it is made the first time a session
/// asks the page and shared after: asking the page is then a copy of the request, and reading
/// the answers reads them against its questions. Before, every session made the request twice,
/// once to show the page and once to read its answers.
///
/// Kept per program (`Program.constantPages`, dropped when its flows change), behind a lock:
/// the sessions of one program run on many threads in a server. Pages are kept by flow, in an
/// array made when a session first asks a page of that flow, for flows of at most `limit`
/// pages: a flow of many pages each asked once (a long form run from answers) would otherwise
/// keep a request for every page. A page found not constant is remembered as such, and is not
/// examined again.
final class ConstantPages: Sendable, CustomReflectable {
    static let limit = 1_024

    enum Slot: Sendable {
        /// Not asked yet in any session of the program.
        case unseen
        /// Some expression of the page is not a constant (or its flow has more than `limit` pages).
        case notConstant
        case constant(PageRequest)
    }

    /// By flow, then by page; a flow's array is empty until a page of it is asked.
    private let kept = Mutex<[[Slot]]>([])

    /// What is known of page `page` of flow `flow`, which has `pages` pages.
    func lookUp(flow: Int, page: Int, of pages: Int) -> Slot {
        guard pages <= Self.limit else { return .notConstant }
        return kept.withLock { Self.slot(flow, page, in: $0) }
    }

    /// The questions of page `page` of flow `flow` when it is a constant page already asked.
    func questions(flow: Int, page: Int) -> [QuestionRequest]? {
        kept.withLock { kept in
            guard case .constant(let request) = Self.slot(flow, page, in: kept) else { return nil }
            return request.questions
        }
    }

    private static func slot(_ flow: Int, _ page: Int, in kept: borrowing [[Slot]]) -> Slot {
        flow < kept.count && !kept[flow].isEmpty ? kept[flow][page] : .unseen
    }

    /// Keeps what a session found for a page not seen yet: its request, or nil when the page is
    /// not constant. Two sessions that find the same page at once keep equal requests.
    func keep(_ request: PageRequest?, flow: Int, page: Int, of pages: Int) {
        guard pages <= Self.limit else { return }
        kept.withLock { kept in
            while kept.count <= flow { kept.append([]) }
            if kept[flow].isEmpty { kept[flow] = Array(repeating: .unseen, count: pages) }
            kept[flow][page] = request.map { .constant($0) } ?? .notConstant
        }
    }

    /// Whether every expression of the page is a constant: its request is then the same in every
    /// session and at every moment.
    static func isConstant(_ page: UnsafePointer<PageInfo>) -> Bool {
        if let title = page.pointee.title, !isConstant(title) { return false }
        return page.pointee.questions.allSatisfy { q in
            guard let details = q.detailsBox else { return true }
            return details.expressions.allSatisfy(isConstant) && details.options.allSatisfy(isConstant)
        }
    }

    /// A literal, or a text whose parts are all literals. Not `IRExpr.isStatic`, which the checks
    /// use: that counts a config too, and a host may give each session other config values
    /// (`RuntimeOptions.configs`, `--define`).
    private static func isConstant(_ e: IRExpr) -> Bool {
        switch e.kind {
        case .constant: true
        case .template(let parts): parts.allSatisfy { if case .constant = $0.kind { true } else { false } }
        default: false
        }
    }

    /// Nothing of what is kept: a dump of a program shows its graph, not what its sessions asked.
    var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .class) }
}
