/// Characters that must not reach a reader as they are, and how they are shown instead: the one
/// definition for the lexer (`lex.bidiControl`), the diagnostic renderer and the command line's
/// terminal output.
public enum VisibleText {
    /// The invisible controls of text direction, U+202A to U+202E and U+2066 to U+2069: they
    /// reorder how what follows them is shown ("Trojan Source").
    public static func isDirectionControl(_ v: UInt32) -> Bool {
        (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// Control characters (C0 but tab and line feed, DEL, C1) and the direction controls: a
    /// terminal would obey them (move the cursor, rewrite a line, reorder it) instead of showing
    /// them.
    public static func mustEscape(_ v: UInt32) -> Bool {
        (v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v) || isDirectionControl(v)
    }

    /// How such a character is shown: `\u{1B}`.
    public static func escape(_ v: UInt32) -> String {
        "\\u{\(String(v, radix: 16, uppercase: true))}"
    }
}
