import FlowLSP

/// `flow lsp`: the language server, over standard input and output, until the editor says `exit`
/// (or closes standard input).
enum LSPCommand {
    static let help = """
        usage: flow lsp

        Runs a Language Server Protocol (3.17) server for '*.flow' and '*.flowtest' files over
        standard input and output, for an editor to start: diagnostics as you type (with the codes,
        notes and hints of 'flow check'), go to definition, references, rename, completion, hover,
        document symbols, formatting ('flow fmt'), signature help and quick fixes. See docs/lsp.md.

        options:
          -h, --help    show this help

        """

    static func run(_ arguments: [String], terminal: Terminal) -> ExitCode {
        if arguments == ["-h"] || arguments == ["--help"] {
            terminal.out(help)
            return .success
        }
        if let first = arguments.first {
            terminal.err("error: 'flow lsp' takes no arguments, not '\(first)'\nhint: an editor starts it as: flow lsp\n")
            return .usage
        }
        return LanguageServer().run() == 0 ? .success : .failure
    }
}
