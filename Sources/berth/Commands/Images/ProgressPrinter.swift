import Glibc
import RPC

/// Prints pull and push progress as Docker does. On a terminal each layer has
/// a line that is rewritten in place (`ID: Downloading [====>   ]  1.2MB/4.5MB`);
/// otherwise every change of a layer's state is one line and byte counts are
/// left out, so logs stay readable.
final class ProgressPrinter {
    let terminal: Bool
    let quiet: Bool
    private var order: [String] = []
    private var lines: [String: String] = [:]
    private var lastStatus: [String: String] = [:]

    init(terminal: Bool, quiet: Bool = false) {
        self.terminal = terminal
        self.quiet = quiet
    }

    func show(_ p: BerthAPI.PullProgress) {
        if quiet { return }
        guard let id = p.id else {
            Output.line(p.status)
            return
        }
        var text = "\(id): \(p.status)"
        if let cur = p.current, let total = p.total, total > 0 {
            text += " " + Self.bar(cur, total)
        }
        if !terminal {
            if lastStatus[id] == p.status { return }
            lastStatus[id] = p.status
            Output.line("\(id): \(p.status)")
            return
        }
        if lines[id] == nil {
            order.append(id)
            lines[id] = text
            Output.line(text)
            return
        }
        lines[id] = text
        // Up to the layer's line, rewrite it, come back down.
        let up = order.count - order.firstIndex(of: id)!
        Output.write("\u{1B}[\(up)A\r\u{1B}[2K\(text)\r\u{1B}[\(up)B")
    }

    func end() {}

    /// `[=====>      ]  1.2MB/4.5MB`: 50 columns, as Docker's progress bar.
    static func bar(_ current: Int64, _ total: Int64) -> String {
        let width = 50
        let done = Int(Double(width) * Double(min(current, total)) / Double(total))
        let arrow = done < width ? ">" : ""
        let bar = String(repeating: "=", count: max(0, done - (arrow.isEmpty ? 0 : 1))) + arrow
        let pad = String(repeating: " ", count: max(0, width - bar.count))
        return "[\(bar)\(pad)]  \(HumanSize.decimal(current))/\(HumanSize.decimal(total))"
    }
}
