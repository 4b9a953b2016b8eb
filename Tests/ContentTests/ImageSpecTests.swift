import Testing
import Content

@Suite struct ImageSpecTests {
    @Test func platformParsingAndNormalisation() throws {
        #expect(try Platform(parsing: "linux/arm64/v8").description == "linux/arm64")
        #expect(try Platform(parsing: "linux/aarch64").description == "linux/arm64")
        #expect(try Platform(parsing: "linux/x86_64").description == "linux/amd64")
        #expect(try Platform(parsing: "linux/arm").description == "linux/arm/v7")
        #expect(try Platform(parsing: "linux/arm/v6").description == "linux/arm/v6")
        #expect(try Platform(parsing: "linux").os == "linux")
        #expect(throws: ContentError.self) { try Platform(parsing: "linux/amd64/v3/x") }
        #expect(Platform.host.os == "linux")
        #expect(!Platform.host.architecture.isEmpty)
    }

    @Test func platformMatchingAsContainerd() throws {
        let armv7 = try Platform(parsing: "linux/arm/v7")
        #expect(armv7.matches(Platform(os: "linux", architecture: "arm", variant: "v6")))
        #expect(!armv7.matches(Platform(os: "linux", architecture: "arm", variant: "v8")))
        let arm64 = try Platform(parsing: "linux/arm64")
        #expect(arm64.matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(arm64.matches(Platform(os: "linux", architecture: "aarch64")))
        #expect(!arm64.matches(Platform(os: "linux", architecture: "amd64")))
        #expect(!arm64.matches(Platform(os: "windows", architecture: "arm64")))
    }

    @Test func indexSelectionPrefersExactVariantAndSkipsAttestations() throws {
        func d(_ n: UInt8, _ p: Platform?) -> Descriptor {
            var x = Descriptor(mediaType: MediaType.ociManifest, bytes: [n])
            x.platform = p
            return x
        }
        let index = Index(manifests: [
            d(1, Platform(os: "unknown", architecture: "unknown")),
            d(2, Platform(os: "linux", architecture: "arm", variant: "v6")),
            d(3, Platform(os: "linux", architecture: "arm", variant: "v7")),
            d(4, Platform(os: "linux", architecture: "amd64")),
        ])
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7"))?.digest == d(3, nil).digest)
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v6"))?.digest == d(2, nil).digest)
        #expect(index.manifest(for: try Platform(parsing: "linux/amd64"))?.digest == d(4, nil).digest)
        #expect(index.manifest(for: try Platform(parsing: "linux/s390x")) == nil)
    }

    @Test func schema1IsRefused() {
        let body = Array(#"{"schemaVersion":1,"name":"x","tag":"latest","fsLayers":[{"blobSum":"sha256:00"}]}"#.utf8)
        #expect { try ImageDocument.decode(body, mediaType: MediaType.dockerManifestV1Signed) } throws: { error in
            guard case ContentError.schema1Refused = error else { return false }
            return "\(error)".contains("schema 1")
        }
        #expect(throws: ContentError.self) { try ImageDocument.decode(body, mediaType: nil) }
    }

    @Test func documentsDecodeWithAllFieldsAndDigestComesFromTheBytes() throws {
        let text = """
        {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
         "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7,"digest":"sha256:\(String(repeating: "1", count: 64))"},
         "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":9,"digest":"sha256:\(String(repeating: "2", count: 64))",
                    "urls":["https://example/l"],"annotations":{"a":"b"}}],
         "x-unknown": true}
        """
        let bytes = Array(text.utf8)
        guard case .manifest(let m) = try ImageDocument.decode(bytes, mediaType: "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8") else {
            Issue.record("not a manifest"); return
        }
        #expect(m.layers[0].urls == ["https://example/l"] && m.layers[0].annotations == ["a": "b"])
        #expect(MediaType.layerCompression(m.layers[0].mediaType) == .gzip)
        // The descriptor of a document is over its bytes as received, unknown fields and spacing included.
        #expect(Descriptor(mediaType: m.mediaType!, bytes: bytes).digest == Digest.sha256(of: bytes))

        let config = """
        {"architecture":"amd64","os":"linux","config":{"User":"1000","Env":["A=1"],"Entrypoint":["/e"],"Cmd":["c"],
         "WorkingDir":"/w","Labels":{"l":"v"},"StopSignal":"SIGTERM","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}}},
         "rootfs":{"type":"layers","diff_ids":["sha256:\(String(repeating: "3", count: 64))"]},
         "history":[{"created_by":"ENV A=1","empty_layer":true},{"created_by":"ADD x"}]}
        """
        let c = try ImageDocument.decodeConfig(Array(config.utf8))
        #expect(c.config?.user == "1000" && c.config?.entrypoint == ["/e"] && c.config?.stopSignal == "SIGTERM")
        #expect(c.config?.exposedPorts?.keys.first == "80/tcp" && c.config?.volumes?.keys.first == "/data")
        #expect(c.rootfs.diffIDs.count == 1 && c.history?.first?.emptyLayer == true)
        let again = try ImageDocument.decodeConfig(ImageDocument.encode(c))
        #expect(again == c)
    }
}
