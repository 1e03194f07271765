/// Division, or a remainder, by a value known to be zero: a literal `0`, or a config declared as 0
/// (a warning then, since `--define` could change it).
///
///     set tries += 1 / 0            // error: division by zero
struct DivisionByZero {
    let checks: ValueChecks

    func check(_ e: IRExpr) {
        withUnsafePointer(to: e) { check(at: $0) }
    }

    /// The operator is tested in place: most expressions are not divisions, and copying them costs.
    func check(at p: UnsafePointer<IRExpr>) {
        guard case .binary(let op, _) = p.pointee.kind, op == .divide || op == .remainder,
              case .binary(_, let lr) = p.pointee.kind,
              let c = checks.values.constant(lr.second), case .number(let n) = c.value, n.isZero else { return }
        let e = p.pointee
        checks.out.checkedRanges.insert(e.range)
        checks.report(.zeroDivisor, e.range, configs: c.configs, label: "'\(op.rawValue)' by a value that is always 0",
                      hint: op == .divide ? "divide by a value that cannot be 0, or test it first: if count > 0 { … }" : nil)
    }
}
