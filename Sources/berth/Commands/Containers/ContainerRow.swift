import Glibc
import OCI
import RPC

/// One row of `ps` as Docker's container formatter shows it; `json` is what
/// `--format` templates see (.ID .Image .Command .CreatedAt .RunningFor
/// .Ports .Status .Size .Names .Labels .Mounts .Networks .LocalVolumes .State).
struct ContainerRow {
    var summary: BerthAPI.ContainerSummary
    var trunc: Bool
    var now: Double

    static let defaultFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    static let titles = ["ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
                         "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
                         "Labels": "LABELS", "Label": "LABEL", "LabelMap": "LABEL", "Mounts": "MOUNTS", "Networks": "NETWORKS",
                         "LocalVolumes": "LOCAL VOLUMES", "State": "STATE"]

    var id: String { trunc ? String(summary.id.prefix(12)) : summary.id }

    var image: String {
        let image = summary.image
        if image.isEmpty { return "<no image>" }
        guard trunc else { return image }
        if image.hasPrefix("sha256:") { return ContainerCLI.short(image) }
        if image.count == 64, image.allSatisfy(\.isHexDigit) { return String(image.prefix(12)) }
        // A digest reference shows without its digest.
        if let at = image.firstIndex(of: "@") { return String(image[..<at]) }
        return image
    }

    /// Quoted as Go's strconv.Quote, truncated to 20 columns with "…" unless --no-trunc.
    var command: String { ContainerRow.goQuote(trunc ? ContainerRow.ellipsis(summary.command, 20) : summary.command) }

    var runningFor: String { HumanDuration.ago(Double(summary.created), now: now) }

    /// Go's time.Time.String() in local time: "2024-01-02 15:04:05 +0100 CET".
    var createdAt: String { ContainerRow.goTimeString(summary.created) }

    var ports: String { ContainerRow.displayablePorts(summary.ports) }

    /// Names without their "/"; with truncation, only the container's own
    /// name (Docker also lists link aliases, "other/alias").
    var names: String {
        var names = summary.names.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        if trunc, let own = names.first(where: { !$0.contains("/") }) { names = [own] }
        return names.joined(separator: ",")
    }

    var labels: String { summary.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }

    /// "2B (virtual 4.26MB)", as Docker's -s column.
    var size: String {
        let rw = HumanSize.decimal(summary.sizeRw ?? 0)
        if let root = summary.sizeRootFs, root > 0 { return "\(rw) (virtual \(HumanSize.decimal(root)))" }
        return rw
    }

    /// Docker's: each mount's volume name (a bind's source), 15 columns at most unless --no-trunc.
    var mounts: String {
        (summary.mounts ?? []).map { m in
            let name = (m.name ?? "").isEmpty ? m.source : m.name!
            return trunc ? ContainerRow.ellipsis(name, 15) : name
        }.joined(separator: ",")
    }

    var localVolumes: Int { (summary.mounts ?? []).filter { $0.driver == "local" }.count }

    func json(labelMap: Bool = false) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("Command", .string(command)), ("CreatedAt", .string(createdAt)), ("ID", .string(id)), ("Image", .string(image)),
            ("Labels", .string(labels)), ("LocalVolumes", .string(String(localVolumes))), ("Mounts", .string(mounts)), ("Names", .string(names)), ("Networks", ""),
            ("Ports", .string(ports)), ("RunningFor", .string(runningFor)), ("Size", .string(size)),
            ("State", .string(summary.state)), ("Status", .string(summary.status)),
        ]
        if labelMap { pairs.append(("LabelMap", .object(summary.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        return .object(pairs)
    }

    /// Docker's `.Label "key"` (a method with an argument) as this
    /// template language has it: `index .LabelMap "key"`.
    static func rewriteLabelCalls(_ format: String) -> (String, Bool) {
        var out = ""
        var rest = Substring(format)
        var used = false
        while let r = rest.firstRange(of: ".Label ") {
            // Only a call with an argument: `.Label "k"`, not `.Labels`.
            out += rest[..<r.lowerBound]
            out += "index .LabelMap "
            rest = rest[r.upperBound...]
            used = true
        }
        return (out + rest, used)
    }

    // MARK: Docker's helpers

    /// docker/cli formatter.Ellipsis: at most `max` columns, the last one "…" when cut.
    static func ellipsis(_ s: String, _ max: Int) -> String {
        guard s.count > max else { return s }
        if max <= 0 { return "" }
        return String(s.prefix(max - 1)) + "…"
    }

    /// Go's strconv.Quote: double quotes, with \" \\ \n \t … and \x/\u escapes
    /// for what is not printable.
    static func goQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    out += "\\x" + hex(u.value, 2)
                } else if u.value >= 0x80 && !printable(u) {
                    out += u.value > 0xFFFF ? "\\U" + hex(u.value, 8) : "\\u" + hex(u.value, 4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    private static func printable(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: return false
        case .spaceSeparator: return u == " "
        default: return true
        }
    }

    private static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// docker/cli DisplayablePorts: ports sorted, runs of consecutive ports
    /// on the same address and protocol grouped ("0.0.0.0:8000-8001->8000-8001/tcp"),
    /// mappings to another host port listed after them.
    static func displayablePorts(_ ports: [BerthAPI.PortSummary]) -> String {
        let sorted = ports.sorted { a, b in
            if a.privatePort != b.privatePort { return a.privatePort < b.privatePort }
            if (a.ip ?? "") != (b.ip ?? "") { return (a.ip ?? "") < (b.ip ?? "") }
            if (a.publicPort ?? 0) != (b.publicPort ?? 0) { return (a.publicPort ?? 0) < (b.publicPort ?? 0) }
            return a.type < b.type
        }
        var groups: [String: (first: Int, last: Int)] = [:]
        var order: [String] = []
        var result: [String] = []
        var hostMappings: [String] = []
        for p in sorted {
            let current = p.privatePort
            var key = p.type
            if let ip = p.ip, !ip.isEmpty {
                let publicPort = p.publicPort ?? 0
                if publicPort != current {
                    hostMappings.append("\(joinHostPort(ip, String(publicPort)))->\(current)/\(p.type)")
                    continue
                }
                key = "\(ip)/\(p.type)"
            }
            guard let g = groups[key] else {
                groups[key] = (current, current)
                order.append(key)
                continue
            }
            if current == g.last + 1 {
                groups[key] = (g.first, current)
                continue
            }
            result.append(formGroup(key, g.first, g.last))
            groups[key] = (current, current)
        }
        for key in order {
            let g = groups[key]!
            result.append(formGroup(key, g.first, g.last))
        }
        return (result + hostMappings).joined(separator: ", ")
    }

    private static func formGroup(_ key: String, _ first: Int, _ last: Int) -> String {
        var ip = ""
        var type = key
        if let slash = key.lastIndex(of: "/") {
            ip = String(key[..<slash])
            type = String(key[key.index(after: slash)...])
        }
        var group = String(first)
        if first != last { group += "-\(last)" }
        if !ip.isEmpty { group = "\(joinHostPort(ip, group))->\(group)" }
        return "\(group)/\(type)"
    }

    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Go's time.Time.String() for a unix time, in local time.
    static func goTimeString(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, buf.count, "%Y-%m-%d %H:%M:%S %z %Z", &tm)
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
