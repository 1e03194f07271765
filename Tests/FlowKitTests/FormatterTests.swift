@testable import FlowKit
import Foundation
import XCTest

/// `FlowFormatter`: the canonical layout on small inputs (exact output), then idempotence and
/// "formatting never changes meaning" over every example flow and every golden input.
final class FormatterTests: XCTestCase {
    // MARK: - Helpers

    /// Asserts that `source` formats to exactly `expected`, and that `expected` is a fixed point.
    func assertFormat(_ source: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let actual = formatted(source, file: file, line: line) else { return }
        XCTAssertEqual(actual, expected, "\n--- got\n\(actual)--- expected\n\(expected)", file: file, line: line)
        if let again = formatted(actual, file: file, line: line) {
            XCTAssertEqual(again, actual, "formatting twice changed the text", file: file, line: line)
        }
    }

    func formatted(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        switch FlowFormatter.format(source: source) {
        case .formatted(let text):
            return text
        case .syntaxErrors(let diagnostics):
            XCTFail("syntax errors: \(diagnostics.map(\.message))", file: file, line: line)
        case .internalError(let problem):
            XCTFail("internal error: \(problem)", file: file, line: line)
        }
        return nil
    }

    // MARK: - Indentation

    func testIndentsTwoSpacesByBlockDepth() {
        assertFormat(
            """
            flow Main {
                    page Contact {
            title "Contact"
               question Email: email {
                      prompt "Your e-mail?"
                 }
                }
            \tif Contact.Email == "" {
            \t\tresponse "none"
            \t}
            }

            """,
            """
            flow Main {
              page Contact {
                title "Contact"
                question Email: email {
                  prompt "Your e-mail?"
                }
              }
              if Contact.Email == "" {
                response "none"
              }
            }

            """)
    }

    func testContinuationLinesIndentByOpenBracket() {
        assertFormat(
            """
            flow Main {
              call Triage(
                        product: "Router",
              down: true
                 ) -> (priority: p, queue: q)
              set l = f([
                    1,
                2
                  ], {
              "k": [
              1
              ]
              })
            }

            flow Triage(product: text, down: bool) -> (priority: text, queue: text) {
              set priority = "a"
              set queue = "b"
            }

            """,
            """
            flow Main {
              call Triage(
                product: "Router",
                down: true
              ) -> (priority: p, queue: q)
              set l = f([
                1,
                2
              ], {
                "k": [
                  1
                ]
              })
            }

            flow Triage(product: text, down: bool) -> (priority: text, queue: text) {
              set priority = "a"
              set queue = "b"
            }

            """)
    }

    // MARK: - Spacing

    func testSpacesAroundOperatorsAndAfterCommasAndColons() {
        assertFormat(
            """
            config   LIMIT=500
            var Tier:text="gold"
            flow Main( a :number , b:number=2 )->( c:number ) {
              set c=a+b*2-a/b%3
              set d   +=  1
              set e-=1
              set ok=a<b and b<=c or not(a>=b) and a!=b and a==b and c>b
              set f = round( a , 2 )+abs(-a)
              set g = ( a+b )*-b
              set h = - - a
              set i = [ 1,2 ,3 ] [ 0 ]
              set j = ( a )[0]
              set k = items [0].name
              ip Charge ( amount : a , token : "t" ) -> ( id : charge id , paid : was paid )
              set m = -LIMIT
            }

            """,
            """
            config LIMIT = 500
            var Tier: text = "gold"

            flow Main(a: number, b: number = 2) -> (c: number) {
              set c = a + b * 2 - a / b % 3
              set d += 1
              set e -= 1
              set ok = a < b and b <= c or not (a >= b) and a != b and a == b and c > b
              set f = round(a, 2) + abs(-a)
              set g = (a + b) * -b
              set h = --a
              set i = [1, 2, 3][0]
              set j = (a)[0]
              set k = items[0].name
              ip Charge(amount: a, token: "t") -> (id: charge id, paid: was paid)
              set m = -LIMIT
            }

            """)
    }

    func testUnaryMinusAfterKeywords() {
        assertFormat(
            """
            flow Main {
              question Amount: number {
                min  -5
                max -  1
                default -(2)
              }
              if -Amount > 0 {
                response "positive"
              } else if - Amount<-1 {
                response "small"
              }
            }

            """,
            """
            flow Main {
              question Amount: number {
                min -5
                max -1
                default -(2)
              }
              if -Amount > 0 {
                response "positive"
              } else if -Amount < -1 {
                response "small"
              }
            }

            """)
    }

    func testOptionsGoingOnAfterALineEndAreIndentedOneMore() {
        assertFormat(
            """
            flow Main {
              question Product: choice {
                options "Router",
                "Mobile app",
                      // the last one
                        "Billing"
                prompt "Which?"
              }
              set o = {
                options: 1,
                  "b": 2
              }
            }

            """,
            """
            flow Main {
              question Product: choice {
                options "Router",
                  "Mobile app",
                  // the last one
                  "Billing"
                prompt "Which?"
              }
              set o = {
                options: 1,
                "b": 2
              }
            }

            """)
    }

    func testObjectLiteralsHaveSpacesInside() {
        assertFormat(
            """
            ip Create(email: text) {
              POST "https://tickets.example/v1"
              json {
                "requester": {"email":email,"tags":["ivr" , "web"]},
                "empty": { },
                "nested":{"a":{"b":null}} ,
                "list": [{"x": 1}, {}]
              }
              output id: text = json "id"
            }

            flow Main {
              set o = {"a":1}
              set p = {}
              ip Create("a@b.c") -> r
            }

            """,
            """
            ip Create(email: text) {
              POST "https://tickets.example/v1"
              json {
                "requester": { "email": email, "tags": ["ivr", "web"] },
                "empty": {},
                "nested": { "a": { "b": null } },
                "list": [{ "x": 1 }, {}]
              }
              output id: text = json "id"
            }

            flow Main {
              set o = { "a": 1 }
              set p = {}
              ip Create("a@b.c") -> r
            }

            """)
    }

    func testSOAPElementBlocks() {
        assertFormat(
            """
            ip Get Balance(account: text) {
              soap 1.2 "https://bank.example/AccountService"
              action "http://bank.example/GetBalance"
              namespace b="http://bank.example/accounts"
              body {
                b:GetBalance {
                      b:Account=account
                  b:Options{
                b:IncludePending   =   true
                  }
                  Plain = "x"
                }
              }
              output balance: currency = xml "b:GetBalanceResponse/b:Balance"
            }

            """,
            """
            ip Get Balance(account: text) {
              soap 1.2 "https://bank.example/AccountService"
              action "http://bank.example/GetBalance"
              namespace b = "http://bank.example/accounts"
              body {
                b:GetBalance {
                  b:Account = account
                  b:Options {
                    b:IncludePending = true
                  }
                  Plain = "x"
                }
              }
              output balance: currency = xml "b:GetBalanceResponse/b:Balance"
            }

            """)
    }

    func testHeadersFormAndIPSettings() {
        assertFormat(
            """
            secret KEY
            ip Charge(amount: currency) {
              POST   "https://api.example/v1/charges"
              auth   bearer   KEY
              headers {
                "Stripe-Version"="2024-06-20"
                Accept  =  "application/json"
              }
              form {
                amount=round(amount*100)
                "metadata[order_id]"  = "42"
              }
              timeout 30
              retry  2
              idempotent
              output id :text=json "id"
              output code: number = status
            }

            """,
            """
            secret KEY

            ip Charge(amount: currency) {
              POST "https://api.example/v1/charges"
              auth bearer KEY
              headers {
                "Stripe-Version" = "2024-06-20"
                Accept = "application/json"
              }
              form {
                amount = round(amount * 100)
                "metadata[order_id]" = "42"
              }
              timeout 30
              retry 2
              idempotent
              output id: text = json "id"
              output code: number = status
            }

            """)
    }

    // MARK: - Names and literals

    func testNamesGetSingleSpacesQuotedNamesAndTextsStayAsWritten() {
        assertFormat(
            """
            flow Main {
              question   Embedded    Payment:currency
              set  charge\tid  =  Embedded   Payment.Embedded  Payment
              set `Order   #` = "  two  spaces {Embedded Payment  +  1} // not a comment  "
              response   "{ upper( "ok" ) }\\{ \\u{1F600}\\t"
              set Step   2 = 4.00
              set n = 0.50
            }

            """,
            """
            flow Main {
              question Embedded Payment: currency
              set charge id = Embedded Payment.Embedded Payment
              set `Order   #` = "  two  spaces {Embedded Payment  +  1} // not a comment  "
              response "{ upper( "ok" ) }\\{ \\u{1F600}\\t"
              set Step 2 = 4.00
              set n = 0.50
            }

            """)
    }

    // MARK: - else, on error

    func testElseIsJoinedToTheClosingBrace() {
        assertFormat(
            """
            flow Main(a: number) {
              if a > 1 {
                response "big"
              }
              else if a > 0 {
                response "small"
              }

              else {
                response "none"
              }
            }

            """,
            """
            flow Main(a: number) {
              if a > 1 {
                response "big"
              } else if a > 0 {
                response "small"
              } else {
                response "none"
              }
            }

            """)
    }

    func testElseAfterACommentStaysOnItsLine() {
        // Joining would move the comment; the comment keeps its place instead.
        let source = """
            flow Main(a: number) {
              if a > 1 {
                response "big"
              } // big ones
              else {
                response "small"
              }
              if a > 2 {
                response "big"
              }
              // otherwise
              else {
                response "small"
              }
            }

            """
        assertFormat(source, source)
    }

    func testOnErrorKeepsItsLineWithoutBlankLineBefore() {
        assertFormat(
            """
            ip Check() {
              GET "https://x.example"
              output ok: bool = json "ok"
            }

            flow Main {
              ip Check() -> r on error goto Failed
              ip Check() -> s

              on error {
                  finish failure "down: {error.message}"
              }
              label Failed
              finish failure "down"
            }

            """,
            """
            ip Check() {
              GET "https://x.example"
              output ok: bool = json "ok"
            }

            flow Main {
              ip Check() -> r on error goto Failed
              ip Check() -> s
              on error {
                finish failure "down: {error.message}"
              }
              label Failed
              finish failure "down"
            }

            """)
    }

    // MARK: - Blank lines

    func testBlankLines() {
        assertFormat(
            """



            import "lib/common.flow"
            config A = 1


            config B = 2
            secret S
            flow Main {


              set x = 1



              set y = 2

            }
            extension Pad {
              run "pad"

              output token: text
            }
            flow Other {
              finish success
            }



            """,
            """
            import "lib/common.flow"
            config A = 1

            config B = 2
            secret S

            flow Main {
              set x = 1

              set y = 2
            }

            extension Pad {
              run "pad"

              output token: text
            }

            flow Other {
              finish success
            }

            """)
    }

    func testBlockDeclarationsOnOneLineAreStillSeparated() {
        assertFormat(
            "config A = 1\nflow A {}\nflow B { finish success }\nsecret S\n",
            "config A = 1\n\nflow A {}\n\nflow B { finish success }\n\nsecret S\n")
    }

    // MARK: - Comments

    func testCommentsKeepTheirPlace() {
        assertFormat(
            """
            //File header.
            //
            ////////
            config A = 1   //the default   \t
            // About Main.
            flow Main {
                    // First.
              set x = 1 // one
            \t//   indented text stays indented
              if x > 0 {   // opens
                set y = 2
                  // last in the block
              }
              // last in the flow
            }
            // trailing comment

            """,
            """
            // File header.
            //
            ////////
            config A = 1 // the default

            // About Main.
            flow Main {
              // First.
              set x = 1 // one
              //   indented text stays indented
              if x > 0 { // opens
                set y = 2
                // last in the block
              }
              // last in the flow
            }
            // trailing comment

            """)
    }

    func testCommentAttachedToTheNextDeclarationGetsTheBlankLineBeforeIt() {
        assertFormat(
            """
            flow Main {
              finish success
            }
            // Second.
            flow Second {
              finish success
            }
            // end of Second

            // Third.
            flow Third {
              finish success
            }

            """,
            """
            flow Main {
              finish success
            }

            // Second.
            flow Second {
              finish success
            }
            // end of Second

            // Third.
            flow Third {
              finish success
            }

            """)
    }

    // MARK: - Whole files

    func testLineEndsTrailingBlanksAndTheFinalNewline() {
        assertFormat("flow Main {\r\n  response \"a\"   \r\n}", "flow Main {\n  response \"a\"\n}\n")
        assertFormat("flow Main {\r  response \"a\"\t\r}\r\n\r\n", "flow Main {\n  response \"a\"\n}\n")
    }

    func testEmptyAndCommentOnlyFiles() {
        assertFormat("", "")
        assertFormat("\n\n  \n", "")
        assertFormat("\n\n// only   \n\n\n//two\n\n", "// only\n\n// two\n")
    }

    func testLinesAreNotRewrapped() {
        // A block written on one line (which the parser accepts) stays on one line.
        assertFormat(
            "flow Main {\n  if true { response \"a\" }\n  if true {\n    response \"b\" }\n}\n",
            "flow Main {\n  if true { response \"a\" }\n  if true {\n    response \"b\" }\n}\n")
    }

    func testFilesWithSyntaxErrorsAreRefused() {
        for source in [
            "flow Main {\n  response \"unterminated\n}\n",
            "flow Main {\n  set x = \n}\n",
            "flow Main {\n  set x = 1\n",
            "config A = \"sk_live_0123456789abcdef\"\n",
        ] {
            guard case .syntaxErrors(let diagnostics) = FlowFormatter.format(source: source) else {
                XCTFail("formatted a file with syntax errors: \(source)")
                continue
            }
            XCTAssertFalse(diagnostics.isEmpty)
        }
    }

    func testVerificationCatchesChangedTokens() {
        let file = SourceFile(path: "x.flow", text: "flow Main {\n  set x = a - b\n}\n")
        XCTAssertNil(FlowFormatter.verify("flow Main {\n  set x = a - b\n}\n", against: file))
        XCTAssertNil(FlowFormatter.verify("flow Main {\n  set x = a -b\n}\n", against: file))  // the same tokens
        XCTAssertNotNil(FlowFormatter.verify("flow Main {\n  set x = a-- b\n}\n", against: file))
        XCTAssertNotNil(FlowFormatter.verify("flow Main {\n  set x = a - b }\n", against: file))
        XCTAssertNotNil(FlowFormatter.verify("flow Main {\n  set x = a - b\n}\n// c sk_live_0123456789abcdef\n", against: file))
    }

    /// The two texts are read side by side (`FlowFormatter.SignificantTokens`): what each
    /// finding says, and the newlines the layout may add or remove, one case each.
    func testVerificationReadsBothTextsSideBySide() {
        let source = "flow Main {\n  if a {\n    set x = 1\n  }\n  else {\n    set x = 2\n  }\n}\n"
        let file = SourceFile(path: "x.flow", text: source)
        // Newlines at the start and the end of the file, and the one before `else`, may change.
        XCTAssertNil(FlowFormatter.verify("\n\n" + source.replacingOccurrences(of: "}\n  else", with: "} else") + "\n", against: file))
        // Any other newline may not.
        XCTAssertEqual(FlowFormatter.verify(source.replacingOccurrences(of: "{\n    set x = 1", with: "{ set x = 1"), against: file),
                       "formatting 'x.flow' would change token 8 ('\n' at line 2)")
        // A token more or less at the end is a change at the end of the shorter text.
        XCTAssertEqual(FlowFormatter.verify(source + "flow B {\n}\n", against: file),
                       "formatting 'x.flow' would change token 26 ('' at line 9)")
        XCTAssertEqual(FlowFormatter.verify(String(source.dropLast(2)), against: file),
                       "formatting 'x.flow' would change token 24 ('\n' at line 7)")
        // A formatted text that does not lex is reported as such, even when a token changed first.
        XCTAssertEqual(FlowFormatter.verify(source.replacingOccurrences(of: "x = 2", with: "y = 2") + "set s = \"open\n", against: file),
                       "the formatted text of 'x.flow' does not read back: unterminated text literal")
    }

    // MARK: - Every example and golden input

    /// The root of the package: this file is `<root>/Tests/FlowKitTests/FormatterTests.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `*.flow` under `flows/`, and every `Tests/FlowCLITests/golden/*.flow`.
    static func corpus() throws -> [String] {
        var paths: [String] = []
        let flows = packageRoot.appendingPathComponent("flows")
        let walker = FileManager.default.enumerator(atPath: flows.path)
        while let name = walker?.nextObject() as? String {
            if name.hasSuffix(".flow") { paths.append(flows.appendingPathComponent(name).path) }
        }
        let golden = packageRoot.appendingPathComponent("Tests/FlowCLITests/golden")
        for name in try FileManager.default.contentsOfDirectory(atPath: golden.path) where name.hasSuffix(".flow") {
            paths.append(golden.appendingPathComponent(name).path)
        }
        return paths.sorted()
    }

    func testCorpusIsFoundAndCoversTheExamples() throws {
        let corpus = try Self.corpus()
        XCTAssertTrue(corpus.contains { $0.hasSuffix("flows/lib/common.flow") })
        XCTAssertTrue(corpus.contains { $0.hasSuffix("flows/balance.flow") })
        XCTAssertGreaterThan(corpus.count, 100)
    }

    /// Every file that parses formats to a fixed point, and one with syntax errors is refused.
    func testFormattingIsIdempotentOverTheCorpus() throws {
        var formattedCount = 0
        for path in try Self.corpus() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let file = SourceFile(id: FileID(0), path: path, bytes: bytes)
            let (_, diagnostics) = Parser.parse(file)
            let parses = !diagnostics.contains { $0.severity == .error }
            switch FlowFormatter.format(file) {
            case .formatted(let once):
                XCTAssertTrue(parses, "\(path): formatted although it has syntax errors")
                formattedCount += 1
                guard case .formatted(let twice) = FlowFormatter.format(source: once, path: path) else {
                    XCTFail("\(path): the formatted text does not format")
                    continue
                }
                XCTAssertEqual(twice, once, "\(path): formatting twice changed the text")
            case .syntaxErrors:
                XCTAssertFalse(parses, "\(path): refused although it parses")
            case .internalError(let problem):
                XCTFail("\(path): \(problem)")
            }
        }
        XCTAssertGreaterThan(formattedCount, 50)
    }

    /// The layout depends on tokens, comments and line breaks only: every file of the corpus with
    /// its blanks shuffled (indentation, spaces between tokens, trailing blanks; never inside a
    /// token or a comment, and never a blank added where there was none) formats to the same text.
    func testBlanksInTheSourceDoNotMatter() throws {
        var random = SplitMix(seed: 42)
        for path in try Self.corpus() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            guard case .formatted(let expected) = FlowFormatter.format(source: String(decoding: bytes, as: UTF8.self), path: path)
            else { continue }
            for _ in 0..<3 {
                let shuffled = Self.shuffleBlanks(bytes, &random)
                guard case .formatted(let actual) = FlowFormatter.format(source: shuffled, path: path) else {
                    XCTFail("\(path): the shuffled text does not format:\n\(shuffled)")
                    break
                }
                if actual != expected {
                    XCTFail("\(path): shuffled blanks change the layout at: \(Self.firstDifference(actual, expected))")
                    break
                }
            }
        }
    }

    /// Replaces each run of blanks between tokens (outside comments) with 1 to 4 random blanks.
    static func shuffleBlanks(_ bytes: [UInt8], _ random: inout SplitMix) -> String {
        let file = SourceFile(id: FileID(0), path: "x.flow", bytes: bytes)
        var lexer = Lexer(file: file)
        var out: [UInt8] = []
        var gapStart = 0
        while true {
            let t = lexer.next()
            if t.kind == .newline { continue }
            var i = gapStart
            while i < Int(t.start) {
                if bytes[i] == 0x20 || bytes[i] == 0x09 {
                    while i < Int(t.start) && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
                    for _ in 0..<(1 + random.next() % 4) { out.append(random.next() % 3 == 0 ? 0x09 : 0x20) }
                } else if bytes[i] == 0x2F {
                    while i < Int(t.start) && bytes[i] != 0x0A && bytes[i] != 0x0D { out.append(bytes[i]); i += 1 }
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            if t.kind == .eof { break }
            out.append(contentsOf: bytes[Int(t.start)..<Int(t.end)])
            gapStart = Int(t.end)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Formatting a file (and every file it imports) leaves the compiled program the same: the
    /// same flows with the same elements, edges, expressions and names, and the same diagnostics,
    /// ranges aside.
    func testFormattingNeverChangesMeaningOverTheCorpus() throws {
        var programs = 0
        for path in try Self.corpus() {
            let before = try Frontend.compile(path: path)
            let after = try Frontend.compile(path: path, loader: FormattingLoader())
            XCTAssertEqual(
                before.diagnostics.map(Self.describe), after.diagnostics.map(Self.describe),
                "\(path): diagnostics differ after formatting")
            XCTAssertEqual(before.program == nil, after.program == nil, "\(path)")
            if let a = before.program, let b = after.program {
                programs += 1
                let (da, db) = (GraphDump.describe(a), GraphDump.describe(b))
                if da != db {
                    XCTFail("\(path): the program differs after formatting at: \(Self.firstDifference(da, db))")
                }
            }
        }
        XCTAssertGreaterThan(programs, 5)
    }

    func testGraphDumpSeesDifferencesButNotRanges() throws {
        func program(_ source: String) throws -> Program {
            try XCTUnwrap(Frontend.compile(source: source).program, "does not compile: \(source)")
        }
        let base = try program("flow Main {\n  set x = 1 + 2\n  response \"{x}\"\n}\n")
        let moved = try program("\n\n\nflow   Main {\n      set x = 1+2\n\n  response \"{x}\"\n}\n")
        XCTAssertEqual(GraphDump.describe(base), GraphDump.describe(moved))
        for other in [
            "flow Main {\n  set x = 1 - 2\n  response \"{x}\"\n}\n",
            "flow Main {\n  set x = 2 + 1\n  response \"{x}\"\n}\n",
            "flow Main {\n  set y = 1 + 2\n  response \"{y}\"\n}\n",
            "flow Main {\n  set x = 1 + 2\n  response \"{x} \"\n}\n",
            "flow Main {\n  set x = 1 + 2\n  response \"{x}\"\n  finish success\n}\n",
        ] {
            XCTAssertNotEqual(GraphDump.describe(base), GraphDump.describe(try program(other)), other)
        }
    }

    static func describe(_ d: Diagnostic) -> String {
        "\(d.severity) \(d.id): \(d.message) [\(d.label ?? "")] \(d.notes.map(\.message)) \(d.hint ?? "")"
    }

    static func firstDifference(_ a: String, _ b: String) -> String {
        let common = zip(a, b).prefix { $0 == $1 }.count
        let start = a.index(a.startIndex, offsetBy: max(0, common - 80))
        let other = b.index(b.startIndex, offsetBy: max(0, common - 80))
        return "…" + String(a[start...].prefix(160)) + "… versus …" + String(b[other...].prefix(160))
    }
}

/// A small deterministic random number generator, so a failing shuffle can be repeated.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
    }
}

/// Reads files from disk and formats them (a file with syntax errors is read as it is).
struct FormattingLoader: SourceLoader {
    func load(path: String) throws(InputError) -> [UInt8] {
        let bytes = try FileSystemLoader().load(path: path)
        if case .formatted(let text) = FlowFormatter.format(SourceFile(id: FileID(0), path: path, bytes: bytes)) {
            return Array(text.utf8)
        }
        return bytes
    }
    /// Extensions' programs and modules are read from the disk, as by `flow check`.
    func fileKind(path: String) -> FileKind { FileSystemLoader().fileKind(path: path) }
}

/// A text dump of a compiled program with every `SourceRange` left out: two programs with equal
/// dumps have the same flows, elements (kinds, edges, handler flags), expressions (kinds, types,
/// constants), names, pages, questions, IPs, extensions, configs, secrets and session variables.
/// Dictionaries are dumped in a stable order (by key, or by position for keys that are ranges,
/// since formatting keeps the order of everything).
enum GraphDump {
    static func describe(_ program: Program) -> String {
        var out = ""
        dump(program, into: &out)
        return out
    }

    private static func dump(_ value: Any, into out: inout String) {
        if value is SourceRange {
            out += "_"
            return
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let child = mirror.children.first { dump(child.value, into: &out) } else { out += "nil" }
        case .dictionary:
            var entries: [(key: String, order: UInt32, text: String)] = []
            for child in mirror.children {
                let pair = Array(Mirror(reflecting: child.value).children)
                guard pair.count == 2 else { continue }
                var text = ""
                dump(pair[0].value, into: &text)
                text += ": "
                dump(pair[1].value, into: &text)
                let range = pair[0].value as? SourceRange
                entries.append((range == nil ? String(describing: pair[0].value) : "", range?.start ?? 0, text))
            }
            entries.sort { ($0.key, $0.order) < ($1.key, $1.order) }
            out += "[" + entries.map(\.text).joined(separator: ", ") + "]"
        case .collection, .set:
            var items: [String] = []
            for child in mirror.children {
                var text = ""
                dump(child.value, into: &text)
                items.append(text)
            }
            if mirror.displayStyle == .set { items.sort() }
            out += "[" + items.joined(separator: ", ") + "]"
        case .enum:
            guard let child = mirror.children.first else {
                out += String(describing: value)
                return
            }
            out += (child.label ?? "?") + "("
            dump(child.value, into: &out)
            out += ")"
        case .struct, .class, .tuple:
            out += "\(type(of: value)){"
            for child in mirror.children {
                out += (child.label ?? "") + ": "
                dump(child.value, into: &out)
                out += "; "
            }
            out += "}"
        default:
            out += String(reflecting: value)
        }
    }
}
