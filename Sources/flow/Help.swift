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
                               [--define NAME=VALUE]... [--arg NAME=VALUE]... [--flow NAME]
                               [--max-steps N] [--trace FILE|-] [--json] [--color auto|always|never]

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
          --define <name=value>   set a config value
          --arg <name=value>      a parameter of the flow that is run
          --flow <name>           run this flow of the file instead of the first
          --max-steps <n>         stop with an error after n elements (default 100000)
          --trace <file>          write each step as a JSON Lines record to the file ('-':
                                  standard output); passwords and secure values appear as "***"
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
          73  the trace file cannot be written
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
}
