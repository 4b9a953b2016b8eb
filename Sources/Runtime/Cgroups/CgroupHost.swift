import CBerth
import Glibc

/// The host's cgroup layout, read from the mount table at each command.
enum CgroupHost {
    case v1(controllers: [String: String], unified: String?)
    case v2(root: String)

    /// Read once per command: a command looks at its container's cgroup several times.
    static let current = detect()

    /// Pure v2 when /sys/fs/cgroup is cgroup2, otherwise the v1 controllers with
    /// their mount points (and the hybrid unified mount, which holds no
    /// controllers but tracks membership).
    static func detect() -> CgroupHost {
        if cb_is_cgroup2("/sys/fs/cgroup") == 1 { return .v2(root: "/sys/fs/cgroup") }
        // The last mount on a mount point is the visible one: a tmpfs covering
        // /sys/fs/cgroup/unified (as benchmarks and some hosts do) hides the cgroup2
        // mount below it even though mountinfo still lists that mount.
        var visible: [String: (type: String, options: String)] = [:]
        var order: [String] = []
        // Parsed as bytes: mountinfo has dozens of lines, and walking it by
        // Character (grapheme breaking) cost more than the rest of this
        // function. Fields are separated by single spaces (mountinfo escapes
        // spaces in paths as \040); " - " ends the optional fields.
        let mounts = (try? FS.readBytes("/proc/self/mountinfo")) ?? []
        mounts.withUnsafeBufferPointer { b in
            var lineStart = 0
            while lineStart < b.count {
                var lineEnd = lineStart
                while lineEnd < b.count && b[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                // Fields 4 (mount point) before the separator, 0 (type) and 2 (super options) after.
                var mountPoint: Range<Int>?, type: Range<Int>?, options: Range<Int>?
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
                        if !afterSeparator && index == 4 { mountPoint = i..<j }
                        if afterSeparator && index == 0 { type = i..<j }
                        if afterSeparator && index == 2 { options = i..<j }
                        index += 1
                    }
                    i = j
                }
                guard let mountPoint, let type, let options else { continue }
                let key = String(decoding: UnsafeBufferPointer(rebasing: b[mountPoint]), as: UTF8.self)
                if visible[key] == nil { order.append(key) }
                visible[key] = (String(decoding: UnsafeBufferPointer(rebasing: b[type]), as: UTF8.self),
                                String(decoding: UnsafeBufferPointer(rebasing: b[options]), as: UTF8.self))
            }
        }
        var controllers: [String: String] = [:]
        var unified: String?
        for mountPoint in order {
            guard let m = visible[mountPoint] else { continue }
            if m.type == "cgroup2" { unified = unified ?? mountPoint; continue }
            guard m.type == "cgroup" else { continue }
            for opt in m.options.split(separator: ",") {
                let o = String(opt)
                if ["rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "xattr"].contains(o) { continue }
                if o.hasPrefix("release_agent=") { continue }
                controllers[o] = mountPoint
            }
        }
        return .v1(controllers: controllers, unified: unified)
    }

    var isV2: Bool { if case .v2 = self { return true } else { return false } }
}
