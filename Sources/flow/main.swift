// The `flow` command line tool: arguments, streams and exit statuses. Everything about the
// language lives in FlowKit; this target only decides what to run and where output goes.
import FlowKit
import Foundation

let environment = ProcessInfo.processInfo.environment
CrashHandler.install(environment: environment)
let terminal = Terminal(environment: environment)

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
