import ExecboxImages
public import ExecboxSandbox

/// The image store as the `execbox-server images` commands use it, without a running backend:
/// import an OCI layout, archive or registry image, bootstrap a Debian root, list and remove.
/// Sessions see a change at their next create (the backend reads the store's records then).
public struct LocalImages: Sendable {
    let store: ImageStore

    public init(directory: String) throws {
        store = try ImageStore(root: directory)
    }

    /// A name an import or bootstrap may give: 1 to 128 characters of `[a-z0-9._/:-]`, starting
    /// with a letter or digit, not `default` and not an image id.
    public static func validate(name: String) throws(SandboxError) {
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "-")]
                    .contains(byte)
        }
        guard (1...128).contains(name.utf8.count), allowed, let first = name.utf8.first,
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
            name != SandboxSpec.defaultImage, !name.hasPrefix("sha256:")
        else {
            throw .invalidArgument(
                "an image name is 1 to 128 characters of [a-z0-9._/:-], starts with a letter or digit, and is neither default nor sha256:…"
            )
        }
    }

    /// Imports an OCI image layout directory, an `oci-archive` or `docker-archive` file, or (with
    /// `registry`) `skopeo`'s `docker://` reference, as `name`.
    public func importImage(
        from source: String, registry: Bool = false, name: String, allowSetuid: Bool = false,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> SandboxImageInfo {
        try Self.validate(name: name)
        var policy = LayerPolicy.default
        policy.allowSetuid = allowSetuid
        let importer = ImageImporter(store: store, policy: policy, progress: progress)
        let kind: ImageImporter.Source
        if registry {
            kind = .registry(source)
        } else if HostFiles.read("\(source)/oci-layout", limit: 4096) != nil {
            kind = .layout(source)
        } else {
            kind = .archive(source)
        }
        return RuncBackend.info(try await importer.run(kind, name: name))
    }

    /// `debootstrap`s `debian:<suite>` (with extra packages) as an image.
    public func bootstrap(
        _ name: String, include: [String] = [], progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> SandboxImageInfo {
        RuncBackend.info(
            try await ImageBootstrapper(store: store, progress: progress).run(name: name, include: include))
    }

    public func list() -> [SandboxImageInfo] { store.images().map(RuncBackend.info) }

    public func image(_ name: String) -> SandboxImageInfo? { store.image(named: name).map(RuncBackend.info) }

    /// Removes an image and every layer nothing else uses (layers a running sandbox has mounted
    /// stay until it ends and a later removal or eviction collects them).
    public func remove(_ name: String) -> Bool {
        guard store.remove(name) else { return false }
        store.collectGarbage()
        return true
    }
}
