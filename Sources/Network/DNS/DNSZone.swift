/// One network's names: what `DNSServer.setRecords` installs. It decides,
/// for one question, between answering locally and forwarding.
struct DNSZone {
    /// The network's name, lower case: "web.mynet" is also "web", as Docker
    /// resolves `<container>.<network>`.
    let network: String
    /// Lower-case names without a trailing dot.
    private(set) var names: [String: [IPv4Address]] = [:]
    /// Address → the name a PTR query answers ("web.mynet").
    private(set) var reverse: [UInt32: String] = [:]
    /// Per-name query counter: the A records of a name are answered starting
    /// at `turn % count`, so successive queries see the addresses rotate.
    private var turns: [String: Int] = [:]

    init(network: String, records: [String: [IPv4Address]], reverse: [IPv4Address: String]?) {
        self.network = DNSZone.normalize(network)
        for (name, addresses) in records {
            let key = DNSZone.normalize(name)
            guard !key.isEmpty, !addresses.isEmpty else { continue }
            // Two spellings of one name ("Web", "web.") merge, keeping order.
            var merged = names[key] ?? []
            for a in addresses where !merged.contains(a) { merged.append(a) }
            names[key] = merged
        }
        if let reverse {
            for (address, name) in reverse { self.reverse[address.value] = DNSZone.normalize(name) }
        } else {
            // Without an explicit map, an address answers with the name that
            // belongs to it alone (the container's name, not a shared alias);
            // ties are broken by order so the answer never flips between runs.
            for (name, addresses) in names.sorted(by: { $0.key < $1.key }) {
                for a in addresses {
                    if let existing = self.reverse[a.value], (names[existing]?.count ?? 0) <= addresses.count { continue }
                    self.reverse[a.value] = name
                }
            }
        }
    }

    /// Lower case, without one trailing dot.
    static func normalize(_ name: String) -> String {
        var bytes = Array(name.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        for i in bytes.indices where bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] |= 0x20 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Takes over `old`'s query counters for the names both have.
    mutating func continueRotation(of old: DNSZone) {
        for (name, turn) in old.turns where names[name] != nil { turns[name] = turn }
    }

    /// The decision for one question.
    enum Decision: Equatable {
        /// Answer locally: NOERROR with these records (possibly none).
        case answer([DNSAnswer.Record])
        /// Not ours: ask the upstream resolvers.
        case forward
    }

    mutating func decide(_ question: DNSQuestion) -> Decision {
        guard let name = question.name, question.klass == 1 || question.klass == 255 else { return .forward }
        if let key = lookupKey(name), let addresses = names[key] {
            // A known name has no other data: AAAA, MX and the rest are answered
            // empty (NOERROR, no records), so that a client does not go on to ask
            // the host's resolvers about a container's name. Docker does the same.
            guard question.type == DNSType.a || question.type == DNSType.any else { return .answer([]) }
            let turn = turns[key, default: 0]
            turns[key] = turn &+ 1
            let start = turn % addresses.count
            let rotated = addresses[start...] + addresses[..<start]
            return .answer(rotated.map { .a($0) })
        }
        if question.type == DNSType.ptr, let address = DNSZone.reverseAddress(name),
           let owner = reverse[address.value] {
            return .answer([.ptr(owner + "." + network + ".")])
        }
        return .forward
    }

    private func lookupKey(_ name: String) -> String? {
        if names[name] != nil { return name }
        let suffix = "." + network
        if !network.isEmpty, name.hasSuffix(suffix) {
            let short = String(name.dropLast(suffix.count))
            if names[short] != nil { return short }
        }
        return nil
    }

    /// "4.3.2.1.in-addr.arpa" → 1.2.3.4; nil for anything else.
    static func reverseAddress(_ name: String) -> IPv4Address? {
        let suffix = ".in-addr.arpa"
        guard name.hasSuffix(suffix) else { return nil }
        let labels = name.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == 4 else { return nil }
        return IPv4Address(labels.reversed().joined(separator: "."))
    }
}
