import OCI

/// Runs parsed template nodes over a JSONValue. Values print as Go prints
/// them: strings as is, null as "<no value>", arrays as `[a b]`, objects as
/// `map[k:v]` with sorted keys.
struct TemplateEvaluator {
    /// When set, fields render as column titles (the header line of a table).
    let headers: [String: String]?

    static let functions: Set<String> = ["json", "index", "join", "split", "upper", "lower", "title", "len", "truncate", "pad", "print", "println"]

    func run(_ nodes: [TemplateNode], dot: JSONValue, into out: inout String) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .action(let p): out += TemplateEvaluator.text(try eval(p, dot: dot))
            case let .range(p, body, otherwise):
                if headers != nil { try run(body, dot: dot, into: &out); continue }
                let v = try eval(p, dot: dot)
                let items: [JSONValue]
                switch v {
                case .array(let a): items = a
                case .object(let pairs): items = pairs.sorted { $0.0 < $1.0 }.map { $0.1 }
                case .null: items = []
                default: throw TemplateError("template: range can't iterate over \(TemplateEvaluator.text(v))")
                }
                if items.isEmpty { try run(otherwise, dot: dot, into: &out) }
                for item in items { try run(body, dot: item, into: &out) }
            case let .if(p, body, otherwise):
                if headers != nil { try run(body, dot: dot, into: &out); continue }
                try run(TemplateEvaluator.truthy(try eval(p, dot: dot)) ? body : otherwise, dot: dot, into: &out)
            case let .with(p, body, otherwise):
                if headers != nil { try run(body, dot: dot, into: &out); continue }
                let v = try eval(p, dot: dot)
                if TemplateEvaluator.truthy(v) { try run(body, dot: v, into: &out) } else { try run(otherwise, dot: dot, into: &out) }
            }
        }
    }

    func eval(_ p: TemplatePipeline, dot: JSONValue) throws(TemplateError) -> JSONValue {
        var piped: JSONValue?
        for command in p.commands {
            piped = try evalCommand(command, dot: dot, piped: piped)
        }
        return piped ?? .null
    }

    private func evalCommand(_ args: [TemplateArg], dot: JSONValue, piped: JSONValue?) throws(TemplateError) -> JSONValue {
        guard case .function(let name) = args[0] else {
            guard args.count == 1, piped == nil else { throw TemplateError("template: can't give arguments to a non-function value") }
            return try value(args[0], dot: dot)
        }
        var values: [JSONValue] = []
        for a in args.dropFirst() { values.append(try value(a, dot: dot)) }
        if let piped { values.append(piped) }
        if headers != nil {
            // A header renders the column's title whatever function formats the value.
            return values.first(where: { if case .string = $0 { return true } else { return false } }) ?? .string("")
        }
        return try call(name, values)
    }

    private func value(_ a: TemplateArg, dot: JSONValue) throws(TemplateError) -> JSONValue {
        switch a {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .function(let f): return try call(f, [])
        case .field(let path):
            if let headers {
                let name = path.joined(separator: ".")
                return .string(headers[name] ?? headers[path.last ?? ""] ?? name.uppercased())
            }
            var v = dot
            for key in path {
                guard case .object(let pairs) = v else {
                    throw TemplateError("template: can't evaluate field \(key) in \(TemplateEvaluator.kind(v))")
                }
                if let hit = pairs.last(where: { $0.0 == key }) { v = hit.1; continue }
                let lower = key.lowercased()
                if let hit = pairs.last(where: { $0.0.lowercased() == lower }) { v = hit.1; continue }
                // Go: a missing map key is the zero value, printed "<no value>".
                return .null
            }
            return v
        }
    }

    private func call(_ name: String, _ a: [JSONValue]) throws(TemplateError) -> JSONValue {
        func want(_ n: Int) throws(TemplateError) {
            if a.count != n { throw TemplateError("template: wrong number of args for \(name): want \(n) got \(a.count)") }
        }
        func str(_ v: JSONValue) -> String { TemplateEvaluator.text(v) }
        switch name {
        case "json":
            try want(1)
            return .string(JSONWriter.write(a[0]))
        case "index":
            guard a.count >= 2 else { throw TemplateError("template: index needs a value and at least one key") }
            var v = a[0]
            for k in a.dropFirst() {
                switch (v, k) {
                case (.object(let pairs), .string(let key)): v = pairs.last(where: { $0.0 == key })?.1 ?? .null
                case (.array(let items), .number(let n)):
                    guard let i = Int(n), i >= 0, i < items.count else { throw TemplateError("template: index out of range: \(n)") }
                    v = items[i]
                case (.null, _): v = .null
                default: throw TemplateError("template: can't index \(TemplateEvaluator.kind(v)) with \(str(k))")
                }
            }
            return v
        case "join":
            try want(2)
            guard case .array(let items) = a[0] else { return .string(str(a[0])) }
            return .string(items.map(str).joined(separator: str(a[1])))
        case "split":
            try want(2)
            return .array(str(a[0]).split(separator: str(a[1]), omittingEmptySubsequences: false).map { .string(String($0)) })
        case "upper":
            try want(1)
            return .string(str(a[0]).uppercased())
        case "lower":
            try want(1)
            return .string(str(a[0]).lowercased())
        case "title":
            try want(1)
            return .string(str(a[0]).split(separator: " ", omittingEmptySubsequences: false)
                .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " "))
        case "len":
            try want(1)
            switch a[0] {
            case .array(let x): return .int(x.count)
            case .object(let x): return .int(x.count)
            case .string(let s): return .int(s.utf8.count)
            default: throw TemplateError("template: len of \(TemplateEvaluator.kind(a[0]))")
            }
        case "truncate":
            // Docker's: truncate STRING LENGTH
            try want(2)
            guard case .number(let n) = a[1], let k = Int(n) else { throw TemplateError("template: truncate needs a length") }
            return .string(String(str(a[0]).prefix(k)))
        case "pad":
            // Docker's: pad STRING BEFORE AFTER
            try want(3)
            guard case .number(let b) = a[1], case .number(let e) = a[2], let before = Int(b), let after = Int(e) else {
                throw TemplateError("template: pad needs two counts")
            }
            return .string(String(repeating: " ", count: before) + str(a[0]) + String(repeating: " ", count: after))
        case "print":
            return .string(a.map(str).joined())
        case "println":
            return .string(a.map(str).joined(separator: " ") + "\n")
        default:
            throw TemplateError("template: function \"\(name)\" not defined")
        }
    }

    static func truthy(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        case .number(let n): return Double(n) != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "nil"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .array: return "slice"
        case .object: return "map"
        }
    }

    /// A value as Go's fmt prints it in a template.
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: return "<no value>"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return s
        case .array(let items): return "[" + items.map(text).joined(separator: " ") + "]"
        case .object(let pairs): return "map[" + pairs.sorted { $0.0 < $1.0 }.map { "\($0.0):\(text($0.1))" }.joined(separator: " ") + "]"
        }
    }
}
