// Every test berthd gets a default bridge and subnet of its own: the suites
// run in parallel, and berthds sharing berth0 and 172.17.0.0/16 would hand
// out the same addresses on one bridge and race to make it.
import Foundation
import Glibc
import Synchronization

enum TestBridge {
    private static let counter = Atomic<Int>(0)

    /// "bt<pid>n<k>" and 10.(100 + pid % 50).(k % 250).1/24: distinct within
    /// this test process, and unlikely to meet another one's.
    static func next() -> (bridge: String, bip: String) {
        let k = counter.add(1, ordering: .relaxed).newValue
        let pid = Int(getpid())
        return ("bt\(pid % 100_000)n\(k)", "10.\(100 + pid % 50).\(k % 250).1/24")
    }

    /// A berthd configuration (a JSON object) with `bridge` and `bip` added
    /// unless it has them; the bridge it names.
    static func configure(_ json: String) -> (json: String, bridge: String) {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            return (json, "")  // not an object: berthd will refuse it, which is what such a test checks
        }
        if object["bridge"] == nil || object["bip"] == nil {
            let (bridge, bip) = next()
            object["bridge"] = object["bridge"] ?? bridge
            object["bip"] = object["bip"] ?? bip
        }
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data(json.utf8)
        return (String(decoding: data, as: UTF8.self), object["bridge"] as? String ?? "")
    }

    /// After its berthd is gone: the bridge and its rules (berthd leaves its
    /// default network up when it stops, as Docker leaves docker0).
    static func remove(_ bridge: String) {
        guard !bridge.isEmpty, bridge != "berth0" else { return }
        NetworkHost.deleteRules(mentioning: [bridge])
        if access("/sys/class/net/" + bridge, F_OK) == 0 { Subprocess.run(["ip", "link", "del", bridge]) }
    }
}
