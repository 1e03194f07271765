import FlowKit

/// The help texts. They list only what exists today.
enum Help {
    static let general = """
        flow \(flowVersion): checks and runs flow files, the plain-text language of pages, questions and calls

        usage: flow <command> [options]

        commands:
          check     check flow files and report problems
          run       run a flow: answer its pages at the terminal or from a script
          ip        call one integration point and print its outputs
          graph     draw a flow's element graph (Graphviz dot or Mermaid)
          fmt       format flow files in the one canonical layout
          test      run test plans and report coverage
          explore   play a flow through by itself and report what breaks
          help      show help for a command: 'flow help run'

        options:
          -h, --help    show this help
          --version     print the version

        """

    static let check = """
        usage: flow check <file|directory>... [--format human|gcc|json] [--strict] [--color auto|always|never]

        Checks each file, and the files it imports, and reports every problem found. A directory is
        searched recursively for '*.flow' files, in sorted order; hidden files and directories, and
        links to directories, are skipped. A problem reported the same way twice (in a file imported
        by several inputs) is shown once.

        options:
          --format <format>   how diagnostics are written:
                                human  messages with source excerpts, to standard error, then a
                                       one-line summary (the default)
                                gcc    'file:line:column: severity: message' lines, to standard error
                                json   one array of objects for all inputs, to standard output
          --strict            treat warnings as errors
          --color <when>      auto (the default: colour only when standard error is a terminal and
                              NO_COLOR is unset or empty), always or never
          -h, --help          show this help

        Use '--' before inputs whose names start with '-'.

        exit status:
          0   no errors (warnings alone are fine unless --strict)
          64  usage error: unknown option, missing or invalid value, no inputs (nothing is checked)
          65  errors found
          66  an input is missing or unreadable, or a directory holds no '.flow' file; the other
              inputs are still checked, and 66 wins over 65
          70  internal error: a bug in flow

        """

    static let run = """
        usage: flow run <file> [--answers FILE.json] [--answer Page.Question=VALUE]...
                               [--stubs FILE.json] [--stub NAME=JSON]... [--extension NAME=PATH]...
                               [--plan FILE.flowtest [--test NAME]]
                               [--define NAME=VALUE]... [--arg NAME=VALUE]... [--flow NAME]
                               [--max-steps N] [--trace FILE|-] [--session FILE] [--json]
                               [--color auto|always|never]

        Checks the file as 'flow check' does, then runs its first flow. Integration points are not
        called: each gets the canned result of its stub. An extension with a stub gets the stub's
        result; one without is run: its program ('run' in its declaration, relative to the flow
        file) talks to you on the terminal, gets its arguments as a JSON object on file
        descriptor 3 and writes its outputs as a JSON object to file descriptor 4.

        When standard input is a terminal, each page is shown and its questions are asked (those
        answered with --answers or --answer first take those answers): type an answer and press
        Enter (Enter alone takes the default shown in brackets), a number or several separated by
        commas to pick options, 'back' to return to the previous page, Ctrl-D to stop. A refused
        answer is asked again with the reason. Passwords are not shown as you type. Otherwise the answers come from --answers and --answer, then from standard input, one
        line per question in the order asked; a refused or missing answer stops the run.

        options:
          --answers <file>        a JSON object of answers by 'Page.Question':
                                    {"Embedded Payment.Embedded Payment": "4.00", "Issue.Service down": true}
                                  a list gives one answer per time the question is asked
          --answer <name=value>   one answer, as typed; wins over --answers; repeat a name for a
                                  question asked several times
          --stubs <file>          a JSON object of stubs by IP or extension name
          --stub <name=json>      the stub of one IP or extension; wins over --stubs. A stub is an
                                  object of outputs, {"id": "ch_1", "paid": true}; or a failure,
                                  {"error": {"kind": "http", "status": 402, "message": "…",
                                  "code": "card_declined"}}; or a list of those, one per call
          --extension <name=path> run this program for the extension instead of its 'run'
          --plan <file>           a test plan of this flow: the IPs and extensions its test names
                                  get the test's canned results (a --stub still wins), and the
                                  test's flow, arguments, configs and date apply unless --flow,
                                  --arg or --define say otherwise; its answers are not used
          --test <name>           the test of the plan to take (default: its first)
          --define <name=value>   set a config value
          --arg <name=value>      a parameter of the flow that is run
          --flow <name>           run this flow of the file instead of the first
          --max-steps <n>         stop with an error after n elements (default 100000)
          --trace <file>          write each step as a JSON Lines record to the file ('-':
                                  standard output); passwords and secure values appear as "***"
          --session <file>        keep the session in the file, rewritten whole after every step
                                  and before every call; run again with the same file to go on
                                  where it stopped: a call that was in flight is made again with
                                  the same idempotency key (see grammar.md, "Calls are effects")
          --json                  print one JSON object at the end, and nothing else, on standard
                                  output: {"responses": [...], "outcome": "success" or "failure",
                                  "reason": ..., "steps": n}
          --color <when>          auto (the default), always or never
          -h, --help              show this help

        exit status:
          0   the flow finished with success
          1   the flow finished with failure, or the input ended (Ctrl-D) before it finished
          64  usage error: unknown option, missing or invalid value, no file
          65  the flow does not check, or the answers, stubs or names given do not fit it (an
              unknown question, config, flow or IP; a refused or missing answer; a missing stub)
          66  the file, the answers file or the stubs file is missing or unreadable
          70  the flow failed while running (a division by zero, the step limit, …)
          73  the trace file or the session file cannot be written
          130 interrupted with Ctrl-C

        """

    static let ip = """
        usage: flow ip <file> <name> [--arg NAME=VALUE]... [--define NAME=VALUE]... [--secrets FILE] [--verbose] [--json]

        Calls the integration point <name> declared in <file> (or a file it imports) once, for real,
        and prints its mapped outputs, one 'name: value' a line (or one JSON object with --json).
        A failed call prints its error (kind, status, message) and exits 1.

        options:
          --arg NAME=VALUE      a parameter's value, converted to its declared type; parameters with a
                                default may be left out
          --define NAME=VALUE   a config value (for example the base URL of a test gateway)
          --secrets FILE        KEY=VALUE lines; secrets it lacks are read from the environment
          --verbose             show each attempt's request and response on standard error, with
                                every secret replaced by ***
          --json                print the outputs as one JSON object
          -h, --help            show this help

        exit status:
          0   the call succeeded
          1   the call failed (an HTTP error, a timeout, a SOAP fault, …)
          64  usage error
          65  the flow does not check, or an argument, config or secret is wrong
          66  the file or the secrets file cannot be read
          70  the request could not be built (a missing secret, a header with a line break, …)

        """

    static let graph = """
        usage: flow graph <file> [--format dot|mermaid] [--flow NAME]

        Checks the file as 'flow check' does, then draws the element graph of each flow declared in
        it, on standard output: every element a node labelled with what it does ('ip StripeCharge',
        'if not result.paid or …'), each flow a box, each page a box of its questions. Edges:
        'yes' and 'no' out of a decision, 'error' to a call's on error, a dashed 'call' to the
        start of a sub-flow. Render it with Graphviz:

          flow graph flows/payment.flow | dot -Tsvg > payment.svg

        options:
          --format <format>   dot (the default: Graphviz) or mermaid (a Mermaid flowchart, which
                              Markdown on GitHub and GitLab shows as a picture)
          --flow <name>       draw only this flow (it may come from an imported file)
          -h, --help          show this help

        exit status:
          0   the drawing was written
          64  usage error: unknown option, missing or invalid value, no file
          65  the file does not check (its diagnostics are shown), or no flow has that name
          66  the file is missing or unreadable

        """

    static let fmt = """
        usage: flow fmt <file|directory>... [--check]

        Rewrites each file in the one canonical layout: 2-space indentation by block, one space
        around operators, '=' and '->' and after ',' and ':', '} else {' on one line, at most one
        blank line in a row and one between declarations. Comments stay where they are; names,
        numbers and text literals are kept as written, and lines are not re-wrapped. Formatting
        never changes what a flow means, and formatting twice changes nothing. A directory is
        searched recursively for '*.flow' files, as 'flow check' does. Each file is replaced
        atomically, and the files changed are listed on standard output. A file with syntax errors
        is left as it is and its errors are reported as 'flow check' reports them.

        options:
          --check       change nothing: list the files that are not formatted, and exit 1 if any
          -h, --help    show this help

        exit status:
          0   done (with --check: every file is formatted)
          1   --check: some files are not formatted (they are listed)
          64  usage error: unknown option, no inputs (nothing is formatted)
          65  a file has syntax errors; it is left unchanged, the other files are still formatted
          66  an input is missing or unreadable, or a directory holds no '.flow' file
          70  internal error: a bug in flow (the file it concerns is left unchanged)
          73  a file could not be written (it is left unchanged)

        """

    static let test = """
        usage: flow test <file|directory>... [--coverage] [--json] [--color auto|always|never]

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

        options:
          --coverage          after the results, the coverage of each flow file: the elements
                              and branches (a decision's yes and no, a call's success and
                              failure when it has 'on error') that tests visited, as percentages,
                              and each one no test visited, with its place in the flow
          --json              print one JSON object at the end, and nothing else, on standard
                              output: {"plans": [{"plan", "flow", "diagnostics", "tests": [{"name",
                              "passed", "steps", "failures": [...]}]}], "passed": n, "failed": n,
                              "coverage": [...]}
          --color <when>      auto (the default), always or never
          -h, --help          show this help

        exit status:
          0   every test passed
          1   a test failed
          64  usage error
          65  a plan, or the flow it tests, has errors (its tests are not run)
          66  an input is missing or unreadable, or a directory holds no '.flowtest' file

        """

    static let explore = """
        usage: flow explore <file> [--max-runs N] [--max-steps N] [--json]

        Checks the file as 'flow check' does, then plays its first flow through by itself, many
        times, and reports every playthrough that hits a run-time error, a call failure with no
        'on error', a loop that does not end, or a question no answer gets past. Nothing is called
        for real: each IP and extension call gets made-up results, one at a time: a plausible
        success, each output null, empty, zero or set to what the flow compares it with, and each
        kind of failure (http 400 and 500, timeout, connection, malformed, SOAP fault, extension).
        Each question gets its boundaries (min, max, just inside them), zero, a negative, a big
        number, two decimals, every option, yes and no, dates at the bounds, texts made from its
        pattern, the default and a skip; answers its rules refuse must be refused, and are tried
        too. Playthroughs that change fewer answers and results come first, so each finding shows
        the simplest way found to it.

        Each finding is shown like a diagnostic, with the answers and stubs that reproduce it as
        JSON ('flow run --answers FILE --stubs FILE' takes them) and as one 'flow run' command
        line. A finding is reported once per kind and place in the source.

        options:
          --max-runs <n>    stop after n playthroughs (default 20000); the summary says when the
                            budget stopped it before every path was explored
          --max-steps <n>   the elements one playthrough may run before it counts as a loop that
                            does not end (default 10000)
          --json            print one JSON object: {"playthroughs": n, "complete": …, "coverage":
                            {…}, "findings": [{"kind", "code", "message", "file", "line", …,
                            "when", "answers", "stubs", "command", "reproduced"}]}
          -h, --help        show this help

        exit status:
          0   nothing was found
          1   something was found
          64  usage error
          65  the flow does not check
          66  the file cannot be read

        """
}
