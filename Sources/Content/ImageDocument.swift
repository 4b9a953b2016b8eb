import FoundationEssentials

/// A manifest or an index as fetched, decoded from its bytes. The bytes stay the
/// authority: digests are computed over them, never over a re-encoding.
public enum ImageDocument: Sendable {
    case manifest(Manifest)
    case index(Index)

    /// Decodes `bytes` served as `mediaType` (the Content-Type, or the descriptor's type).
    /// When the type is missing or generic, the document's own `mediaType` field and shape
    /// decide. Docker schema 1 is refused with a message that says so.
    public static func decode(_ bytes: [UInt8], mediaType: String?) throws(ContentError) -> ImageDocument {
        struct Probe: Decodable {
            var schemaVersion: Int?
            var mediaType: String?
            var manifests: [Descriptor]?
            var config: Descriptor?
            var fsLayers: [Empty]?
            struct Empty: Decodable {}
        }
        let data = Data(bytes)
        let probe: Probe
        do { probe = try JSONDecoder().decode(Probe.self, from: data) } catch {
            throw .invalidDocument(what: "manifest", reason: "not JSON: \(error)")
        }
        var type = mediaType.map { String(($0.split(separator: ";").first ?? "").filter { $0 != " " }).lowercased() } ?? ""
        if MediaType.isSchema1(type) || probe.schemaVersion == 1 || probe.fsLayers != nil {
            throw .schema1Refused(type.isEmpty || type == "application/json" ? MediaType.dockerManifestV1Signed : type)
        }
        if type.isEmpty || type == "application/json" || type == "text/plain" || type == "application/octet-stream" {
            type = probe.mediaType ?? (probe.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest)
        }
        do {
            if MediaType.isIndex(type) {
                return .index(try JSONDecoder().decode(Index.self, from: data))
            } else if MediaType.isManifest(type) {
                return .manifest(try JSONDecoder().decode(Manifest.self, from: data))
            }
        } catch {
            throw .invalidDocument(what: type, reason: "\(error)")
        }
        throw .unsupportedMediaType(type)
    }

    /// Decodes an image configuration.
    public static func decodeConfig(_ bytes: [UInt8]) throws(ContentError) -> ImageConfig {
        do { return try JSONDecoder().decode(ImageConfig.self, from: Data(bytes)) } catch {
            throw .invalidDocument(what: "image config", reason: "\(error)")
        }
    }

    /// Canonical-enough JSON for documents Berth writes itself (sorted keys, no escaped
    /// slashes), so the same value always yields the same digest.
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? e.encode(value)) ?? Data())
    }
}
