/// "Did you mean …?": the one helper used for names in flows and for command-line flags alike.
public enum Suggest {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo:
    /// at most a third of the word's length (and at least 1) edits away; ties go to the first.
    /// Names that differ only in case or spacing always match.
    /// A word longer than `maxLength` characters gets only such a match: the distance costs the
    /// product of the lengths (a 100,000-character name with a typo took minutes).
    public static func closest<S: Sequence>(to word: String, in candidates: S) -> String? where S.Element == String {
        let folded = fold(word)
        let limit = max(1, folded.count / 3)
        var best: (String, Int)?
        for candidate in candidates where candidate != word {
            let c = fold(candidate)
            if c == folded { return candidate }
            if folded.count > maxLength { continue }
            // Cheap length filter before the quadratic distance.
            if abs(c.count - folded.count) > limit { continue }
            let d = distance(folded, c, limit: limit)
            if d <= limit && (best == nil || d < best!.1) { best = (candidate, d) }
        }
        return best?.0
    }

    public static let maxLength = 256

    private static func fold(_ s: String) -> [Character] {
        Array(s.lowercased().filter { $0 != " " && $0 != "_" && $0 != "-" })
    }

    /// Edit distance where swapping two neighbouring characters counts as one edit (optimal
    /// string alignment), giving up (returning limit + 1) once every cell of a row exceeds `limit`.
    static func distance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
                rowMin = min(rowMin, current[j])
            }
            if rowMin > limit { return limit + 1 }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
