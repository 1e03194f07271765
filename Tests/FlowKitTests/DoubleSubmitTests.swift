@testable import FlowKit
import Foundation
import XCTest

/// The same reply twice (a double submit, a retried request) at the library level, over every
/// example flow: at every step the state is snapshotted, the host's reply is applied to two
/// sessions restored from the same snapshot, and both must make the same calls with the same
/// effect identities (a session is deterministic in its state); a session already past that step
/// must refuse the stale reply (`run.unexpectedReply`) when it waits for something of another kind.
final class DoubleSubmitTests: XCTestCase {
    private func plausible(_ q: QuestionRequest) -> String {
        if let d = q.defaultValue, let typed = ExploreSearch.typed(d, q) { return typed }
        switch q.type {
        case .number: return "1"
        case .currency: return "10.00"
        case .yesno: return "yes"
        case .choice, .choices: return "1"
        case .date: return "2026-01-15"
        case .email: return "a@example.com"
        case .password: return "1234"
        case .text: return "abc"
        }
    }

    private func reply(_ step: Step, _ program: Program) -> Reply? {
        switch step {
        case .ask(let page):
            var typed: [String: String] = [:]
            for q in page.questions { typed[q.reference] = plausible(q) }
            return .answers(typed)
        case .callIP(let c):
            guard let ip = program.integrationPoints.first(where: { $0.name == c.name }) else { return nil }
            var outputs: [String: Value] = [:]
            for o in ip.outputs { outputs[o.name] = .null }
            return .result(outputs)
        case .runExtension(let c):
            guard let ext = program.extensions.first(where: { $0.name == c.name }) else { return nil }
            var outputs: [String: Value] = [:]
            for o in ext.outputs { outputs[o.name] = .null }
            return .result(outputs)
        case .finished: return nil
        }
    }

    private func encoded(_ s: SessionState) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(s)
    }

    private func describe(_ step: Step) -> String {
        switch step {
        case .ask(let p): return "ask \(p.name) problems=\(p.problems.sorted { $0.key < $1.key })"
        case .callIP(let c), .runExtension(let c):
            return "call \(c.name) #\(c.effect.sequence) \(c.effect.idempotencyKey) \(Session.fingerprint(c.arguments))"
        case .finished(let o): return "finished \(o.success)"
        }
    }

    private func sameKind(_ a: Step, _ b: Step) -> Bool {
        switch (a, b) {
        // Calls are told apart by their effects: a host answers them with `resume(_:answering:)`.
        case (.ask, .ask), (.finished, .finished): return true
        default: return false
        }
    }

    func testTheSameReplyTwiceIsDeterministicAndAStaleOneIsRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let flows = root.appendingPathComponent("flows")
        let names = try FileManager.default.contentsOfDirectory(atPath: flows.path).filter { $0.hasSuffix(".flow") }.sorted()
        XCTAssertFalse(names.isEmpty)
        var steps = 0, refusals = 0
        for name in names {
            let program = try XCTUnwrap(try Frontend.compile(path: flows.appendingPathComponent(name).path).program, name)
            let options = RuntimeOptions(sessionID: "double-submit", today: { "2026-01-15" })
            var session = try Session(program: program, options: options)
            var step = try session.start().step
            for _ in 0..<60 {
                guard let r = reply(step, program) else { break }
                let snapshot = session.state
                let a = Session(program: program, state: snapshot, options: options)
                let b = Session(program: program, state: try JSONDecoder().decode(SessionState.self, from: encoded(snapshot)), options: options)
                let ra: Result<Step, RuntimeError>, rb: Result<Step, RuntimeError>
                do throws(RuntimeError) { ra = .success(try a.resume(r).step) } catch { ra = .failure(error) }
                do throws(RuntimeError) { rb = .success(try b.resume(r).step) } catch { rb = .failure(error) }
                switch (ra, rb) {
                case (.success(let x), .success(let y)):
                    XCTAssertEqual(describe(x), describe(y), "\(name): the same reply gave different steps")
                    XCTAssertEqual(try encoded(a.state), try encoded(b.state), "\(name): the same reply gave different states")
                case (.failure(let x), .failure(let y)):
                    XCTAssertEqual(x.diagnostic.id, y.diagnostic.id, name)
                default:
                    XCTFail("\(name): one copy failed, the other did not")
                }
                guard case .success(let next) = ra else { break }
                steps += 1
                // The session past the step, given the stale reply again.
                if case .ask(let p) = next, !p.problems.isEmpty { break }
                if case .finished = next { break }
                if !sameKind(step, next) {
                    let past = Session(program: program, state: a.state, options: options)
                    let before = try encoded(past.state)
                    do throws(RuntimeError) {
                        let s: StepResult
                        switch step {
                        case .callIP(let c), .runExtension(let c): s = try past.resume(r, answering: c.effect)
                        default: s = try past.resume(r)
                        }
                        XCTFail("\(name): a stale \(r.kindDescription) was applied: \(describe(s.step))")
                    } catch {
                        XCTAssertEqual(error.diagnostic.id, "run.unexpectedReply", name)
                        refusals += 1
                    }
                    XCTAssertEqual(try encoded(past.state), before, "\(name): a refused reply changed the state")
                }
                session = a
                step = next
            }
        }
        XCTAssertGreaterThan(steps, 5)
        XCTAssertGreaterThan(refusals, 0)
    }
}
