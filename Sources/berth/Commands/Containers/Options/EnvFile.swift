import Glibc

/// `-e`, `--env-file`, `-l`, `--label-file` as Docker reads them.
enum EnvFile {
    /// `-e NAME=VALUE` as is; `-e NAME` takes NAME's value from berth's own
    /// environment and is left out when NAME is not set there.
    static func resolve(_ item: String, lookup: (String) -> String? = EnvFile.getenv) -> String? {
        if item.contains("=") { return item }
        guard let v = lookup(item) else { return nil }
        return item + "=" + v
    }

    /// A file of NAME=VALUE lines (Docker's opts.ParseEnvFile): leading
    /// blanks are dropped, empty lines and lines starting with # are
    /// skipped, the value is kept as written (quotes included); a line with
    /// only NAME takes NAME from berth's environment. `labels` gives the label
    /// file's rule (a NAME alone is NAME="").
    static func parse(_ text: String, path: String, labels: Bool = false,
                      lookup: (String) -> String? = EnvFile.getenv) throws(OptionError) -> [String] {
        var out: [String] = []
        // "\r\n" is one Character in Swift: split on both.
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = Substring(raw)
            if line.last == "\r" { line.removeLast() }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].drop(while: { $0 == " " || $0 == "\t" })
            if name.isEmpty { throw OptionError("no variable name on line '\(line)'") }
            if name.contains(where: { $0 == " " || $0 == "\t" }) {
                throw OptionError("variable '\(name)' contains whitespaces")
            }
            if parts.count == 2 {
                out.append("\(name)=\(parts[1])")
            } else if labels {
                out.append(String(name))
            } else if let v = lookup(String(name)) {
                out.append("\(name)=\(v)")
            }
            _ = n
        }
        return out
    }

    /// Reads a file for --env-file / --label-file; errors as Docker's "open PATH: …".
    static func read(_ path: String) throws(OptionError) -> String {
        guard let f = fopen(path, "r") else { throw OptionError("open \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw OptionError("env file \(path) contains invalid utf8 bytes")
        }
        return text
    }

    /// `-l k=v`, `-l k` → ["k": "v"], ["k": ""].
    static func labels(_ items: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
        }
        return out
    }

    static func getenv(_ name: String) -> String? {
        guard let p = Glibc.getenv(name) else { return nil }
        return String(cString: p)
    }
}
