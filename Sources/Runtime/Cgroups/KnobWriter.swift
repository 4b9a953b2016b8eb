import Glibc

/// Writes the limit files of one create or update, naming the config field in
/// every error. For `update` it keeps a journal: what each file held before it
/// was written, so that a failed update can put every file back (runc's
/// update changes nothing when a value is refused, and neither do we).
final class KnobWriter {
    private let journaling: Bool
    private var journal: [(path: String, restore: String)] = []
    let log: RuntimeLog

    init(journaling: Bool, log: RuntimeLog) {
        self.journaling = journaling
        self.log = log
    }

    /// Writes `value` to dir/file. `restore` turns what the file read before
    /// into what to write back (default: the same text); nil skips the journal.
    func write(_ dir: String, _ file: String, _ value: String, field: String,
               restore: (String) -> String? = { $0 }) throws(RuntimeError) {
        let path = dir + "/" + file
        guard FS.exists(path) else {
            throw RuntimeError("\(field): this host has no \(file) in \(dir) (is the controller enabled, or the kernel feature built in?)")
        }
        let old = journaling ? FS.readTrimmed(path).flatMap(restore) : nil
        do { try FS.writeExisting(path, value) } catch {
            throw RuntimeError("\(field): \(error.message)")
        }
        if let old { journal.append((path, old)) }
    }

    /// Writes one entry of a keyed file (per device, interface or RDMA device):
    /// the old entry is what gets restored, or `absent` when there was none.
    func writeEntry(_ dir: String, _ file: String, key: String, _ value: String, absent: String, field: String) throws(RuntimeError) {
        let previous = journaling ? (CgroupFile.line(dir + "/" + file, key: key) ?? absent) : ""
        try write(dir, file, value, field: field, restore: { _ in previous })
    }

    /// Puts back every file written so far, newest first, so that each step
    /// returns to a state the kernel already accepted (memory before memsw …).
    func rollback() {
        for (path, old) in journal.reversed() {
            do { try FS.writeExisting(path, old) } catch {
                log.warning("update: could not restore \(path) to \(old.debugDescription): \(error.message)")
            }
        }
        journal.removeAll()
    }
}
