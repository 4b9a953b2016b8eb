/// Substring search without the _StringProcessing module, which berth-runtime
/// leaves out to stay small (see Package.swift).
extension StringProtocol {
    func find(_ needle: String) -> Range<Index>? {
        let n = Array(needle.utf8)
        guard !n.isEmpty else { return startIndex..<startIndex }
        var i = utf8.startIndex
        while i != utf8.endIndex {
            var j = i, k = 0
            while k < n.count, j != utf8.endIndex, utf8[j] == n[k] { j = utf8.index(after: j); k += 1 }
            if k == n.count { return i..<j }
            i = utf8.index(after: i)
        }
        return nil
    }

    func includes(_ needle: String) -> Bool { find(needle) != nil }
}
