import Registry
import RPC

extension NetworkService {
    /// Runs blocking network work (plugins, iptables) on a thread of its own.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingThread.run(body)
    }

    /// The network methods (docs/berthd-api.md, Networks); connect and
    /// disconnect need the container, so ContainerService serves them.
    public func register(on daemon: Daemon, containers: ContainerService) {
        let server = daemon.server
        server.register(.networkCreate) { (p: BerthAPI.NetworkCreateParams, _) in
            try await self.blocking { try self.create(p) }
        }
        server.register(.networkList) { (p: BerthAPI.NetworkListParams, _) in
            try await self.blocking { try self.list(p).map { self.inspect($0) } }
        }
        server.register(.networkInspect) { (p: BerthAPI.NetworkRef, _) in
            try await self.blocking { self.inspect(try self.network(p.id)) }
        }
        server.register(.networkRemove) { (p: BerthAPI.NetworkRef, _) -> NoParams in
            try await self.blocking { try self.remove(p.id) }
            return NoParams()
        }
        server.register(.networkPrune) { (p: BerthAPI.NetworkListParams, _) in
            try await self.blocking { try self.prune(p) }
        }
        server.register(.networkConnect) { (p: BerthAPI.NetworkConnectParams, _) -> NoParams in
            try await self.blocking { try containers.connect(try containers.entry(p.container), to: p.network, aliases: p.aliases ?? [], ip: p.ipv4Address) }
            return NoParams()
        }
        server.register(.networkDisconnect) { (p: BerthAPI.NetworkDisconnectParams, _) -> NoParams in
            try await self.blocking { try containers.disconnect(try containers.entry(p.container), from: p.network, force: p.force ?? false) }
            return NoParams()
        }
    }
}
