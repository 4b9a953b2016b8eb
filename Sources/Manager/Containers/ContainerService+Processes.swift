import FoundationEssentials
import Glibc
import OCI
import RPC

extension ContainerService {
    /// `top`: the host's `ps` with the user's options, rows kept for the container's processes (Docker's way).
    func top(_ entry: ContainerEntry, psArgs: String?) throws -> BerthAPI.ContainerTopResult {
        guard let task = entry.locked({ $0.task }) else { throw BerthError(.failedPrecondition, "Container \(entry.id) is not running") }
        let client = try shimClient(task)
        let pids = Set(try shimCall { () throws(RPCError) in try client.pids() }.pids)
        let args = (psArgs ?? "-ef").split(separator: " ").map(String.init)
        let res = try HostCommand.run(HostCommand.locate("ps"), args)
        guard res.status == 0 else { throw BerthError(.invalidArgument, "ps: \(res.message)") }
        var lines = res.stdout.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { throw BerthError(.internal, "ps printed nothing") }
        let header = lines.removeFirst().split(separator: " ").map(String.init)
        guard let pidColumn = header.firstIndex(of: "PID") else {
            throw BerthError(.invalidArgument, "Couldn't find PID field in ps output")
        }
        var rows: [[String]] = []
        for line in lines {
            // The last column (the command) may hold spaces: split into as many fields as the header has.
            var fields = line.split(separator: " ", maxSplits: header.count - 1, omittingEmptySubsequences: true).map(String.init)
            if fields.count > header.count { fields = Array(fields.prefix(header.count)) }
            guard pidColumn < fields.count, let pid = Int(fields[pidColumn]), pids.contains(pid) else { continue }
            rows.append(fields)
        }
        return BerthAPI.ContainerTopResult(titles: header, processes: rows)
    }

    /// One stats sample from the runtime (through the shim) and the host's CPU time.
    func stats(_ entry: ContainerEntry) throws -> BerthAPI.ContainerStats {
        let r = entry.record
        let read = Clock.rfc3339()
        guard let task = entry.locked({ $0.task }) else {
            return BerthAPI.ContainerStats(id: r.id, name: r.name, read: read, cpuTotal: 0, systemCPU: Self.hostCPUNanos(),
                                           onlineCPUs: Self.onlineCPUs, memoryUsage: 0, memoryLimit: 0, pids: 0, blockRead: 0, blockWrite: 0)
        }
        let client = try shimClient(task)
        let s = try shimCall { () throws(RPCError) in try client.stats() }
        func u(_ v: JSONValue?) -> UInt64 { v?.int64Value.map { UInt64(max($0, 0)) } ?? 0 }
        var readBytes: UInt64 = 0, writeBytes: UInt64 = 0
        if case .array(let entries)? = s["blkio"]?["ioServiceBytesRecursive"] {
            for e in entries {
                switch e["op"]?.stringValue?.lowercased() {
                case "read": readBytes += u(e["value"])
                case "write": writeBytes += u(e["value"])
                default: break
                }
            }
        }
        var limit = u(s["memory"]?["usage"]?["limit"])
        let hostMemory = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        if limit == 0 || limit > hostMemory { limit = hostMemory }
        return BerthAPI.ContainerStats(id: r.id, name: r.name, read: read, cpuTotal: u(s["cpu"]?["usage"]?["total"]),
                                       systemCPU: Self.hostCPUNanos(), onlineCPUs: Self.onlineCPUs,
                                       memoryUsage: u(s["memory"]?["usage"]?["usage"]), memoryLimit: limit,
                                       pids: u(s["pids"]?["current"]), blockRead: readBytes, blockWrite: writeBytes)
    }

    static var onlineCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// The host's total CPU time in nanoseconds: the first line of /proc/stat, in clock ticks.
    static func hostCPUNanos() -> UInt64 {
        guard let data = FileManager.default.contents(atPath: "/proc/stat"),
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        let hz = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        return ticks * (1_000_000_000 / max(hz, 1))
    }

    /// `events`: what is recorded since `since`, then live events until `until` or the client leaves.
    func streamEvents(_ p: BerthAPI.EventsParams, ctx: RequestContext) async throws {
        let since = try p.since.flatMap { $0.isEmpty ? nil : try Self.parseTime($0) }
        let until = try p.until.flatMap { $0.isEmpty ? nil : try Self.parseTime($0) }
        let filters = p.filters ?? [:]
        for key in filters.keys where !["container", "image", "event", "type", "label"].contains(key) {
            throw BerthError(.invalidArgument, "invalid filter '\(key)'")
        }
        let matches: @Sendable (BerthAPI.Event) -> Bool = { e in
            if let s = since, e.timeNano < s { return false }
            if let u = until, e.timeNano > u { return false }
            for (key, values) in filters where !values.isEmpty {
                let ok: Bool
                switch key {
                case "container": ok = values.contains { e.actor.id.hasPrefix($0) || e.actor.attributes["name"] == $0 }
                case "image": ok = values.contains { e.actor.attributes["image"] == $0 }
                case "event": ok = values.contains { e.action == $0 || e.action.hasPrefix($0 + ":") }
                case "type": ok = values.contains(e.type)
                case "label":
                    ok = values.allSatisfy { v in
                        let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                        return kv.count == 2 ? e.actor.attributes[kv[0]] == kv[1] : e.actor.attributes[kv[0]] != nil
                    }
                default: ok = true
                }
                if !ok { return false }
            }
            return true
        }
        let send: @Sendable (BerthAPI.Event) -> Void = { e in
            if matches(e) { ctx.notify(BerthAPI.StreamNotification.event, value: e) }
        }
        let (past, token) = events.subscribe(send)
        defer { events.unsubscribe(token) }
        // Past events only when asked for (`--since`), as Docker.
        if since != nil { for e in past { send(e) } }
        while !ctx.isCancelled {
            if let u = until, Self.now() > u { return }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }
}
