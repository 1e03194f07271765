import FlowKit
import Foundation

/// Target `eval`: the bytes are an expression (or a text template: a text literal is one),
/// put into a flow that has a value of every kind at hand:
///
/// ```
/// flow Fuzz {
///   …                      pages, an IP and an extension call, variables of every type
///   set x = <bytes>
///   response "{x}"
/// }
/// ```
///
/// A line end in the bytes starts new statements, so the fuzzer may write whole flow bodies.
/// Inputs with other control characters are skipped (they cannot get past the lexer).
/// When the flow checks, a session runs it to the end with a small step limit, as a scripted
/// host: canned answers, canned IP and extension results (for some inputs, the calls the bytes
/// write fail).
///
/// Holds: no crash; a flow that checks runs to an outcome or stops with a `RuntimeError`
/// whose range is inside the file; a session's state snapshotted (JSON) at every step decodes
/// to an equal state, and the session restored from it goes on (the run continues in it).
enum EvalTarget {
    static let prelude = """
        config RATE = 2.5
        config GREETING = "hello"
        var Visits = 0
        ip Lookup(id: text) {
          GET "https://example.com/orders/{id}"
          output status: text = json "status"
          output items: list = json "items"
          output total: currency = json "total"
          output meta: object = json "meta"
        }
        extension Pad {
          run "pad"
          output token: text
          output extra: object
        }
        flow Fuzz {
          page Ask {
            question Name: text
            question Amount: currency
            question Count: number
            question Agree: yesno
            question Pick: choice {
              options "Red", "Green"
            }
            question Picks: choices {
              options "A", "B", "C"
            }
            question When: date
            question Mail: email
          }
          ip Lookup("A1") -> order
          extension Pad -> pad
          set n = 12.50
          set t = "Zoë"
          set l = [1, "two", null, [3, 4.25]]
          set o = {"a": 1, "b": {"c": [true, null]}, "d e": "f"}
          set d = today()
          set x = 
        """
    static let preludeLength = prelude.utf8.count
    static let epilogue = "\n  response \"{x}\"\n}\n"

    static let answers: [QuestionType: String] = [
        .text: "Ada", .number: "-12.5", .currency: "$4.00", .yesno: "yes", .choice: "2", .choices: "1, 3",
        .date: "2024-02-29", .email: "ada@example.com", .password: "s3cret",
    ]

    static let lookup: [String: Value] = [
        "status": .text("shipped"),
        "items": .list([.object(["id": .text("i1"), "qty": .number(2)]), .null]),
        "total": .number(Number(parsing: "19.99")!),
        "meta": .object(["eta minutes": .number(90), "tags": .list([.text("a"), .bool(false)])]),
    ]
    static let pad: [String: Value] = ["token": .text("tok_1"), "extra": .object(["n": .null])]

    static func run(_ bytes: [UInt8]) {
        // Control characters (NUL above all, which the fuzzer likes to insert) only ever make a
        // lexer error, which the `check` target covers; here they would keep inputs from running.
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A && $0 != 0x09 }) else { return }
        let source = Array(prelude.utf8) + bytes + Array(epilogue.utf8)
        let sources: SourceManager
        let program: Program
        do {
            let compilation = try Frontend.compile(path: "eval.flow", loader: BytesLoader(path: "eval.flow", root: source))
            guard let p = compilation.program else {
                if verbose { print(DiagnosticRenderer().render(compilation.diagnostics, sources: compilation.sources)) }
                return
            }
            program = p
            sources = compilation.sources
        } catch {
            fatalError("flow-fuzz: \(error)")
        }
        // Calls the bytes write fail for some inputs (the prelude's own calls always succeed).
        let failCalls = bytes.count % 4 == 3
        let options = RuntimeOptions(maxSteps: 2_000, maxCallDepth: 20, today: { "2026-11-26" })
        do throws(RuntimeError) {
            var session = try Session(program: program, options: options)
            var result = try session.start()
            for _ in 0..<40 {
                session = restored(session, options: options)
                let reply: Reply
                switch result.step {
                case .finished(let outcome):
                    if verbose { print("responses: \(result.responses)\noutcome: \(outcome)") }
                    return
                case .ask(let page):
                    var typed: [String: String] = [:]
                    for q in page.questions { typed[q.reference] = answers[q.type] ?? "" }
                    reply = .answers(typed)
                case .callIP(let call):
                    reply = failCalls && Int(call.range.start) >= preludeLength
                        ? .failure(CallFailure(kind: "http", message: "Not Found", status: 404, code: "missing",
                                               body: .object(["error": .text("no such order")])))
                        : .result(call.name == "Lookup" ? lookup : [:])
                case .runExtension(let call):
                    reply = failCalls && Int(call.range.start) >= preludeLength ? .failure(CallFailure(kind: "extension", message: "cancelled"))
                                      : .result(call.name == "Pad" ? pad : [:])
                }
                result = try session.resume(reply)
            }
        } catch {
            let range = error.diagnostic.range
            require(Int(range.file.index) < sources.files.count && Int(range.end) <= sources[range.file].bytes.count,
                    "run-time error \(error.diagnostic.id) has a range outside the file")
            let shown = DiagnosticRenderer().render([error.diagnostic], sources: sources)
            if verbose { print(shown) }
        }
    }

    /// The session restored from a JSON snapshot of its state, which must decode to the same state.
    static func restored(_ session: Session, options: RuntimeOptions) -> Session {
        let data: Data
        let state: SessionState
        do {
            data = try JSONEncoder().encode(session.state)
        } catch {
            fatalError("flow-fuzz: a session state cannot be encoded: \(error)")
        }
        do {
            state = try JSONDecoder().decode(SessionState.self, from: data)
        } catch {
            fatalError("flow-fuzz: a session snapshot does not decode: \(error)\n\(String(lossy: data.prefix(2000)))")
        }
        require(state == session.state, "a session snapshot decodes to a different state: \(String(lossy: data.prefix(2000)))")
        return Session(program: session.program, state: state, options: options)
    }
}

