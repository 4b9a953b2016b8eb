import Glibc

/// Where layer bytes come from. `next()` returns the next non-empty block, or
/// nil at the end; the block stays valid until the following call.
protocol ByteSource: AnyObject {
    func next() throws -> UnsafeRawBufferPointer?
}

/// Reads a file or a pipe until end of file.
final class FileDescriptorSource: ByteSource {
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private let name: String

    init(fd: Int32, name: String, bufferSize: Int = 1 << 20) {
        self.fd = fd
        self.name = name
        buffer = .allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    func next() throws -> UnsafeRawBufferPointer? {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<n]) }
            if n == 0 { return nil }
            if errno == EINTR { continue }
            throw UnpackError.errno("read \(name)")
        }
    }
}

/// Pulls blocks from a caller's closure that fills a buffer (0 = end).
final class ClosureSource: ByteSource {
    private let fill: (UnsafeMutableRawBufferPointer) throws -> Int
    private let buffer: UnsafeMutableRawBufferPointer

    init(bufferSize: Int = 1 << 20, _ fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.fill = fill
        buffer = .allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    func next() throws -> UnsafeRawBufferPointer? {
        while true {
            let n = try fill(buffer)
            if n == 0 { return nil }
            if n > 0 && n <= buffer.count { return UnsafeRawBufferPointer(rebasing: buffer[0..<n]) }
            throw UnpackError(.cancelled, "layer source returned \(n) bytes for a buffer of \(buffer.count)")
        }
    }
}
