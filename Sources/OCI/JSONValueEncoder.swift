/// Encodes Encodable types into a JSONValue tree: Codable without Foundation,
/// the mirror of JSONValueDecoder. Keys keep the order in which a type encodes
/// them (the synthesized order is the declaration order), except the keys of a
/// `[String: T]` dictionary, which are sorted so that output is deterministic
/// (Go's encoding/json sorts map keys too). Optionals that are nil are left out
/// by the synthesized `encodeIfPresent`, as with Foundation's JSONEncoder.
/// Non-finite floating-point numbers have no JSON form and are an error naming
/// the field.
public struct JSONValueEncoder {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try encodeTree(value, codingPath: [])
    }

    /// Compact JSON text (one line), as sent on a JSON-RPC connection.
    public func encodeText<T: Encodable>(_ value: T, indent: Bool = false) throws -> String {
        JSONWriter.write(try encode(value), indent: indent)
    }
}

extension JSONValue: Encodable {
    /// JSONValueEncoder stores the tree as is; this path serves other encoders.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if let i = Int64(n) { try c.encode(i) } else if let u = UInt64(n) { try c.encode(u) } else { try c.encode(Double(n) ?? 0) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let pairs):
            var c = encoder.container(keyedBy: AnyKey.self)
            for (k, v) in pairs { try c.encode(v, forKey: AnyKey(stringValue: k)) }
        }
    }
}

/// Dictionaries keyed by String: their keys are sorted after encoding.
private protocol StringKeyedDictionary {}
extension Dictionary: StringKeyedDictionary where Key == String {}

/// Encodes one value into a finished tree. JSONValue itself is taken as is.
private func encodeTree<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONValue {
    if let v = value as? JSONValue { return v }
    let node = Node()
    try value.encode(to: TreeEncoder(node: node, codingPath: codingPath))
    var tree = node.resolve()
    if value is StringKeyedDictionary, case .object(let pairs) = tree {
        tree = .object(pairs.sorted { $0.0 < $1.0 })
    }
    return tree
}

/// A node of the tree under construction. Containers hand out references to
/// child nodes (nested containers, super encoders) that are filled later, so
/// the tree is built from reference-type nodes and resolved at the end.
private final class Node {
    enum Content {
        case empty
        case value(JSONValue)
        case object([(String, Node)])
        case array([Node])
    }
    var content: Content = .empty

    init() {}
    init(_ v: JSONValue) { content = .value(v) }

    /// A value that encoded nothing at all reads as {} (what Foundation's
    /// JSONEncoder writes for an empty struct).
    func resolve() -> JSONValue {
        switch content {
        case .empty: return .object([])
        case .value(let v): return v
        case .object(let pairs): return .object(pairs.map { ($0.0, $0.1.resolve()) })
        case .array(let items): return .array(items.map { $0.resolve() })
        }
    }

    /// The child for `key`, replacing an earlier one of the same key in place.
    func set(_ key: String, _ child: Node) {
        guard case .object(var pairs) = content else { return }
        if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = child } else { pairs.append((key, child)) }
        content = .object(pairs)
    }

    func append(_ child: Node) {
        guard case .array(var items) = content else { return }
        items.append(child)
        content = .array(items)
    }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }

    func becomeObject() {
        if case .object = content { return }
        content = .object([])
    }

    func becomeArray() {
        if case .array = content { return }
        content = .array([])
    }
}

private func number(_ d: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
    guard d.isFinite else {
        throw JSONError("\(describe(codingPath)): \(d) cannot be written in JSON")
    }
    // Integral values print without ".0" (as Go and JavaScript write them);
    // up to 2^53 every integer is exact in a Double.
    if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return .number(String(Int64(d))) }
    return .number(String(d))
}

private func number(_ f: Float, _ codingPath: [any CodingKey]) throws -> JSONValue {
    guard f.isFinite else {
        throw JSONError("\(describe(codingPath)): \(f) cannot be written in JSON")
    }
    // Float's own description is its shortest round-tripping text (0.1, not 0.100000001).
    if f == f.rounded(), abs(f) < 16_777_216 { return .number(String(Int64(f))) }
    return .number(String(f))
}

private struct TreeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return Unkeyed(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }

    /// A child node holding an encoded value.
    static func child<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> Node {
        Node(try encodeTree(value, codingPath: codingPath))
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        func put(_ v: JSONValue) { node.content = .value(v) }
        mutating func encodeNil() throws { put(.null) }
        mutating func encode(_ value: Bool) throws { put(.bool(value)) }
        mutating func encode(_ value: String) throws { put(.string(value)) }
        mutating func encode(_ value: Double) throws { put(try number(value, codingPath)) }
        mutating func encode(_ value: Float) throws { put(try number(value, codingPath)) }
        mutating func encode(_ value: Int) throws { put(.int(value)) }
        mutating func encode(_ value: Int8) throws { put(.int(value)) }
        mutating func encode(_ value: Int16) throws { put(.int(value)) }
        mutating func encode(_ value: Int32) throws { put(.int(value)) }
        mutating func encode(_ value: Int64) throws { put(.int(value)) }
        mutating func encode(_ value: UInt) throws { put(.int(value)) }
        mutating func encode(_ value: UInt8) throws { put(.int(value)) }
        mutating func encode(_ value: UInt16) throws { put(.int(value)) }
        mutating func encode(_ value: UInt32) throws { put(.int(value)) }
        mutating func encode(_ value: UInt64) throws { put(.int(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            put(try encodeTree(value, codingPath: codingPath))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]
        func put(_ key: Key, _ v: JSONValue) { node.set(key.stringValue, Node(v)) }
        mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(key, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(key, .string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put(key, try number(value, codingPath + [key])) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put(key, try number(value, codingPath + [key])) }
        mutating func encode(_ value: Int, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put(key, .int(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            node.set(key.stringValue, try TreeEncoder.child(value, codingPath: codingPath + [key]))
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            let child = Node()
            node.set(key.stringValue, child)
            return TreeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = Node()
            node.set(key.stringValue, child)
            return TreeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let child = Node()
            node.set("super", child)
            return TreeEncoder(node: child, codingPath: codingPath + [AnyKey(stringValue: "super")])
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let child = Node()
            node.set(key.stringValue, child)
            return TreeEncoder(node: child, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.count }
        var nextPath: [any CodingKey] { codingPath + [IndexKey(count)] }
        func put(_ v: JSONValue) { node.append(Node(v)) }
        mutating func encodeNil() throws { put(.null) }
        mutating func encode(_ value: Bool) throws { put(.bool(value)) }
        mutating func encode(_ value: String) throws { put(.string(value)) }
        mutating func encode(_ value: Double) throws { put(try number(value, nextPath)) }
        mutating func encode(_ value: Float) throws { put(try number(value, nextPath)) }
        mutating func encode(_ value: Int) throws { put(.int(value)) }
        mutating func encode(_ value: Int8) throws { put(.int(value)) }
        mutating func encode(_ value: Int16) throws { put(.int(value)) }
        mutating func encode(_ value: Int32) throws { put(.int(value)) }
        mutating func encode(_ value: Int64) throws { put(.int(value)) }
        mutating func encode(_ value: UInt) throws { put(.int(value)) }
        mutating func encode(_ value: UInt8) throws { put(.int(value)) }
        mutating func encode(_ value: UInt16) throws { put(.int(value)) }
        mutating func encode(_ value: UInt32) throws { put(.int(value)) }
        mutating func encode(_ value: UInt64) throws { put(.int(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            node.append(try TreeEncoder.child(value, codingPath: nextPath))
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) -> KeyedEncodingContainer<N> {
            let path = nextPath
            let child = Node()
            node.append(child)
            return TreeEncoder(node: child, codingPath: path).container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let path = nextPath
            let child = Node()
            node.append(child)
            return TreeEncoder(node: child, codingPath: path).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let path = nextPath
            let child = Node()
            node.append(child)
            return TreeEncoder(node: child, codingPath: path)
        }
    }
}
