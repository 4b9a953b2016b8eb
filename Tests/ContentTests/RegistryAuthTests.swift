import Testing
import Content
@testable import Registry
#if canImport(Glibc)
import Glibc
#endif

/// Basic auth (htpasswd) and bearer tokens (a token server of our own) against docker-registry.
@Suite struct RegistryAuthTests {
    func store() throws -> ContentStore { try ContentStore(root: Subprocess.tempDir("store")) }

    func smallImage(_ store: ContentStore) throws -> TestImageBuilder.Image {
        let dir = Subprocess.tempDir("small")
        defer { Subprocess.run(["rm", "-rf", dir]) }
        try Subprocess.writeFile(dir + "/file.txt", "auth test\n")
        return try TestImageBuilder.image(layers: [try TestImageBuilder.layer(from: dir, into: store)], into: store)
    }

    @Test func basicAuthWithRightAndWrongCredentials() async throws {
        guard TestRegistry.available, Subprocess.which("htpasswd") else { print("skipped: needs docker-registry and htpasswd"); return }
        let registry = try TestRegistry(auth: .basic(user: "alice", password: "s3cret"))
        let source = try store()
        let image = try smallImage(source)
        let ref = try Reference.parse("\(registry.host)/private/app:1")

        // Credentials from a credentials file, as `berth login` leaves them.
        let file = Subprocess.tempDir("auth") + "/auth.json"
        try CredentialStore(path: file).save(Credentials(username: "alice", password: "s3cret"), for: registry.host)
        let client = RegistryClient(credentials: CredentialStore(path: file))
        try await client.login(domain: registry.host)
        try await client.push(image.manifest, from: source, to: ref)
        let pulled = try await client.pull(ref, into: try store())
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)

        let wrong = RegistryClient(credentials: StaticCredentials([registry.host: Credentials(username: "alice", password: "nope")]))
        await #expect { try await wrong.pull(ref, into: try store()) } throws: { e in
            guard case RegistryError.unauthorized(let m) = e else { return false }
            return m.contains("unauthorized")
        }
        await #expect { try await wrong.login(domain: registry.host) } throws: { e in
            "\(e)" == "login attempt to http://\(registry.host)/v2/ failed with status: 401 Unauthorized"
        }
        await #expect(throws: RegistryError.self) { try await RegistryClient().pull(ref, into: try store()) }
    }

    @Test func bearerTokensFromTheChallenge() async throws {
        guard TestRegistry.available, HelperServer.available else { print("skipped: needs docker-registry, python3 and openssl"); return }
        let (tokens, certificate) = try HelperServer.tokenServer(user: "bob", password: "hunter2")
        let registry = try TestRegistry(auth: .token(realm: "http://127.0.0.1:\(tokens.port)/token", certificate: certificate))
        let source = try store()
        let image = try smallImage(source)
        let ref = try Reference.parse("\(registry.host)/team/app:1")
        let bob = RegistryClient(credentials: StaticCredentials([registry.host: Credentials(username: "bob", password: "hunter2")]))
        try await bob.push(image.manifest, from: source, to: ref)
        #expect(bob.authState.withLock { !$0.tokens.isEmpty })

        // Anonymous: the token server grants pull only.
        let anonymous = RegistryClient()
        let pulled = try await anonymous.pull(ref, into: try store())
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)
        await #expect { try await anonymous.push(image.manifest, from: source, to: try Reference.parse("\(registry.host)/team/other:1")) } throws: { e in
            if case RegistryError.unauthorized = e { return true }
            if case RegistryError.denied = e { return true }
            return false
        }

        // Wrong password: the token server says no, and the error says why.
        let wrong = RegistryClient(credentials: StaticCredentials([registry.host: Credentials(username: "bob", password: "wrong")]))
        await #expect { try await wrong.pull(ref, into: try store()) } throws: { e in
            "\(e)" == "unauthorized: incorrect username or password for \(registry.host)"
        }
    }

    @Test func credentialStoreFileIsDockerShapedAndPrivate() throws {
        let path = Subprocess.tempDir("creds") + "/sub/auth.json"
        let store = CredentialStore(path: path)
        try store.save(Credentials(username: "u", password: "p:w"), for: "localhost:5000")
        try store.save(Credentials(username: "hub", password: "x"), for: "docker.io")
        #expect(store.credentials(for: "localhost:5000") == Credentials(username: "u", password: "p:w"))
        #expect(store.credentials(for: "docker.io")?.username == "hub")
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
        let text = String(decoding: try Subprocess.readAll(path), as: UTF8.self)
        #expect(text.contains("\"https://index.docker.io/v1/\"") && text.contains("\"auth\" : \"dTpwOnc=\""))
        #expect(try store.remove(for: "localhost:5000"))
        #expect(store.credentials(for: "localhost:5000") == nil)
        #expect(store.registries() == ["https://index.docker.io/v1/"])
    }
}
