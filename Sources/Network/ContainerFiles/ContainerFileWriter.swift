import Glibc

/// Writes a container's hosts, resolv.conf and hostname into the directory
/// berthd keeps for it (`<root>/containers/<id>/`, as Docker keeps
/// /var/lib/docker/containers/<id>/hosts), from where they are bind-mounted
/// over the container's /etc files.
///
/// Each file is written to a temporary name in the same directory and
/// renamed over the old one, so a reader never sees half a file and a crash
/// never leaves one. A rename gives the file a new inode, and a bind mount
/// holds the old one: for a running container, berthd rewrites a mounted
/// file in place with `rewriteInPlace` instead (Docker does the same).
public enum ContainerFileWriter {
    public static let hostsName = "hosts"
    public static let resolvConfName = "resolv.conf"
    public static let hostnameName = "hostname"

    /// Writes the three files (mode 0644); returns their paths by name.
    @discardableResult
    public static func write(directory: String, hosts: String, resolvConf: String, hostname: String) throws(ContainerFilesError) -> [String: String] {
        var paths: [String: String] = [:]
        for (name, content) in [(hostsName, hosts), (resolvConfName, resolvConf), (hostnameName, hostname)] {
            let path = directory + "/" + name
            try writeAtomically(path, content)
            paths[name] = path
        }
        return paths
    }

    /// `path` replaced by `content` through a temporary file and rename(2).
    public static func writeAtomically(_ path: String, _ content: String) throws(ContainerFilesError) {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open", temporary) }
        // The umask must not narrow the mode: containers read these as any user.
        fchmod(fd, 0o644)
        do throws(ContainerFilesError) {
            try writeAll(fd, content, temporary)
            guard close(fd) == 0 else { throw failure("close", temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let e = failure("rename", path)
            unlink(temporary)
            throw e
        }
    }

    /// `path` truncated and rewritten in place, keeping its inode, for a file
    /// that is bind-mounted into a running container.
    public static func rewriteInPlace(_ path: String, _ content: String) throws(ContainerFilesError) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        try writeAll(fd, content, path)
    }

    private static func writeAll(_ fd: Int32, _ content: String, _ path: String) throws(ContainerFilesError) {
        let bytes = Array(content.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("write", path) }
            done += n
        }
    }

    private static func failure(_ call: String, _ path: String) -> ContainerFilesError {
        ContainerFilesError("\(call) \(path): \(String(cString: strerror(errno)))")
    }
}
