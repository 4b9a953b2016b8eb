import Content
import ContainerSpec
import RPC
import Testing

@Suite struct MergeTests {
    let image = ImageConfig.Config(
        user: "app", env: ["PATH=/image/bin", "LANG=C", "HOME=/home/app"], entrypoint: ["/entry.sh"], cmd: ["serve", "--port", "80"],
        workingDir: "/srv", labels: ["a": "image", "b": "image"], stopSignal: "SIGQUIT",
        exposedPorts: ["80/tcp": .init()], volumes: ["/data": .init()])

    @Test func userCmdReplacesImageCmdAndKeepsEntrypoint() {
        var user = BerthAPI.ContainerConfig()
        user.cmd = ["debug"]
        let m = user.merged(image: image)
        #expect(m.entrypoint == ["/entry.sh"])
        #expect(m.cmd == ["debug"])
    }

    @Test func noUserCommandTakesTheImages() {
        let m = BerthAPI.ContainerConfig().merged(image: image)
        #expect(m.entrypoint == ["/entry.sh"])
        #expect(m.cmd == ["serve", "--port", "80"])
        #expect(m.user == "app")
        #expect(m.workingDir == "/srv")
        #expect(m.stopSignal == "SIGQUIT")
    }

    @Test func userEntrypointDropsImageCmd() {
        var user = BerthAPI.ContainerConfig()
        user.entrypoint = ["/bin/sh"]
        let m = user.merged(image: image)
        #expect(m.entrypoint == ["/bin/sh"])
        #expect(m.cmd == nil)
    }

    @Test func userEntrypointKeepsUserCmd() {
        var user = BerthAPI.ContainerConfig()
        user.entrypoint = ["/bin/sh"]
        user.cmd = ["-c", "true"]
        let m = user.merged(image: image)
        #expect(m.entrypoint == ["/bin/sh"])
        #expect(m.cmd == ["-c", "true"])
    }

    @Test func emptyEntrypointClearsTheImagesAndKeepsItsCmd() {
        var user = BerthAPI.ContainerConfig()
        user.entrypoint = [""]
        let m = user.merged(image: image)
        #expect(m.entrypoint == [])
        #expect(m.cmd == ["serve", "--port", "80"])
    }

    @Test func envMergedByNameUserWinsImageOrderKept() {
        var user = BerthAPI.ContainerConfig()
        user.env = ["LANG=en_US.UTF-8", "EXTRA=1"]
        let m = user.merged(image: image)
        // Docker's order: the user's entries, then the image's others in the image's order.
        #expect(m.env == ["LANG=en_US.UTF-8", "EXTRA=1", "PATH=/image/bin", "HOME=/home/app"])
    }

    @Test func labelsPortsVolumesUnion() {
        var user = BerthAPI.ContainerConfig()
        user.labels = ["b": "user", "c": "user"]
        user.exposedPorts = ["443/tcp": .init()]
        user.volumes = ["/logs": .init()]
        let m = user.merged(image: image)
        #expect(m.labels == ["a": "image", "b": "user", "c": "user"])
        #expect(Set(m.exposedPorts!.keys) == ["80/tcp", "443/tcp"])
        #expect(Set(m.volumes!.keys) == ["/data", "/logs"])
    }

    @Test func userScalarsWin() {
        var user = BerthAPI.ContainerConfig()
        user.user = "1000:1000"
        user.workingDir = "/tmp"
        user.stopSignal = "SIGTERM"
        let m = user.merged(image: image)
        #expect(m.user == "1000:1000")
        #expect(m.workingDir == "/tmp")
        #expect(m.stopSignal == "SIGTERM")
    }

    @Test func noImageConfig() {
        var user = BerthAPI.ContainerConfig()
        user.cmd = ["true"]
        #expect(user.merged(image: nil as ImageConfig.Config?) == user)
    }
}
