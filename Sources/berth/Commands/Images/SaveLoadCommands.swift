import ArgumentParser
import Glibc
import RPC

/// `berth save`: an archive of images (OCI layout plus Docker's manifest.json),
/// to `-o FILE` or to stdout. berthd writes it; for stdout it writes into a
/// FIFO that this process copies out.
struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "save", abstract: "Save one or more images to a tar archive (streamed to STDOUT by default)")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Write to a file, instead of STDOUT") var output: String?
    @Option(help: "docker (default: an OCI layout that also has Docker's manifest.json) or oci") var format: String?
    @Argument(help: "IMAGE") var images: [String]

    func validate() throws {
        if images.isEmpty { throw ValidationError("\"save\" requires at least 1 argument.") }
    }

    func run() throws {
        let client = try global.client()
        if let output {
            let _: NoParams = try client.call(.imageSave, BerthAPI.SaveParams(names: images, path: FIFOPipe.absolute(output), format: format))
            return
        }
        if isatty(STDOUT_FILENO) == 1 {
            throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", status: 1)
        }
        let fifo = try FIFOPipe()
        defer { fifo.remove() }
        let copier = try fifo.copy(toFD: STDOUT_FILENO)
        let result = Result { () throws -> NoParams in try client.call(.imageSave, BerthAPI.SaveParams(names: images, path: fifo.path, format: format)) }
        if case .failure = result { fifo.unblock(reading: true) }
        copier.join()
        _ = try result.get()
    }
}

/// `berth load`: images from an archive (`-i FILE` or stdin): berthd's own
/// save format, an OCI layout tarball, or an older docker-archive.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Load an image from a tar archive or STDIN")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("i"), .long], help: "Read from tar archive file, instead of STDIN") var input: String?
    @Flag(name: [.customShort("q"), .long], help: "Suppress the load output") var quiet = false

    func run() throws {
        let client = try global.client()
        let r: BerthAPI.LoadResult
        if let input {
            guard access(input, R_OK) == 0 else { throw CLIError("open \(input): \(String(cString: strerror(errno)))", status: 1) }
            r = try client.call(.imageLoad, BerthAPI.LoadParams(path: FIFOPipe.absolute(input)))
        } else {
            if isatty(STDIN_FILENO) == 1 {
                throw CLIError("requested load from stdin, but stdin is empty", status: 1)
            }
            let fifo = try FIFOPipe()
            defer { fifo.remove() }
            let copier = try fifo.copy(fromFD: STDIN_FILENO)
            let result = Result { () throws -> BerthAPI.LoadResult in try client.call(.imageLoad, BerthAPI.LoadParams(path: fifo.path)) }
            if case .failure = result { fifo.unblock(reading: false) }
            copier.join()
            r = try result.get()
        }
        if quiet { return }
        for name in r.loaded {
            Output.line(name.hasPrefix("sha256:") ? "Loaded image ID: \(name)" : "Loaded image: \(name)")
        }
    }
}

/// A FIFO in a private temp directory, through which berthd (root) and this
/// process pass an archive; a thread copies between it and stdio.
final class FIFOPipe {
    let dir: String
    var path: String { dir + "/archive" }

    init() throws {
        var template = Array("/tmp/berth-io-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CLIError("mkdtemp: \(String(cString: strerror(errno)))", status: 1) }
        dir = String(cString: p)
        guard mkfifo(dir + "/archive", 0o600) == 0 else { throw CLIError("mkfifo: \(String(cString: strerror(errno)))", status: 1) }
    }

    func remove() {
        unlink(path)
        rmdir(dir)
    }

    static func absolute(_ p: String) -> String {
        if p.hasPrefix("/") { return p }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return p }
        return String(cString: buf) + "/" + p
    }

    /// berthd failed before opening the FIFO: open the other end ourselves so the copier ends.
    func unblock(reading: Bool) {
        let fd = open(path, (reading ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 { close(fd) }
    }

    func copy(toFD out: Int32) throws -> Copier { try Copier(from: path, isFIFOSource: true, to: out) }
    func copy(fromFD input: Int32) throws -> Copier { try Copier(fromFD: input, toFIFO: path) }

    /// One thread copying bytes until end of file.
    final class Copier: @unchecked Sendable {
        private var thread = pthread_t()
        private let work: () -> Void

        init(from fifo: String, isFIFOSource: Bool, to out: Int32) throws {
            work = {
                let fd = open(fifo, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return }
                Copier.pump(fd, out)
                close(fd)
            }
            try start()
        }

        init(fromFD input: Int32, toFIFO fifo: String) throws {
            work = {
                let fd = open(fifo, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { return }
                Copier.pump(input, fd)
                close(fd)
            }
            try start()
        }

        private func start() throws {
            let rc = pthread_create(&thread, nil, { arg in
                Unmanaged<Copier>.fromOpaque(arg!).takeRetainedValue().work()
                return nil
            }, Unmanaged.passRetained(self).toOpaque())
            if rc != 0 { throw CLIError("cannot start a thread", status: 1) }
        }

        func join() { pthread_join(thread, nil) }

        static func pump(_ from: Int32, _ to: Int32) {
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buf.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                var off = 0
                while off < n {
                    let w = buf.withUnsafeBytes { write(to, $0.baseAddress! + off, n - off) }
                    if w < 0 { if errno == EINTR { continue }; return }
                    off += w
                }
            }
        }
    }
}
