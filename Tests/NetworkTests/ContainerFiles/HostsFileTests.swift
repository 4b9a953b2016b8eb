import Glibc
import Testing
@testable import Network

@Suite struct HostsFileTests {
    @Test func aContainerOnTheBridgeWithExtraHostsAndALink() throws {
        let link = try Link(parsing: "db1:db")
        let file = HostsFile.render(
            hostname: "4f2a1c9e0b7d", addresses: ["172.17.0.3"],
            extraHosts: [try HostsEntry.addHost("test:10.10.10.255", hostGateway: nil),
                         try HostsEntry.addHost("host.docker.internal:host-gateway", hostGateway: "172.17.0.1")],
            links: [link.hostsEntry(linkedName: "db1", linkedHostname: "9c1e77aa0d12", linkedAddress: "172.17.0.2")])
        #expect(file == """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::\tip6-localnet
            ff00::\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters
            10.10.10.255\ttest
            172.17.0.1\thost.docker.internal
            172.17.0.2\tdb 9c1e77aa0d12 db1
            172.17.0.3\t4f2a1c9e0b7d

            """)
    }

    @Test func domainnameGivesTheFullAndTheShortName() {
        let file = HostsFile.render(hostname: "web", domainname: "example.com", addresses: ["172.18.0.2"], ipv6: false)
        #expect(file == "127.0.0.1\tlocalhost\n172.18.0.2\tweb.example.com web\n")
        // A hostname with a dot in it is treated the same way.
        #expect(HostsFile.render(hostname: "web.local", addresses: ["10.0.0.2"], ipv6: false).hasSuffix("10.0.0.2\tweb.local web\n"))
        // --network none: no own line.
        #expect(HostsFile.render(hostname: "web", addresses: [], ipv6: false) == "127.0.0.1\tlocalhost\n")
    }

    @Test func withoutIPv6TheIPv6EntriesAreLeftOut() throws {
        let v6 = try HostsEntry.addHost("six:[2001:db8::0001]", hostGateway: nil)
        #expect(v6 == HostsEntry(address: "2001:db8::1", names: "six"))
        let file = HostsFile.render(hostname: "h", addresses: ["10.0.0.2"], extraHosts: [v6], ipv6: false)
        #expect(!file.contains("2001:db8::1"))
        #expect(HostsFile.render(hostname: "h", addresses: [], extraHosts: [v6]).contains("2001:db8::1\tsix\n"))
    }

    @Test func addHostAcceptsDockersFormsAndRefusesTheRest() throws {
        #expect(try HostsEntry.addHost("a=1.2.3.4", hostGateway: nil) == HostsEntry(address: "1.2.3.4", names: "a"))
        #expect(try HostsEntry.addHost("a:::1", hostGateway: nil) == HostsEntry(address: "::1", names: "a"))
        #expect(throws: ContainerFilesError("invalid argument \"web:x\" for \"--add-host\" flag: invalid IP address in add-host: \"x\"")) {
            try HostsEntry.addHost("web:x", hostGateway: nil)
        }
        #expect(throws: ContainerFilesError("invalid argument \"web\" for \"--add-host\" flag: bad format for add-host: \"web\"")) {
            try HostsEntry.addHost("web", hostGateway: nil)
        }
        #expect(throws: ContainerFilesError("invalid argument \":1.2.3.4\" for \"--add-host\" flag: bad format for add-host: \":1.2.3.4\"")) {
            try HostsEntry.addHost(":1.2.3.4", hostGateway: nil)
        }
        #expect(throws: ContainerFilesError("unable to derive the IP value for host-gateway")) {
            try HostsEntry.addHost("h:host-gateway", hostGateway: nil)
        }
        #expect(throws: ContainerFilesError.self) { try HostsEntry.addHost("h:1.2.3.256", hostGateway: nil) }
    }

    @Test func theHostNetworkGetsTheHostsFileUnlessHostsAreAdded() throws {
        let host = "127.0.0.1 localhost\n192.168.1.5 myhost\n"
        #expect(HostsFile.renderForHostNetwork(hostFile: host, hostname: "myhost", extraHosts: []) == host)
        let added = HostsFile.renderForHostNetwork(hostFile: host, hostname: "myhost", extraHosts: [HostsEntry(address: "10.1.1.1", names: "myhost")])
        #expect(added.hasSuffix("ff02::2\tip6-allrouters\n10.1.1.1\tmyhost\n"))
    }

    @Test func theWriterReplacesFilesAtomically() throws {
        var template = Array("/tmp/berth-files-XXXXXX".utf8CString)
        let dir = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer { for f in ["hosts", "resolv.conf", "hostname"] { unlink(dir + "/" + f) }; rmdir(dir) }
        let old = umask(0o077)
        defer { umask(old) }
        let paths = try ContainerFileWriter.write(directory: dir, hosts: "127.0.0.1\tlocalhost\n", resolvConf: "nameserver 8.8.8.8\n",
                                                   hostname: HostnameFile.render(hostname: "abc123"))
        #expect(paths["hostname"] == dir + "/hostname")
        #expect(try contents(dir + "/hostname") == "abc123\n")
        var st = stat()
        stat(dir + "/hosts", &st)
        #expect(st.st_mode & 0o777 == 0o644)
        let inode = st.st_ino
        try ContainerFileWriter.writeAtomically(dir + "/hosts", "new\n")
        stat(dir + "/hosts", &st)
        #expect(st.st_ino != inode)                 // renamed over, not rewritten
        #expect(try contents(dir + "/hosts") == "new\n")
        let kept = st.st_ino
        try ContainerFileWriter.rewriteInPlace(dir + "/hosts", "in place\n")
        stat(dir + "/hosts", &st)
        #expect(st.st_ino == kept)                  // what a bind mount needs
        #expect(try contents(dir + "/hosts") == "in place\n")
        // No temporary file is left behind.
        #expect(try listing(dir).sorted() == ["hostname", "hosts", "resolv.conf"])
        #expect(throws: ContainerFilesError.self) { try ContainerFileWriter.writeAtomically(dir + "/missing/hosts", "x") }
    }

    func contents(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, buf.count)
        return String(decoding: buf[0..<max(0, n)], as: UTF8.self)
    }

    func listing(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
