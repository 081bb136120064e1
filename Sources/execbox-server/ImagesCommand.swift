import ArgumentParser
import ExecboxSandbox
import ExecboxSandboxRunc
import Foundation

/// `execbox-server images …`: the runc backend's image store (same --data-dir / --image-store as
/// `serve`), with or without a server running. Long work reports its progress on stderr.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Import, bootstrap, list and remove the images sessions run on.",
        discussion: """
            Every layer is checked before it is stored (no device nodes, nothing under /dev, /proc or \
            /sys, no symlinks where the runtime mounts, no setuid files unless --allow-setuid, size and \
            entry limits). A running server sees a change at its next session create.
            """,
        subcommands: [
            ImportImageCommand.self, BootstrapImageCommand.self, ListImagesCommand.self, RemoveImageCommand.self,
        ]
    )

    static func images(_ options: StoreOptions) throws -> LocalImages {
        let settings = try StoreSettings(options, environment: ProcessInfo.processInfo.environment)
        try settings.prepareDataDirectory()
        let environment = ProcessInfo.processInfo.environment
        let directory = BackendSettings.imageStore(
            options.imageStore ?? environment["EXECBOX_IMAGE_STORE"], dataDirectory: settings.dataDirectory)
        guard getuid() == 0 else { throw ValidationError("images commands need root (layers keep their owners)") }
        return try LocalImages(directory: directory)
    }

    /// `HH:MM:SS message` on stderr.
    static func progress(_ message: String) {
        let time = Date().formatted(.dateTime.hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits))
        FileHandle.standardError.write(Data("\(time) \(message)\n".utf8))
    }

    static func describe(_ image: SandboxImageInfo) {
        print(
            """
            name: \(image.name)
            id: \(image.id)
            source: \(image.source.rawValue)
            layers: \(image.layers)
            size_bytes: \(image.sizeBytes)
            entrypoint: \(image.entrypoint.joined(separator: " "))
            cmd: \(image.cmd.joined(separator: " "))
            working_dir: \(image.workingDirectory)
            user: \(image.user)
            """)
    }
}

struct ImportImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Import an OCI layout directory, an oci-archive or docker-archive file, or (--registry) a registry image.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The directory, the archive, or with --registry a reference.", valueName: "source"))
    var source: String

    @Option(help: ArgumentHelp("The name sessions use, e.g. busybox:latest.", valueName: "name"))
    var name: String

    @Flag(help: "SOURCE is a registry reference (docker://…, pulled with skopeo and the host's policy).")
    var registry = false

    @Flag(help: "Keep setuid and setgid files (sandboxes run with no_new_privs: the bits are inert there).")
    var allowSetuid = false

    func run() async throws {
        let images = try ImagesCommand.images(store)
        let image = try await images.importImage(
            from: source, registry: registry, name: name, allowSetuid: allowSetuid, progress: ImagesCommand.progress)
        ImagesCommand.describe(image)
    }
}

struct BootstrapImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Build debian:<suite> with debootstrap (minbase) from the host's apt mirror.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("debian:bookworm, debian:trixie, …", valueName: "name"))
    var name: String

    @Option(
        help: ArgumentHelp("Extra packages, comma-separated (e.g. python3,ca-certificates).", valueName: "packages"))
    var include: String?

    func run() async throws {
        let images = try ImagesCommand.images(store)
        let packages = include?.split(separator: ",").map(String.init) ?? []
        let image = try await images.bootstrap(name, include: packages, progress: ImagesCommand.progress)
        ImagesCommand.describe(image)
    }
}

struct ListImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the stored images.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        print("name\tid\tsource\tlayers\tsize_bytes\tlast_used")
        for image in try ImagesCommand.images(store).list() {
            let used = Date(timeIntervalSince1970: image.lastUsedAt).formatted(.iso8601)
            print("\(image.name)\t\(image.id)\t\(image.source.rawValue)\t\(image.layers)\t\(image.sizeBytes)\t\(used)")
        }
    }
}

struct RemoveImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove an image, and the layers nothing else uses.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The image's name.", valueName: "name"))
    var name: String

    func run() async throws {
        guard try ImagesCommand.images(store).remove(name) else { throw ValidationError("no image named \(name)") }
        print("removed: \(name)")
    }
}
