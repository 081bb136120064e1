import ExecboxSandbox

/// The images a runc backend has: the built-in `default` and, with an image store, every image in
/// it (imported, bootstrapped or built). Any other name is an invalid argument, never a pull.
struct ImageCatalog: Sendable {
    var images: [String: SandboxImage]
    var store: ImageStore?

    /// The built-in images, with their prepared files under `directory`.
    static func builtIn(preparedIn directory: String?, store: ImageStore? = nil) throws -> ImageCatalog {
        ImageCatalog(images: [SandboxSpec.defaultImage: try .hostUsr(preparedDirectory: directory)], store: store)
    }

    func resolve(_ name: String) throws(SandboxError) -> SandboxImage {
        if let image = images[name] { return image }
        if let store, let stored = store.image(named: name) {
            return .layered(stored, store: store)
        }
        var known = images.keys.sorted()
        if let store { known += store.images().map(\.name) }
        let list = known.prefix(20).joined(separator: ", ") + (known.count > 20 ? ", …" : "")
        throw .invalidArgument("unknown image \"\(name.prefix(128))\"; this backend has: \(list)")
    }
}
