#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Paths of flow files as imports and editors name them, compared without the file system.
public enum SourcePath {
    /// Collapses `.` and `..` segments and repeated slashes, without touching the file system
    /// (so links are not resolved): `flows/./sub/../a.flow` is `flows/a.flow`.
    public static func normalize(_ path: String) -> String {
        let joined = collapse(path, aboveRoot: false)
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// The path from the root, `.` and `..` collapsed and links not resolved: a relative path is
    /// taken from the working directory, and `..` at the root stays at the root. Two spellings of
    /// one file (`flows/a.flow`, `./flows/a.flow`, its absolute path) give the same string.
    /// What `URL(fileURLWithPath:).standardizedFileURL.path` gives, without loading Foundation's
    /// URL and file manager into every command's start (`flow check` of a small file).
    public static func absolute(_ path: String) -> String {
        "/" + collapse(path.hasPrefix("/") ? path : workingDirectory() + "/" + path, aboveRoot: true)
    }

    /// The segments of `path` but `.`, each `..` taking the one before it away, joined by `/`
    /// (with no slash at either end). A `..` with nothing before it is kept, or, when
    /// `aboveRoot` says the path is from the root, dropped. Joined by hand: `joined(separator:)`
    /// on substrings cost each process a first look-up of their conformance (a scan of every
    /// conformance in the binary) at the start of even a small file's check.
    private static func collapse(_ path: String, aboveRoot: Bool) -> String {
        var parts: [Substring] = []
        for seg in path.split(separator: "/", omittingEmptySubsequences: true) {
            if seg == "." { continue }
            if seg == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                    continue
                }
                if aboveRoot { continue }
            }
            parts.append(seg)
        }
        var result = ""
        for (k, part) in parts.enumerated() {
            if k > 0 { result += "/" }
            // As a `String`: appending a `Substring` is the standard library's unspecialized
            // generic code, whose first call looks its types up at run time.
            result += String(part)
        }
        return result
    }

    /// The working directory (`getcwd`), or `/` when it cannot be read (removed under us).
    static func workingDirectory() -> String {
        var size = 4096
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let found: String? = buffer.withUnsafeMutableBufferPointer { buffer in
                getcwd(buffer.baseAddress!, buffer.count) == nil ? nil : String(cString: buffer.baseAddress!)
            }
            if let found { return found }
            guard errno == ERANGE else { return "/" }
            size *= 2
        }
        return "/"
    }
}
