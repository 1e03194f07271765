import FlowKit

/// The help pages, rendered from the commands' declarations (as swift-argument-parser's
/// `HelpGenerator` renders its own): the usage line from the inputs and options, the option
/// table from each option's title and help, then the command's own paragraphs. Nothing about an
/// option is typed here.
enum HelpPage {
    /// The width the usage line is wrapped at.
    static let width = 100

    static var general: String {
        let commands = Commands.all.map { ($0.name, $0.summary) } + [("help", "show help for a command: 'flow help run'")]
        let column = (commands.map(\.0.count).max() ?? 0) + 3
        let list = commands.map { "  \($0.0.padding(column))\($0.1)\n" }.joined()
        return """
            flow \(flowVersion): checks and runs flow files, the plain-text language of pages, questions and calls

            usage: flow <command> [options]

            commands:
            \(list)
            options:
              -h, --help    show this help
              --version     print the version

            """
    }

    static func render<A>(_ command: Command<A>) -> String {
        var page = usage(command) + "\n\n" + command.about + "\n\n" + "options:\n" + table(command.options)
        if let notes = command.notes { page += "\n" + notes + "\n" }
        page += "\nexit status:\n" + command.exitStatus + "\n"
        return page
    }

    /// `usage: flow run <file> [--answers FILE]...`, wrapped at `width` under the first option.
    static func usage<A>(_ command: Command<A>) -> String {
        let operands = command.inputs.usage
        let prefix = "usage: flow \(command.name) " + (operands.isEmpty ? "" : operands + " ")
        var lines = [prefix]
        for title in command.options.map(\.usageTitle) {
            if lines[lines.count - 1].count + title.count > width && lines[lines.count - 1].count > prefix.count {
                lines[lines.count - 1].removeLast()
                lines.append(String(repeating: " ", count: prefix.count))
            }
            lines[lines.count - 1] += title + " "
        }
        lines[lines.count - 1].removeLast()
        return lines.joined(separator: "\n")
    }

    /// Each option's title, then its help lines in one column three spaces right of the longest
    /// title; `-h, --help` last.
    static func table<A>(_ options: [Option<A>]) -> String {
        let rows = options.map { ($0.tableTitle, $0.help) } + [("-h, --help", "show this help")]
        let column = 2 + (rows.map(\.0.count).max() ?? 0) + 3
        var text = ""
        for (title, help) in rows {
            for (index, line) in help.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let left = index == 0 ? "  " + title : ""
                text += line.isEmpty ? "\n" : left.padding(column) + line + "\n"
            }
        }
        return text
    }
}

extension String {
    /// The string followed by spaces up to `width` characters.
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
