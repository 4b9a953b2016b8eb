import Manager

/// Where berthd's services add their methods to the server and their counts
/// to `info`, between `prepare` (the root is locked, directories exist) and
/// `serve` (the socket accepts). The image service (issue 5) registers here:
///
///     let images = try ImageService(root: daemon.options.root, config: daemon.config, logger: daemon.logger)
///     images.register(on: daemon.server)
///     daemon.addInfoContributor { info in info.images = try await images.count() }
func registerServices(on daemon: Daemon) throws {
    daemon.addInfoContributor { info in
        // No storage yet: the snapshotter fills this in when it is wired.
        if info.storageDriver.isEmpty { info.storageDriver = "overlayfs" }
    }
}
