import Foundation
import Glibc
import Testing

/// A scratch directory that is removed at the end of the test.
final class TempDir {
    let path: String
    init(_ prefix: String = "spec") throws {
        var template = Array((NSTemporaryDirectory() + "berth-\(prefix)-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw TestError("mkdtemp failed") }
        path = String(cString: p)
        chmod(path, 0o755)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func symlink(_ relative: String, to target: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

let samplePasswd = """
    root:x:0:0:root:/root:/bin/sh
    daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
    app:x:1000:1000:App:/home/app:/bin/sh
    nobody:x:65534:65534:nobody:/nonexistent:/bin/false

    """

let sampleGroup = """
    root:x:0:
    daemon:x:1:
    wheel:x:10:app,other
    audio:x:29: app
    app:x:1000:
    staff:x:50:someone
    nogroup:x:65534:

    """
