import RPC

/// Docker's list filters (`--filter KEY=VALUE`) as the services read them.
enum ListFilters {
    /// Refuses a key the method does not know: `invalid filter 'KEY'`.
    static func check(_ filters: [String: [String]], known: Set<String>) throws {
        for key in filters.keys.sorted() where !known.contains(key) {
            throw BerthError(.invalidArgument, "invalid filter '\(key)'")
        }
    }

    /// `dangling=true|false|1|0` (the last one given wins); nil when absent.
    static func dangling(_ filters: [String: [String]]) throws -> Bool? {
        var dangling: Bool?
        for v in filters["dangling"] ?? [] {
            switch v.lowercased() {
            case "true", "1": dangling = true
            case "false", "0": dangling = false
            default: throw BerthError(.invalidArgument, "invalid filter 'dangling=\(v)'")
            }
        }
        return dangling
    }

    /// `label=KEY` or `label=KEY=VALUE`: every one given must match.
    static func labelsMatch(_ labels: [String: String], _ wanted: [String]) -> Bool {
        wanted.allSatisfy { f in
            guard let eq = f.firstIndex(of: "=") else { return labels[f] != nil }
            return labels[String(f[..<eq])] == String(f[f.index(after: eq)...])
        }
    }
}
