import ArgumentParser
import Glibc
import RPC

/// `berth cp`: files between a container and the host, both ways, as a tar
/// stream. berthd reads or writes the tar at a FIFO this process creates;
/// the host side is GNU tar (or berth's stdin/stdout with `-`).
///
///     berth cp CONTAINER:SRC_PATH DEST_PATH|-
///     berth cp SRC_PATH|- CONTAINER:DEST_PATH
///
/// As Docker: into an existing directory the source keeps its name; to a
/// path that does not exist yet it takes that name; "DIR/." copies what is in DIR.
struct CpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy files/folders between a container and the local filesystem")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("a"), .long], help: "Archive mode (copy all uid/gid information)") var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH") var followLink = false
    @Flag(name: [.customShort("q"), .long], help: "Suppress progress output during copy") var quiet = false
    @Argument(help: "SOURCE") var source: String
    @Argument(help: "DESTINATION") var destination: String

    /// "CONTAINER:PATH" → (container, path); a local path (absolute, or
    /// starting with ".", or without ":") → (nil, path).
    static func split(_ arg: String) -> (container: String?, path: String) {
        if arg.hasPrefix("/") { return (nil, arg) }
        guard let colon = arg.firstIndex(of: ":") else { return (nil, arg) }
        let container = String(arg[..<colon])
        if container.hasPrefix(".") || container.isEmpty { return (nil, arg) }
        return (container, String(arg[arg.index(after: colon)...]))
    }

    func run() throws {
        let src = CpCommand.split(source), dst = CpCommand.split(destination)
        switch (src.container, dst.container) {
        case (nil, nil): throw ContainerCLI.fail("must specify at least one container source")
        case (.some, .some): throw ContainerCLI.fail("copying between containers is not supported")
        case (let c?, nil): try copyOut(container: c, path: src.path, to: dst.path)
        case (nil, let c?): try copyIn(from: src.path, container: c, path: dst.path)
        }
    }

    private func copyOut(container: String, path: String, to dest: String) throws {
        let client = try global.client()
        if dest == "-" {
            try ContainerCLI.throughFIFO(reading: true, fd: STDOUT_FILENO) { fifo in
                let _: NoParams = try client.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: container, source: path, path: fifo))
            }
            return
        }
        let target = FIFOPipe.absolute(dest)
        var st = stat()
        let exists = stat(target, &st) == 0
        let isDir = exists && (st.st_mode & S_IFMT) == S_IFDIR
        let parent = CpCommand.dirname(target)
        if !exists {
            var pst = stat()
            guard stat(parent, &pst) == 0, (pst.st_mode & S_IFMT) == S_IFDIR else {
                throw ContainerCLI.fail("invalid output path: directory \"\(parent)\" does not exist")
            }
        }
        // Into an existing directory as is; elsewhere through a staging
        // directory beside the target, then renamed to the target's name.
        let staging = isDir ? nil : try CpCommand.mkdtemp(in: parent)
        defer { if let staging { ChildProcess.removeTree(staging) } }
        try tarThroughFIFO(["-x", "-C", staging ?? target] + (archive ? ["--same-owner"] : ["--no-same-owner"])) { fifo in
            let _: NoParams = try client.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: container, source: path, path: fifo))
        }
        if let staging {
            let entries = CpCommand.entries(staging)
            guard entries.count == 1 else { throw ContainerCLI.fail("unexpected archive from the berth daemon: \(entries.count) top entries") }
            let from = staging + "/" + entries[0]
            var fst = stat()
            lstat(from, &fst)
            if exists && (fst.st_mode & S_IFMT) == S_IFDIR { throw ContainerCLI.fail("cannot copy a directory to a file: \(dest)") }
            guard rename(from, target) == 0 else { throw ContainerCLI.fail("rename \(target): \(String(cString: strerror(errno)))") }
        }
    }

    private func copyIn(from src: String, container: String, path: String) throws {
        let client = try global.client()
        if src == "-" {
            try ContainerCLI.throughFIFO(reading: false, fd: STDIN_FILENO) { fifo in
                let _: NoParams = try client.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: container, destination: path, path: fifo))
            }
            return
        }
        let local = FIFOPipe.absolute(src)
        var st = stat()
        guard (followLink ? stat(local, &st) : lstat(local, &st)) == 0 else {
            throw ContainerCLI.fail("lstat \(local): \(String(cString: strerror(errno)))")
        }
        let contentsOnly = src.hasSuffix("/.")
        let base = CpCommand.basename(contentsOnly ? String(local.dropLast(2)) : local)
        let dir = contentsOnly ? String(local.dropLast(2)) : CpCommand.dirname(local)
        let owner = archive ? [] : ["--owner=0", "--group=0", "--numeric-owner"]
        let follow = followLink ? ["-h"] : []
        let into = contentsOnly ? ["."] : [base]
        // Into the destination as a directory; if it is not one, under its parent with its name.
        let first = attempt { try tarThroughFIFO(["-c", "-C", dir] + owner + follow + into) { fifo in
            let _: NoParams = try client.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: container, destination: path, path: fifo))
        } }
        guard case .failure(let error) = first else { return }
        let m = ContainerCLI.message(error)
        let retry = m.contains("not a directory") || m.contains("No such file") || m.contains("no such file")
            || m.contains("Could not find") || m.contains("not found")
        guard retry, path != "/" else { throw error }
        // The destination is not a directory: the source goes under its
        // parent with its name ("DIR/." then makes a directory of DIR's content).
        let name = CpCommand.basename(path)
        let parent = CpCommand.dirname(path.hasPrefix("/") ? path : "/" + path)
        let (tarDir, tarBase) = contentsOnly ? (CpCommand.dirname(dir), CpCommand.basename(dir)) : (dir, base)
        let transform = ["--transform", "s,^\(CpCommand.sedPattern(tarBase)),\(CpCommand.sedReplacement(name)),"]
        try tarThroughFIFO(["-c", "-C", tarDir] + owner + follow + transform + [tarBase]) { fifo in
            let _: NoParams = try client.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: container, destination: parent, path: fifo))
        }
    }

    private func attempt(_ body: () throws -> Void) -> Result<Void, any Error> {
        do { try body(); return .success(()) } catch { return .failure(error) }
    }

    /// Runs tar on a FIFO (`-f FIFO` added) while berthd works on its other end.
    private func tarThroughFIFO(_ args: [String], _ call: (String) throws -> Void) throws {
        let fifo = try FIFOPipe()
        defer { fifo.remove() }
        let pid = try ChildProcess.spawn(["tar", "-f", fifo.path] + args)
        let result = Result { try call(fifo.path) }
        if case .failure = result { kill(pid, SIGKILL) }  // it may still wait in open(2) on the FIFO
        let status = ChildProcess.wait(pid)
        try result.get()
        if status != 0 { throw ContainerCLI.fail("tar failed with status \(status)") }
    }

    static func dirname(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        guard let slash = s.lastIndex(of: "/") else { return "." }
        return slash == s.startIndex ? "/" : String(s[..<slash])
    }

    static func basename(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return s.split(separator: "/").last.map(String.init) ?? "/"
    }

    /// A literal in a sed pattern (tar --transform).
    static func sedPattern(_ s: String) -> String {
        var out = ""
        for c in s {
            if "\\,.*[]^$".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// A literal in a sed replacement: only \\, & and the delimiter are special.
    static func sedReplacement(_ s: String) -> String {
        var out = ""
        for c in s {
            if "\\,&".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func mkdtemp(in dir: String) throws -> String {
        var template = Array((dir + "/.berth-cp-XXXXXX").utf8CString)
        guard let p = Glibc.mkdtemp(&template) else { throw ContainerCLI.fail("mkdtemp in \(dir): \(String(cString: strerror(errno)))") }
        return String(cString: p)
    }

    static func entries(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}

/// Child processes of the CLI (tar for `cp`), spawned with posix_spawn.
enum ChildProcess {
    static func spawn(_ argv: [String]) throws -> pid_t {
        var pid = pid_t()
        let cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        // A clean signal state: berth's caller may have blocked or ignored signals the child needs.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let rc = posix_spawnp(&pid, argv[0], nil, &attr, cargs, environ)
        guard rc == 0 else { throw ContainerCLI.fail("\(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// The exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    static func removeTree(_ path: String) {
        if let pid = try? spawn(["rm", "-rf", "--", path]) { _ = wait(pid) }
    }
}
