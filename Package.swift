// swift-tools-version:6.0
import PackageDescription

/// In a release build, a generic type's metadata is reached through its accessor function, not
/// made at run time from the type's mangled name: demangling it, and the scan of the executable's
/// protocol conformances that the first use of each such type cost, were 22% of the instructions
/// of `flow check flows/payment.flow`, a whole process (7.48M to 5.81M; 8.3 to 7.4 ms).
let typeMetadataByAccessor = SwiftSetting.unsafeFlags(
    ["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release))

let package = Package(
    name: "flow",
    products: [
        .library(name: "FlowKit", targets: ["FlowKit"]),
        .library(name: "FlowServer", targets: ["FlowServer"]),
        .executable(name: "flow", targets: ["flow"]),
        .executable(name: "flow-net", targets: ["flow-net"]),
    ],
    targets: [
        // The language and the engine: no terminal, no sockets, no processes.
        .target(
            name: "FlowKit", dependencies: ["CPrefetch"],
            swiftSettings: [
                // The checker's builders are classes mutated on one thread; dynamic exclusivity
                // checks cost about 3% of `flow check` and catch nothing the tests do not.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
                typeMetadataByAccessor,
            ]),
        // The processor's prefetch hint, for FlowKit (a header; nothing to link).
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        // What talks to the world for a host: HTTP (REST, SOAP), encoders, response paths,
        // secrets, extension processes. FlowKit never depends on it.
        .target(name: "FlowIntegration", dependencies: ["FlowKit"], swiftSettings: [typeMetadataByAccessor]),
        // The language server (`flow lsp`): JSON-RPC over standard input and output, on FlowKit's
        // front end. FlowKit never depends on it.
        .target(name: "FlowLSP", dependencies: ["FlowKit"], swiftSettings: [typeMetadataByAccessor]),
        // The command-line tool: arguments, terminal, exit codes. `flow` is built without the
        // network part and with the Swift runtime and Foundation linked in, so it starts in a
        // few milliseconds; for `run` and `ip` it replaces itself with `flow-net` beside it
        // (Sources/flow/NetworkPart.swift). `flow-net` is built from the same sources
        // (Sources/flow-net is a symbolic link to Sources/flow) with the network part.
        .executableTarget(
            name: "flow", dependencies: ["FlowKit", "FlowLSP"],
            swiftSettings: [.define("FLOW_FRONT_END"), typeMetadataByAccessor],
            // The libraries of the static Foundation (Swift 6.3's toolchain), named because the
            // modules were built against the shared one, whose link entries do not name them.
            linkerSettings: [.unsafeFlags([
                "-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lFoundationInternationalization",
                "-lFoundationEssentials", "-lCoreFoundation", "-l_FoundationCollections", "-l_FoundationCShims",
                "-l_FoundationICU", "-lswiftSynchronization", "-Xlinker", "--end-group",
            ])]),
        // The system's libsqlite3 (Debian: libsqlite3-dev), for the sessions of `flow serve`.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // epoll, for the sockets of `flow serve` (a header of wrappers; nothing to link).
        .systemLibrary(name: "CPoll", path: "Sources/CPoll"),
        // `flow serve`: HTTP/1.1 on the toolchain's sockets, the /v1 JSON API, session stores, the
        // web client (Web/). It calls integration points, so it lives in flow-net.
        // What a session store is (`StoredSession`, the `SessionStore` protocol): no dependencies,
        // so FlowServer and FlowPostgres share it without depending on each other.
        .target(name: "FlowSessionStore"),
        .target(
            name: "FlowServer", dependencies: ["FlowKit", "FlowIntegration", "FlowSessionStore", "CSQLite", "CPoll"],
            resources: [.copy("Web")], swiftSettings: [typeMetadataByAccessor]),
        .executableTarget(
            name: "flow-net", dependencies: ["FlowKit", "FlowIntegration", "FlowLSP", "FlowServer", "FlowPostgres"],
            swiftSettings: [typeMetadataByAccessor]),
        // Generates large valid flows and times `check` on them (release build).
        .executableTarget(name: "flow-bench", dependencies: ["FlowKit", "FlowIntegration"]),
        // libFuzzer targets (fuzz/run builds it with -sanitize=fuzzer,address -DFLOW_LIBFUZZER).
        .executableTarget(name: "flow-fuzz", dependencies: ["FlowKit", "FlowIntegration"]),
        .testTarget(name: "FlowKitTests", dependencies: ["FlowKit"]),
        .testTarget(name: "FlowIntegrationTests", dependencies: ["FlowKit", "FlowIntegration"]),
        // The system's libpq (`apt-get install libpq-dev`), for the PostgreSQL session store.
        .systemLibrary(name: "CPostgres", providers: [.apt(["libpq-dev"])]),
        // Sessions of `flow serve` kept in PostgreSQL, shared by several server processes.
        .target(name: "FlowPostgres", dependencies: ["FlowSessionStore", "CPostgres"]),
        // Times PostgresStore updates with many concurrent writers (release build).
        .executableTarget(name: "flow-pg-bench", dependencies: ["FlowPostgres"]),
        .testTarget(name: "FlowPostgresTests", dependencies: ["FlowPostgres", "CPostgres"]),
        .testTarget(name: "FlowServerTests", dependencies: ["FlowKit", "FlowServer"]),
        // Not on `flow` itself: a test bundle linked with the front end's static runtime would not
        // link; `swift test` builds every executable, `flow` and `flow-net` included, first.
        .testTarget(name: "FlowCLITests", dependencies: ["FlowKit"], exclude: ["golden", "support", "usage"]),
        // Drives the built `flow lsp` as an editor does (its own client, and pytest-lsp).
        .testTarget(name: "FlowLSPTests", dependencies: ["FlowKit"], exclude: ["support"]),
    ]
)
