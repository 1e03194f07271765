extension SessionState {
    /// Whether a state read from outside (a session file, a store) can be run with `program`:
    /// every index it holds points into the program, and every array has the length the program
    /// gives it. A state that does not fit is refused before a `Session` touches it, so a damaged
    /// or forged state is an error, never a crash. (Values of the wrong type are caught by the
    /// evaluator as run-time errors, as always.)
    public func fits(_ program: Program) -> Bool {
        func frameFits(_ f: Frame) -> Bool {
            guard program.flows.indices.contains(f.flow) else { return false }
            let flow = program.flows[f.flow]
            guard flow.elements.indices.contains(f.pc), f.locals.count == flow.variables.count,
                  f.answers.count == flow.pages.count
            else { return false }
            for (p, answers) in f.answers.enumerated() {
                if let answers, answers.count != flow.pages[p].questions.count { return false }
            }
            return true
        }
        func framesFit(_ frames: [Frame]) -> Bool {
            guard !frames.isEmpty || outcome != nil else { return false }
            // Every frame below the top waits at a sub-flow call.
            for (k, f) in frames.enumerated() {
                guard frameFits(f) else { return false }
                if k < frames.count - 1 {
                    guard case .call(let info) = program.flows[f.flow].elements[f.pc].kind, case .flow = info.target else { return false }
                }
            }
            return true
        }
        guard framesFit(frames), sessionValues.count == program.sessionVariables.count, steps >= 0,
              configValues.count == program.configs.count
        else { return false }
        for c in history where !framesFit(c.frames) || c.sessionValues.count != program.sessionVariables.count {
            return false
        }
        guard effects.nextSequence >= 1 else { return false }
        for record in effects.completed + effects.replay + (effects.inFlight.map { [$0] } ?? []) {
            guard program.flows.indices.contains(record.flow), program.flows[record.flow].elements.indices.contains(record.element),
                  record.sequence >= 1, record.sequence < effects.nextSequence
            else { return false }
        }
        return true
    }
}
