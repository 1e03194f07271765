import FlowKit

/// The help texts. They list only what exists today.
enum Help {
    static let general = """
        flow \(flowVersion): checks flow files, the plain-text language of pages, questions and calls

        usage: flow <command> [options]

        commands:
          check     check flow files and report problems
          help      show help for a command: 'flow help check'

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
}
