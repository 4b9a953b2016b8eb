import CBerth
import Glibc

/// The cgroup hierarchies this process's mount namespace shows: every v1
/// controller (and the `name=X` of a named hierarchy) with the visible mount
/// that holds it, and the cgroup2 mount (/sys/fs/cgroup itself on a pure v2
/// host, `unified` on a hybrid one). Used by the runtime (CgroupHost) and by
/// the shim (CgroupLocator, for its OOM watch).
///
/// Found without reading the mount table when the kernel allows it. That
/// table grows by two lines per running container (the rootfs overlay and the
/// pinned network namespace berthd makes), and the kernel spends about 10 µs
/// formatting each line (overlayfs escapes every lower directory): with 400
/// containers running, reading /proc/self/mountinfo took 7–10 ms, once in
/// every `create` and `start` and once more in the shim, and it grew with
/// every container. Instead each directory entry of /sys/fs/cgroup, where
/// systemd and every distribution mount the hierarchies, is asked what is
/// mounted on it (statx for the mount id, statmount for its type, root and
/// options): a dozen syscalls whatever the host runs. That answer is taken
/// only when it accounts for every v1 hierarchy /proc/self/cgroup lists;
/// otherwise (a hierarchy mounted elsewhere, a kernel without statmount's
/// mount options, a refusal) the mount table is read as before.
public struct CgroupMounts: Equatable, Sendable {
    public struct Mount: Equatable, Sendable {
        /// Where it is mounted.
        public var point: String
        /// The directory of the hierarchy at its mount point: "/" unless only a
        /// sub-hierarchy is mounted (a bind of a container's cgroup).
        public var root: String

        public init(point: String, root: String) { self.point = point; self.root = root }
    }

    /// v1 only: controller ("memory", "name=systemd") → the visible mount holding it.
    public var controllers: [String: Mount]
    /// The first visible cgroup2 mount, if there is one.
    public var unified: Mount?

    public init(controllers: [String: Mount] = [:], unified: Mount? = nil) {
        self.controllers = controllers
        self.unified = unified
    }

    /// Where hierarchies are looked for before the mount table is read.
    public static let conventionalRoot = "/sys/fs/cgroup"

    public static func find() -> CgroupMounts {
        if let found = probe(conventionalRoot), found.covers(requiredControllers()) { return found }
        return parse(mountinfo: readAll("/proc/self/mountinfo") ?? [])
    }

    /// Whether every controller in `required` has a mount.
    func covers(_ required: [String]?) -> Bool {
        guard let required else { return false }
        return required.allSatisfy { controllers[$0] != nil }
    }

    /// The v1 hierarchies of /proc/self/cgroup ("4:memory:/x", "1:name=systemd:/"),
    /// each controller on its own; nil when the file cannot be read.
    static func requiredControllers() -> [String]? {
        guard let bytes = readAll("/proc/self/cgroup") else { return nil }
        var out: [String] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3, f[0] != "0" else { continue }
            for c in f[1].split(separator: ",") { out.append(String(c)) }
        }
        return out
    }

    /// The hierarchies mounted on `dir` itself or on its entries, from statmount;
    /// nil when the kernel cannot tell (then the caller reads the mount table).
    static func probe(_ dir: String) -> CgroupMounts? {
        var found = CgroupMounts()
        guard let top = mountAt(dir) else { return nil }
        if top.isRoot, top.type == "cgroup2" {
            found.unified = Mount(point: dir, root: top.root)
            return found
        }
        if top.isRoot, top.type == "cgroup" {
            // A v1 mount always names its controllers (or name=): no options
            // means a kernel that cannot report them.
            guard let options = top.options else { return nil }
            found.add(options, Mount(point: dir, root: top.root))
        }
        guard let d = opendir(dir) else { return found }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            // Symlinks ("cpu" → "cpu,cpuacct") name a mount that is listed itself.
            guard e.pointee.d_type == UInt8(DT_DIR) || e.pointee.d_type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names.sorted() {
            let point = dir + "/" + name
            // A plain directory, or one covered by another file system (a tmpfs
            // over `unified`), is not a visible cgroup mount.
            guard let m = mountAt(point) else { return nil }
            guard m.isRoot else { continue }
            if m.type == "cgroup" {
                guard let options = m.options else { return nil }
                found.add(options, Mount(point: point, root: m.root))
            }
            if m.type == "cgroup2", found.unified == nil { found.unified = Mount(point: point, root: m.root) }
        }
        return found
    }

    private struct Probed { var isRoot: Bool; var type: String; var root: String; var options: String? }

    private static func mountAt(_ path: String) -> Probed? {
        var isRoot: Int32 = 0, hasOptions: Int32 = 0
        var type = [CChar](repeating: 0, count: 64)
        var root = [CChar](repeating: 0, count: Int(PATH_MAX))
        var opts = [CChar](repeating: 0, count: 1024)
        guard cb_mount_at(path, &isRoot, &type, type.count, &root, root.count, &opts, opts.count, &hasOptions) == 0 else { return nil }
        func text(_ b: [CChar]) -> String { String(decoding: b.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return Probed(isRoot: isRoot != 0, type: text(type), root: text(root), options: hasOptions != 0 ? text(opts) : nil)
    }

    /// A v1 mount's superblock options name its controllers; the rest are flags.
    mutating func add(_ superOptions: some StringProtocol, _ mount: Mount) {
        for opt in superOptions.split(separator: ",") {
            let o = String(opt)
            if Self.notControllers.contains(o) || o.hasPrefix("release_agent=") { continue }
            controllers[o] = mount
        }
    }

    static let notControllers: Set<String> = [
        "rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "xattr",
        "noprefix", "cpuset_v2_mode", "favordynmods", "none",
    ]

    /// From /proc/self/mountinfo. The last mount on a mount point is the
    /// visible one: a tmpfs covering /sys/fs/cgroup/unified (as benchmarks and
    /// some hosts do) hides the cgroup2 mount below it even though mountinfo
    /// still lists that mount.
    public static func parse(mountinfo: [UInt8]) -> CgroupMounts {
        var visible: [String: (type: String, root: String, options: String)] = [:]
        var order: [String] = []
        // Parsed as bytes: walking it by Character (grapheme breaking) cost
        // more than the rest of the work. Fields are separated by single
        // spaces (mountinfo escapes spaces in paths as \040); " - " ends the
        // optional fields.
        mountinfo.withUnsafeBufferPointer { b in
            var lineStart = 0
            while lineStart < b.count {
                var lineEnd = lineStart
                while lineEnd < b.count && b[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                // Fields 3 (root) and 4 (mount point) before the separator, 0 (type) and 2 (super options) after.
                var root: Range<Int>?, mountPoint: Range<Int>?, type: Range<Int>?, options: Range<Int>?
                var index = 0, afterSeparator = false
                var i = lineStart
                while i < lineEnd {
                    if b[i] == UInt8(ascii: " ") { i += 1; continue }
                    var j = i
                    while j < lineEnd && b[j] != UInt8(ascii: " ") { j += 1 }
                    if !afterSeparator && j - i == 1 && b[i] == UInt8(ascii: "-") {
                        afterSeparator = true
                        index = 0
                    } else {
                        if !afterSeparator && index == 3 { root = i..<j }
                        if !afterSeparator && index == 4 { mountPoint = i..<j }
                        if afterSeparator && index == 0 { type = i..<j }
                        if afterSeparator && index == 2 { options = i..<j }
                        index += 1
                    }
                    i = j
                }
                guard let root, let mountPoint, let type, let options else { continue }
                func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
                let key = text(mountPoint)
                if visible[key] == nil { order.append(key) }
                visible[key] = (text(type), text(root), text(options))
            }
        }
        var found = CgroupMounts()
        for point in order {
            guard let m = visible[point] else { continue }
            let mount = Mount(point: point, root: m.root)
            if m.type == "cgroup2" { found.unified = found.unified ?? mount; continue }
            if m.type == "cgroup" { found.add(m.options, mount) }
        }
        return found
    }

    static func readAll(_ path: String) -> [UInt8]? {
        let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }
}
