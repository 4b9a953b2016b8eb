/// Writes the server's own answers (RFC 1035 §4.1).
enum DNSAnswer {
    /// Docker's embedded resolver answers with a TTL of 600 seconds
    /// (libnetwork's respTTL); containers come and go, but clients re-ask
    /// after a restart and most resolvers in containers do not cache.
    static let ttl: UInt32 = 600

    /// One record of an answer; its owner is always the question's name.
    enum Record: Equatable {
        case a(IPv4Address)
        case ptr(String)
    }

    /// A reply with no question and no records (FORMERR, NOTIMP): it echoes the
    /// id, the opcode and RD, as RFC 1035 asks of any response.
    static func headerOnly(id: UInt16, queryFlags: UInt16, rcode: UInt8) -> [UInt8] {
        let flags = DNSFlags.response | (queryFlags & (DNSFlags.opcodeMask | DNSFlags.recursionDesired))
            | DNSFlags.recursionAvailable | UInt16(rcode)
        var out = [UInt8](repeating: 0, count: 12)
        put16(&out, 0, id)
        put16(&out, 2, flags)
        return out
    }

    /// The answer to `query` (whose bytes are `packet`): the question copied,
    /// then `records` as long as the message stays within `limit` bytes. When
    /// records had to be left out the TC bit is set, so that the client asks
    /// again over TCP (RFC 1035 §4.2.1: 512 bytes over UDP without EDNS).
    static func reply(to query: DNSQuery, packet: [UInt8], rcode: UInt8, records: [Record], limit: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        out += packet[12..<query.questionEnd]
        var count = 0, truncated = false
        for record in records {
            let encoded = encode(record)
            if out.count + encoded.count > limit { truncated = true; break }
            out += encoded
            count += 1
        }
        var flags = DNSFlags.response | (query.flags & DNSFlags.recursionDesired)
            | DNSFlags.recursionAvailable | UInt16(rcode)
        if truncated { flags |= DNSFlags.truncated }
        put16(&out, 0, query.id)
        put16(&out, 2, flags)
        put16(&out, 4, 1)
        put16(&out, 6, UInt16(count))
        return out
    }

    /// A resource record whose owner name is a pointer to the question's name
    /// at offset 12 (RFC 1035 §4.1.4), so each A record costs 16 bytes.
    private static func encode(_ record: Record) -> [UInt8] {
        var out: [UInt8] = [0xC0, 12]
        switch record {
        case .a(let address):
            out += [0, UInt8(DNSType.a), 0, 1]
            out += ttlBytes
            out += [0, 4] + address.bytes
        case .ptr(let name):
            // Names in the table were checked when they were set; a name that
            // still does not encode becomes the root rather than a bad packet.
            let rdata = encodeName(name) ?? [0]
            out += [0, UInt8(DNSType.ptr), 0, 1]
            out += ttlBytes
            out += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xff)] + rdata
        }
        return out
    }

    private static let ttlBytes: [UInt8] = [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff)]

    static func put16(_ bytes: inout [UInt8], _ at: Int, _ value: UInt16) {
        bytes[at] = UInt8(value >> 8)
        bytes[at + 1] = UInt8(value & 0xff)
    }
}
