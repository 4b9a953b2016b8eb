import OCI
import RPC

/// `update`: new resource limits and restart policy for a container. The
/// values are checked as Docker checks them, sent to a running (or paused)
/// task through its shim (`berth-runtime update`), and only then stored in the
/// record's HostConfig, so a refused update changes nothing. A stopped
/// container gets them when it next starts.
extension ContainerService {
    func update(_ entry: ContainerEntry, _ p: BerthAPI.ContainerUpdateParams) throws {
        try entry.locked { g in
            let old = g.record.hostConfig
            var h = old
            try Self.apply(p, to: &h, containerID: entry.id)
            try validate(h)
            if let task = g.task {
                let resources = Self.resourcesJSON(p, merged: h)
                if case .object(let fields) = resources, !fields.isEmpty {
                    let client = try shimClient(task)
                    do {
                        try shimCall { () throws(RPCError) in try client.update(resources: resources) }
                    } catch let e as BerthError {
                        throw BerthError(e.code, "Cannot update container \(entry.id): \(e.message)")
                    }
                }
            }
            g.record.hostConfig = h
            persist(g.record)
            emit("update", g.record)
        }
    }

    /// Docker's checks (daemon update and verifyPlatformContainerResources), then the new values over `h`.
    static func apply(_ p: BerthAPI.ContainerUpdateParams, to h: inout BerthAPI.HostConfig, containerID: String) throws {
        func conflict(_ m: String) -> BerthError { BerthError(.invalidArgument, m) }
        // NanoCPUs and CPU period/quota exclude each other, also across updates.
        if (p.nanoCpus ?? 0) > 0 && (h.cpuPeriod ?? 0) > 0 && p.cpuPeriod == nil {
            throw conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
        }
        if (p.nanoCpus ?? 0) > 0 && (h.cpuQuota ?? 0) > 0 && p.cpuQuota == nil {
            throw conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
        }
        if (p.cpuPeriod ?? 0) > 0 && (h.nanoCpus ?? 0) > 0 && p.nanoCpus == nil {
            throw conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
        }
        if (p.cpuQuota ?? 0) > 0 && (h.nanoCpus ?? 0) > 0 && p.nanoCpus == nil {
            throw conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
        }
        if (p.nanoCpus ?? 0) > 0 && ((p.cpuPeriod ?? 0) > 0 || (p.cpuQuota ?? 0) > 0) {
            throw conflict("Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")
        }
        let memory = p.memory ?? h.memory ?? 0
        // The swap in force: what was set, or (Docker's default) twice the memory limit.
        let currentSwap = (h.memorySwap ?? 0) != 0 ? h.memorySwap! : ((h.memory ?? 0) > 0 ? 2 * h.memory! : 0)
        if let m = p.memory, m != 0 {
            if m < 6 * 1024 * 1024 { throw conflict("Minimum memory limit allowed is 6MB") }
            if p.memorySwap == nil || p.memorySwap == 0, currentSwap > 0, m > currentSwap {
                throw conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
            }
        }
        if let s = p.memorySwap, s != 0 {
            if s < -1 { throw conflict("invalid memory-swap \(s): it must be -1 (unlimited) or at least the memory limit") }
            if memory == 0 { throw conflict("You should always set the Memory limit when using Memoryswap limit, see usage") }
            if s > 0 && s < memory { throw conflict("Minimum memoryswap limit should be larger than memory limit, see usage") }
        }
        if let r = p.memoryReservation, r != 0 {
            if r < 6 * 1024 * 1024 { throw conflict("Minimum memory reservation allowed is 6MB") }
            if memory > 0 && memory < r { throw conflict("Minimum memory limit can not be less than memory reservation limit, see usage") }
        }
        if let period = p.cpuPeriod, period != 0, !(1000...1_000_000).contains(period) {
            throw conflict("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        }
        if let quota = p.cpuQuota, quota != 0, quota < 1000, quota != -1 {
            throw conflict("CPU cfs quota can not be less than 1ms (i.e. 1000)")
        }
        if let shares = p.cpuShares, shares < 0 { throw conflict("invalid CPU shares \(shares): must be positive") }
        if let n = p.nanoCpus, n < 0 { throw conflict("Range of CPUs is from 0.01 to the number of CPUs") }
        if let rp = p.restartPolicy, h.autoRemove == true, rp.name != "" && rp.name != "no" {
            throw conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
        }

        if let v = p.memory, v != 0 { h.memory = v }
        if let v = p.memorySwap, v != 0 { h.memorySwap = v }
        if let v = p.memoryReservation, v != 0 { h.memoryReservation = v }
        if let v = p.nanoCpus, v != 0 { h.nanoCpus = v }
        if let v = p.cpuShares, v != 0 { h.cpuShares = v }
        if let v = p.cpuPeriod, v != 0 { h.cpuPeriod = v }
        if let v = p.cpuQuota, v != 0 { h.cpuQuota = v }
        if let v = p.cpusetCpus, !v.isEmpty { h.cpusetCpus = v }
        if let v = p.cpusetMems, !v.isEmpty { h.cpusetMems = v }
        if let v = p.pidsLimit, v != 0 { h.pidsLimit = v }
        if let v = p.restartPolicy { h.restartPolicy = v }
    }

    /// The OCI LinuxResources of what the update changes (fields left out stay
    /// as they are; `berth-runtime update` reads 0 as "unchanged" too).
    static func resourcesJSON(_ p: BerthAPI.ContainerUpdateParams, merged h: BerthAPI.HostConfig) -> JSONValue {
        var out: [(String, JSONValue)] = []
        var memory: [(String, JSONValue)] = []
        if let v = p.memory, v != 0 {
            memory.append(("limit", .int(v)))
            // Keep memory+swap at least the limit (cgroup v1 refuses a limit above memsw).
            if (p.memorySwap ?? 0) == 0, (h.memorySwap ?? 0) > 0 { memory.append(("swap", .int(h.memorySwap!))) }
        }
        if let v = p.memorySwap, v != 0 { memory.append(("swap", .int(v))) }
        if let v = p.memoryReservation, v != 0 { memory.append(("reservation", .int(v))) }
        if !memory.isEmpty { out.append(("memory", .object(memory))) }

        var cpu: [(String, JSONValue)] = []
        if let v = p.cpuShares, v != 0 { cpu.append(("shares", .int(v))) }
        if let n = p.nanoCpus, n != 0 {
            // --cpus: a quota over Docker's 100 ms period (the kernel's minimum quota is 1 ms).
            cpu.append(("period", .int(100_000)))
            cpu.append(("quota", .int(max(1000, n * 100_000 / 1_000_000_000))))
        } else {
            if let v = p.cpuPeriod, v != 0 { cpu.append(("period", .int(v))) }
            if let v = p.cpuQuota, v != 0 { cpu.append(("quota", .int(v))) }
        }
        if let v = p.cpusetCpus, !v.isEmpty { cpu.append(("cpus", .string(v))) }
        if let v = p.cpusetMems, !v.isEmpty { cpu.append(("mems", .string(v))) }
        if !cpu.isEmpty { out.append(("cpu", .object(cpu))) }

        if let v = p.pidsLimit, v != 0 { out.append(("pids", .object([("limit", .int(v <= 0 ? -1 : v))]))) }
        return .object(out)
    }
}
