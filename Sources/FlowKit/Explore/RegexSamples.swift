/// Texts made to match a question's `pattern`, so the explorer can answer a text question that
/// has one (and is not stuck refusing every text it knows).
///
/// Design note: a small reader of the regular expressions flows use: literals, escapes (`\d`,
/// `\w`, `\s`, `\.`, …), classes with ranges and negation, groups and alternation, `?`, `*`, `+`
/// and `{n,m}`, anchors. It builds a tree and writes texts from it with every repetition at its
/// least, in the middle and at its most (unbounded ones capped a few above the least), taking each
/// alternative in turn. Look-arounds, back-references and the like make it give up (nil), and the
/// caller falls back on texts it knows. The caller keeps only samples that really match, with
/// the same regular expression engine the session uses: this is a generator, never the judge.
enum RegexSamples {
    static func samples(_ pattern: String) -> [String]? {
        var reader = Reader(Array(pattern))
        guard let tree = reader.alternation(), reader.atEnd, !reader.failed else { return nil }
        var out: [String] = []
        for mode in [Mode.least, .middle, .most] {
            for alternative in 0..<3 {
                var writer = Writer(mode: mode, alternative: alternative)
                writer.write(tree)
                if !out.contains(writer.text) { out.append(writer.text) }
            }
        }
        return out
    }

    /// The fewest and most characters a text matching `pattern` can have (nil: no most), as far
    /// as the reader understands the pattern; nil when it does not. The texts that match may not
    /// have every length in between (`\d{4}|\d{6}`), but none has a length outside.
    static func lengths(_ pattern: String) -> (min: Int, max: Int?)? {
        var reader = Reader(Array(pattern))
        guard let tree = reader.alternation(), reader.atEnd, !reader.failed else { return nil }
        return length(tree)
    }

    private static func length(_ node: Node) -> (min: Int, max: Int?) {
        let cap = 1 << 40
        func add(_ a: Int?, _ b: Int?) -> Int? { guard let a, let b else { return nil }; return Swift.min(a + b, cap) }
        func mul(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return (a == 0 || b == 0) ? 0 : nil }
            return a == 0 || b == 0 ? 0 : Swift.min(a.multipliedReportingOverflow(by: b).overflow ? cap : a * b, cap)
        }
        switch node {
        case .sequence(let items):
            var lo = 0
            var hi: Int? = 0
            for item in items {
                let l = length(item)
                lo = Swift.min(lo + l.min, cap)
                hi = add(hi, l.max)
            }
            return (lo, hi)
        case .alternatives(let items):
            let ls = items.map(length)
            return (ls.map(\.min).min() ?? 0, ls.contains { $0.max == nil } ? nil : ls.compactMap(\.max).max() ?? 0)
        case .oneOf:
            return (1, 1)
        case .repeated(let inner, let min, let max):
            let l = length(inner)
            return (mul(l.min, min) ?? cap, mul(l.max, max))
        }
    }

    private indirect enum Node {
        case sequence([Node])
        case alternatives([Node])
        /// One character, chosen from these.
        case oneOf([Character])
        case repeated(Node, min: Int, max: Int?)
    }

    private enum Mode { case least, middle, most }

    private struct Writer {
        let mode: Mode
        let alternative: Int
        var text = ""
        /// Counts characters written, so `[0-9]{4}` writes `0123` rather than `0000`.
        var counter = 0

        init(mode: Mode, alternative: Int) {
            self.mode = mode
            self.alternative = alternative
        }

        mutating func write(_ node: Node) {
            switch node {
            case .sequence(let items):
                for item in items { write(item) }
            case .alternatives(let items):
                write(items[alternative % items.count])
            case .oneOf(let characters):
                guard !characters.isEmpty, counter < RegexSamples.longest else { return }
                text.append(characters[counter % characters.count])
                counter += 1
            case .repeated(let inner, let min, let max):
                let most = max ?? (min + 3)
                let times: Int
                switch mode {
                case .least: times = min
                case .most: times = Swift.min(most, min + 40)
                case .middle: times = Swift.min((min + most + 1) / 2, min + 40)
                }
                for _ in 0..<times { write(inner) }
            }
        }
    }

    /// Samples are cut at this many characters (nested repetitions multiply).
    static let longest = 2000
    private static let digits = Array("0123456789")
    private static let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    private static let word = letters + digits + ["_"]
    /// Candidates for negated classes and `.`.
    private static let pool = Array("abcxyzABC0123456789 -_.!@#+/")

    private struct Reader {
        let chars: [Character]
        var i = 0
        var failed = false

        init(_ chars: [Character]) { self.chars = chars }

        var atEnd: Bool { i >= chars.count }
        func peek(_ k: Int = 0) -> Character? { i + k < chars.count ? chars[i + k] : nil }

        mutating func alternation() -> Node? {
            var branches: [Node] = []
            repeat {
                guard let s = sequence() else { return nil }
                branches.append(s)
            } while eat("|")
            return branches.count == 1 ? branches[0] : .alternatives(branches)
        }

        mutating func eat(_ c: Character) -> Bool {
            if peek() == c {
                i += 1
                return true
            }
            return false
        }

        mutating func sequence() -> Node? {
            var items: [Node] = []
            while let c = peek(), c != "|", c != ")" {
                guard var atom = atom() else { return nil }
                if let (min, max) = quantifier() {
                    atom = .repeated(atom, min: min, max: max)
                    // Lazy and possessive forms match the same texts.
                    if peek() == "?" || peek() == "+" { i += 1 }
                }
                if failed { return nil }
                items.append(atom)
            }
            return .sequence(items)
        }

        mutating func atom() -> Node? {
            guard let c = peek() else { return nil }
            i += 1
            switch c {
            case "^", "$": return .sequence([])
            case ".": return .oneOf(RegexSamples.pool)
            case "(":
                if eat("?") {
                    if eat(":") || eat(">") {
                        // non-capturing or atomic group
                    } else if peek() == "<", let n = peek(1), n != "=", n != "!" {
                        while let x = peek(), x != ">" { i += 1 }
                        guard eat(">") else { return nil }
                    } else {
                        // Inline flags `(?i)` / `(?i:…)`; look-arounds are not read.
                        var flags = 0
                        while let x = peek(), x.isLetter || x == "-" { i += 1; flags += 1 }
                        guard flags > 0 else { failed = true; return nil }
                        if eat(")") { return .sequence([]) }
                        guard eat(":") else { failed = true; return nil }
                    }
                }
                guard let inner = alternation(), eat(")") else { failed = true; return nil }
                return inner
            case "[":
                return characterClass()
            case "\\":
                return escape(inClass: false).map { .oneOf($0) } ?? (failed ? nil : .sequence([]))
            case "*", "+", "?", ")":
                failed = true
                return nil
            case "{":
                // A brace that starts no quantifier is a literal.
                return .oneOf(["{"])
            default:
                return .oneOf([c])
            }
        }

        /// `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`; nil when there is none here.
        mutating func quantifier() -> (Int, Int?)? {
            switch peek() {
            case "?": i += 1; return (0, 1)
            case "*": i += 1; return (0, nil)
            case "+": i += 1; return (1, nil)
            case "{":
                var k = i + 1
                var first = ""
                while k < chars.count, chars[k].isASCII, chars[k].isNumber { first.append(chars[k]); k += 1 }
                // A repetition this long is not worth writing out (nor the time to write it).
                guard let min = Int(first), min <= 1000 else {
                    if Int(first) == nil { return nil }
                    failed = true
                    return nil
                }
                var max: Int? = min
                if k < chars.count, chars[k] == "," {
                    k += 1
                    var second = ""
                    while k < chars.count, chars[k].isASCII, chars[k].isNumber { second.append(chars[k]); k += 1 }
                    max = second.isEmpty ? nil : Int(second)
                }
                guard k < chars.count, chars[k] == "}" else { return nil }
                i = k + 1
                return (min, max)
            default:
                return nil
            }
        }

        /// After a backslash: the characters it stands for; nil for an anchor (`\b`, `\A`, …),
        /// with `failed` set when it is something not read here (a back-reference).
        mutating func escape(inClass: Bool) -> [Character]? {
            guard let c = peek() else { failed = true; return nil }
            i += 1
            switch c {
            case "d": return RegexSamples.digits
            case "D": return ["a", "-"]
            case "w": return RegexSamples.word
            case "W": return ["-", " "]
            case "s": return [" "]
            case "S": return ["a", "0"]
            case "n": return ["\n"]
            case "t": return ["\t"]
            case "b", "B", "A", "z", "Z", "G":
                if inClass && c == "b" { return ["\u{8}"] }
                return nil
            case "p", "P":
                guard eat("{") else { failed = true; return nil }
                var name = ""
                while let x = peek(), x != "}" { name.append(x); i += 1 }
                guard eat("}") else { failed = true; return nil }
                if c == "P" { return ["-", " "] }
                if name.hasPrefix("L") || name.hasPrefix("Alpha") { return RegexSamples.letters }
                if name.hasPrefix("N") || name == "Digit" { return RegexSamples.digits }
                failed = true
                return nil
            case "x", "u":
                var hex = ""
                if eat("{") {
                    while let x = peek(), x != "}" { hex.append(x); i += 1 }
                    guard eat("}") else { failed = true; return nil }
                } else {
                    for _ in 0..<(c == "x" ? 2 : 4) {
                        guard let x = peek() else { break }
                        hex.append(x)
                        i += 1
                    }
                }
                guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { failed = true; return nil }
                return [Character(scalar)]
            default:
                if c.isNumber && !inClass {
                    failed = true  // a back-reference
                    return nil
                }
                return [c]
            }
        }

        mutating func characterClass() -> Node? {
            let negated = eat("^")
            var members: [Character] = []
            var first = true
            while let c = peek() {
                if c == "]" && !first { break }
                first = false
                i += 1
                var from: [Character]
                if c == "[" {
                    failed = true  // nested classes and POSIX names are not read
                    return nil
                } else if c == "\\" {
                    guard let e = escape(inClass: true) else { return nil }
                    from = e
                } else {
                    from = [c]
                }
                if from.count == 1, peek() == "-", let upper = peek(1), upper != "]" {
                    i += 2
                    var to = upper
                    if upper == "\\" {
                        guard let e = escape(inClass: true), e.count == 1 else { failed = true; return nil }
                        to = e[0]
                    }
                    guard let a = from[0].unicodeScalars.first?.value, let b = to.unicodeScalars.first?.value, a <= b else {
                        failed = true
                        return nil
                    }
                    from = (a...Swift.min(b, a + 400)).compactMap { Unicode.Scalar($0).map(Character.init) }
                }
                members.append(contentsOf: from)
            }
            guard eat("]") else { failed = true; return nil }
            if negated {
                let excluded = Set(members)
                return .oneOf(RegexSamples.pool.filter { !excluded.contains($0) })
            }
            return .oneOf(members)
        }
    }
}
