import Manager

/// Where berthd's services add their methods to the server and their counts
/// to `info`, between `prepare` (the root is locked, directories exist) and
/// `serve` (the socket accepts).
func registerServices(on daemon: Daemon) throws {
    let images: ImageService
    do {
        images = try ImageService.start(root: daemon.options.root, config: daemon.config, logger: daemon.logger)
    } catch {
        throw DaemonError("cannot open the image store under \(daemon.options.root): \(error)")
    }
    images.register(on: daemon)
    let volumes: VolumeService
    do {
        volumes = try VolumeService.start(daemon: daemon, images: images)
    } catch {
        throw DaemonError("cannot open the volumes under \(daemon.options.root): \(error)")
    }
    volumes.register(on: daemon)
    let networks: NetworkService
    do {
        networks = try NetworkService.start(daemon: daemon, images: images)
    } catch {
        throw DaemonError("cannot set up the networks: \(error)")
    }
    let containers: ContainerService
    do {
        containers = try ContainerService.start(daemon: daemon, images: images, volumes: volumes, networks: networks)
    } catch {
        throw DaemonError("cannot open the containers under \(daemon.options.root): \(error)")
    }
    containers.register(on: daemon)
    networks.register(on: daemon, containers: containers)
    // The name servers learn the running containers' names once the containers are known.
    networks.refreshNames()
    images.collectGarbageAtStart(logger: daemon.logger)
}
