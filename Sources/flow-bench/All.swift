// `flow-bench all`: every benchmark in one run, printed as the README's table.
//
// Each figure is the median of several runs; each scaling figure is a ratio of two sizes ten
// times apart measured in the same run; memory is the peak resident size of a whole `flow`
// process (from wait4), the growth over a process that checks a one-line flow. The peer
// (SpiffWorkflow, a Python BPMN engine) is installed into a venv and run in the same run.
import FlowKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Flows of a given size

/// One flow of `n` lone questions, each answer read once at the end (`check` and `run` shapes).
func questionsFlow(_ n: Int) -> String {
    var out = "flow Questions {\n"
    out.reserveCapacity(n * 28)
    for k in 0..<n { out += "  question Q\(k): text\n" }
    out += "  response \"{Q0} {Q\(n - 1)}\"\n}\n"
    return out
}

/// One flow of `n` `set` lines, each reading the one before.
func setsFlow(_ n: Int) -> String {
    var out = "flow Sets {\n  set v0 = 1\n"
    out.reserveCapacity(n * 26)
    for k in 1..<max(n, 2) { out += "  set v\(k) = v\(k - 1) + 1\n" }
    out += "  response \"{v\(max(n, 2) - 1)}\"\n}\n"
    return out
}

/// Answers for `questionsFlow(n)` as `flow run --answers` reads them.
func questionsAnswers(_ n: Int) -> String {
    var out = "{"
    for k in 0..<n { out += (k == 0 ? "" : ", ") + "\"Q\(k).Q\(k)\": \"a\(k)\"" }
    return out + "}\n"
}

/// A test plan for `questionsFlow(n)` saved as `name.flow`: one test answering every question.
func questionsPlan(_ n: Int, flowFile: String) -> String {
    var out = "tests \"\(flowFile)\"\n\ntest \"every question\" {\n"
    for k in 0..<n { out += "  answer Q\(k) = \"a\(k)\"\n" }
    out += "  expect response \"a0 a\(n - 1)\"\n  expect outcome success\n}\n"
    return out
}

// MARK: - Processes: wall time and peak memory

struct ProcessFigures {
    var seconds: Double
    var peakKB: Int
    var status: Int32
    var timedOut: Bool
}

/// Runs `path` with `arguments` (standard input from `input`, output discarded) and returns its
/// wall time (or CPU time, with `--clock cpu`) and, with `memory`, its peak resident size; kills
/// it after `timeout` seconds. The peak comes from `/usr/bin/time`, which forks the command: a
/// child spawned straight from this process would count this process's pages in its peak
/// (Linux keeps the larger of the two across `exec` after `vfork`).
func measureProcess(_ path: String, _ arguments: [String], input: String = "/dev/null", timeout: Double = 60, memory: Bool = false) -> ProcessFigures {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("flow-bench-time-\(getpid()).txt").path
    let command = memory ? ["/usr/bin/time", "-f", "%M", "-o", report, path] + arguments : [path] + arguments
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let start = DispatchTime.now().uptimeNanoseconds
    guard posix_spawn(&pid, command[0], &actions, nil, argv, environ) == 0 else {
        return ProcessFigures(seconds: 0, peakKB: 0, status: -1, timedOut: false)
    }
    let child = pid
    let killer = DispatchWorkItem { kill(child, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    killer.cancel()
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    var peak = 0
    if memory {
        peak = Int((try? String(contentsOfFile: report, encoding: .utf8))?.split(separator: "\n").last.map { String($0) } ?? "") ?? 0
        try? FileManager.default.removeItem(atPath: report)
    }
    let signal = status & 0x7f
    var exit = signal == 0 ? (status >> 8) & 0xff : -signal
    // /usr/bin/time says how its command ended in its own status: killed is 128 + the signal.
    if memory && exit == 128 + SIGKILL { exit = -SIGKILL }
    return ProcessFigures(seconds: Clock.current == .cpu ? cpu : elapsed, peakKB: peak, status: exit,
                          timedOut: exit == -SIGKILL)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Median wall time and median peak memory of `runs` runs of one command.
func measureRuns(_ runs: Int, _ path: String, _ arguments: [String], input: String = "/dev/null", timeout: Double = 60, memory: Bool = true) -> (seconds: Double, peakKB: Double, failed: String?) {
    measureRuns(runs, path, each: [arguments], input: input, timeout: timeout, memory: memory)[0]
}

/// The same for each command of `commands`, their runs taken in turn (the first, the second, …,
/// `runs` times): a slow spell of the machine then falls on all of them, not on all the runs of
/// one (the two sizes of a scaling figure). A command that fails is not run again.
func measureRuns(_ runs: Int, _ path: String, each commands: [[String]], input: String = "/dev/null", timeout: Double = 60,
                 memory: Bool = true) -> [(seconds: Double, peakKB: Double, failed: String?)] {
    var times = [[Double]](repeating: [], count: commands.count)
    var peaks = [[Double]](repeating: [], count: commands.count)
    var failures = [(seconds: Double, failed: String)?](repeating: nil, count: commands.count)
    for _ in 0..<runs {
        for (k, arguments) in commands.enumerated() where failures[k] == nil {
            let f = measureProcess(path, arguments, input: input, timeout: timeout, memory: memory)
            if f.timedOut {
                failures[k] = (.infinity, "stopped after \(Int(timeout)) s of wall time")
            } else if f.status < 0 || f.status > 1 {
                failures[k] = (.nan, "exit \(f.status)")
            } else {
                times[k].append(f.seconds)
                peaks[k].append(Double(f.peakKB))
            }
        }
    }
    return commands.indices.map { k in
        if let failure = failures[k] { return (failure.seconds, .nan, failure.failed) }
        return (median(times[k]), median(peaks[k]), nil)
    }
}

// MARK: - The table

struct Row {
    var measure: String
    var target: String
    var figure: String
    var met: Bool?
    var command: String
}

func fmt(_ x: Double, _ digits: Int = 0) -> String {
    guard x.isFinite else { return "-" }
    let s = String(format: "%.\(digits)f", x)
    // Thousands separators on the whole part.
    let parts = s.split(separator: ".", maxSplits: 1)
    var whole = String(parts[0])
    let negative = whole.hasPrefix("-")
    if negative { whole.removeFirst() }
    var grouped = ""
    for (i, c) in whole.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { grouped.append(",") }
        grouped.append(c)
    }
    return (negative ? "-" : "") + String(grouped.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
}

func shell(_ command: String) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// In-process `check` of one file: median seconds over `runs` and the number of lines.
func checkInProcess(_ path: String, runs: Int, warmUp: Bool = true) -> (seconds: Double, lines: Int) {
    var times: [Double] = []
    var lines = 0
    if warmUp { warmUpCheck(path) }
    for _ in 0..<runs {
        let t = seconds {
            let compilation = try! Frontend.compile(path: path)
            lines = compilation.sources.files.reduce(0) { $0 + $1.lineStarts.count }
        }
        times.append(t)
    }
    return (median(times), lines)
}

/// One check untimed, as a process that goes on (an editor, a server) has checked before: the
/// first check of a process grows the heap (page faults, the allocator's arenas), and timed, it
/// made the first of five runs the slowest (101 to 165 ms for the generated file, against 85 to
/// 94 ms for the last, in four runs of `flow-bench all` at about 18:53 UTC on 2026-12-06), which
/// moved the median with it.
func warmUpCheck(_ path: String) {
    _ = try! Frontend.compile(path: path)
}

/// In-process `check` of two files, the runs alternating (`a`, then `b`, `runs` times), so that
/// a slow spell of the machine falls on both sizes of a scaling figure, not on one of them. The
/// ratio is the median of the ratios of each `b` to the `a` just before it: a spell that starts
/// or ends between two runs moves it less than it moves the ratio of the two medians (from
/// medians of 108.3 ms and 8.7 ms, one run at 12:20 on 2026-12-06 gave 12.4x).
func checkPairInProcess(_ a: String, _ b: String, runs: Int) -> (a: (seconds: Double, lines: Int), b: (seconds: Double, lines: Int), ratio: Double) {
    var timesA: [Double] = [], timesB: [Double] = []
    var linesA = 0, linesB = 0
    warmUpCheck(a)
    warmUpCheck(b)
    for _ in 0..<runs {
        let one = checkInProcess(a, runs: 1, warmUp: false)
        let other = checkInProcess(b, runs: 1, warmUp: false)
        timesA.append(one.seconds)
        timesB.append(other.seconds)
        linesA = one.lines
        linesB = other.lines
    }
    return ((median(timesA), linesA), (median(timesB), linesB), median(zip(timesB, timesA).map { $0 / $1 }))
}

func allBenchmarks(arguments: [String]) {
    var runs = 5
    var peer = true
    var quick = false
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--runs" where i + 1 < arguments.count: runs = max(1, Int(arguments[i + 1]) ?? 5); i += 1
        case "--no-peer": peer = false
        case "--quick": quick = true
        case "--clock" where i + 1 < arguments.count:
            guard let clock = Clock(rawValue: arguments[i + 1]) else {
                FileHandle.standardError.write("flow-bench all: --clock is wall or cpu\n".data(using: .utf8)!)
                exit(64)
            }
            Clock.current = clock
            i += 1
        default:
            FileHandle.standardError.write("flow-bench all: unknown option '\(arguments[i])'\nusage: flow-bench all [--runs N] [--clock wall|cpu] [--no-peer] [--quick]\n".data(using: .utf8)!)
            exit(64)
        }
        i += 1
    }
    guard FileManager.default.fileExists(atPath: "flows/payment.flow") else {
        FileHandle.standardError.write("flow-bench all: run it from the package's root (flows/payment.flow is read)\n".data(using: .utf8)!)
        exit(66)
    }
    let products = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        .deletingLastPathComponent()
    let flow = products.appendingPathComponent("flow").path
    guard FileManager.default.isExecutableFile(atPath: flow) else {
        FileHandle.standardError.write("flow-bench all: no 'flow' beside flow-bench (\(flow)); build both: swift build -c release\n".data(using: .utf8)!)
        exit(66)
    }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("flow-bench-\(getpid())")
    try! FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    func write(_ name: String, _ text: String) -> String {
        let path = work.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
    func size(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
    let small = quick ? 1_000 : 10_000
    let large = small * 10
    let loadBefore = loadAverage()
    let started = Date()
    var rows: [Row] = []
    func progress(_ s: String) { FileHandle.standardError.write("flow-bench all: \(s)\n".data(using: .utf8)!) }

    // --- check
    progress("check")
    let generated = write("generated.flow", generate(lines: large))
    let g = checkInProcess(generated, runs: runs)
    rows.append(Row(measure: "`flow check` of a generated \(fmt(Double(g.lines)))-line file (\(fmt(Double(size(generated)) / 1e6, 2)) MB, many flows), in process, median of \(runs)",
                    target: "1,000,000 lines/s", figure: "\(fmt(Double(g.lines) / g.seconds)) lines/s (\(fmt(g.seconds * 1000, 1)) ms)",
                    met: Double(g.lines) / g.seconds >= 1_000_000, command: "flow-bench generate \(large) > big.flow; flow-bench check big.flow"))
    let tiny = write("tiny.flow", "flow Tiny {\n  response \"hi\"\n}\n")
    let baseline = measureRuns(runs, flow, ["check", tiny])
    for (shape, make) in [("questions", questionsFlow), ("set lines", setsFlow)] as [(String, (Int) -> String)] {
        let tag = shape == "questions" ? "questions" : "sets"
        let a = write("\(tag)-\(small).flow", make(small))
        let b = write("\(tag)-\(large).flow", make(large))
        let (ca, cb, ratio) = checkPairInProcess(a, b, runs: runs)
        let rate = Double(cb.lines) / cb.seconds
        rows.append(Row(measure: "`flow check` of one flow of \(fmt(Double(large))) \(shape) (\(fmt(Double(size(b)) / 1e6, 2)) MB), in process, median of \(runs)",
                        target: "1,000,000 lines/s", figure: "\(fmt(rate)) lines/s (\(fmt(cb.seconds * 1000, 1)) ms)", met: rate >= 1_000_000,
                        command: "flow-bench generate \(large) --shape \(tag) > f.flow; flow-bench check f.flow"))
        rows.append(Row(measure: "  time scaling: one flow of \(fmt(Double(large))) \(shape) against \(fmt(Double(small)))", target: "12x or less",
                        figure: String(format: "%.1fx, the median of %d paired runs (medians %@ ms against %@ ms)", ratio, runs, fmt(cb.seconds * 1000, 1), fmt(ca.seconds * 1000, 1)),
                        met: ratio <= 12, command: "the same, at \(small) and \(large)"))
        let ma = measureRuns(runs, flow, ["check", a])
        let mb = measureRuns(runs, flow, ["check", b])
        let growthA = ma.peakKB - baseline.peakKB
        let growthB = mb.peakKB - baseline.peakKB
        let times = (mb.peakKB - baseline.peakKB) * 1024 / Double(size(b))
        rows.append(Row(measure: "  peak memory of the whole `flow check` process on the \(fmt(Double(large)))-\(tag == "sets" ? "line" : "question") flow, over a one-line flow's (\(fmt(baseline.peakKB / 1024, 1)) MB), median of \(runs)",
                        target: "under 20x the file", figure: String(format: "%.1fx the file (%@ MB; whole process %@ MB, %.2f s)", times, fmt(growthB / 1024, 1), fmt(mb.peakKB / 1024, 1), mb.seconds),
                        met: times < 20, command: "/usr/bin/time -v flow check f.flow"))
        rows.append(Row(measure: "  memory scaling: growth at \(fmt(Double(large))) \(shape) against \(fmt(Double(small)))", target: "12x or less",
                        figure: String(format: "%.1fx (%@ MB against %@ MB)", growthB / max(growthA, 1), fmt(growthB / 1024, 1), fmt(growthA / 1024, 1)),
                        met: growthB / max(growthA, 1) <= 12, command: "the same, at \(small) and \(large)"))
    }

    // --- run: pages answered from --answers, `back` available at each
    progress("run")
    let runArguments = [small, large].map { n in
        ["run", write("pages-\(n).flow", questionsFlow(n)), "--answers", write("pages-\(n).json", questionsAnswers(n)), "--max-steps", "10000000"]
    }
    let runFigures = measureRuns(max(1, runs / 2), flow, each: runArguments, timeout: 120)
    let r0 = runFigures[0], r1 = runFigures[1]
    rows.append(Row(measure: "`flow run` of one flow of \(fmt(Double(large))) pages answered from `--answers` (`back` available at each), whole process, median of \(max(1, runs / 2))",
                    target: "under 1 s", figure: r1.failed ?? String(format: "%.2f s (%@ MB peak)", r1.seconds, fmt(r1.peakKB / 1024, 1)),
                    met: r1.failed == nil && r1.seconds < 1, command: "flow-bench generate \(large) --shape questions > p.flow; flow-bench answers \(large) > a.json; flow run p.flow --answers a.json --max-steps 10000000"))
    rows.append(Row(measure: "  time scaling: \(fmt(Double(large))) pages against \(fmt(Double(small)))", target: "12x or less",
                    figure: r1.failed ?? r0.failed ?? String(format: "%.1fx (%.2f s against %.2f s)", r1.seconds / r0.seconds, r1.seconds, r0.seconds),
                    met: r1.failed == nil && r1.seconds / r0.seconds <= 12, command: "the same, at \(small) and \(large)"))
    if r1.failed == nil && r0.failed == nil {
        let ga = r0.peakKB - baseline.peakKB, gb = r1.peakKB - baseline.peakKB
        rows.append(Row(measure: "  memory scaling: growth at \(fmt(Double(large))) pages against \(fmt(Double(small)))", target: "12x or less",
                        figure: String(format: "%.1fx (%@ MB against %@ MB)", gb / max(ga, 1), fmt(gb / 1024, 1), fmt(ga / 1024, 1)),
                        met: gb / max(ga, 1) <= 12, command: "the same, at \(small) and \(large)"))
    }

    // --- test, explore and fmt on growing inputs
    //
    // The memory figures are growths over the one-line check (`baseline`), except fmt's: `flow
    // fmt` compiles nothing, so its own start is below a check's, and over that baseline its
    // growth at 10,000 lines (about 1.4 MB, since fmt no longer holds the syntax tree) was half
    // the difference of the two starts. fmt's figure is its growth over its own run on the
    // generator's smallest file, at 30,000 and 300,000 lines: at 10,000 it adds about 2 MB to
    // its own start, too little to tell from the allocator's free space and the runs' noise.
    progress("test, explore, fmt")
    let tSmall = small / 10, tLarge = large / 10
    var scaling: [(String, String, String, (Int) -> (String, [String]))] = []
    scaling.append(("`flow test` of a plan answering every question of one flow", "pages", "flow test q.flowtest", { n in
        _ = write("plan-\(n).flow", questionsFlow(n))
        return ("plan-\(n).flowtest", ["test", write("plan-\(n).flowtest", questionsPlan(n, flowFile: "plan-\(n).flow"))])
    }))
    scaling.append(("`flow explore --max-runs 20` of one flow", "pages", "flow explore q.flow --max-runs 20", { n in
        ("explore-\(n).flow", ["explore", write("explore-\(n).flow", questionsFlow(n)), "--max-runs", "20", "--max-steps", "10000000"])
    }))
    scaling.append(("`flow fmt --check` of a generated file", "lines", "flow fmt --check big.flow", { n in
        ("fmt-\(n).flow", ["fmt", "--check", write("fmt-\(n).flow", generate(lines: n * 10))])
    }))
    for (what, unit, command, make) in scaling {
        let isFmt = unit == "lines"
        let sizeA = isFmt ? tSmall * 3 : tSmall, sizeB = isFmt ? tLarge * 3 : tLarge
        let (_, argsA) = make(sizeA)
        let (_, argsB) = make(sizeB)
        let unitA = isFmt ? sizeA * 10 : sizeA, unitB = isFmt ? sizeB * 10 : sizeB
        let figures = measureRuns(max(1, runs / 2), flow, each: isFmt ? [argsA, argsB, make(1).1] : [argsA, argsB], timeout: 120)
        let a = figures[0], b = figures[1]
        let reference = isFmt ? figures[2] : baseline
        let failed = b.failed ?? a.failed ?? reference.failed
        rows.append(Row(measure: "\(what): \(fmt(Double(unitB))) \(unit) against \(fmt(Double(unitA))), time, whole process, median of \(max(1, runs / 2))",
                        target: "12x or less", figure: failed ?? String(format: "%.1fx (%.3f s against %.3f s)", b.seconds / a.seconds, b.seconds, a.seconds),
                        met: failed == nil && b.seconds / a.seconds <= 12, command: "\(command) (flow-bench generate N --shape \(isFmt ? "many" : "questions"))"))
        if failed == nil {
            let ga = a.peakKB - reference.peakKB, gb = b.peakKB - reference.peakKB
            let over = isFmt ? ", over `flow fmt --check` of the generator's smallest file (\(fmt(reference.peakKB / 1024, 1)) MB)" : ""
            rows.append(Row(measure: "  memory: growth at \(fmt(Double(unitB))) \(unit) against \(fmt(Double(unitA)))\(over)", target: "12x or less",
                            figure: String(format: "%.1fx (%@ MB against %@ MB)", gb / max(ga, 1), fmt(gb / 1024, 1), fmt(ga / 1024, 1)),
                            met: gb / max(ga, 1) <= 12, command: "the same"))
        }
    }

    // --- the run loop and sessions, in process
    progress("run loop, sessions")
    let loop = (0..<runs).map { _ in runLoop() }
    let stepsPerSecond = median(loop.map { Double($0.steps) / $0.seconds })
    rows.append(Row(measure: "a loop of `set`, arithmetic, `if` and `goto`, \(fmt(Double(loop[0].steps))) element steps, in process, median of \(runs)",
                    target: "15,000,000 steps/s", figure: "\(fmt(stepsPerSecond / 1e6, 1)) million steps/s", met: stepsPerSecond >= 15_000_000,
                    command: "flow-bench run-loop"))
    let payment = try! Frontend.compile(path: "flows/payment.flow").program!
    let sessionCount = quick ? 10_000 : 100_000
    let canned = Canned(payment)
    _ = try! completeSession(payment, canned)
    let rates = (0..<runs).map { _ in Double(sessionCount) / seconds { for _ in 0..<sessionCount { _ = try! completeSession(payment, canned) } } }
    let sessionsPerSecond = median(rates)
    rows.append(Row(measure: "the payment flow start to finish through the library API (answer, tokenizer and charge results canned), \(fmt(Double(sessionCount))) sessions, median of \(runs)",
                    target: "150,000 sessions/s", figure: "\(fmt(sessionsPerSecond)) sessions/s (\(fmt(1e6 / sessionsPerSecond, 2)) µs each)",
                    met: sessionsPerSecond >= 150_000, command: "flow-bench sessions flows/payment.flow \(sessionCount)"))
    // In a process of its own: in this one the memory freed by the benchmarks before would be
    // reused by the sessions and hide their growth (it showed 404 bytes a session, against 1,146).
    let held = suspendedSessionsInOwnProcess(products.appendingPathComponent("flow-bench").path, count: sessionCount)
    rows.append(Row(measure: "\(fmt(Double(sessionCount))) sessions held at once, each waiting at the payment question (growth of resident memory)",
                    target: "2 KB each or less", figure: "\(fmt(held.bytesEach)) bytes each (\(fmt(held.totalMB)) MB in all)", met: held.bytesEach > 0 && held.bytesEach <= 2048,
                    command: "flow-bench suspended flows/payment.flow \(sessionCount)"))

    // --- start-up: whole processes
    progress("start-up")
    let startRuns = quick ? 10 : 30
    let version = measureRuns(startRuns, flow, ["--version"], memory: false)
    let checkPayment = measureRuns(startRuns, flow, ["check", "flows/payment.flow"], memory: false)
    let versionPeak = measureRuns(1, flow, ["--version"]).peakKB
    rows.append(Row(measure: "`flow check flows/payment.flow`, \(Clock.current == .cpu ? "CPU time" : "wall time") of the whole process, median of \(startRuns)", target: "under 10 ms",
                    figure: String(format: "%.1f ms", checkPayment.seconds * 1000),
                    met: checkPayment.seconds < 0.010, command: "hyperfine -N 'flow check flows/payment.flow'"))
    rows.append(Row(measure: "`flow --version`, \(Clock.current == .cpu ? "CPU time" : "wall time") of the whole process, median of \(startRuns)", target: "",
                    figure: String(format: "%.1f ms (%@ MB peak)", version.seconds * 1000, fmt(versionPeak / 1024, 1)), met: nil,
                    command: "hyperfine -N 'flow --version'"))

    // --- IP calls against curl
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") {
        progress("ip calls")
        let ip = ipCalls(count: 1000, runs: runs)
        rows.append(Row(measure: "1,000 sequential IP calls (form POST, bearer auth, JSON mapped to outputs) to a local HTTP/1.1 server, against curl sending the same over one kept-alive connection, alternating, median of \(runs)",
                        target: "within 1.3x curl", figure: String(format: "%.2fx curl (%.0f ms against %.0f ms)", ip.flow / ip.curl, ip.flow * 1000, ip.curl * 1000),
                        met: ip.flow / ip.curl <= 1.3, command: "flow-bench ip-calls 1000"))
    }

    // --- the peer
    if peer {
        progress("peer: SpiffWorkflow")
        let spiffCount = quick ? 200 : 2000
        switch spiffSessions(count: spiffCount, runs: max(1, runs / 2)) {
        case .success(let (rate, version)):
            rows.append(Row(measure: "peer: SpiffWorkflow \(version) (Python \(shell("python3 -c 'import platform; print(platform.python_version())'"))) running a payment-like BPMN process (user task for the amount, tokenize and charge as canned service steps, a gateway on the status) start to finish, \(fmt(Double(spiffCount))) sessions, median of \(max(1, runs / 2))",
                            target: "(for comparison)", figure: String(format: "%@ sessions/s; flow is %@x faster", fmt(rate), fmt(sessionsPerSecond / rate)),
                            met: nil, command: "flow-bench all (installs SpiffWorkflow into .build/flow-bench/venv)"))
        case .failure(let reason):
            rows.append(Row(measure: "peer: SpiffWorkflow running a payment-like BPMN process", target: "(for comparison)", figure: "not run: \(reason.text)", met: nil,
                            command: "flow-bench all"))
        }
    }

    // Outside a checkout (a copy of the sources), FLOW_BENCH_COMMIT says which commit it is.
    let commit = ProcessInfo.processInfo.environment["FLOW_BENCH_COMMIT"] ?? shell("git rev-parse --short HEAD")
    let dirty = shell("git status --porcelain --untracked-files=no").isEmpty ? "" : " with uncommitted changes"
    let date = ISO8601DateFormatter().string(from: started)
    print("Measured \(date) at commit \(commit.isEmpty ? "?" : commit)\(dirty), release build, \(Clock.current == .cpu ? "CPU time (user + system) where it says time" : "wall time"), \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(loadBefore) before and \(loadAverage()) after (\(fmt(Date().timeIntervalSince(started))) s); `flow-bench all\(arguments.isEmpty ? "" : " " + arguments.joined(separator: " "))`.")
    print("")
    print("| measure | target | figure | met | command |")
    print("|---|---|---|---|---|")
    for r in rows {
        let met = r.met.map { $0 ? "yes" : "**no**" } ?? ""
        print("| \(r.measure) | \(r.target) | \(r.figure) | \(met) | `\(r.command)` |")
    }
}

struct Reason: Error { let text: String }

// MARK: - Pieces shared with the single benchmarks

/// One run of the loop benchmark: steps and seconds.
func runLoop() -> (steps: Int, seconds: Double) {
    let program = Frontend.compile(source: runLoopSource).program!
    var steps = 0
    let t = try! seconds {
        let session = try Session(program: program, options: RuntimeOptions(maxSteps: 100_000_000))
        _ = try session.start()
        steps = session.state.steps
    }
    return (steps, t)
}

let runLoopSource = """
    flow Loop {
      set i = 0
      set total = 0
      label Again
      set i += 1
      set total = total + i * 2 - 1
      if i < 2000000 {
        goto Again
      }
      response "{total}"
    }
    """

/// `flow-bench suspended flows/payment.flow COUNT` run as a child: the bytes each session added and
/// the megabytes in all, read from its line (`… hold 109 MB, 1146 bytes each …`); zeros when it fails.
func suspendedSessionsInOwnProcess(_ bench: String, count: Int) -> (bytesEach: Double, totalMB: Double) {
    let line = shell("'\(bench)' suspended flows/payment.flow \(count)")
    let words = line.split(separator: " ")
    func number(before word: String) -> Double {
        guard let i = words.firstIndex(where: { $0.hasPrefix(word) }), i > 0 else { return 0 }
        return Double(words[i - 1]) ?? 0
    }
    return (number(before: "bytes"), number(before: "MB"))
}

// MARK: - SpiffWorkflow

/// A payment-like process in BPMN: the amount asked (a user task), the card tokenized and
/// charged (canned results, as flow's benchmark cans the extension and the IP), a gateway on
/// the charge's status, a response either way.
let spiffScript = #"""
import sys, time, statistics
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
import SpiffWorkflow

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="payment" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="amount" name="Embedded Payment"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="tokenize" name="Tokenize"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>token = "x1"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="charge" name="StripeCharge"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>description = "Phone payment of " + str(amount)
result = {"id": "x1", "status": "succeeded", "paid": True, "amount": int(round(amount * 100))}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="paid" default="f6"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing><bpmn:outgoing>f6</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:scriptTask id="failed" name="Not paid"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>
      <bpmn:script>response = "The payment did not go through"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="ok" name="Paid"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing>
      <bpmn:script>response = "You paid " + str(amount) + ". Your charge reference is " + result["id"] + "."</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f8</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="amount"/>
    <bpmn:sequenceFlow id="f2" sourceRef="amount" targetRef="tokenize"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tokenize" targetRef="charge"/>
    <bpmn:sequenceFlow id="f4" sourceRef="charge" targetRef="paid"/>
    <bpmn:sequenceFlow id="f5" sourceRef="paid" targetRef="failed"><bpmn:conditionExpression>not result["paid"] or result["status"] != "succeeded"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f6" sourceRef="paid" targetRef="ok"/>
    <bpmn:sequenceFlow id="f7" sourceRef="failed" targetRef="end1"/>
    <bpmn:sequenceFlow id="f8" sourceRef="ok" targetRef="end2"/>
  </bpmn:process>
</bpmn:definitions>
"""

count, runs = int(sys.argv[1]), int(sys.argv[2])
# The same clock as flow's figures: CPU time of the process with --clock cpu, else wall time.
clock = time.process_time if len(sys.argv) > 3 and sys.argv[3] == "cpu" else time.perf_counter
parser = BpmnParser()
parser.add_bpmn_str(BPMN.encode())
spec = parser.get_spec("payment")

def session():
    wf = BpmnWorkflow(spec)
    wf.do_engine_steps()
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        task.data["amount"] = 4.00
        task.run()
    wf.do_engine_steps()
    assert wf.is_completed(), "the process did not finish"
    return wf.data.get("response") or wf.last_task.data.get("response")

assert session().startswith("You paid 4.0"), session()
rates = []
for _ in range(runs):
    t = clock()
    for _ in range(count):
        session()
    rates.append(count / (clock() - t))
version = getattr(SpiffWorkflow, "__version__", None)
if version is None:
    from importlib.metadata import version as v
    version = v("SpiffWorkflow")
print(statistics.median(rates), version)
"""#

func spiffSessions(count: Int, runs: Int) -> Result<(Double, String), Reason> {
    let cache = URL(fileURLWithPath: ".build/flow-bench")
    let venv = cache.appendingPathComponent("venv")
    let python = venv.appendingPathComponent("bin/python").path
    if !FileManager.default.isExecutableFile(atPath: python) {
        try? FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let made = shell("python3 -m venv \(venv.path) >/dev/null 2>&1 && \(python) -m pip install -q 'SpiffWorkflow>=3,<4' >/dev/null 2>&1 && echo ok")
        guard made == "ok" else { return .failure(Reason(text: "could not install SpiffWorkflow into \(venv.path) with pip")) }
    }
    let script = FileManager.default.temporaryDirectory.appendingPathComponent("flow-bench-spiff-\(getpid()).py")
    try? spiffScript.write(to: script, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: script) }
    let out = shell("\(python) \(script.path) \(count) \(runs) \(Clock.current.rawValue) 2>&1")
    let parts = out.split(separator: "\n").last?.split(separator: " ") ?? []
    guard parts.count == 2, let rate = Double(parts[0]) else { return .failure(Reason(text: "the script failed: \(out.suffix(200))")) }
    return .success((rate, String(parts[1])))
}
