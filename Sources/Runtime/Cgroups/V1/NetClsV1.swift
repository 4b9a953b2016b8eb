/// v1 net_cls controller: the class id stamped on the container's packets.
enum NetClsV1 {
    static func apply(_ classID: UInt32, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        try w.write(d, "net_cls.classid", String(classID), field: "linux.resources.network.classID")
    }
}
