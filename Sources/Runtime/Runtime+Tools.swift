import CBerth
import Glibc
import OCI

extension Runtime {
    public static func signal(named text: String) throws(RuntimeError) -> Int32 { try Signals.parse(text) }

    /// spec(1): writes config.json into the bundle, refusing to overwrite one.
    public static func writeDefaultSpec(bundle: String, rootless: Bool) throws(RuntimeError) {
        let path = FS.absolute(bundle) + "/config.json"
        if FS.exists(path) { throw RuntimeError("File \(path) exists. Remove it first") }
        guard FS.isDirectory(FS.absolute(bundle)) else { throw RuntimeError("bundle directory \(bundle) does not exist") }
        let fd = cb_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw RuntimeError.sys("create \(path)") }
        defer { close(fd) }
        try FS.writeAll(fd, Array((JSONWriter.write(DefaultSpec.make(rootless: rootless), indent: true) + "\n").utf8), what: path)
    }

    /// Schema and semantic checks only; fields not implemented yet are accepted here.
    public static func validateBundle(_ dir: String) throws(RuntimeError) {
        _ = try Bundle.load(dir, requireSupport: false)
    }
}
