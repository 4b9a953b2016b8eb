import Content
import Glibc
import Testing
import Unpack

/// Unpack speed on the pull benchmark's big layer (100 MiB of random data,
/// gzip). Opt-in (BERTH_UNPACK_BENCH=1) and never asserted: it prints MB/s.
@Suite struct UnpackBenchmark {
    static var enabled: Bool { getenv("BERTH_UNPACK_BENCH") != nil }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var a = timespec(), b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    @Test(.enabled(if: enabled)) func randomLayer100MiB() throws {
        let s = Scratch("berth-bench")
        let tree = s.sub("tree")
        sh("head -c 104857600 /dev/urandom > \(tree)/random && tar -C \(tree) -cf \(s.path)/layer.tar . && gzip -1 -k \(s.path)/layer.tar")
        LayerFixtures.zstd(s.path + "/layer.tar", to: s.path + "/layer.tar.zst", level: 1)
        let mb = Double(sh("stat -c %s \(s.path)/layer.tar.gz"))! / 1e6
        for (name, file) in [("gzip", "layer.tar.gz"), ("zstd", "layer.tar.zst"), ("plain", "layer.tar")] {
            var best = Double.infinity
            for round in 0..<3 {
                let target = s.sub("t-\(name)-\(round)")
                sh("sync")
                let t = try Self.seconds { _ = try LayerUnpacker.apply(file: s.path + "/" + file, to: target) }
                best = min(best, t)
                sh("rm -rf \(target)")
            }
            print("unpack \(name): \(format3(best)) s, \(format3(mb / best)) MB/s (100 MiB random layer)")
        }
        // The same layer pushed in 64 KiB chunks, as a download would.
        var data = [UInt8](repeating: 0, count: Int(mb * 1e6))
        let fd = open(s.path + "/layer.tar.gz", O_RDONLY)
        _ = data.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        let target = s.sub("t-stream")
        let t = try Self.seconds {
            let stream = try LayerUnpackStream(into: target)
            var off = 0
            while off < data.count {
                let end = min(off + 65536, data.count)
                try stream.write(Array(data[off..<end]))
                off = end
            }
            _ = try stream.finish()
        }
        print("unpack gzip streamed in 64 KiB chunks: \(format3(t)) s, \(format3(mb / t)) MB/s")
        let tarTime = Self.seconds { sh("mkdir \(s.path)/gnutar && tar -C \(s.path)/gnutar -xzf \(s.path)/layer.tar.gz") }
        print("GNU tar -xzf (no hashing), for reference: \(format3(tarTime)) s, \(format3(mb / tarTime)) MB/s")
    }

    @Test(.enabled(if: enabled)) func twentyThousandSmallFiles() throws {
        let s = Scratch("berth-bench")
        let tree = s.sub("tree")
        sh("cd \(tree) && for d in $(seq 1 200); do mkdir d$d; for f in $(seq 1 100); do head -c 1024 /dev/urandom > d$d/f$f; done; done")
        sh("tar -C \(tree) -czf \(s.path)/small.tar.gz .")
        let target = s.sub("t")
        let t = try Self.seconds { _ = try LayerUnpacker.apply(file: s.path + "/small.tar.gz", to: target) }
        let tarTime = Self.seconds { sh("mkdir \(s.path)/gnutar && tar -C \(s.path)/gnutar -xzf \(s.path)/small.tar.gz") }
        print("unpack 20,000 files of 1 KiB (gzip): \(format3(t)) s, \(Int(20200 / t)) entries/s; GNU tar -xzf: \(format3(tarTime)) s")
    }
}

func format3(_ x: Double) -> String {
    let v = (x * 1000).rounded() / 1000
    return String(v)
}
