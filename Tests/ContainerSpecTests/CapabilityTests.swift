import ContainerSpec
import Testing

@Suite struct CapabilityTests {
    @Test func defaults() throws {
        let caps = try CapabilitySet.resolve(add: [], drop: [], privileged: false, lastCap: 40)
        #expect(caps == CapabilitySet.defaults)
        #expect(caps.count == 14)
    }

    @Test func addAndDropAnySpelling() throws {
        let caps = try CapabilitySet.resolve(add: ["net_admin", "CAP_SYS_PTRACE", "Sys_Time"], drop: ["mknod", "CAP_NET_RAW"],
                                             privileged: false, lastCap: 40)
        #expect(caps.contains("CAP_NET_ADMIN") && caps.contains("CAP_SYS_PTRACE") && caps.contains("CAP_SYS_TIME"))
        #expect(!caps.contains("CAP_MKNOD") && !caps.contains("CAP_NET_RAW"))
        #expect(caps.count == 14 - 2 + 3)
    }

    @Test func addAllMinusDrops() throws {
        let caps = try CapabilitySet.resolve(add: ["all"], drop: ["SYS_ADMIN"], privileged: false, lastCap: 40)
        #expect(caps.count == 40)
        #expect(!caps.contains("CAP_SYS_ADMIN"))
    }

    @Test func dropAllKeepsOnlyAdds() throws {
        let caps = try CapabilitySet.resolve(add: ["chown"], drop: ["ALL"], privileged: false, lastCap: 40)
        #expect(caps == ["CAP_CHOWN"])
    }

    @Test func privilegedGetsWhatTheHostHas() throws {
        #expect(try CapabilitySet.resolve(add: [], drop: ["ALL"], privileged: true, lastCap: 37).count == 38)
        #expect(try CapabilitySet.resolve(add: [], drop: [], privileged: true, lastCap: 40).last == "CAP_CHECKPOINT_RESTORE")
    }

    @Test func unknownCapability() {
        #expect(throws: ContainerSpecError(.invalidCapability, "invalid capability: CAP_FLY")) {
            try CapabilitySet.resolve(add: ["CAP_FLY"], drop: [], privileged: false, lastCap: 40)
        }
        #expect(throws: ContainerSpecError(.invalidCapability, "invalid capability: bogus")) {
            try CapabilitySet.resolve(add: [], drop: ["bogus"], privileged: false, lastCap: 40)
        }
    }
}
