import OCI

/// rdma controller, the same file on v1 and v2: one rdma.max line per device,
/// "mlx4_0 hca_handle=2 hca_object=2000"; a field left out stays as it is.
enum Rdma {
    static func apply(_ limits: [String: Resources.RDMALimit], dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        for (device, l) in limits.sorted(by: { $0.key < $1.key }) {
            var line = device
            if let h = l.hcaHandles { line += " hca_handle=\(h)" }
            if let o = l.hcaObjects { line += " hca_object=\(o)" }
            guard line != device else { continue }
            try w.writeEntry(d, "rdma.max", key: device, line, absent: "\(device) hca_handle=max hca_object=max",
                             field: "linux.resources.rdma[\(device)]")
        }
    }
}
