import Testing
import Content
@testable import Registry

@Suite struct ReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("user/app", "docker.io/user/app:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/a/b:tag", "localhost:5000/a/b:tag"),
        ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"),
        ("quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"),
        ("[::1]:5000/app:1", "[::1]:5000/app:1"),
        ("Registry/app", "Registry/app:latest"),
        ("a__b/c-d--e.f:T_1.x-y", "docker.io/a__b/c-d--e.f:T_1.x-y"),
    ])
    func normalizes(input: String, expected: String) throws {
        #expect(try Reference.parse(input).withDefaultTag.description == expected)
    }

    @Test func digestsAndTags() throws {
        let hex = String(repeating: "ab", count: 32)
        let byDigest = try Reference.parse("busybox@sha256:" + hex)
        #expect(byDigest.description == "docker.io/library/busybox@sha256:" + hex)
        #expect(byDigest.tag == nil && byDigest.withDefaultTag.tag == nil)
        let both = try Reference.parse("localhost:5000/app:v1@sha256:" + hex)
        #expect(both.tag == "v1" && both.digest?.encoded == hex)
        #expect(both.manifestIdentifier == "sha256:" + hex)
        #expect(try Reference.parse("busybox").familiarName == "busybox")
        #expect(try Reference.parse("user/app:1").familiarString == "user/app:1")
        #expect(try Reference.parse("localhost:5000/app").familiarName == "localhost:5000/app")
        #expect(try Reference.parse("app", defaultDomain: "registry.example:5000").description == "registry.example:5000/app")
    }

    @Test(arguments: [
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("docker.io/User/app", "invalid reference format: repository name (User/app) must be lowercase"),
        ("", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("busybox:tag with space", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("busybox@md5:" + String(repeating: "a", count: 32), "invalid reference format: unsupported digest algorithm"),
        (String(repeating: "a", count: 64), "invalid repository name (\(String(repeating: "a", count: 64))), cannot specify 64-byte hexadecimal strings"),
        ("a/" + String(repeating: "b", count: 260), "invalid reference format: repository name must not be more than 255 characters"),
    ])
    func rejects(input: String, message: String) {
        #expect { try Reference.parse(input) } throws: { ($0 as? RegistryError)?.description == message }
    }
}
