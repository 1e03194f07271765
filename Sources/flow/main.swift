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
    case .help(.general):
        terminal.out(Help.general)
    case .help(.check):
        terminal.out(Help.check)
    case .help(.run):
        terminal.out(Help.run)
    case .help(.ip):
        terminal.out(Help.ip)
    case .help(.graph):
        terminal.out(Help.graph)
    case .help(.fmt):
        terminal.out(Help.fmt)
    case .help(.test):
        terminal.out(Help.test)
    case .help(.explore):
        terminal.out(Help.explore)
    case .version:
        terminal.out("flow \(flowVersion)\n")
    case .check(let arguments):
        return CheckCommand(arguments: arguments, terminal: terminal).run()
    case .run(let arguments):
        return RunCommand(arguments: arguments, terminal: terminal).run()
    case .ip(let arguments):
        return IPCommand(arguments: arguments, terminal: terminal).run()
    case .graph(let arguments):
        return GraphCommand(arguments: arguments, terminal: terminal).run()
    case .fmt(let arguments):
        return FormatCommand(arguments: arguments, terminal: terminal).run()
    case .test(let arguments):
        return TestCommand(arguments: arguments, terminal: terminal).run()
    case .explore(let arguments):
        return ExploreCommand(arguments: arguments, terminal: terminal).run()
    }
    return .success
}

// Writes are unbuffered (see `Terminal`), so nothing is pending when the process exits.
exit(run(Array(CommandLine.arguments.dropFirst())).rawValue)
