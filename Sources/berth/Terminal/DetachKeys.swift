/// The key sequence that detaches from an attached container (Docker's
/// `--detach-keys`, default "ctrl-p,ctrl-q"), and a matcher that watches the
/// input for it.
struct DetachKeys: Equatable {
    static let defaultSpec = "ctrl-p,ctrl-q"
    static let `default` = try! DetachKeys(defaultSpec)

    let bytes: [UInt8]

    /// Docker's syntax: keys separated by commas; a key is one character
    /// ("a", "Q"), "ctrl-X" for X in a…z, @, [, \, ], ^, _ (ctrl-@ is 0x00,
    /// ctrl-a 0x01 … ctrl-_ 0x1f), or "DEL" (0x7f).
    init(_ spec: String) throws(OptionError) {
        var out: [UInt8] = []
        for key in spec.split(separator: ",", omittingEmptySubsequences: false) {
            if key.utf8.count == 1 {
                out.append(key.utf8.first!)
                continue
            }
            if key == "DEL" { out.append(127); continue }
            if key.hasPrefix("ctrl-"), key.utf8.count == 6 {
                let c = key.utf8.last!
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): out.append(c - UInt8(ascii: "a") + 1); continue
                case UInt8(ascii: "@"): out.append(0); continue
                case UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "^"), UInt8(ascii: "_"):
                    out.append(c - UInt8(ascii: "@")); continue
                default: break
                }
            }
            throw OptionError("Unknown character: '\(key)'")
        }
        bytes = out
    }

    /// Watches input for the sequence. Bytes that might start it are held
    /// back; when the next byte does not continue it they are passed on with it.
    struct Matcher {
        let keys: [UInt8]
        private(set) var held = 0

        init(_ keys: DetachKeys) { self.keys = keys.bytes }

        /// What to forward from this chunk of input, and whether the sequence
        /// is complete (then the rest of the chunk is dropped).
        mutating func feed<C: Collection>(_ chunk: C) -> (forward: [UInt8], detach: Bool) where C.Element == UInt8 {
            guard !keys.isEmpty else { return (Array(chunk), false) }
            var out: [UInt8] = []
            out.reserveCapacity(chunk.count)
            for b in chunk {
                if b == keys[held] {
                    held += 1
                    if held == keys.count {
                        held = 0
                        return (out, true)
                    }
                    continue
                }
                if held > 0 {
                    out += keys[0..<held]
                    held = 0
                    // This byte may itself start the sequence.
                    if b == keys[0] {
                        held = 1
                        if held == keys.count { return (out, true) }
                        continue
                    }
                }
                out.append(b)
            }
            return (out, false)
        }
    }
}
