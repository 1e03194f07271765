import FlowKit

/// "Compile, or report and stop", said once for the commands that need one program (`run`,
/// `graph`, `explore`), as swift-format's subcommands share one frontend: a file that cannot be
/// read is 66 with its reason; one that does not check gets check's diagnostics and summary on
/// standard error and 65.
struct Stop: Error {
    let exitCode: ExitCode
}

extension Terminal {
    /// The program of the flow file at `path`, with its sources.
    func compileOrReport(_ path: String, paint: Paint) throws(Stop) -> (program: Program, sources: SourceManager) {
        let compilation: Compilation
        do {
            compilation = try Frontend.compile(path: path)
        } catch {
            throw unreadable(error.description, paint: paint)
        }
        guard let program = compilation.program else {
            throw doesNotCheck(compilation.diagnostics, sources: compilation.sources, paint: paint)
        }
        return (program, compilation.sources)
    }

    /// The file an input names; for an input that cannot be read (`Inputs.Item.problem`), nil,
    /// with its reason written (the command counts it and goes on with the next input).
    func file(_ item: Inputs.Item, paint: Paint) -> String? {
        switch item {
        case .file(let path):
            return path
        case .problem(let reason):
            err("\(paint.error("error")): \(reason)\n")
            return nil
        }
    }

    /// Writes why an input cannot be read; the command stops with 66.
    func unreadable(_ reason: String, paint: Paint) -> Stop {
        err("\(paint.error("error")): \(reason)\n")
        return Stop(exitCode: .noInput)
    }

    /// Writes the diagnostics of one file that does not check, as `flow check` does, and its
    /// summary; the command stops with 65.
    func doesNotCheck(_ diagnostics: [Diagnostic], sources: SourceManager, paint: Paint) -> Stop {
        err(DiagnosticRenderer(format: .human, color: paint.enabled).render(diagnostics, sources: sources))
        var tally = Tally()
        tally.checked = 1
        tally.count(diagnostics, sources)
        err(tally.summary(paint))
        return Stop(exitCode: .dataError)
    }

    /// Writes that `name` names no `noun` (`flow`, `test`) in `place`, with "did you mean" or the
    /// list of those there are; the command stops with 65.
    func notFound(_ noun: String, _ name: String, in place: String, known: [String], paint: Paint) -> Stop {
        let hint = Suggest.closest(to: name, in: known).map { "did you mean '\($0)'?" }
            ?? "the \(noun)s are: " + known.map { "'\($0)'" }.joined(separator: ", ")
        err("\(paint.error("error")): no \(noun) '\(name)' in '\(place)'\n\(paint.hint("hint")): \(hint)\n")
        return Stop(exitCode: .dataError)
    }
}
