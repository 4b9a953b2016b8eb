/// The parts of the DNS wire format (RFC 1035 §4.1) that the container DNS
/// server reads and writes. The server answers only single-question queries
/// for its own names and relays everything else byte for byte, so it never
/// needs to decode resource records of other servers: a CNAME chain in an
/// upstream answer reaches the client exactly as the upstream sent it.
public enum DNSType {
    public static let a: UInt16 = 1
    public static let cname: UInt16 = 5
    public static let ptr: UInt16 = 12
    public static let mx: UInt16 = 15
    public static let aaaa: UInt16 = 28
    public static let any: UInt16 = 255
}

/// Response codes (RFC 1035 §4.1.1).
public enum DNSRcode {
    public static let noError: UInt8 = 0
    public static let formatError: UInt8 = 1
    public static let serverFailure: UInt8 = 2
    public static let nameError: UInt8 = 3
    public static let notImplemented: UInt8 = 4
    public static let refused: UInt8 = 5
}

/// Why a packet could not be read. Every malformed input ends in one of these,
/// never in a trap: the server must survive whatever a container sends it.
enum DNSWireError: Error, Equatable {
    case truncated
    case badLabelType
    case pointerLoop
    case nameTooLong
}

/// Header flags (RFC 1035 §4.1.1).
enum DNSFlags {
    static let response: UInt16 = 0x8000
    static let authoritative: UInt16 = 0x0400
    static let truncated: UInt16 = 0x0200
    static let recursionDesired: UInt16 = 0x0100
    static let recursionAvailable: UInt16 = 0x0080
    static let opcodeMask: UInt16 = 0x7800
}

/// A query's only question, as read off the wire.
struct DNSQuestion: Equatable {
    /// The name in lower case without the trailing dot ("web.mynet"); nil when a
    /// label holds a byte that no container name can contain (a dot, a space,
    /// a control or non-ASCII byte), so it can never match the table.
    var name: String?
    var type: UInt16
    var klass: UInt16
}

/// A parsed query: the header fields the answer needs plus the question, and
/// where the question ends so that it can be copied into the answer verbatim.
struct DNSQuery {
    var id: UInt16
    var flags: UInt16
    var question: DNSQuestion
    /// Offset just past the question section.
    var questionEnd: Int

    /// What to do with an incoming packet.
    enum Outcome {
        /// A well-formed standard query with one question.
        case query(DNSQuery)
        /// Not answerable; reply with this (FORMERR or NOTIMP, echoing the id).
        case reply([UInt8])
        /// Not worth an answer (shorter than a header, or itself a response).
        case drop
    }

    static func parse(_ packet: [UInt8]) -> Outcome {
        guard packet.count >= 12 else { return .drop }
        let id = readU16(packet, 0), flags = readU16(packet, 2)
        // A response sent to the server (or reflected at it) gets no answer, so
        // two servers can never be made to bounce packets between each other.
        if flags & DNSFlags.response != 0 { return .drop }
        let opcode = flags & DNSFlags.opcodeMask
        if opcode != 0 {
            return .reply(DNSAnswer.headerOnly(id: id, queryFlags: flags, rcode: DNSRcode.notImplemented))
        }
        guard readU16(packet, 4) == 1 else {
            return .reply(DNSAnswer.headerOnly(id: id, queryFlags: flags, rcode: DNSRcode.formatError))
        }
        do {
            let (name, end) = try readName(packet, at: 12)
            guard end + 4 <= packet.count else { throw DNSWireError.truncated }
            let q = DNSQuestion(name: name, type: readU16(packet, end), klass: readU16(packet, end + 2))
            return .query(DNSQuery(id: id, flags: flags, question: q, questionEnd: end + 4))
        } catch {
            return .reply(DNSAnswer.headerOnly(id: id, queryFlags: flags, rcode: DNSRcode.formatError))
        }
    }
}

/// Big-endian 16-bit read; the caller has checked the bounds.
func readU16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
    UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
}

/// Reads a domain name at `offset`, following compression pointers
/// (RFC 1035 §4.1.4). Returns the name (see `DNSQuestion.name`) and the offset
/// just past the name where it started, not where a pointer led.
///
/// Loop protection: a pointer must point strictly before the label that
/// holds it, so every jump goes backwards and a chain of them ends; a name is
/// also limited to 255 bytes (RFC 1035 §2.3.4), which bounds the work on a
/// chain of many short pointers.
func readName(_ packet: [UInt8], at offset: Int) throws -> (String?, Int) {
    var position = offset
    var end: Int? = nil
    var lowest = offset          // every pointer must go below this
    var wireLength = 0
    var text: [UInt8] = []
    var matchable = true
    while true {
        guard position < packet.count else { throw DNSWireError.truncated }
        let length = Int(packet[position])
        switch length & 0xC0 {
        case 0x00:
            if length == 0 {
                wireLength += 1
                guard wireLength <= 255 else { throw DNSWireError.nameTooLong }
                let name = matchable ? String(decoding: text, as: UTF8.self) : nil
                return (name, end ?? position + 1)
            }
            guard position + 1 + length <= packet.count else { throw DNSWireError.truncated }
            wireLength += 1 + length
            guard wireLength <= 255 else { throw DNSWireError.nameTooLong }
            if !text.isEmpty { text.append(UInt8(ascii: ".")) }
            for byte in packet[(position + 1)..<(position + 1 + length)] {
                // Only printable ASCII other than the dot can appear in a name
                // the table holds; anything else is still a valid DNS name, to
                // be forwarded, but can never be one of ours.
                if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: ".") { matchable = false }
                text.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
            position += 1 + length
        case 0xC0:
            guard position + 1 < packet.count else { throw DNSWireError.truncated }
            let target = (length & 0x3F) << 8 | Int(packet[position + 1])
            guard target < lowest else { throw DNSWireError.pointerLoop }
            if end == nil { end = position + 2 }
            lowest = target
            position = target
        default:
            // 0x40 and 0x80 are the obsolete extended label types (RFC 6891 §5).
            throw DNSWireError.badLabelType
        }
    }
}

/// Encodes a dotted name ("web.mynet.") as labels; nil when a label is empty
/// or longer than 63 bytes, or the whole name longer than 255.
func encodeName(_ name: String) -> [UInt8]? {
    var out: [UInt8] = []
    var trimmed = Substring(name)
    if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
    if !trimmed.isEmpty {
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63 else { return nil }
            out.append(UInt8(bytes.count))
            out += bytes
        }
    }
    out.append(0)
    return out.count <= 255 ? out : nil
}
