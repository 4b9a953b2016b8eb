import FoundationEssentials
import Glibc
import OCI
import RPC
import Snapshots

/// What berthd does when it starts: every container it recorded is matched
/// with what is really there.
///
/// | recorded | found | then |
/// | --- | --- | --- |
/// | running/paused | shim answers, task running | reconnected (events to this berthd), shim watched |
/// | running/paused | shim answers, task exited | the exit handled: status, exit code, restart policy |
/// | running/paused | shim.json but no live shim | `berth-shim delete` says how it ended (137 when the shim's death killed it) |
/// | running/paused | no bundle (the host rebooted, /run emptied) | exited (255) |
/// | restarting | — | the restart is scheduled again |
///
/// Bundles and log directories of no recorded container (a `--rm` container
/// whose teardown berthd did not finish) are removed first.
///
/// A `--rm` container that does not run once this is done is removed with its
/// anonymous volumes, as dockerd does when it restores: its exit (or the
/// reboot under it) happened while berthd was not there to remove it. Its
/// layer was mounted `volatile` and may be incomplete after a crash; the
/// kernel would refuse to mount it again anyway.
///
/// Networks: a running container's published ports are bound again; a
/// stopped one's leftovers (addresses, port mappings, namespace: berthd died
/// between its exit and the teardown) are torn down; namespaces and leases of
/// containers that do not run go.
///
/// Then containers with `always`, and `unless-stopped` ones not stopped by
/// the user, that are not running are started (Docker's behaviour at daemon start).
extension ContainerService {
    func reconcile() {
        sweepOrphans()
        var toStart: [ContainerEntry] = []
        for entry in entries {
            let r = entry.record
            switch r.state.status {
            case .running, .paused:
                reattach(entry)
            case .restarting:
                entry.locked { g in g.record.state.status = .exited }
            case .removing, .dead:
                // An interrupted rm: finish it.
                try? remove(entry, force: true, volumes: false)
                continue
            default: break
            }
            let after = entry.record
            if after.hostConfig.autoRemove == true, !after.state.hasTask, after.state.status != .restarting {
                do { try remove(entry, force: true, volumes: true) } catch {
                    logger.warn("could not remove container \(after.shortID) (--rm) at start-up: \(error)")
                }
                continue
            }
            guard !after.state.hasTask, let p = after.hostConfig.restartPolicy?.name else { continue }
            if p == "always" || (p == "unless-stopped" && !after.manuallyStopped) { toStart.append(entry) }
        }
        reconcileNetworks()
        for entry in toStart {
            do {
                try entry.locked { g in
                    guard !g.record.state.hasTask else { return }
                    g.record.manuallyStopped = false
                    try startTask(g)
                }
            } catch {
                logger.warn("could not restart container \(entry.record.shortID) at start-up: \(error)")
            }
        }
    }

    /// What a berthd that died while it tore down a removed `--rm` container
    /// (ContainerService.removeAtExit) left behind: bundles and log directories
    /// with no record. A bundle's shim is shut down and its container collected
    /// (clearStaleBundle); the layers with no record go in the garbage
    /// collection at start-up, the namespace and address in reconcileNetworks.
    private func sweepOrphans() {
        let known = Set(entries.map(\.id))
        func orphans(_ dir: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { name in
                name.utf8.count == 64 && name.allSatisfy(\.isHexDigit) && !known.contains(name)
            }
        }
        for id in orphans(paths.bundles) {
            logger.info("removing what is left of container \(id.prefix(12)), removed before berthd stopped")
            clearStaleBundle(id)
        }
        for id in orphans(paths.persistent) { Self.removeTree(persistentDirectory(id)) }
    }

    private func reattach(_ entry: ContainerEntry) {
        let id = entry.id, dir = bundle(id)
        guard let data = FileManager.default.contents(atPath: dir + "/shim.json"),
              let v = try? JSONParser.parse(Array(data)), let address = v["address"]?.stringValue,
              let shimPid = v["pid"]?.int64Value else {
            // No bundle: the host rebooted (or /run was emptied) under the container.
            entry.locked { g in
                g.record.state.status = .exited
                g.record.state.pid = 0
                g.record.state.exitCode = 255
                g.record.state.finishedAt = Self.now()
                g.record.state.error = "the task was gone when berthd started (host reboot?)"
                persist(g.record)
            }
            _ = try? Mount.unmountAll(dir + "/rootfs", detach: true)
            Self.removeTree(dir)
            return
        }
        let task = ContainerEntry.Task(address: address, shimPid: Int32(shimPid))
        entry.locked { g in g.task = task }
        if let c = try? ShimClient(address: address), (try? c.connect(events: monitor.address)) != nil, let st = try? c.state() {
            monitor.watch(containerID: id, shimPid: task.shimPid)
            if st.status == "stopped" {
                taskExited(entry, ExitInfo(id: id, pid: st.pid, exitStatus: st.exitStatus ?? 255,
                                           exitedAt: st.exitedAt ?? Clock.rfc3339(), reason: st.reason))
            } else {
                entry.locked { g in
                    g.record.state.status = st.status == "paused" ? .paused : .running
                    g.record.state.pid = st.pid
                    persist(g.record)
                }
            }
        } else {
            shimDied(id, pid: task.shimPid)
        }
    }

    private func reconcileNetworks() {
        var running = Set<String>()
        for entry in entries {
            entry.locked { g in
                if g.record.state.hasTask {
                    running.insert(entry.id)
                    networking.reclaimPorts(g.record)
                } else if g.record.sandboxKey != nil || (g.record.networks ?? []).contains(where: { $0.ifname != nil }) {
                    var r = g.record
                    networking.detach(&r)
                    g.record = r
                    persist(r)
                }
            }
        }
        networking.removeStale(running: running)
    }
}
