import Synchronization

/// Set when the task that started a transfer is cancelled; curl's callbacks poll it, so a
/// blocking transfer on its own thread stops soon after.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    init() {}
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
