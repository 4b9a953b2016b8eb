import OCI

/// linux.resources.blockIO (config-linux.md#block-io). OCI keeps it as raw JSON;
/// it is decoded here, where it is used.
struct BlockIO: Decodable {
    var weight: UInt16?
    var leafWeight: UInt16?
    var weightDevice: [WeightDevice]?
    var throttleReadBpsDevice: [ThrottleDevice]?
    var throttleWriteBpsDevice: [ThrottleDevice]?
    var throttleReadIOPSDevice: [ThrottleDevice]?
    var throttleWriteIOPSDevice: [ThrottleDevice]?

    struct WeightDevice: Decodable {
        var major: Int64
        var minor: Int64
        var weight: UInt16?
        var leafWeight: UInt16?
    }

    struct ThrottleDevice: Decodable {
        var major: Int64
        var minor: Int64
        var rate: UInt64
    }

    /// The four throttle lists with their config names and the v1 file / v2 io.max key.
    var throttles: [(field: String, v1File: String, v2Key: String, devices: [ThrottleDevice])] {
        [("throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps", throttleReadBpsDevice ?? []),
         ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps", throttleWriteBpsDevice ?? []),
         ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops", throttleReadIOPSDevice ?? []),
         ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops", throttleWriteIOPSDevice ?? [])]
    }
}

/// linux.resources.network (config-linux.md#network): v1 net_cls and net_prio.
struct NetworkResources: Decodable {
    var classID: UInt32?
    var priorities: [InterfacePriority]?

    struct InterfacePriority: Decodable {
        var name: String
        var priority: UInt32
    }
}

enum ResourceConfig {
    static func blockIO(_ r: Resources?) throws(RuntimeError) -> BlockIO? {
        guard let raw = r?.blockIO, raw != .null else { return nil }
        do { return try JSONValueDecoder().decode(BlockIO.self, from: raw) } catch {
            throw RuntimeError("linux.resources.blockIO: \((error as? JSONError)?.message ?? "\(error)")")
        }
    }

    static func network(_ r: Resources?) throws(RuntimeError) -> NetworkResources? {
        guard let raw = r?.network, raw != .null else { return nil }
        do { return try JSONValueDecoder().decode(NetworkResources.self, from: raw) } catch {
            throw RuntimeError("linux.resources.network: \((error as? JSONError)?.message ?? "\(error)")")
        }
    }

    /// The checks that need no host: types, ranges and names. What the host
    /// lacks (a controller, a file, a device) is found when the limits are written.
    static func validate(_ r: Resources) throws(RuntimeError) {
        if let b = try blockIO(r) {
            func weight(_ w: UInt16?, _ field: String) throws(RuntimeError) {
                if let w, w != 0, !(10...1000).contains(w) {
                    throw RuntimeError("linux.resources.blockIO.\(field): \(w) is outside 10..1000")
                }
            }
            try weight(b.weight, "weight")
            try weight(b.leafWeight, "leafWeight")
            for d in b.weightDevice ?? [] {
                try device(d.major, d.minor, "blockIO.weightDevice")
                try weight(d.weight, "weightDevice.weight")
                try weight(d.leafWeight, "weightDevice.leafWeight")
            }
            for t in b.throttles { for d in t.devices { try device(d.major, d.minor, "blockIO.\(t.field)") } }
        }
        if let n = try network(r) {
            for p in n.priorities ?? [] where p.name.isEmpty || p.name.includes(" ") || p.name.includes("\n") {
                throw RuntimeError("linux.resources.network.priorities: invalid interface name \(p.name.debugDescription)")
            }
        }
        for (name, _) in r.rdma ?? [:] where name.isEmpty || name.includes(" ") || name.includes("\n") {
            throw RuntimeError("linux.resources.rdma: invalid device name \(name.debugDescription)")
        }
    }

    static func device(_ major: Int64, _ minor: Int64, _ field: String) throws(RuntimeError) {
        guard major >= 0, minor >= 0 else { throw RuntimeError("linux.resources.\(field): invalid device \(major):\(minor)") }
    }

    /// runc reads 0 in these fields as "not set" (its config uses 0 for unset), at
    /// create and at update; so do we, rather than write a 0-byte memory limit or
    /// 0 cpu shares (which the kernel turns into 2).
    static func normalized(_ r: Resources) -> Resources {
        var r = r
        func nz<T: BinaryInteger>(_ v: T?) -> T? { v == 0 ? nil : v }
        if var m = r.memory {
            m.limit = nz(m.limit); m.reservation = nz(m.reservation); m.swap = nz(m.swap)
            m.kernel = nz(m.kernel); m.kernelTCP = nz(m.kernelTCP)
            r.memory = m
        }
        if var c = r.cpu {
            c.shares = nz(c.shares); c.quota = nz(c.quota); c.period = nz(c.period)
            c.realtimeRuntime = nz(c.realtimeRuntime); c.realtimePeriod = nz(c.realtimePeriod)
            if c.cpus?.isEmpty == true { c.cpus = nil }
            if c.mems?.isEmpty == true { c.mems = nil }
            r.cpu = c
        }
        return r
    }
}
