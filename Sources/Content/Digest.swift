import CDigest

/// A content digest as the OCI image spec writes it: `algorithm:encoded`
/// (sha256 with 64 lowercase hex characters, or sha512 with 128).
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let algorithm: String
    public let encoded: String

    public init(algorithm: String, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// Parses and validates `sha256:<64 hex>` / `sha512:<128 hex>`.
    public init?(_ string: String) {
        guard let colon = string.firstIndex(of: ":") else { return nil }
        let alg = String(string[..<colon]), enc = String(string[string.index(after: colon)...])
        let length: Int
        switch alg {
        case "sha256": length = 64
        case "sha512": length = 128
        default: return nil
        }
        guard enc.utf8.count == length,
              enc.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        algorithm = alg
        encoded = enc
    }

    public var description: String { algorithm + ":" + encoded }
    /// The first 12 hex characters, as Docker shows image ids.
    public var short: String { String(encoded.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let d = Digest(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid digest \(s)"))
        }
        self = d
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// The SHA-256 digest of `bytes`.
    public static func sha256<C: Collection>(of bytes: C) -> Digest where C.Element == UInt8 {
        var h = Hasher256()
        h.update(bytes)
        return h.finalize()
    }
}

/// A streaming SHA-256 (or SHA-512) over OpenSSL's EVP interface.
public struct Hasher256: ~Copyable {
    private let handle: OpaquePointer
    public let algorithm: String

    public init(algorithm: String = "sha256") {
        self.algorithm = algorithm
        guard let h = cd_hasher_new(algorithm) else { fatalError("cd_hasher_new(\(algorithm)) failed") }
        handle = h
    }

    private init(handle: OpaquePointer, algorithm: String) { self.handle = handle; self.algorithm = algorithm }

    deinit { cd_hasher_free(handle) }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        if let base = buffer.baseAddress, buffer.count > 0 { cd_hasher_update(handle, base, buffer.count) }
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if let done = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        let copy = Array(bytes)
        copy.withUnsafeBytes { update($0) }
    }

    /// A copy of the state so far (the original may go on).
    public func copy() -> Hasher256 {
        guard let c = cd_hasher_copy(handle) else { fatalError("cd_hasher_copy failed") }
        return Hasher256(handle: c, algorithm: algorithm)
    }

    public consuming func finalize() -> Digest {
        var out = [UInt8](repeating: 0, count: 64)
        let n = Int(cd_hasher_final(handle, &out))
        let hex = "0123456789abcdef".utf8.map { $0 }
        var s = [UInt8]()
        s.reserveCapacity(n * 2)
        for b in out[0..<n] { s.append(hex[Int(b >> 4)]); s.append(hex[Int(b & 15)]) }
        return Digest(algorithm: algorithm, encoded: String(decoding: s, as: UTF8.self))
    }
}
