/// Writes a JSONValue as text: compact (one line, for logs and hooks' stdin) or
/// indented with two spaces (what `state` prints, as runc does).
public enum JSONWriter {
    public static func write(_ v: JSONValue, indent: Bool = false) -> String {
        var out = ""
        emit(v, into: &out, indent: indent ? 0 : nil)
        return out
    }

    private static func emit(_ v: JSONValue, into out: inout String, indent: Int?) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                emit(item, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (k, pair) in pairs.enumerated() {
                if k > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                quote(pair.0, into: &out)
                out += indent == nil ? ":" : ": "
                emit(pair.1, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ level: Int?) {
        guard let level else { return }
        out += "\n" + String(repeating: "  ", count: level)
    }

    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Nearly every string in a config, a state or a record needs no
        // escape: one scan of its bytes, then one append. Walking each one
        // scalar by scalar was most of what writing state.json cost (perf).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    public static func quote(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }
}
