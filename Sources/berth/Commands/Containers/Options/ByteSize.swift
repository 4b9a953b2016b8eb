/// Sizes and CPU counts as Docker's flags take them.
enum ByteSize {
    /// go-units RAMInBytes: "512m", "1g", "1.5G", "100k", "1024", "64MiB", "2 GB":
    /// binary multipliers (k = 1024) whatever the suffix's case, an optional
    /// "i" and "b".
    static func parse(_ text: String) throws(OptionError) -> Int64 {
        let bad = OptionError("invalid size: '\(text)'")
        var s = Substring(text)
        // Number: digits with optional fractional parts.
        var number = ""
        while let c = s.first, c.isASCII, c.isNumber || c == "." { number.append(c); s.removeFirst() }
        guard let first = number.first, first.isNumber, !number.hasSuffix("."), !number.contains("..") else { throw bad }
        if s.first == " " { s.removeFirst() }
        var multiplier: Double = 1
        if let c = s.first, let power = "kmgtp".firstIndex(of: Character(c.lowercased())) {
            multiplier = pow1024("kmgtp".distance(from: "kmgtp".startIndex, to: power) + 1)
            s.removeFirst()
        }
        if let c = s.first, c == "i" || c == "I" { s.removeFirst() }
        if let c = s.first, c == "b" || c == "B" { s.removeFirst() }
        guard s.isEmpty else { throw bad }
        // "1.2.3" is accepted by Docker's pattern but ParseFloat refuses it.
        guard let v = Double(number) else { throw bad }
        let bytes = v * multiplier
        guard bytes < 9.2e18 else { throw bad }
        return Int64(bytes)
    }

    private static func pow1024(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 1024 } }

    /// `--memory-swap`: -1 is unlimited swap.
    static func parseSwap(_ text: String) throws(OptionError) -> Int64 {
        text == "-1" ? -1 : try parse(text)
    }

    /// `--cpus 1.5` → 1 500 000 000 nano CPUs (Docker's NanoCPUs, exact decimal).
    static func nanoCPUs(_ text: String) throws(OptionError) -> Int64 {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], frac = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && frac.isEmpty), whole.allSatisfy({ $0.isASCII && $0.isNumber }),
              frac.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw OptionError("failed to parse \(text) as a rational number")
        }
        if frac.count > 9 && frac.dropFirst(9).contains(where: { $0 != "0" }) { throw OptionError("value is too precise") }
        guard let w = Int64(whole.isEmpty ? "0" : whole), w < 9_000_000_000 else { throw OptionError("value is too large") }
        let f = Int64((frac.prefix(9) + String(repeating: "0", count: max(0, 9 - frac.count))).prefix(9)) ?? 0
        return w * 1_000_000_000 + f
    }
}
