import FlowKit
import Foundation

/// Turns the inputs named on the command line into the list of files to check (`*.flow`), or to
/// test (`*.flowtest`, for `flow test`).
///
/// A file is passed through as named (even when missing: `Frontend.compile` reports that, so the
/// wording is the library's). A directory is walked recursively: entries of each directory in
/// sorted order, only regular files named `*.flow`, hidden entries (`.git`, `.build`) skipped, links
/// to directories not followed (so no cycle can occur). Paths keep the spelling of the input
/// (`flows/a.flow`, `flows/sub/b.flow`) so diagnostics name files the way the user did. A path
/// already listed (under any spelling, see `canonical`) is not listed again.
enum Inputs {
    enum Item: Equatable {
        case file(String)
        /// An input that cannot be checked, with the reason (exit status 66).
        case problem(String)
    }

    /// `suffix` is what a file found in a directory ends with; `resolve` says what a file named
    /// on the command line stands for (itself by default; `flow test` takes `x.flow` for the plan
    /// `x.flowtest` beside it).
    static func expand(_ inputs: [String], suffix: String = ".flow", resolve: (String) -> Item = Item.file) -> [Item] {
        var items: [Item] = []
        var seen = Set<String>()
        func add(_ path: String) {
            if seen.insert(canonical(path)).inserted { items.append(.file(path)) }
        }
        for input in inputs {
            guard FileSystemLoader.kind(input) == .directory else {
                switch resolve(input) {
                case .file(let path): add(path)
                case let problem: items.append(problem)
                }
                continue
            }
            var found: [String] = []
            var problems: [String] = []
            walk(input, suffix: suffix, into: &found, problems: &problems)
            items += problems.map(Item.problem)
            if found.isEmpty && problems.isEmpty {
                items.append(.problem("no '\(suffix)' files in directory '\(input)'"))
            }
            found.forEach(add)
        }
        return items
    }

    private static func walk(_ directory: String, suffix: String, into found: inout [String], problems: inout [String]) {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: directory)
        } catch {
            problems.append("cannot read directory '\(directory)'")
            return
        }
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = join(directory, name)
            let isLink = (try? manager.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeSymbolicLink
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }  // a broken link
            if isDirectory.boolValue {
                if !isLink { walk(path, suffix: suffix, into: &found, problems: &problems) }
            } else if name.hasSuffix(suffix) {
                found.append(path)
            }
        }
    }

    /// The absolute path with `.` and `..` segments resolved (lexically, links untouched): two
    /// spellings of one file, `t/a.flow` and `./t/a.flow`, give the same answer.
    static func canonical(_ path: String) -> String { SourcePath.absolute(path) }

    private static func join(_ directory: String, _ name: String) -> String {
        if directory == "." { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
