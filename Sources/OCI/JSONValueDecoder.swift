/// Decodes Decodable types from a JSONValue tree: Codable without Foundation.
/// Unknown keys are ignored (the runtime spec requires it); type mismatches and
/// missing required fields name the field path, e.g. `linux.resources.rdma.mlx5_1.hcaHandles`.
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoder(value: value, codingPath: []).decodeValue(T.self)
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try JSONParser.parse(bytes))
    }
}

/// A field path in the dotted form people read in error messages.
func describe(_ path: [any CodingKey]) -> String {
    var s = ""
    for key in path {
        if let n = key.intValue { s += "[\(n)]" } else { s += (s.isEmpty ? "" : ".") + key.stringValue }
    }
    return s.isEmpty ? "(top level)" : s
}

struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> JSONError {
        let got: String
        switch value {
        case .null: got = "null"
        case .bool: got = "a boolean"
        case .number(let n): got = "the number \(n)"
        case .string(let s): got = "the string \(JSONWriter.quote(s))"
        case .array: got = "an array"
        case .object: got = "an object"
        }
        return JSONError("\(describe(codingPath)): expected \(expected), got \(got)")
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let pairs) = value else { throw mismatch("an object") }
        var dict: [String: JSONValue] = [:]
        for (k, v) in pairs { dict[k] = v }
        return KeyedDecodingContainer(Keyed<Key>(dict: dict, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch("an array") }
        return Unkeyed(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    func integer<T: FixedWidthInteger>(_ t: T.Type) throws -> T {
        guard case .number(let n) = value else { throw mismatch(T.isSigned ? "an integer" : "a non-negative integer") }
        if let v = T(n) { return v }
        // Accept integral values written with a fraction or exponent (1.0, 1e3).
        if let d = Double(n), d == d.rounded(), let v = T(exactly: d) { return v }
        if T(n.hasPrefix("-") ? "-1" : "1") != nil, Double(n) != nil, Int64(n) == nil {
            throw JSONError("\(describe(codingPath)): \(n) is out of range")
        }
        throw mismatch(T.isSigned ? "an integer" : "a non-negative integer")
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: TreeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.value == .null }
        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let b) = decoder.value else { throw decoder.mismatch("a boolean") }
            return b
        }
        func decode(_ type: String.Type) throws -> String {
            guard case .string(let s) = decoder.value else { throw decoder.mismatch("a string") }
            return s
        }
        func decode(_ type: Double.Type) throws -> Double {
            guard case .number(let n) = decoder.value, let d = Double(n) else { throw decoder.mismatch("a number") }
            return d
        }
        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
        func decode(_ type: Int.Type) throws -> Int { try decoder.integer(Int.self) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(Int8.self) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(Int16.self) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(Int32.self) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(Int64.self) }
        func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(UInt.self) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(UInt8.self) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(UInt16.self) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(UInt32.self) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(UInt64.self) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let dict: [String: JSONValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { dict.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { dict[key.stringValue] != nil }

        func child(_ key: Key) throws -> TreeDecoder {
            guard let v = dict[key.stringValue] else {
                throw JSONError("\(describe(codingPath + [key])): required field is missing")
            }
            return TreeDecoder(value: v, codingPath: codingPath + [key])
        }
        func decodeNil(forKey key: Key) throws -> Bool { dict[key.stringValue] == nil || dict[key.stringValue] == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(T.self) }
        // Explicit JSON null for an optional field is treated as absent.
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let v = dict[key.stringValue], v != .null else { return nil }
            return try TreeDecoder(value: v, codingPath: codingPath + [key]).decodeValue(T.self)
        }
        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try child(key).container(keyedBy: N.self)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { TreeDecoder(value: .object(dict.map { ($0.key, $0.value) }), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(items: [JSONValue], codingPath: [any CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        mutating func next() throws -> TreeDecoder {
            guard !isAtEnd else { throw JSONError("\(describe(codingPath)): array ended early") }
            defer { currentIndex += 1 }
            return TreeDecoder(value: items[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)])
        }
        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, items[currentIndex] == .null { currentIndex += 1; return true }
            return false
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(T.self) }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
            try next().container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }
}
