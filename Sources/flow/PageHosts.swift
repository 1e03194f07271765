import FlowKit

/// Who answers a session's pages: a script (`ScriptedPages`) or a person at a terminal
/// (`TerminalPages`). Calls are answered by `Stubs`; both kinds of host share them.
protocol PageHost {
    /// The reply to a page: answers for every question, or `.back`.
    mutating func reply(to page: PageRequest) throws(RunError) -> Reply
    /// Responses, as they come.
    func show(_ responses: [String])
}

/// Answers from `--answers`/`--answer`, then from standard input one line per question in the
/// order asked. No second chance: a refused answer or a missing one stops the run.
struct ScriptedPages: PageHost {
    var answers: ScriptedAnswers
    let input: LineReader
    /// Where responses go (nowhere with `--json`).
    let say: (String) -> Void

    mutating func reply(to page: PageRequest) throws(RunError) -> Reply {
        if let refused = page.questions.first(where: { page.problems[$0.name] != nil }) {
            throw .refusedAnswer(refused.reference, page.problems[refused.name]!)
        }
        var typed: [String: String] = [:]
        for q in page.questions {
            guard let text = answers.take(q, on: page) ?? input.readLine() else { throw .missingAnswer(q.reference) }
            typed[q.reference] = text
        }
        return .answers(typed)
    }

    func show(_ responses: [String]) {
        for r in responses { say(r + "\n") }
    }
}

/// A person at a terminal. Each page shows its title, then each question: the prompt (with what
/// kind of answer it takes, the default in brackets, "(optional)"), numbered options for choice
/// and choices, and a `> ` where the answer is typed; a password is typed with echo off.
/// `back` goes to the previous page (`\back` is the answer "back"). Each answer is read as it is
/// typed (FlowKit's `AnswerParser`, which the session uses too): a refused one is asked again at
/// once, with the reason. Scripted answers, when also given, are used first and shown. When the
/// session still refuses answers, each reason is shown and only those questions are asked again
/// (the rest keep their answers).
struct TerminalPages: PageHost {
    var answers: ScriptedAnswers
    let input: LineReader
    let say: (String) -> Void
    let paint: Paint
    /// What was typed on the page being asked, by question name.
    private var typed: [String: String] = [:]

    init(answers: ScriptedAnswers, input: LineReader, say: @escaping (String) -> Void, paint: Paint) {
        self.answers = answers
        self.input = input
        self.say = say
        self.paint = paint
    }

    mutating func reply(to page: PageRequest) throws(RunError) -> Reply {
        let again = !page.problems.isEmpty
        if !again {
            typed = [:]
            if let title = page.title { say("\n" + paint.bold(title) + "\n") }
        }
        for q in page.questions {
            if again {
                guard let problem = page.problems[q.name] else { continue }
                say(paint.error("not accepted") + ": " + problem + "\n")
            } else if let scripted = answers.take(q, on: page) {
                say(Self.question(q) + "> " + (q.type == .password ? "****" : scripted) + " (given)\n")
                typed[q.name] = scripted
                continue
            }
            while true {
                say(Self.question(q))
                let line: String?
                if q.type == .password {
                    // Echo goes off before the marker is shown, so nothing typed after it is echoed.
                    line = TerminalEcho.withoutEcho { () -> String? in
                        say("> ")
                        return input.readLine()
                    }
                } else {
                    say("> ")
                    line = input.readLine()
                }
                guard let line else {
                    say("\n")
                    throw .inputEnded
                }
                let word = line.trimmingCharacters(in: .whitespaces)
                if word == "back" {
                    if page.canGoBack { return .back }
                    say(page.backStoppedBy.map { "you cannot go back past '\($0)': it has been done\n" }
                        ?? "there is no earlier page to go back to\n")
                    continue
                }
                let answer = word == "\\back" ? "back" : line
                // Refused as soon as it is typed, by the session's own reader, so the person
                // answers this question again before the next is asked.
                if case .failure(let problem) = AnswerParser.parse(answer, for: q) {
                    say(paint.error("not accepted") + ": " + problem.message + "\n")
                    continue
                }
                typed[q.name] = answer
                break
            }
        }
        var reply: [String: String] = [:]
        for q in page.questions { reply[q.reference] = typed[q.name] ?? "" }
        return .answers(reply)
    }

    func show(_ responses: [String]) {
        for r in responses { say(r + "\n") }
    }

    /// The prompt line and the numbered options.
    static func question(_ q: QuestionRequest) -> String {
        var line = q.prompt
        switch q.type {
        case .yesno: line += " (yes/no)"
        case .choices: line += " (one or more, separated by commas)"
        case .date: line += " (yyyy-mm-dd)"
        case .password: line += " (not shown as you type)"
        default: break
        }
        if let d = q.defaultValue {
            line += " [" + d.displayText(asCurrency: q.type == .currency) + "]"
        }
        if q.optional { line += " (optional)" }
        line += "\n"
        for (k, option) in q.options.enumerated() { line += "  \(k + 1). \(option)\n" }
        return line
    }
}
