/// v1 blkio controller: proportional weights (CFQ's blkio.weight or, on
/// current kernels, BFQ's blkio.bfq.weight, as runc picks them) and the
/// throttle rules per device.
enum BlkioV1 {
    static let field = "linux.resources.blockIO"

    static func needed(_ b: BlockIO) -> Bool {
        b.weight != nil || b.leafWeight != nil || b.weightDevice?.isEmpty == false || b.throttles.contains { !$0.devices.isEmpty }
    }

    static func apply(_ b: BlockIO, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        let cfq = FS.exists(d + "/blkio.weight")
        let weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight"
        let weightDeviceFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device"
        if let weight = b.weight, weight != 0 {
            try w.write(d, weightFile, String(weight), field: "\(field).weight")
        }
        if let leaf = b.leafWeight, leaf != 0 {
            // Only CFQ had leaf weights; kernels since 5.0 have no CFQ.
            try w.write(d, "blkio.leaf_weight", String(leaf), field: "\(field).leafWeight")
        }
        for dev in b.weightDevice ?? [] {
            let key = "\(dev.major):\(dev.minor)"
            if let weight = dev.weight, weight != 0 {
                try w.writeEntry(d, weightDeviceFile, key: key, "\(key) \(weight)", absent: "\(key) 0",
                                 field: "\(field).weightDevice[\(key)].weight")
            }
            if let leaf = dev.leafWeight, leaf != 0 {
                try w.writeEntry(d, "blkio.leaf_weight_device", key: key, "\(key) \(leaf)", absent: "\(key) 0",
                                 field: "\(field).weightDevice[\(key)].leafWeight")
            }
        }
        for t in b.throttles {
            for dev in t.devices {
                let key = "\(dev.major):\(dev.minor)"
                // A rate of 0 removes the rule, so it is also what restores "no rule".
                try w.writeEntry(d, t.v1File, key: key, "\(key) \(dev.rate)", absent: "\(key) 0", field: "\(field).\(t.field)[\(key)]")
            }
        }
    }

    /// The I/O counters of whichever policy the kernel has, in runc's order of
    /// preference: CFQ, then BFQ, then the throttle policy (which counts every I/O).
    static func stats(dir d: String, into s: inout CgroupStats) {
        func read(_ f: String) -> [CgroupStats.BlkioEntry] { CgroupStats.blkioEntries(d + "/" + f) }
        if FS.exists(d + "/blkio.io_serviced_recursive") {
            s.blkio.sectorsRecursive = read("blkio.sectors_recursive")
            s.blkio.ioServiceTimeRecursive = read("blkio.io_service_time_recursive")
            s.blkio.ioWaitTimeRecursive = read("blkio.io_wait_time_recursive")
            s.blkio.ioMergedRecursive = read("blkio.io_merged_recursive")
            s.blkio.ioQueuedRecursive = read("blkio.io_queued_recursive")
            s.blkio.ioTimeRecursive = read("blkio.time_recursive")
            s.blkio.ioServicedRecursive = read("blkio.io_serviced_recursive")
            s.blkio.ioServiceBytesRecursive = read("blkio.io_service_bytes_recursive")
        } else if FS.exists(d + "/blkio.bfq.io_serviced_recursive") {
            s.blkio.ioServicedRecursive = read("blkio.bfq.io_serviced_recursive")
            s.blkio.ioServiceBytesRecursive = read("blkio.bfq.io_service_bytes_recursive")
        } else {
            s.blkio.ioServicedRecursive = read("blkio.throttle.io_serviced_recursive")
            s.blkio.ioServiceBytesRecursive = read("blkio.throttle.io_service_bytes_recursive")
        }
    }
}
