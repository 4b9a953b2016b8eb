import Glibc

/// Checks and normalises address text the way Go's netip does for Docker
/// ("::0001" → "::1"), for the IPv4 and IPv6 addresses users type in
/// `--add-host` and `--dns`, and that the host's resolv.conf holds.
enum IPAddressText {
    enum Family { case v4, v6 }

    /// The canonical text and family, or nil when `text` is not an address.
    static func parse(_ text: String) -> (String, Family)? {
        if let v4 = IPv4Address(text) { return (v4.description, .v4) }
        guard text.contains(":"), !text.contains("%") else { return nil }
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return (String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), .v6)
    }

    /// 127.0.0.0/8 and ::1: addresses that mean the host only from the host.
    static func isLoopback(_ canonical: String) -> Bool {
        canonical == "::1" || (IPv4Address(canonical).map { $0.value >> 24 == 127 } ?? false)
    }
}
