#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `flow run` and `flow ip` call integration points, so they need FoundationNetworking (libcurl)
/// and FoundationXML (libxml2). Loading those takes longer than checking a flow, so the `flow`
/// binary is built without them (and with the Swift runtime and Foundation linked in, which
/// saves the dynamic loader most of its work): it starts in about 3 ms of CPU instead of 20.
/// For `run` and `ip` it replaces itself with `flow-net`, the same sources with the network
/// part, from the directory `flow` itself was started from. The process stays the same one
/// (its id, terminal, standard streams, signals and exit status), so nothing changes for the
/// person or the script that started it.
enum NetworkPart {
    static let executableName = "flow-net"

    /// Replaces this process with `flow-net` and the same arguments. Returns only when that
    /// cannot be done, after saying why.
    static func exec(_ arguments: [String], terminal: Terminal) -> ExitCode {
        let path = siblingPath()
        var argv: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments.first ?? "flow"] + arguments).map { strdup($0) } + [nil]
        execv(path, &argv)
        let reason = String(cString: strerror(errno))
        for a in argv { free(a) }
        terminal.err("flow: cannot start \(path), the part of flow that runs flows and calls integration points: \(reason)\n"
            + "hint: it is built with flow ('swift build' builds both); install it in the same directory as flow\n")
        return .software
    }

    /// `flow-net` beside the running binary (its real path, symbolic links resolved).
    static func siblingPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buffer, 4096)
        var own = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : (CommandLine.arguments.first ?? "flow")
        if let slash = own.lastIndex(of: "/") { own = String(own[...slash]) } else { own = "./" }
        return own + executableName
    }
}

#if FLOW_FRONT_END
    /// What `flow run` runs in the front end: flow-net, with the arguments as given.
    struct RunCommand {
        let arguments: RunArguments
        let terminal: Terminal
        func run() -> ExitCode { NetworkPart.exec(Array(CommandLine.arguments.dropFirst()), terminal: terminal) }
    }

    /// What `flow ip` runs in the front end: flow-net, with the arguments as given.
    struct IPCommand {
        let arguments: IPArguments
        let terminal: Terminal
        func run() -> ExitCode { NetworkPart.exec(Array(CommandLine.arguments.dropFirst()), terminal: terminal) }
    }
#endif
