import Content
import FoundationEssentials

extension RegistryClient {
    /// The tags of a repository (`GET /v2/NAME/tags/list`), following the
    /// registry's `Link: <…?n=…&last=…>; rel="next"` pages.
    public func tags(_ repository: Reference) async throws -> [String] {
        try await offPool { flag in
            struct Page: Decodable { var tags: [String]? }
            var all: [String] = []
            var path = "/v2/\(repository.path)/tags/list"
            for _ in 0..<1000 {
                let r = try self.send("GET", domain: repository.domain, path, scopes: [RegistryClient.pullScope(repository.path)], cancelled: flag)
                guard r.status == 200 else { throw self.failure(r, what: "tags of \(repository.familiarName)") }
                all += (try JSONDecoder().decode(Page.self, from: Data(r.body))).tags ?? []
                // Link: </v2/name/tags/list?last=x&n=100>; rel="next"
                guard let link = r.header("link"), link.contains("rel=\"next\""),
                      let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close else { break }
                path = String(link[link.index(after: open)..<close])
            }
            return all
        }
    }
}
