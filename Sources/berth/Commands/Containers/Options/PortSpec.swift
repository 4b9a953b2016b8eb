import Glibc
import RPC

/// `-p/--publish` and `--expose` as Docker parses them (go-connections nat):
///
///     80                       container port 80/tcp, a host port chosen by berthd
///     8080:80                  host 8080 → container 80
///     127.0.0.1:8080:80        on one host address
///     127.0.0.1::80            on one address, any host port
///     [::1]:8080:80            an IPv6 host address
///     8080:80/udp              another protocol (tcp, udp, sctp)
///     8000-8010:8000-8010      ranges of the same size, port by port
///     8000-8010:80             one container port, the first free host port of the range
enum PortSpec {
    struct Mapping: Equatable {
        /// "80/tcp"
        var port: String
        var binding: BerthAPI.PortBinding
    }

    static func parse(_ spec: String) throws(OptionError) -> [Mapping] {
        var rest = Substring(spec)
        var proto = "tcp"
        if let slash = rest.lastIndex(of: "/") {
            proto = String(rest[rest.index(after: slash)...]).lowercased()
            rest = rest[..<slash]
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw OptionError("invalid proto: \(proto)") }
        }
        var ip = "", hostPort = "", containerPort = ""
        // An IPv6 address is written in brackets: [::1]:8080:80.
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw OptionError("invalid IP address: \(rest)") }
            ip = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            guard rest.first == ":" else { throw OptionError("invalid proto: \(spec)") }
            rest = rest.dropFirst()
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw OptionError("invalid port format: \(spec)") }
            hostPort = String(parts[0]); containerPort = String(parts[1])
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1: containerPort = parts[0]
            case 2: hostPort = parts[0]; containerPort = parts[1]
            case 3: ip = parts[0]; hostPort = parts[1]; containerPort = parts[2]
            default:
                // An unbracketed IPv6 address: everything before the last two fields.
                ip = parts.dropLast(2).joined(separator: ":"); hostPort = parts[parts.count - 2]; containerPort = parts[parts.count - 1]
            }
        }
        if !ip.isEmpty && !isIPAddress(ip) { throw OptionError("invalid IP address: \(ip)") }
        guard !containerPort.isEmpty else { throw OptionError("no port specified: \(spec)<empty>") }
        guard let (start, end) = range(containerPort) else { throw OptionError("invalid containerPort: \(containerPort)") }
        var hostStart = 0, hostEnd = 0
        if !hostPort.isEmpty {
            guard let r = range(hostPort) else { throw OptionError("invalid hostPort: \(hostPort)") }
            (hostStart, hostEnd) = r
            if end - start != hostEnd - hostStart && end != start {
                throw OptionError("invalid ranges specified for container and host Ports: \(containerPort) and \(hostPort)")
            }
        }
        var out: [Mapping] = []
        for i in 0...(end - start) {
            var hp = hostPort.isEmpty ? "" : String(hostStart + i)
            if start == end && hostStart != hostEnd { hp = "\(hostStart)-\(hostEnd)" }
            out.append(Mapping(port: "\(start + i)/\(proto)", binding: BerthAPI.PortBinding(hostIp: ip, hostPort: hp)))
        }
        return out
    }

    /// `--expose 80`, `--expose 7000-7010/udp`: the ports, without bindings.
    static func expose(_ spec: String) throws(OptionError) -> [String] {
        var rest = Substring(spec), proto = "tcp"
        if let slash = rest.lastIndex(of: "/") {
            proto = String(rest[rest.index(after: slash)...]).lowercased()
            rest = rest[..<slash]
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw OptionError("invalid proto: \(proto)") }
        }
        guard let (start, end) = range(String(rest)) else { throw OptionError("invalid range format for --expose: \(spec)") }
        return (start...end).map { "\($0)/\(proto)" }
    }

    /// "80" or "8000-8010", ports 0…65535 (0 means "any" on the host side).
    static func range(_ s: String) -> (Int, Int)? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let a = port(parts[0]) else { return nil }
        if parts.count == 1 { return (a, a) }
        guard let b = port(parts[1]), b >= a else { return nil }
        return (a, b)
    }

    private static func port(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(s), v <= 65535 else { return nil }
        return v
    }

    static func isIPAddress(_ s: String) -> Bool { isIPv4(s) || isIPv6(s) }

    static func isIPv4(_ s: String) -> Bool {
        var a = in_addr()
        return inet_pton(AF_INET, s, &a) == 1
    }

    static func isIPv6(_ s: String) -> Bool {
        var a = in6_addr()
        return inet_pton(AF_INET6, s, &a) == 1
    }
}
