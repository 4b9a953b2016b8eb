import FoundationEssentials
import Glibc
import Network
import OCI
import RPC

extension ContainerService {
    // MARK: ps

    func list(_ p: BerthAPI.ContainerListParams) throws -> [BerthAPI.ContainerSummary] {
        var records = entries.map(\.record).sorted { $0.created > $1.created }
        let filters = p.filters ?? [:]
        for key in filters.keys where !["status", "name", "label", "ancestor", "exited", "id", "before", "since"].contains(key) {
            throw BerthError(.invalidArgument, "invalid filter '\(key)'")
        }
        if let limit = p.limit, limit > 0 {
            records = Array(records.prefix(limit))
        } else if p.all != true && filters["status"] == nil && filters["exited"] == nil {
            records = records.filter { $0.state.hasTask || $0.state.status == .restarting }
        }
        if let f = filters["before"] {
            for ref in f { let e = try entry(ref).record; records = records.filter { $0.created < e.created } }
        }
        if let f = filters["since"] {
            for ref in f { let e = try entry(ref).record; records = records.filter { $0.created > e.created } }
        }
        // An ancestor is looked up once, not once per container.
        let ancestors = Set((filters["ancestor"] ?? []).compactMap { try? images.resolve($0).id.description })
        records = try records.filter { try matches($0, filters, ancestors: ancestors) }
        let now = Self.now()
        return records.map { r in
            BerthAPI.ContainerSummary(id: r.id, names: ["/" + r.name], image: r.image, imageID: r.imageID,
                                      command: Self.commandLine(r), created: r.created / 1_000_000_000,
                                      state: r.state.status.rawValue, status: Self.statusText(r.state, now: now),
                                      ports: portSummaries(r), labels: r.config.labels ?? [:],
                                      sizeRw: p.size == true ? sizeRw(r) : nil, sizeRootFs: nil, mounts: mountPoints(r))
        }
    }

    private func matches(_ r: ContainerRecord, _ filters: [String: [String]], ancestors: Set<String>) throws -> Bool {
        for (key, values) in filters where !values.isEmpty {
            let ok: Bool
            switch key {
            case "status":
                for v in values where !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(v) {
                    throw BerthError(.invalidArgument, "invalid filter 'status=\(v)'")
                }
                ok = values.contains(r.state.status.rawValue)
            case "name": ok = values.contains { r.name.contains($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
            case "id": ok = values.contains { r.id.hasPrefix($0) }
            case "exited":
                ok = r.state.status == .exited && values.contains { Int($0) == r.state.exitCode }
            case "label":
                let labels = r.config.labels ?? [:]
                ok = values.allSatisfy { v in
                    let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                    return kv.count == 2 ? labels[kv[0]] == kv[1] : labels[kv[0]] != nil
                }
            case "ancestor":
                ok = ancestors.contains(r.imageID) || values.contains { v in
                    r.image == v || r.imageID == v || r.imageID.dropFirst(7).hasPrefix(v)
                }
            default: ok = true
            }
            if !ok { return false }
        }
        return true
    }

    /// ps's COMMAND before truncation: entrypoint and cmd joined by spaces.
    static func commandLine(_ r: ContainerRecord) -> String {
        ((r.config.entrypoint ?? []) + (r.config.cmd ?? [])).joined(separator: " ")
    }

    /// ps's STATUS column, in Docker's words.
    static func statusText(_ s: ContainerState, now: Int64) -> String {
        func since(_ t: Int64) -> String { HumanDuration.format(seconds: Double(now - t) / 1e9) }
        switch s.status {
        case .created: return "Created"
        case .running: return "Up " + since(s.startedAt)
        case .paused: return "Up \(since(s.startedAt)) (Paused)"
        case .restarting: return "Restarting (\(s.exitCode)) \(since(s.finishedAt)) ago"
        case .removing: return "Removal In Progress"
        case .dead: return "Dead"
        case .exited:
            return s.startedAt == 0 ? "Created" : "Exited (\(s.exitCode)) \(since(s.finishedAt)) ago"
        }
    }

    /// Bytes in the container's writable layer.
    func sizeRw(_ r: ContainerRecord) -> Int64 {
        (try? images.snapshotter.usage(r.snapshotKey).size) ?? 0
    }

    // MARK: inspect

    static func time(_ nanos: Int64) -> String {
        guard nanos > 0 else { return "0001-01-01T00:00:00Z" }
        return Clock.rfc3339(timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000)))
    }

    /// Docker's container inspect object.
    func inspect(_ entry: ContainerEntry, size: Bool) throws -> JSONValue {
        let r = entry.record
        let s = r.state
        let state: JSONValue = .object([
            ("Status", .string(s.status.rawValue)), ("Running", .bool(s.hasTask)), ("Paused", .bool(s.status == .paused)),
            ("Restarting", .bool(s.status == .restarting)), ("OOMKilled", .bool(s.oomKilled)), ("Dead", .bool(s.status == .dead)),
            ("Pid", .int(Int64(s.pid))), ("ExitCode", .int(Int64(s.exitCode))), ("Error", .string(s.error)),
            ("StartedAt", .string(Self.time(s.startedAt))), ("FinishedAt", .string(Self.time(s.finishedAt))),
        ])
        let execIDs = execs.withLock { $0.values.filter { $0.containerID == r.id }.map(\.id) }
        var graphData: [(String, JSONValue)] = []
        if let upper = try? images.snapshotter.upperDirectory(r.snapshotKey) {
            graphData.append(("UpperDir", .string(upper)))
            if let lowers = try? images.snapshotter.lowerDirectories(r.snapshotKey) {
                graphData.append(("LowerDir", .string(lowers.joined(separator: ":"))))
            }
        }
        var fields: [(String, JSONValue)] = [
            ("Id", .string(r.id)), ("Created", .string(Self.time(r.created))), ("Path", .string(r.path)),
            ("Args", .array(r.args.map(JSONValue.string))), ("State", state), ("Image", .string(r.imageID)),
            ("ResolvConfPath", .string(nameFilePath(r, ContainerFileWriter.resolvConfName))),
            ("HostnamePath", .string(nameFilePath(r, ContainerFileWriter.hostnameName))),
            ("HostsPath", .string(nameFilePath(r, ContainerFileWriter.hostsName))), ("LogPath", .string(r.logPath)),
            ("Name", .string("/" + r.name)), ("RestartCount", .int(Int64(r.restartCount))),
            ("Driver", .string(images.snapshotter.name)), ("Platform", "linux"), ("MountLabel", ""), ("ProcessLabel", ""),
            ("AppArmorProfile", ""), ("ExecIDs", execIDs.isEmpty ? .null : .array(execIDs.map(JSONValue.string))),
            ("HostConfig", try JSONValueEncoder().encode(r.hostConfig)),
            ("GraphDriver", .object([("Data", .object(graphData)), ("Name", .string(images.snapshotter.name))])),
        ]
        if size {
            fields.append(("SizeRw", .int(sizeRw(r))))
        }
        fields += [
            ("Mounts", try JSONValueEncoder().encode(mountPoints(r))),
            ("Config", try JSONValueEncoder().encode(r.config)),
            ("NetworkSettings", networkSettings(r)),
        ]
        return .object(fields)
    }
}
