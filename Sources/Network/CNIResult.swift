import OCI

/// What berthd keeps of a CNI ADD result (the spec's Result, 1.0.0): the
/// container's address on the network, its gateway and its MAC address.
public struct CNIResult: Sendable, Equatable {
    public var address: IPv4Address
    public var prefixLength: Int
    public var gateway: IPv4Address?
    public var macAddress: String

    /// The first IPv4 address and the MAC address of the interface it is on
    /// (the container's, `ifname`).
    public init(parsing v: JSONValue, ifname: String) throws(CNIError) {
        let interfaces = v["interfaces"]?.arrayValue ?? []
        guard let ip = (v["ips"]?.arrayValue ?? []).first(where: { ($0["address"]?.stringValue ?? "").contains(".") }),
              let cidr = ip["address"]?.stringValue else { throw CNIError("the CNI result has no IPv4 address") }
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let a = IPv4Address(parts[0]), let len = Int(parts[1]) else {
            throw CNIError("the CNI result has an unreadable address \(cidr)")
        }
        address = a
        prefixLength = len
        gateway = ip["gateway"]?.stringValue.flatMap { IPv4Address($0) }
        var mac = ""
        if let i = ip["interface"]?.int64Value, i >= 0, Int(i) < interfaces.count {
            mac = interfaces[Int(i)]["mac"]?.stringValue ?? ""
        }
        if mac.isEmpty, let own = interfaces.first(where: { $0["name"]?.stringValue == ifname && $0["sandbox"] != nil }) {
            mac = own["mac"]?.stringValue ?? ""
        }
        macAddress = mac
    }
}
