/// Parses template text into nodes: text, actions and the block structure
/// of range/if/with … else … end.
struct TemplateParser {
    private enum Item { case text(String), action(String) }
    private var items: [Item] = []
    private var pos = 0

    init(_ text: String) throws(TemplateError) {
        items = try TemplateParser.lex(text)
    }

    /// Splits text and `{{ }}` actions, applying the `{{-` / `-}}` trimming of adjacent text.
    private static func lex(_ text: String) throws(TemplateError) -> [Item] {
        var items: [Item] = []
        var rest = Substring(text)
        var trimNext = false
        while let open = rest.firstRange(of: "{{") {
            var before = String(rest[..<open.lowerBound])
            if trimNext { before = String(before.drop(while: \.isWhitespace)) }
            var inner = rest[open.upperBound...]
            guard let close = inner.firstRange(of: "}}") else { throw TemplateError("template: unclosed action") }
            var action = String(inner[..<close.lowerBound])
            inner = inner[close.upperBound...]
            if action.hasPrefix("- ") || action == "-" {
                action.removeFirst()
                while before.last?.isWhitespace == true { before.removeLast() }
            }
            trimNext = false
            if action.hasSuffix(" -") {
                action.removeLast()
                trimNext = true
            }
            if !before.isEmpty { items.append(.text(before)) }
            let trimmed = action.trimmingWhitespace()
            // {{/* a comment */}}
            if !(trimmed.hasPrefix("/*") && trimmed.hasSuffix("*/")) { items.append(.action(trimmed)) }
            rest = inner
        }
        var tail = String(rest)
        if trimNext { tail = String(tail.drop(while: \.isWhitespace)) }
        if !tail.isEmpty { items.append(.text(tail)) }
        return items
    }

    mutating func parse() throws(TemplateError) -> [TemplateNode] {
        let (nodes, end) = try parseList()
        if let end { throw TemplateError("template: unexpected {{\(end)}}") }
        return nodes
    }

    /// Nodes up to an `else` or `end` (returned), or to the end of input (nil).
    private mutating func parseList() throws(TemplateError) -> ([TemplateNode], String?) {
        var nodes: [TemplateNode] = []
        while pos < items.count {
            let item = items[pos]
            pos += 1
            switch item {
            case .text(let t): nodes.append(.text(t))
            case .action(let a):
                let (keyword, rest) = TemplateParser.splitKeyword(a)
                switch keyword {
                case "end", "else":
                    if keyword == "else" && !rest.isEmpty { throw TemplateError("template: \"else \(rest)\" is not supported") }
                    return (nodes, keyword)
                case "range", "if", "with":
                    if rest.contains(":=") { throw TemplateError("template: variables are not supported: {{\(a)}}") }
                    let pipe = try TemplateParser.pipeline(rest)
                    let (body, end) = try parseList()
                    var otherwise: [TemplateNode] = []
                    if end == "else" {
                        let (e, end2) = try parseList()
                        guard end2 == "end" else { throw TemplateError("template: missing {{end}} after {{else}} of {{\(keyword)}}") }
                        otherwise = e
                    } else if end != "end" {
                        throw TemplateError("template: missing {{end}} for {{\(keyword)}}")
                    }
                    switch keyword {
                    case "range": nodes.append(.range(pipe, body: body, otherwise: otherwise))
                    case "if": nodes.append(.if(pipe, body: body, otherwise: otherwise))
                    default: nodes.append(.with(pipe, body: body, otherwise: otherwise))
                    }
                default:
                    nodes.append(.action(try TemplateParser.pipeline(a)))
                }
            }
        }
        return (nodes, nil)
    }

    private static func splitKeyword(_ a: String) -> (String, String) {
        let word = a.prefix(while: { $0.isLetter })
        let rest = a.dropFirst(word.count)
        if ["range", "if", "with", "end", "else"].contains(String(word)), rest.isEmpty || rest.first!.isWhitespace {
            return (String(word), rest.trimmingWhitespace())
        }
        return ("", a)
    }

    static func pipeline(_ text: String) throws(TemplateError) -> TemplatePipeline {
        var commands: [[TemplateArg]] = [[]]
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace { i = text.index(after: i); continue }
            if c == "|" {
                guard !commands[commands.count - 1].isEmpty else { throw TemplateError("template: missing value before | in {{\(text)}}") }
                commands.append([])
                i = text.index(after: i)
                continue
            }
            if c == "\"" || c == "`" {
                var s = ""
                var j = text.index(after: i)
                var closed = false
                while j < text.endIndex {
                    let d = text[j]
                    if d == c { closed = true; break }
                    if d == "\\" && c == "\"" {
                        j = text.index(after: j)
                        guard j < text.endIndex else { break }
                        switch text[j] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        default: s.append(text[j])
                        }
                    } else {
                        s.append(d)
                    }
                    j = text.index(after: j)
                }
                guard closed else { throw TemplateError("template: unterminated string in {{\(text)}}") }
                commands[commands.count - 1].append(.string(s))
                i = text.index(after: j)
                continue
            }
            var j = i
            while j < text.endIndex, !text[j].isWhitespace, text[j] != "|" { j = text.index(after: j) }
            let word = String(text[i..<j])
            i = j
            if word.hasPrefix(".") {
                let path = word == "." ? [] : word.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !path.contains("") else { throw TemplateError("template: bad field \(word)") }
                commands[commands.count - 1].append(.field(path))
            } else if word.first == "-" || word.first!.isNumber {
                guard Double(word) != nil else { throw TemplateError("template: bad number \(word)") }
                commands[commands.count - 1].append(.number(word))
            } else if word == "true" || word == "false" {
                commands[commands.count - 1].append(.bool(word == "true"))
            } else if word == "nil" {
                commands[commands.count - 1].append(.null)
            } else if word.first == "$" || word.first == "(" {
                throw TemplateError("template: \(word): variables and parentheses are not supported")
            } else {
                guard TemplateEvaluator.functions.contains(word) else { throw TemplateError("template: function \"\(word)\" not defined") }
                commands[commands.count - 1].append(.function(word))
            }
        }
        guard !commands[commands.count - 1].isEmpty else { throw TemplateError("template: empty command in {{\(text)}}") }
        return TemplatePipeline(commands: commands)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
