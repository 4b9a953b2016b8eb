import Testing
@testable import Network

/// Against the examples of Docker's own tests (daemon/links) and docs.
@Suite struct LinkTests {
    @Test func parsesNameAndAlias() throws {
        #expect(try Link(parsing: "db") == Link(name: "db", alias: "db"))
        #expect(try Link(parsing: "web:insideweb") == Link(name: "web", alias: "insideweb"))
        #expect(try Link(parsing: "/db1:/me/db") == Link(name: "db1", alias: "db"))
        #expect(throws: ContainerFilesError("invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c")) { try Link(parsing: "a:b:c") }
        #expect(throws: ContainerFilesError("invalid argument \"\" for \"--link\" flag: empty string specified for links")) { try Link(parsing: "") }
    }

    @Test func hostsEntriesNameTheAliasTheHostnameAndTheName() {
        let aliased = Link(name: "db1", alias: "db").hostsEntry(linkedName: "db1", linkedHostname: "9c1e77aa0d12", linkedAddress: "172.17.0.2")
        #expect(aliased == HostsEntry(address: "172.17.0.2", names: "db 9c1e77aa0d12 db1"))
        let plain = Link(name: "web", alias: "web").hostsEntry(linkedName: "web", linkedHostname: "4f2a1c9e0b7d", linkedAddress: "172.17.0.4")
        #expect(plain.names == "web 4f2a1c9e0b7d")
    }

    @Test func environmentOfOnePortAndTheLinkedEnv() {
        let env = Link(name: "redis", alias: "docker").environment(
            linkingName: "db", linkedAddress: "172.0.17.2", exposedPorts: [Link.Port(6379)],
            linkedEnv: ["PASSWORD=gordon", "HOME=/root", "PATH=/bin", "NOEQUALS", "EMPTY="])
        #expect(env.sorted() == [
            "DOCKER_ENV_EMPTY=",
            "DOCKER_ENV_PASSWORD=gordon",
            "DOCKER_NAME=/db/docker",
            "DOCKER_PORT=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6379_TCP_PORT=6379",
            "DOCKER_PORT_6379_TCP_PROTO=tcp",
        ])
    }

    @Test func aliasesAreUpperCasedWithDashesAsUnderscores() {
        let env = Link(name: "x", alias: "docker-1").environment(linkingName: "/db", linkedAddress: "172.0.17.2",
                                                                 exposedPorts: [Link.Port("6379/tcp")!], linkedEnv: [])
        #expect(env.contains("DOCKER_1_NAME=/db/docker-1"))
        #expect(env.contains("DOCKER_1_PORT=tcp://172.0.17.2:6379"))
    }

    @Test func consecutivePortsAlsoFormARange() {
        let ports = ["6300/udp", "6379/tcp", "6380/tcp", "6381/tcp", "6382/udp"].map { Link.Port($0)! }
        let env = Link(name: "x", alias: "docker").environment(linkingName: "db", linkedAddress: "172.0.17.2",
                                                               exposedPorts: ports, linkedEnv: ["PASSWORD=gordon"])
        #expect(env.sorted() == [
            "DOCKER_ENV_PASSWORD=gordon",
            "DOCKER_NAME=/db/docker",
            "DOCKER_PORT=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6300_UDP=udp://172.0.17.2:6300",
            "DOCKER_PORT_6300_UDP_ADDR=172.0.17.2",
            "DOCKER_PORT_6300_UDP_PORT=6300",
            "DOCKER_PORT_6300_UDP_PROTO=udp",
            "DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6379_TCP_END=tcp://172.0.17.2:6381",
            "DOCKER_PORT_6379_TCP_PORT=6379",
            "DOCKER_PORT_6379_TCP_PORT_END=6381",
            "DOCKER_PORT_6379_TCP_PORT_START=6379",
            "DOCKER_PORT_6379_TCP_PROTO=tcp",
            "DOCKER_PORT_6379_TCP_START=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6380_TCP=tcp://172.0.17.2:6380",
            "DOCKER_PORT_6380_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6380_TCP_PORT=6380",
            "DOCKER_PORT_6380_TCP_PROTO=tcp",
            "DOCKER_PORT_6381_TCP=tcp://172.0.17.2:6381",
            "DOCKER_PORT_6381_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6381_TCP_PORT=6381",
            "DOCKER_PORT_6381_TCP_PROTO=tcp",
            "DOCKER_PORT_6382_UDP=udp://172.0.17.2:6382",
            "DOCKER_PORT_6382_UDP_ADDR=172.0.17.2",
            "DOCKER_PORT_6382_UDP_PORT=6382",
            "DOCKER_PORT_6382_UDP_PROTO=udp",
        ])
    }

    @Test func noExposedPortsGiveOnlyTheNameAndEnv() {
        #expect(Link(name: "w", alias: "web").environment(linkingName: "me", linkedAddress: "10.0.0.2", exposedPorts: [], linkedEnv: []) == ["WEB_NAME=/me/web"])
    }
}
