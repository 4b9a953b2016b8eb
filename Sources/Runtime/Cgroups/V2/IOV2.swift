/// v2 io controller: the proportional weight (BFQ's io.bfq.weight when the
/// kernel has it, as runc prefers, else io.weight on its own scale) and
/// io.max's rbps/wbps/riops/wiops per device.
enum IOV2 {
    static let field = "linux.resources.blockIO"

    static func needed(_ b: BlockIO) -> Bool { BlkioV1.needed(b) }

    /// blkio's 10..1000 onto io.weight's 1..10000, as runc converts it.
    static func ioWeight(_ w: UInt16) -> UInt64 { 1 + (UInt64(w) - 10) * 9999 / 990 }

    static func apply(_ b: BlockIO, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if b.leafWeight != nil || b.weightDevice?.contains(where: { $0.leafWeight != nil }) == true {
            throw RuntimeError("\(field).leafWeight: not available on cgroup v2")
        }
        let bfq = FS.exists(d + "/io.bfq.weight")
        // The first line is the default weight ("default 100"), the one to put back.
        let firstLine: (String) -> String? = { $0.split(separator: "\n").first.map(String.init) }
        if let weight = b.weight, weight != 0 {
            if bfq {
                try w.write(d, "io.bfq.weight", String(weight), field: "\(field).weight", restore: firstLine)
            } else {
                try w.write(d, "io.weight", "default \(ioWeight(weight))", field: "\(field).weight", restore: firstLine)
            }
        }
        // Old kernels' io.bfq.weight holds a bare number and takes no device entries.
        let bfqPerDevice = bfq && (FS.readTrimmed(d + "/io.bfq.weight")?.hasPrefix("default") ?? false)
        for dev in b.weightDevice ?? [] {
            guard let weight = dev.weight, weight != 0 else { continue }
            let key = "\(dev.major):\(dev.minor)"
            let (file, value) = bfqPerDevice ? ("io.bfq.weight", String(weight)) : ("io.weight", String(ioWeight(weight)))
            try w.writeEntry(d, file, key: key, "\(key) \(value)", absent: "\(key) default", field: "\(field).weightDevice[\(key)]")
        }
        for t in b.throttles {
            for dev in t.devices {
                let key = "\(dev.major):\(dev.minor)"
                // On v1 a rate of 0 removes the rule; "max" is v2's word for that.
                let rate = dev.rate == 0 ? "max" : String(dev.rate)
                try w.writeEntry(d, "io.max", key: key, "\(key) \(t.v2Key)=\(rate)",
                                 absent: "\(key) rbps=max wbps=max riops=max wiops=max", field: "\(field).\(t.field)[\(key)]")
            }
        }
    }

    /// io.stat ("8:0 rbytes=… wbytes=… rios=… wios=…") in v1's terms, as runc maps it.
    static func stats(dir d: String, into s: inout CgroupStats) {
        guard let text = try? FS.readString(d + "/io.stat") else { return }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let dev = f.first?.split(separator: ":"), dev.count == 2,
                  let major = UInt64(dev[0]), let minor = UInt64(dev[1]) else { continue }
            for item in f.dropFirst() {
                let kv = item.split(separator: "=")
                guard kv.count == 2, let v = UInt64(kv[1]) else { continue }
                let e = CgroupStats.BlkioEntry(major: major, minor: minor, op: kv[0].first == "r" ? "Read" : "Write", value: v)
                switch kv[0] {
                case "rbytes", "wbytes": s.blkio.ioServiceBytesRecursive.append(e)
                case "rios", "wios": s.blkio.ioServicedRecursive.append(e)
                default: continue
                }
            }
        }
    }
}
