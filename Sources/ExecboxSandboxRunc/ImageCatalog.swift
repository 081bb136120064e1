import ExecboxSandbox

/// The images a runc backend has. Until image building arrives that is `default` alone; any other
/// name is an invalid argument, never a pull.
struct ImageCatalog: Sendable {
    var images: [String: SandboxImage]

    /// The built-in images, with their prepared files under `directory`.
    static func builtIn(preparedIn directory: String?) throws -> ImageCatalog {
        ImageCatalog(images: [SandboxSpec.defaultImage: try .hostUsr(preparedDirectory: directory)])
    }

    func resolve(_ name: String) throws(SandboxError) -> SandboxImage {
        guard let image = images[name] else {
            let known = images.keys.sorted().joined(separator: ", ")
            throw .invalidArgument("unknown image \"\(name.prefix(128))\"; this backend has: \(known)")
        }
        return image
    }
}
