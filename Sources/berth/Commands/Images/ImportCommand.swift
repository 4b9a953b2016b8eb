import ArgumentParser
import Glibc
import RPC

/// `berth import FILE|- [REPOSITORY[:TAG]]`: a root filesystem tarball becomes
/// a one-layer image; prints its id as Docker does.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import the contents from a tarball to create a filesystem image")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("c"), .long], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.customShort("m"), .long], help: "Set commit message for imported image") var message: String?
    @Argument(help: "file|-") var file: String
    @Argument(help: "REPOSITORY[:TAG]") var reference: String?

    func run() throws {
        let client = try global.client()
        func call(_ path: String) throws -> BerthAPI.ImportResult {
            try client.call(.imageImport, BerthAPI.ImportParams(path: path, reference: reference, changes: change.isEmpty ? nil : change,
                                                                 message: message))
        }
        let r: BerthAPI.ImportResult
        if file == "-" {
            // berthd reads a FIFO that this process fills from stdin; it hashes the
            // whole file before storing it, so stdin is staged to a file first.
            let fifo = try FIFOPipe()
            defer { fifo.remove() }
            let staged = fifo.dir + "/rootfs.tar"
            let fd = open(staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CLIError("cannot stage stdin: \(String(cString: strerror(errno)))", status: 1) }
            FIFOPipe.Copier.pump(STDIN_FILENO, fd)
            close(fd)
            defer { unlink(staged) }
            r = try call(staged)
        } else {
            guard access(file, R_OK) == 0 else { throw CLIError("open \(file): \(String(cString: strerror(errno)))", status: 1) }
            r = try call(FIFOPipe.absolute(file))
        }
        Output.line(r.id)
    }
}
