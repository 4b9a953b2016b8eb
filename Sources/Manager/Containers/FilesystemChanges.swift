import CArchive
import Glibc
import RPC

/// What a container changed in its filesystem, as Docker's `diff` reports it:
/// Kind 0 = C (changed), 1 = A (added), 2 = D (deleted), paths absolute.
///
/// overlayfs: the upper directory holds exactly what changed. An entry there is
/// D when it is a whiteout (char device 0/0), C when the path exists in the
/// lower layers, else A. A directory that exists below with the same mode,
/// size and mtime is not reported for itself (it is only in the upper
/// directory because something inside it changed), but a directory with an
/// added or deleted entry is reported as C (Docker's rule). An opaque
/// directory hides its lower content: every entry of the lower layers that it
/// no longer shows is D.
///
/// The copying snapshotter: the container's tree is compared with its
/// parent's, entry by entry (mode, owner, device, and for non-directories size
/// and mtime), Docker's comparison of two trees.
///
/// The result is in Docker's order: a depth-first walk, siblings sorted by name.
enum FilesystemChanges {
    enum Kind: Int { case changed = 0, added = 1, deleted = 2 }

    struct Change: Equatable {
        var components: [String]
        var kind: Kind
        var path: String { "/" + components.joined(separator: "/") }
    }

    static func sorted(_ changes: [Change]) -> [BerthAPI.ContainerChange] {
        var seen = Set<[String]>()
        return changes.filter { seen.insert($0.components).inserted }
            .sorted { a, b in
                for (x, y) in zip(a.components, b.components) where x != y {
                    return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
                }
                return a.components.count < b.components.count
            }
            .map { BerthAPI.ContainerChange(path: $0.path, kind: $0.kind.rawValue) }
    }

    // MARK: overlayfs

    /// The changes in overlay upper directory `upper` over `lowers` (nearest first).
    static func overlay(upper: String, lowers: [String]) throws -> [Change] {
        let upperFD = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard upperFD >= 0 else { throw BerthError(.internal, "open \(upper): \(ContainerFS.errorText())") }
        defer { close(upperFD) }
        let below = try LowerLayers(lowers)
        var changes: [Change] = []
        try overlayWalk(upperFD, [], below, &changes)
        return changes
    }

    /// Returns whether the directory `dir` (at `comps`) had an entry added or deleted.
    private static func overlayWalk(_ dir: Int32, _ comps: [String], _ below: LowerLayers, _ changes: inout [Change]) throws {
        var parentMarked = false
        func markParent() {
            guard !comps.isEmpty, !parentMarked else { return }
            parentMarked = true
            changes.append(Change(components: comps, kind: .changed))
        }
        let names = try ContainerFS.names(dir)
        for name in names {
            guard let st = ContainerFS.lstat(dir, name) else { continue }
            let path = comps + [name]
            if ContainerFS.isWhiteout(st) {
                if below.stat(path) != nil {
                    changes.append(Change(components: path, kind: .deleted))
                    markParent()
                }
                continue
            }
            let lower = below.stat(path)
            let isDir = ContainerFS.isDirectory(st)
            var opaque = false
            if let lower {
                if isDir, ContainerFS.isDirectory(lower) {
                    opaque = ContainerFS.isOpaque(dir, name)
                    let same = lower.st_mode == st.st_mode && lower.st_size == st.st_size
                        && lower.st_mtim.tv_sec == st.st_mtim.tv_sec && lower.st_mtim.tv_nsec == st.st_mtim.tv_nsec
                    if !same || opaque { changes.append(Change(components: path, kind: .changed)) }
                } else {
                    changes.append(Change(components: path, kind: .changed))
                }
            } else {
                changes.append(Change(components: path, kind: .added))
                markParent()
            }
            guard isDir else { continue }
            if opaque {
                // What the lower layers had here and the upper directory does not show any more.
                let shown = Set(try { () throws -> [String] in
                    let fd = try ContainerFS.openDirectory(dir, name)
                    defer { close(fd) }
                    return try ContainerFS.names(fd).filter { n in ContainerFS.lstat(fd, n).map { !ContainerFS.isWhiteout($0) } ?? false }
                }())
                for gone in below.names(path) where !shown.contains(gone) {
                    changes.append(Change(components: path + [gone], kind: .deleted))
                }
            }
            let fd = try ContainerFS.openDirectory(dir, name)
            defer { close(fd) }
            try overlayWalk(fd, path, opaque ? LowerLayers.hiding(below, path) : below, &changes)
        }
    }

    /// The lower layers of an overlay, looked up as overlayfs merges them:
    /// nearest first, a whiteout hides a path, an opaque directory hides what
    /// the layers below it hold in it.
    final class LowerLayers {
        let fds: [Int32]
        /// Paths under which nothing of the lower layers shows (opaque upper directories).
        var hidden: [[String]] = []
        private let owner: Bool

        init(_ paths: [String]) throws {
            var fds: [Int32] = []
            for p in paths {
                let fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else {
                    for f in fds { close(f) }
                    throw BerthError(.internal, "open \(p): \(ContainerFS.errorText())")
                }
                fds.append(fd)
            }
            self.fds = fds
            owner = true
        }

        private init(fds: [Int32], hidden: [[String]]) {
            self.fds = fds
            self.hidden = hidden
            owner = false
        }

        static func hiding(_ base: LowerLayers, _ path: [String]) -> LowerLayers {
            LowerLayers(fds: base.fds, hidden: base.hidden + [path])
        }

        deinit { if owner { for fd in fds { close(fd) } } }

        private func isHidden(_ path: [String]) -> Bool {
            hidden.contains { h in path.count >= h.count && Array(path.prefix(h.count)) == h }
        }

        /// The lstat of `path` in the merged lower layers; nil when absent (or whited out).
        func stat(_ path: [String]) -> Glibc.stat? {
            guard !path.isEmpty, !isHidden(path) else { return nil }
            for fd in fds {
                switch lookup(fd, path) {
                case .found(let st, let d):
                    if d >= 0 { close(d) }
                    return ContainerFS.isWhiteout(st) ? nil : st
                case .hidden: return nil
                case .absent(let opaqueAbove): if opaqueAbove { return nil }
                }
            }
            return nil
        }

        /// The names the merged lower layers show in directory `path`.
        func names(_ path: [String]) -> [String] {
            guard !isHidden(path) else { return [] }
            var shown = Set<String>(), masked = Set<String>()
            layers: for fd in fds {
                switch lookup(fd, path) {
                case .hidden: break layers
                case .absent(let opaqueAbove): if opaqueAbove { break layers } else { continue layers }
                case .found(let st, let dir):
                    defer { if dir >= 0 { close(dir) } }
                    guard ContainerFS.isDirectory(st), dir >= 0 else { break layers }
                    for n in (try? ContainerFS.names(dir)) ?? [] where !masked.contains(n) && !shown.contains(n) {
                        guard let st = ContainerFS.lstat(dir, n) else { continue }
                        if ContainerFS.isWhiteout(st) { masked.insert(n) } else { shown.insert(n) }
                    }
                    var value: [UInt8] = [0, 0]
                    if fgetxattr(dir, "trusted.overlay.opaque", &value, 2) == 1 && value[0] == UInt8(ascii: "y") { break layers }
                }
            }
            return shown.sorted()
        }

        /// `found`: the lstat and, for a directory, an open fd of it (the caller closes it).
        enum Lookup { case found(Glibc.stat, Int32), hidden, absent(opaqueAbove: Bool) }

        /// `path` in one layer: found, hidden by a whiteout or a non-directory
        /// on the way, or absent (and whether an opaque directory on the way
        /// hides the layers below).
        private func lookup(_ root: Int32, _ path: [String]) -> Lookup {
            var dir = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { return .absent(opaqueAbove: false) }
            var opaqueAbove = false
            for (i, name) in path.enumerated() {
                guard let st = ContainerFS.lstat(dir, name) else {
                    close(dir)
                    return .absent(opaqueAbove: opaqueAbove)
                }
                let last = i == path.count - 1
                if last && !ContainerFS.isDirectory(st) {
                    close(dir)
                    return .found(st, -1)
                }
                if !last && (ContainerFS.isWhiteout(st) || !ContainerFS.isDirectory(st)) {
                    close(dir)
                    return .hidden
                }
                let next = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                close(dir)
                guard next >= 0 else { return .absent(opaqueAbove: opaqueAbove) }
                dir = next
                if last { return .found(st, dir) }
                var value: [UInt8] = [0, 0]
                if fgetxattr(dir, "trusted.overlay.opaque", &value, 2) == 1 && value[0] == UInt8(ascii: "y") { opaqueAbove = true }
            }
            var st = Glibc.stat()
            fstat(dir, &st)
            return .found(st, dir)
        }
    }

    // MARK: two trees

    /// The changes from tree `old` (nil: empty) to tree `new` (the copying snapshotter).
    static func trees(new: String, old: String?) throws -> [Change] {
        let newFD = open(new, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard newFD >= 0 else { throw BerthError(.internal, "open \(new): \(ContainerFS.errorText())") }
        defer { close(newFD) }
        var oldFD: Int32 = -1
        if let old {
            oldFD = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard oldFD >= 0 else { throw BerthError(.internal, "open \(old): \(ContainerFS.errorText())") }
        }
        defer { if oldFD >= 0 { close(oldFD) } }
        var changes: [Change] = []
        try compare(newFD, oldFD >= 0 ? oldFD : nil, [], &changes)
        return changes
    }

    private static func compare(_ new: Int32, _ old: Int32?, _ comps: [String], _ changes: inout [Change]) throws {
        let newNames = try ContainerFS.names(new)
        let oldNames = try old.map { try ContainerFS.names($0) } ?? []
        let start = changes.count
        for name in newNames {
            guard let st = ContainerFS.lstat(new, name) else { continue }
            let path = comps + [name]
            let before = old.flatMap { ContainerFS.lstat($0, name) }
            var added = false
            if let before {
                if different(before, st) {
                    changes.append(Change(components: path, kind: .changed))
                    added = true
                }
            } else {
                changes.append(Change(components: path, kind: .added))
                added = true
            }
            guard ContainerFS.isDirectory(st) else { continue }
            let fd = try ContainerFS.openDirectory(new, name)
            defer { close(fd) }
            var oldFD: Int32? = nil
            if let old, let before, ContainerFS.isDirectory(before) { oldFD = try ContainerFS.openDirectory(old, name) }
            defer { if let oldFD { close(oldFD) } }
            let mark = changes.count
            try compare(fd, oldFD, path, &changes)
            // A directory with changes inside is changed itself (inserted before them).
            if changes.count > mark, !added { changes.insert(Change(components: path, kind: .changed), at: mark) }
        }
        let present = Set(newNames)
        for name in oldNames where !present.contains(name) {
            changes.append(Change(components: comps + [name], kind: .deleted))
        }
        _ = start
    }

    /// Docker's statDifferent: mode, owner, device; size and mtime for non-directories.
    static func different(_ a: stat, _ b: stat) -> Bool {
        if a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid || a.st_rdev != b.st_rdev { return true }
        if ContainerFS.isDirectory(a) { return false }
        return a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec
    }
}
