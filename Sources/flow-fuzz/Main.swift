// flow-fuzz: libFuzzer targets for the flow front end, runtime, readers and encoders.
//
//   flow-fuzz --target=NAME [libFuzzer flags] [CORPUS_DIR...]   fuzz (a build with libFuzzer)
//   flow-fuzz --target=NAME FILE|DIR...                          run each input once (any build)
//   flow-fuzz --list                                             the targets, one a line
//
// The target can also come from the environment: FLOW_FUZZ_TARGET=NAME.
//
// Design note: one executable holds every target, so one build serves them all; the target is
// chosen before libFuzzer starts and exported as FLOW_FUZZ_TARGET, so the processes libFuzzer
// starts itself (`-fork`, `-jobs`, `-merge`) run the same one. Each target takes arbitrary
// bytes, must not crash, hang or leak, and checks what ought to hold (round trips, re-parsing,
// well-formed output) with `require`, which stops the process with `fatalError`, so libFuzzer
// reports a broken property as it reports a crash and saves the input.
//
// Building with libFuzzer (`fuzz/run` does this):
//
//   swift build -c release --product flow-fuzz --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFLOW_LIBFUZZER
//
// SwiftPM gives an executable's entry point a name of its own (`flow_fuzz_main`) and links
// `main` to it, so libFuzzer's own `main` is never used: with FLOW_LIBFUZZER defined, the
// `main` below hands the command line to `LLVMFuzzerRunDriver`. Without it (a plain
// `swift build`, as `swift test` does) the executable replays inputs instead, so the package
// still builds and links without the fuzzer runtime.
import Foundation

/// One fuzz target: a name, what it covers, and the function run on each input.
struct FuzzTarget: Sendable {
    var name: String
    var summary: String
    var run: @Sendable ([UInt8]) -> Void
}

let targets: [FuzzTarget] = [
    FuzzTarget(name: "check", summary: "lexing, parsing and checking a flow (and a test plan) from any bytes; rendered diagnostics",
               run: CheckTarget.run),
    FuzzTarget(name: "eval", summary: "expressions and text templates run in a session with a small step limit",
               run: EvalTarget.run),
    FuzzTarget(name: "json", summary: "the JSON reader, JSON output round trips and JSON paths",
               run: JSONTarget.run),
    FuzzTarget(name: "xml", summary: "the XML reader, SOAP bodies and faults, XML paths",
               run: XMLTarget.run),
    FuzzTarget(name: "encode", summary: "the encoders' round trips: form, path text, JSON values, XML text, SOAP envelopes, headers",
               run: EncodeTarget.run),
    FuzzTarget(name: "answers", summary: "the answer parser of every question type; accepted answers re-parse to themselves",
               run: AnswerTarget.run),
    FuzzTarget(name: "format", summary: "flow fmt: never an internal error, and formatting twice changes nothing",
               run: FormatTarget.run),
    FuzzTarget(name: "http", summary: "the HTTP/1.1 response reader: status line, headers, lengths, chunks, interim responses, redirects",
               run: HTTPTarget.run),
    FuzzTarget(name: "soapfault", summary: "the SOAP fault reader: codes resolved to namespace and local name, subcodes, detail",
               run: SOAPFaultTarget.run),
]

/// The target chosen for this process (set once, before any input is run).
nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selected else { fatalError("flow-fuzz: no target selected") }
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    target.run(bytes)
    return 0
}

#if FLOW_LIBFUZZER
// libFuzzer's entry point for programs that have a `main` of their own (compiler-rt
// FuzzerInterface.h): `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

@main
enum FlowFuzz {
    static func main() {
        var rest: [String] = []
        var name = ProcessInfo.processInfo.environment["FLOW_FUZZ_TARGET"]
        var arguments = CommandLine.arguments.dropFirst()
        while let a = arguments.popFirst() {
            if a == "--list" || a == "-list" {
                for t in targets { print("\(t.name)\t\(t.summary)") }
                return
            } else if a.hasPrefix("--target=") {
                name = String(a.dropFirst("--target=".count))
            } else if a == "--target", let value = arguments.popFirst() {
                name = value
            } else {
                rest.append(a)
            }
        }
        guard let name, let target = targets.first(where: { $0.name == name }) else {
            let names = targets.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("flow-fuzz: choose a target with --target=NAME or FLOW_FUZZ_TARGET: \(names)\n".utf8))
            exit(64)
        }
        selected = target
        setenv("FLOW_FUZZ_TARGET", target.name, 1)
        #if FLOW_LIBFUZZER
        // libFuzzer keeps pointers into argv for the whole run: these copies are never freed.
        var argv: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments[0]] + rest).map { strdup($0) } + [nil]
        var argc = CInt(argv.count - 1)
        let code = argv.withUnsafeMutableBufferPointer { buffer in
            var base = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &base, fuzzTestOneInput)
        }
        exit(code)
        #else
        exit(replay(target, rest))
        #endif
    }

    /// Runs the target once on each file given (and each file in each folder given).
    static func replay(_ target: FuzzTarget, _ paths: [String]) -> CInt {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("flow-fuzz: no such file: \(path)\n".utf8))
                return 66
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            target.run([UInt8](data))
        }
        print("flow-fuzz: \(target.name): ran \(files.count) inputs")
        return 0
    }
}
