import Glibc
import Testing
import Unpack

/// A corpus of hostile layers. Each one is either refused with an error naming
/// the entry or applied inside the target; in both cases nothing outside the
/// target changes: a sentinel directory beside it is checked after every layer.
@Suite struct MaliciousLayerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// Python tarfile calls; SENTINEL is replaced by the sentinel's absolute path.
        let entries: String
        let refused: Outcome
        var testDescription: String { name }
    }

    enum Outcome: Sendable {
        /// Must fail with an error naming the entry.
        case yes
        /// Must apply, inside the target.
        case no
        /// Either is right (it depends on the whiteout mode: an overlay whiteout
        /// is a device node, so a later entry below it has no parent directory).
        case either
    }

    static let corpus: [Case] = [
        Case(name: "dot-dot file", entries: "f('../sentinel/secret', b'pwned')\nf('../../../../../../../tmp/berth-escaped', b'pwned')", refused: .no),
        Case(name: "dot-dot inside a path", entries: "d('a')\nf('a/../../sentinel/secret', b'pwned')", refused: .no),
        Case(name: "absolute file", entries: "f('SENTINEL/secret', b'pwned')\nf('/tmp/berth-escaped', b'pwned')", refused: .no),
        Case(name: "relative symlink then write through", entries: "sym('link', '../sentinel')\nf('link/secret', b'pwned')", refused: .yes),
        Case(name: "absolute symlink then write through", entries: "sym('abs', 'SENTINEL')\nf('abs/secret', b'pwned')", refused: .yes),
        Case(name: "symlink to / then write through", entries: "sym('rootlink', '/')\nf('rootlink/berth-escaped', b'pwned')\nf('rootlink/SENTINEL/secret', b'pwned')", refused: .no),
        Case(name: "symlink chain climbing out", entries: "sym('a', 'b')\nsym('b', '../../../../..')\nf('a/berth-escaped', b'pwned')", refused: .no),
        Case(name: "symlink replaced by a file", entries: "sym('s', 'SENTINEL/secret')\nf('s', b'pwned')", refused: .no),
        Case(name: "symlinked directory then mkdir through", entries: "sym('dir', 'SENTINEL')\nd('dir/newdir')\nf('dir/newdir/x', b'pwned')", refused: .yes),
        Case(name: "hardlink to an absolute outside file", entries: "hard('hl', 'SENTINEL/secret')", refused: .yes),
        Case(name: "hardlink with dot-dot", entries: "hard('hl', '../sentinel/secret')", refused: .yes),
        Case(name: "hardlink through a symlink", entries: "sym('s', 'SENTINEL')\nhard('hl', 's/secret')", refused: .yes),
        Case(name: "hardlink to a symlink pointing out, then written", entries: "sym('s', 'SENTINEL/secret')\nhard('h', 's')\nf('h', b'pwned')", refused: .no),
        Case(name: "device node escaping", entries: "dev('../sentinel/null', 1, 3)\ndev('SENTINEL/zero', 1, 5)", refused: .no),
        Case(name: "whiteout escaping", entries: "f('../.wh.sentinel', b'')\nf('../sentinel/.wh.secret', b'')\nsym('w', 'SENTINEL')\nf('w/.wh.secret', b'')", refused: .either),
        Case(name: "opaque through a symlink", entries: "sym('o', 'SENTINEL')\nf('o/.wh..wh..opq', b'')", refused: .either),
    ]

    @Test(arguments: corpus, [WhiteoutMode.overlay, .delete])
    func staysInside(_ c: Case, whiteouts: WhiteoutMode) throws {
        let s = Scratch("berth-evil")
        let sentinel = s.sub("sentinel")
        writeFile(sentinel + "/secret", "original")
        let target = s.sub("target")
        let layers = s.sub("layers")
        LayerFixtures.crafted(layers + "/l.tar", c.entries.replacing("SENTINEL", with: sentinel))
        let before = sh("cd \(s.path) && find . -path ./target -prune -o -print | sort")

        var error: UnpackError?
        do {
            _ = try LayerUnpacker.apply(file: layers + "/l.tar", to: target, options: UnpackOptions(whiteouts: whiteouts))
        } catch let e as UnpackError {
            error = e
        }
        switch c.refused {
        case .yes:
            #expect(error?.code == .unsafeEntry, "\(c.name) must be refused, got \(String(describing: error))")
            #expect(error?.message.contains("layer entry") == true)
        case .no:
            #expect(error == nil, "\(c.name) must be contained, got \(String(describing: error))")
        case .either:
            #expect(error == nil || error?.code == .unsafeEntry, "\(c.name): \(String(describing: error))")
        }
        #expect(readFile(sentinel + "/secret") == "original")
        #expect(sh("cd \(s.path) && find . -path ./target -prune -o -print | sort") == before)
        #expect(!exists("/tmp/berth-escaped"))
    }
}
