import FlowKit
import Foundation

/// `flow test FILE|DIR...`: runs the tests of each test plan (`*.flowtest`) against its flow, in
/// process (FlowKit's `TestRunner`: no terminal, no network, no extension process).
///
/// Inputs: a plan file; a flow file `x.flow`, meaning the plan `x.flowtest` beside it; a
/// directory, searched recursively for `*.flowtest` in sorted order (hidden entries skipped,
/// links to directories not followed).
///
/// Streams: the report goes to standard output: each plan's name, a `pass`/`FAIL` line a test,
/// each failure rendered as a diagnostic with what was expected and what was found, with
/// `--coverage` the coverage of each flow file, and last the line `N passed, N failed` alone
/// (CI reads it). A plan that cannot be used (it does not parse, does not fit its flow, or the
/// flow does not check) gets its diagnostics on standard error, as `flow check` shows them.
/// With `--json`, standard output holds one JSON object written at the end, and nothing else.
///
/// Exit status: 0 when every test passed, 1 when one failed, 65 when a plan or its flow has
/// errors, 66 when an input cannot be read; the most severe wins (see `ExitCode`).
struct TestCommand {
    let arguments: TestArguments
    let terminal: Terminal

    func run() -> ExitCode {
        let errPaint = Paint(enabled: terminal.colorsStandardError(arguments.color))
        let diagnosticRenderer = DiagnosticRenderer(format: .human, color: terminal.colorsStandardError(arguments.color))
        let report = TestReportRenderer(color: !arguments.json && terminal.colorsStandardOutput(arguments.color))
        var exit = ExitCode.success
        var passed = 0
        var failed = 0
        var coverage = CoverageReport()
        var flowFiles: [String] = []
        var jsonPlans: [String] = []

        for item in Self.expand(arguments.inputs) {
            guard let path = terminal.file(item, paint: errPaint) else {
                exit = max(exit, .noInput)
                continue
            }
            let loaded: LoadedPlan
            do {
                loaded = try TestPlanLoader.load(path: path)
            } catch {
                terminal.err("\(errPaint.error("error")): \(error.description)\n")
                exit = max(exit, .noInput)
                continue
            }
            guard let plan = loaded.plan, let program = loaded.program else {
                let errors = loaded.diagnostics.filter { $0.severity == .error }
                terminal.err(diagnosticRenderer.render(errors, sources: loaded.sources))
                terminal.err("\(errPaint.error("error")): \(path): \(errors.count) error\(errors.count == 1 ? "" : "s"); its tests were not run\n")
                if arguments.json {
                    let diagnostics = CheckCommand.arrayElements(
                        DiagnosticRenderer(format: .json).render(errors, sources: loaded.sources))
                    jsonPlans.append("{\"plan\": \(JSONText.quote(path)), \"diagnostics\": [\(diagnostics)], \"tests\": []}")
                }
                exit = max(exit, .dataError)
                continue
            }
            if !arguments.json { terminal.out("\(path) (\(plan.flowPath))\n") }
            let recorder = arguments.coverage ? CoverageRecorder(program: program) : nil
            var tests: [String] = []
            for test in plan.tests {
                let result = TestRunner.run(test, program: program, coverage: recorder)
                if result.passed { passed += 1 } else { failed += 1 }
                if arguments.json {
                    tests.append(TestReportRenderer.json(result, sources: loaded.sources))
                } else {
                    terminal.out(report.testLine(result))
                    for f in result.failures { terminal.out(report.failure(f, sources: loaded.sources)) }
                }
            }
            if let recorder {
                coverage.add(recorder, sources: loaded.sources)
                flowFiles.append(plan.flowPath)
            }
            if arguments.json {
                jsonPlans.append(
                    "{\"plan\": \(JSONText.quote(path)), \"flow\": \(JSONText.quote(plan.flowPath)), \"diagnostics\": [], "
                        + "\"tests\": [\(tests.joined(separator: ", "))]}")
            }
        }
        if failed > 0 { exit = max(exit, .failure) }

        let files = coverage.files(flowFiles)
        if arguments.json {
            var out = "{\"plans\": [\(jsonPlans.joined(separator: ", "))], \"passed\": \(passed), \"failed\": \(failed)"
            if arguments.coverage { out += ", \"coverage\": [\(files.map(TestReportRenderer.json).joined(separator: ", "))]" }
            terminal.data(out + "}\n")
        } else {
            if arguments.coverage && !files.isEmpty { terminal.out(report.coverage(files)) }
            terminal.out(TestReportRenderer.summary(passed: passed, failed: failed))
        }
        return exit
    }

    /// The plans named by the inputs, each once (by canonical path): a plan, a flow file `x.flow`
    /// for the plan `x.flowtest` beside it, or a directory searched for plans.
    static func expand(_ inputs: [String]) -> [Inputs.Item] {
        Inputs.expand(inputs, suffix: ".flowtest") { input in
            guard input.hasSuffix(".flow") else { return .file(input) }  // a missing file is reported by the loader
            let plan = String(input.dropLast(".flow".count)) + ".flowtest"
            return FileManager.default.fileExists(atPath: plan) ? .file(plan) : .problem("no test plan '\(plan)' for '\(input)'")
        }
    }
}

/// `flow test FILE|DIR... [--coverage] [--json]`: test plans (`*.flowtest`).
struct TestArguments: CommandArguments {
    var inputs: [String] = []
    var coverage = false
    var json = false
    var color: ColorChoice = .auto

    static var command: Command<Self> {
        Command(
            name: "test", summary: "run test plans and report coverage",
            inputs: .many(\.inputs, verb: "test", example: "flows/"),
            options: [
                .flag(
                    "--coverage", \.coverage,
                    help: """
                        after the results, the coverage of each flow file: the elements
                        and branches (a decision's yes and no, a call's success and
                        failure when it has 'on error') that tests visited, as percentages,
                        and each one no test visited, with its place in the flow
                        """),
                .flag(
                    "--json", \.json,
                    help: """
                        print one JSON object at the end, and nothing else, on standard
                        output: {"plans": [{"plan", "flow", "diagnostics", "tests": [{"name",
                        "passed", "steps", "failures": [...]}]}], "passed": n, "failed": n,
                        "coverage": [...]}
                        """),
                .color(\.color),
            ],
            about: """
                Runs the tests of test plans ('*.flowtest') against their flows, in this process: answers
                and the results of integration points and extensions come from the plan, so nothing is
                called and no extension is started. A plan starts with 'tests "payment.flow"' (relative to
                the plan); grammar.md describes the format. Each test's result is printed, each failure
                with the place of the expectation, what was expected and what happened, and last the line
                'N passed, N failed'. A plan that does not fit its flow (an unknown question, IP, output,
                variable, ...) is reported like 'flow check' reports a flow, on standard error, and its
                tests are not run.

                Inputs: a plan; a flow file 'x.flow' for the plan 'x.flowtest' beside it; a directory,
                searched recursively for '*.flowtest' files in sorted order.
                """,
            exitStatus: """
                  0   every test passed
                  1   a test failed
                  64  usage error
                  65  a plan, or the flow it tests, has errors (its tests are not run)
                  66  an input is missing or unreadable, or a directory holds no '.flowtest' file
                """,
            run: { TestCommand(arguments: $0, terminal: $1).run() })
    }
}
