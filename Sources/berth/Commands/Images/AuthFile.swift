import FoundationEssentials
import Glibc
import RPC

/// The CLI's registry credentials: `$BERTH_CONFIG/auth.json` or
/// `~/.config/berth/auth.json`, mode 0600, Docker's config.json shape
/// (`{"auths":{"HOST":{"auth":"base64(user:password)"}}}`). `berth login`
/// writes it; pull and push send the entry for the image's registry along
/// with the call (berthd does not keep credentials).
struct AuthFile {
    var path: String
    var auths: [String: Entry] = [:]

    struct Entry: Codable { var auth: String }
    private struct Document: Codable { var auths: [String: Entry]? }

    static var defaultPath: String {
        if let dir = getenv("BERTH_CONFIG"), dir.pointee != 0 { return String(cString: dir) + "/auth.json" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
        return home + "/.config/berth/auth.json"
    }

    static func load(_ path: String = AuthFile.defaultPath) -> AuthFile {
        var f = AuthFile(path: path)
        if let data = FileManager.default.contents(atPath: path),
           let doc = try? JSONDecoder().decode(Document.self, from: data) {
            f.auths = doc.auths ?? [:]
        }
        return f
    }

    /// The registry host of a reference as the user typed it (Docker Hub when it has no domain).
    static func registry(of reference: String) -> String {
        let first = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        if reference.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost") { return first }
        return "docker.io"
    }

    func auth(for reference: String) -> BerthAPI.RegistryAuth? { auth(registry: AuthFile.registry(of: reference)) }

    func auth(registry: String) -> BerthAPI.RegistryAuth? {
        guard let e = auths[registry], let data = Data(base64Encoded: e.auth) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return BerthAPI.RegistryAuth(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    /// Writes the file atomically with mode 0600 (its directory 0700).
    func save() throws {
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(Document(auths: auths))
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot write \(tmp): \(String(cString: strerror(errno)))", status: 1) }
        let ok = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == data.count
        fchmod(fd, 0o600)
        close(fd)
        guard ok, rename(tmp, path) == 0 else { unlink(tmp); throw CLIError("cannot write \(path)", status: 1) }
    }
}
