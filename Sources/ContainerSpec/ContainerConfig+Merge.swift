import Content
import RPC

extension BerthAPI.ContainerConfig {
    /// Docker's merge of the user's Config over the image's (moby daemon/commit.go
    /// `merge`): the result is what the manager stores and `inspect` shows.
    ///
    /// - Cmd: the user's, else the image's — but only while the user gave no
    ///   Entrypoint: a user Entrypoint drops the image Cmd (Docker's `--entrypoint`
    ///   resets Cmd unless the user gave one).
    /// - Entrypoint: the user's when given (`[]` or `[""]`, i.e. `--entrypoint ""`,
    ///   clears the image's), else the image's.
    /// - Env: the user's entries first, then the image's entries whose name the
    ///   user did not set, in the image's order (Docker's order, visible in inspect).
    /// - Labels: the image's, overridden by the user's.
    /// - User, WorkingDir, StopSignal: the user's when non-empty, else the image's.
    /// - ExposedPorts, Volumes: the union.
    public func merged(image: ImageConfig.Config?) -> BerthAPI.ContainerConfig {
        var out = self
        guard let image else {
            if let e = out.entrypoint, e == [""] { out.entrypoint = [] }
            return out
        }
        if (out.user ?? "").isEmpty, let u = image.user { out.user = u }

        if let imagePorts = image.exposedPorts, !imagePorts.isEmpty {
            var ports = out.exposedPorts ?? [:]
            for key in imagePorts.keys where ports[key] == nil { ports[key] = BerthAPI.EmptyObject() }
            out.exposedPorts = ports
        }

        if let imageEnv = image.env, !imageEnv.isEmpty {
            var env = out.env ?? []
            let userNames = Set(env.map(Self.envName))
            for entry in imageEnv where !userNames.contains(Self.envName(entry)) { env.append(entry) }
            out.env = env
        }

        if let imageLabels = image.labels, !imageLabels.isEmpty {
            var labels = out.labels ?? [:]
            for (k, v) in imageLabels where labels[k] == nil { labels[k] = v }
            out.labels = labels
        }

        // A user Entrypoint of [""] is `--entrypoint ""`: no entrypoint at all.
        if let e = out.entrypoint, e == [""] { out.entrypoint = [] }
        if (out.entrypoint ?? []).isEmpty {
            if (out.cmd ?? []).isEmpty { out.cmd = image.cmd }
            if out.entrypoint == nil { out.entrypoint = image.entrypoint }
        }

        if (out.workingDir ?? "").isEmpty, let w = image.workingDir { out.workingDir = w }

        if let imageVolumes = image.volumes, !imageVolumes.isEmpty {
            var volumes = out.volumes ?? [:]
            for key in imageVolumes.keys where volumes[key] == nil { volumes[key] = BerthAPI.EmptyObject() }
            out.volumes = volumes
        }

        if (out.stopSignal ?? "").isEmpty, let s = image.stopSignal { out.stopSignal = s }
        return out
    }

    /// The image's whole config; see `merged(image:)` on its `config`.
    public func merged(image: ImageConfig) -> BerthAPI.ContainerConfig { merged(image: image.config) }

    /// "NAME=VALUE" → "NAME"; an entry without "=" is its own name.
    static func envName(_ entry: String) -> Substring {
        entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(entry)
    }
}
