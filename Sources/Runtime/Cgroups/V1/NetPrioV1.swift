/// v1 net_prio controller: a priority per network interface.
enum NetPrioV1 {
    static func apply(_ priorities: [NetworkResources.InterfacePriority], dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        for p in priorities {
            try w.writeEntry(d, "net_prio.ifpriomap", key: p.name, "\(p.name) \(p.priority)", absent: "\(p.name) 0",
                             field: "linux.resources.network.priorities[\(p.name)]")
        }
    }
}
