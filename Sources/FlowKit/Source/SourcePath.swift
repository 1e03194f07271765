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
}
