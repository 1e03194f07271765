#if canImport(Glibc)
    import Glibc
#endif

/// How a process that compiles large flows gives memory back (peak memory of `flow check`).
/// glibc's `mallopt` and `malloc_trim` are not declared by Swift's Glibc module, so they are
/// looked up once; elsewhere these do nothing.
public enum MemoryUse {
    /// Blocks of 128 KB or more are mapped apart and unmapped as soon as they are freed. glibc
    /// otherwise raises that threshold each time such a block is freed, so the arrays of a long
    /// flow's checks come from the heap, and what they free stays in the process. For a command
    /// line tool: it applies to the whole process.
    /// And no "fast bins": a freed small block joins the free blocks beside it at once, so the
    /// syntax tree freed as a flow is lowered leaves room the graph's blocks fill compactly,
    /// not holes between them that keep whole pages resident.
    public static func returnLargeBlocks() {
        givesMemoryBack = true
        #if canImport(Glibc)
            _ = mallopt?(-3, 128 * 1024)  // M_MMAP_THRESHOLD
            _ = mallopt?(1, 0)  // M_MXFAST
        #endif
    }

    /// Whether the process asked to give memory back (`returnLargeBlocks`): set once, at start.
    nonisolated(unsafe) private(set) static var givesMemoryBack = false

    /// Gives back the free pages inside the heap, not only at its top, in a process that asked to
    /// give memory back (`flow check`). A process that goes on (an editor, a server, a test run,
    /// `flow-bench`) keeps them: what it allocates next faulted them in again, page by page (the
    /// kernel took 12% of an in-process check of one flow of 100,000 `set` lines, mostly that).
    static func trim() {
        guard givesMemoryBack else { return }
        #if canImport(Glibc)
            _ = mallocTrim?(0)
        #endif
    }

    #if canImport(Glibc)
        private static let mallopt: (@convention(c) (Int32, Int32) -> Int32)? = {
            guard let symbol = dlsym(nil, "mallopt") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        }()
        private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        }()
    #endif
}
