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
        var parts: [Substring] = []
        for seg in path.split(separator: "/", omittingEmptySubsequences: true) {
            if seg == "." { continue }
            if seg == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(seg)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// The path from the root, `.` and `..` collapsed and links not resolved: a relative path is
    /// taken from the working directory, and `..` at the root stays at the root. Two spellings of
    /// one file (`flows/a.flow`, `./flows/a.flow`, its absolute path) give the same string.
    /// What `URL(fileURLWithPath:).standardizedFileURL.path` gives, without loading Foundation's
    /// URL and file manager into every command's start (`flow check` of a small file).
    public static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            full = workingDirectory() + "/" + path
        }
        var parts: [Substring] = []
        for seg in full.split(separator: "/", omittingEmptySubsequences: true) {
            if seg == "." { continue }
            if seg == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(seg)
        }
        // Joined by hand: `joined(separator:)` on substrings cost a first look-up of their
        // conformance at the process's start.
        var result = ""
        for part in parts {
            result += "/"
            result += part
        }
        return result.isEmpty ? "/" : result
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
