import FoundationEssentials
import Content
#if canImport(Glibc)
import Glibc
#endif

/// The credentials file `berth login` writes: `$HOME/.config/berth/auth.json` by default, mode
/// 0600, shaped like Docker's config.json so the same tools read it:
///
///     {"auths": {"localhost:5000": {"auth": "base64(user:password)"}}}
///
/// Docker Hub is stored under Docker's key `https://index.docker.io/v1/`.
public struct CredentialStore: CredentialProvider {
    public let path: String

    public static var defaultPath: String {
        let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
        return home + "/.config/berth/auth.json"
    }

    public init(path: String = CredentialStore.defaultPath) { self.path = path }

    struct File: Codable {
        var auths: [String: Entry]
        struct Entry: Codable {
            var auth: String?
            var username: String?
            var password: String?
        }
    }

    static func key(for registry: String) -> String {
        registry == Reference.dockerHub || registry == "index.docker.io" || registry == "registry-1.docker.io"
            ? "https://index.docker.io/v1/" : registry
    }

    public func credentials(for registry: String) -> Credentials? {
        guard let file = try? load() else { return nil }
        var keys = [CredentialStore.key(for: registry), registry, "https://" + registry, "http://" + registry]
        if registry == Reference.dockerHub { keys += ["index.docker.io", "registry-1.docker.io"] }
        for k in keys {
            guard let e = file.auths[k] else { continue }
            if let u = e.username, let p = e.password { return Credentials(username: u, password: p) }
            if let a = e.auth, let data = Data(base64Encoded: a) {
                let text = String(decoding: data, as: UTF8.self)
                if let colon = text.firstIndex(of: ":") {
                    return Credentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
                }
            }
        }
        return nil
    }

    /// Stores credentials for `registry`, creating the file (0600) and its directory (0700).
    public func save(_ credentials: Credentials, for registry: String) throws {
        var file = (try? load()) ?? File(auths: [:])
        let auth = Data((credentials.username + ":" + credentials.password).utf8).base64EncodedString()
        file.auths[CredentialStore.key(for: registry)] = File.Entry(auth: auth)
        try write(file)
    }

    /// Forgets `registry`; returns whether there was anything to forget.
    @discardableResult
    public func remove(for registry: String) throws -> Bool {
        guard var file = try? load() else { return false }
        let removed = file.auths.removeValue(forKey: CredentialStore.key(for: registry)) != nil
            || file.auths.removeValue(forKey: registry) != nil
        if removed { try write(file) }
        return removed
    }

    /// Registries with stored credentials.
    public func registries() -> [String] {
        ((try? load())?.auths.keys).map { Array($0).sorted() } ?? []
    }

    func load() throws -> File {
        let bytes = try POSIXFileAccess.read(path)
        return try JSONDecoder().decode(File.self, from: Data(bytes))
    }

    private func write(_ file: File) throws {
        if let slash = path.lastIndex(of: "/") {
            var dir = ""
            for part in path[..<slash].split(separator: "/") {
                dir += "/" + part
                mkdir(dir, 0o700)
            }
        }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try e.encode(file))
        // Written to a temporary file first, made 0600 before any secret is in it, then renamed.
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ContentError.io(operation: "open", path: tmp, errno: errno) }
        fchmod(fd, 0o600)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let writeErrno = errno
        fsync(fd)
        close(fd)
        guard n == bytes.count else { unlink(tmp); throw ContentError.io(operation: "write", path: tmp, errno: writeErrno) }
        guard rename(tmp, path) == 0 else { throw ContentError.io(operation: "rename", path: path, errno: errno) }
    }
}

/// Whole-file reads for small files, outside the content store.
enum POSIXFileAccess {
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ContentError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw ContentError.io(operation: "read", path: path, errno: errno) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
