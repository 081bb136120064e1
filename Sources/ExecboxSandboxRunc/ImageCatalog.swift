import ExecboxSandbox

/// The images a runc backend has. Until image building arrives that is `default` alone; any other
/// name is an invalid argument, never a pull.
struct ImageCatalog: Sendable {
    var images: [String: SandboxImage]

    static func builtIn() -> ImageCatalog {
        ImageCatalog(images: [SandboxSpec.defaultImage: .hostUsr()])
    }

    func resolve(_ name: String) throws(SandboxError) -> SandboxImage {
        guard let image = images[name] else {
            let known = images.keys.sorted().joined(separator: ", ")
            throw .invalidArgument("unknown image \"\(name.prefix(128))\"; this backend has: \(known)")
        }
        return image
    }
}
