// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "flow",
    products: [
        .library(name: "FlowKit", targets: ["FlowKit"]),
        .library(name: "FlowServer", targets: ["FlowServer"]),
        .executable(name: "flow", targets: ["flow"]),
    ],
    targets: [
        // The language and the engine: no terminal, no sockets, no processes.
        .target(
            name: "FlowKit",
            swiftSettings: [
                // The checker's builders are classes mutated on one thread; dynamic exclusivity
                // checks cost about 3% of `flow check` and catch nothing the tests do not.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
            ]),
        // What talks to the world for a host: HTTP (REST, SOAP), encoders, response paths,
        // secrets, extension processes. FlowKit never depends on it.
        .target(name: "FlowIntegration", dependencies: ["FlowKit"]),
        // The system's libsqlite3 (Debian: libsqlite3-dev), for the sessions of `flow serve`.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // epoll, for the sockets of `flow serve` (a header of wrappers; nothing to link).
        .systemLibrary(name: "CPoll", path: "Sources/CPoll"),
        // `flow serve`: HTTP/1.1 on the toolchain's sockets, the /v1 JSON API, session stores.
        .target(name: "FlowServer", dependencies: ["FlowKit", "FlowIntegration", "CSQLite", "CPoll"], resources: [.copy("Web")]),
        // The command-line tool: arguments, terminal, exit codes.
        .executableTarget(name: "flow", dependencies: ["FlowKit", "FlowIntegration", "FlowServer", "FlowPostgres"]),
        // Generates large valid flows and times `check` on them (release build).
        .executableTarget(name: "flow-bench", dependencies: ["FlowKit", "FlowIntegration"]),
        // libFuzzer targets (fuzz/run builds it with -sanitize=fuzzer,address -DFLOW_LIBFUZZER).
        .executableTarget(name: "flow-fuzz", dependencies: ["FlowKit", "FlowIntegration"]),
        .testTarget(name: "FlowKitTests", dependencies: ["FlowKit"]),
        .testTarget(name: "FlowIntegrationTests", dependencies: ["FlowKit", "FlowIntegration"]),
        // The system's libpq (`apt-get install libpq-dev`), for the PostgreSQL session store.
        .systemLibrary(name: "CPostgres", providers: [.apt(["libpq-dev"])]),
        // Sessions of `flow serve` kept in PostgreSQL, shared by several server processes.
        .target(name: "FlowPostgres", dependencies: ["CPostgres"]),
        // Times PostgresStore updates with many concurrent writers (release build).
        .executableTarget(name: "flow-pg-bench", dependencies: ["FlowPostgres"]),
        .testTarget(name: "FlowPostgresTests", dependencies: ["FlowPostgres", "CPostgres"]),
        .testTarget(name: "FlowServerTests", dependencies: ["FlowKit", "FlowServer", "flow"]),
        .testTarget(name: "FlowCLITests", dependencies: ["FlowKit", "flow"], exclude: ["golden", "support", "usage"]),
    ]
)
