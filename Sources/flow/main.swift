// The `flow` command line tool: arguments, streams and exit statuses. Everything about the
// language lives in FlowKit; this target only decides what to run and where output goes.
import FlowKit
import Foundation

/// A variable of the process's environment, read when asked (`getenv`). Not
/// `ProcessInfo.processInfo.environment`: that made Foundation's process info and a dictionary
/// of every variable at each start, about a millisecond of a small file's `flow check`.
@Sendable func environmentVariable(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
CrashHandler.install(environment: environmentVariable)
let terminal = Terminal(environment: environmentVariable)

func run(_ arguments: [String]) -> ExitCode {
    let invocation: Invocation
    do {
        invocation = try ArgumentParser.parse(arguments)
    } catch {
        // The command line could not say which colour it wanted, so the automatic choice applies.
        let paint = Paint(enabled: terminal.colorsStandardError(.auto))
        terminal.err("\(paint.error("error")): \(error.message)\n\(paint.hint("hint")): \(error.hint)\n")
        return .usage
    }
    switch invocation {
    case .help(let page):
        terminal.out(page)
    case .version:
        terminal.out("flow \(flowVersion)\n")
    case .run(let command):
        return command(terminal)
    }
    return .success
}

// Writes are unbuffered (see `Terminal`), so nothing is pending when the process exits.
exit(run(Array(CommandLine.arguments.dropFirst())).rawValue)
