import OCI

/// A subset of Go's text/template, evaluated over a JSONValue, for `--format`:
/// one mechanism serves inspect output (`{{json .Config}}`) and list rows
/// (`table {{.ID}}\t{{.Repository}}`).
///
/// Supported: text and `{{ }}` actions (with `{{-`/`-}}` trimming), fields
/// `.`, `.A`, `.A.B` (exact key, then case-insensitive), string and number
/// literals, function calls and pipes (`{{.Names | upper}}`), `{{range .L}}…{{else}}…{{end}}`,
/// `{{if …}}…{{else}}…{{end}}`, `{{with …}}…{{end}}`, and the functions json,
/// index, join, split, upper, lower, title, len, truncate, pad, print, println.
/// A `table ` prefix marks a table: `header` renders the column titles.
public struct GoTemplate {
    public let source: String
    /// True when the format started with "table" (Docker prints headers and aligns columns).
    public let isTable: Bool
    let nodes: [TemplateNode]

    public init(_ format: String) throws(TemplateError) {
        var body = format
        var table = false
        if body.hasPrefix("table") {
            table = true
            body = String(body.dropFirst(5))
            if body.first == " " { body.removeFirst() }
        }
        // Docker lets a shell-quoted "\t" stand for a tab.
        body = GoTemplate.unescape(body)
        source = format
        isTable = table
        var parser = try TemplateParser(body)
        nodes = try parser.parse()
    }

    /// `\t` and `\n` written literally (a shell-quoted "\t") stand for a tab and a newline.
    static func unescape(_ s: String) -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.append(c); continue }
            guard let d = it.next() else { out.append(c); break }
            switch d {
            case "t": out.append("\t")
            case "n": out.append("\n")
            default: out.append(c); out.append(d)
            }
        }
        return out
    }

    /// Renders the template with `.` = `data`.
    public func render(_ data: JSONValue) throws(TemplateError) -> String {
        var out = ""
        try TemplateEvaluator(headers: nil).run(nodes, dot: data, into: &out)
        return out
    }

    /// The header line of a table: each field renders as its title from
    /// `titles` (Docker's column names: "ID" → "IMAGE ID"), or its name in
    /// capitals when the command has no title for it.
    public func header(titles: [String: String]) throws(TemplateError) -> String {
        var out = ""
        try TemplateEvaluator(headers: titles).run(nodes, dot: .null, into: &out)
        return out
    }

    /// Renders rows as Docker's formatter does: a table goes through a
    /// TableWriter under its header line; otherwise each row is one line as rendered.
    public func renderRows(_ rows: [JSONValue], titles: [String: String]) throws(TemplateError) -> String {
        if !isTable {
            var out = ""
            for r in rows { out += try render(r) + "\n" }
            return out
        }
        var t = TableWriter()
        t.add(line: try header(titles: titles))
        for r in rows { t.add(line: try render(r)) }
        return t.render()
    }
}

/// A template that cannot be parsed or run: `template parsing error: …` as Docker says.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

indirect enum TemplateNode: Equatable {
    case text(String)
    case action(TemplatePipeline)
    case range(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case `if`(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case with(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
}

/// `a b c | f d | g`: commands; each command's value is passed as the last
/// argument of the next.
struct TemplatePipeline: Equatable {
    var commands: [[TemplateArg]]
}

enum TemplateArg: Equatable {
    /// `.A.B` (an empty path is `.` itself).
    case field([String])
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    /// A function name.
    case function(String)
}
