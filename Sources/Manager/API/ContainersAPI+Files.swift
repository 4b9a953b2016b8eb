import RPC

extension ContainerService {
    /// The methods on a container's filesystem and resources: diff, commit,
    /// export, archive get/put (cp), update (docs/containers.md).
    func registerFiles(on server: APIServer) {
        server.register(.containerDiff) { (p: BerthAPI.ContainerRef, _) -> [BerthAPI.ContainerChange] in
            try await self.blocking { try self.diff(try self.entry(p.id)) }
        }
        server.register(.containerCommit) { (p: BerthAPI.ContainerCommitParams, _) -> BerthAPI.ContainerCommitResult in
            try await self.blocking { try self.commit(try self.entry(p.id), p) }
        }
        server.register(.containerExport) { (p: BerthAPI.ContainerExportParams, _) -> NoParams in
            try await self.blocking { try self.export(try self.entry(p.id), to: p.path) }
            return NoParams()
        }
        server.register(.containerArchiveGet) { (p: BerthAPI.ArchiveGetParams, _) -> NoParams in
            try await self.blocking { try self.archiveGet(try self.entry(p.id), source: p.source, to: p.path, ref: p.id) }
            return NoParams()
        }
        server.register(.containerArchivePut) { (p: BerthAPI.ArchivePutParams, _) -> NoParams in
            try await self.blocking { try self.archivePut(try self.entry(p.id), destination: p.destination, from: p.path, ref: p.id) }
            return NoParams()
        }
        server.register(.containerUpdate) { (p: BerthAPI.ContainerUpdateParams, _) -> NoParams in
            try await self.blocking { try self.update(try self.entry(p.id), p) }
            return NoParams()
        }
    }
}
