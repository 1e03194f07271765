import FlowLSP

/// `flow lsp`: the language server (FlowLSP's `LanguageServer`) over standard input and output,
/// until the editor says `exit` or closes standard input. Standard output carries only protocol
/// messages.
struct LSPArguments: CommandArguments {
    var stdio = false

    static var command: Command<Self> {
        Command(
            name: "lsp", summary: "serve an editor: a language server on standard input and output",
            inputs: .exactly([]),
            options: [
                .flag(
                    "--stdio", \.stdio,
                    help: """
                        accepted for editors that add it (vscode-languageclient does); standard
                        input and output is the only transport
                        """),
            ],
            about: """
                Runs a Language Server Protocol (3.17) server for '*.flow' and '*.flowtest' files over
                standard input and output, for an editor to start. On the text in the editor, saved or
                not: the diagnostics of 'flow check' (and of 'flow test' for a plan) as you type, also
                when a file it imports changes; go to definition, references and rename across files;
                completion, hover, document symbols, formatting in 'flow fmt''s layout, signature help,
                and a quick fix for each "did you mean". docs/lsp.md shows how to set up Neovim, Helix
                and VS Code.
                """,
            exitStatus: """
                  0   the editor asked the server to shut down, then to exit
                  1   the editor exited without asking for a shutdown, or closed standard input
                  64  usage error
                """,
            run: { _, _ in LanguageServer().run() == 0 ? .success : .failure })
    }
}
