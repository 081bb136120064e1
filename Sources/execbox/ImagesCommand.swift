import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWire
import Foundation

/// `execbox images …`: the account's images (ImageService). Importing, bootstrapping and removing
/// named base images are operator commands on the server host (`execbox-server images …`): a
/// named image is server-wide, an image built here is the account's.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Build and list your images.",
        discussion: """
            An image is a base image plus setup commands and files, cached by content: building the \
            same inputs again is a cache hit and runs nothing. Use an image with `execbox run --image \
            sha256:…`, or give --setup to `execbox run` to build on the way. Base images are imported \
            by the server's operator (execbox-server images import|bootstrap|ls|rm).
            """,
        subcommands: [ImagesListCommand.self, ImagesGetCommand.self, ImagesBuildCommand.self]
    )

    static func statusText(_ status: ImageStatus) -> String {
        LegacyJSON.name(status, prefix: "IMAGE_STATUS_", unspecified: "unknown")
    }

    static func json(_ image: Image) -> JSONValue {
        var object = JSONObject()
        object.add("id", image.id)
        object.add("setup_hash", image.setupHash)
        object.add("base_image", image.baseImage)
        object.add("setup", .array(image.setup.map { .string($0) }))
        object.add(
            "files",
            .array(
                image.files.map { file in .object([("path", .string(file.path)), ("size_bytes", .int(file.sizeBytes))])
                }))
        object.add("status", statusText(image.status))
        object.add("created_at", ifPresent: LegacyJSON.time(image.createdAt))
        object.add("last_used_at", ifPresent: LegacyJSON.time(image.lastUsedAt))
        object.add("build_duration_ms", image.buildDurationMs)
        object.add("size_bytes", image.sizeBytes)
        object.add("failure_message", ifNotEmpty: image.failureMessage)
        return object.value
    }

    static func describe(_ image: Image) {
        StandardStream.output.writeLine(
            """
            id: \(image.id)
            setup_hash: \(image.setupHash)
            base_image: \(image.baseImage)
            status: \(statusText(image.status))
            setup: \(image.setup.joined(separator: " && "))
            files: \(image.files.map(\.path).joined(separator: " "))
            size_bytes: \(image.sizeBytes)
            build_duration_ms: \(image.buildDurationMs)
            """ + (image.failureMessage.isEmpty ? "" : "\nfailure: \(image.failureMessage)"))
    }
}

struct ImagesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List your images, most recently used first.")

    @OptionGroup var client: ClientOptions

    @Option(help: "Only images on this base image.") var base: String?

    @Option(help: "At most this many images.") var limit = 50

    func run() async throws {
        let images = try await APIClient.with(client) { api in
            var images: [Image] = []
            var token = ""
            repeat {
                let page = try await api.images.listImages(
                    .with {
                        $0.baseImage = base ?? ""
                        $0.page = .with {
                            $0.pageSize = UInt32(min(max(limit - images.count, 1), 1000))
                            $0.pageToken = token
                        }
                    })
                images += page.images
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty && images.count < limit
            return Array(images.prefix(limit))
        }
        if client.json {
            let object = JSONValue.object([("images", .array(images.map(ImagesCommand.json)))])
            return StandardStream.output.writeLine(object.rendered(pretty: true))
        }
        var table = TextTable("ID", "STATUS", "BASE", "SETUP", "SIZE", "LAST USED")
        for image in images {
            table.add(
                String(image.id.prefix(19)), ImagesCommand.statusText(image.status), image.baseImage,
                "\(image.setup.count) steps", "\(image.sizeBytes)", SessionsCommand.time(image.lastUsedAt) ?? "")
        }
        table.print()
    }
}

struct ImagesGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one image by id or setup hash.")

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("sha256:<64 hex>, or a 16-hex setup hash.", valueName: "image"))
    var image: String

    func run() async throws {
        let key = image
        let found = try await APIClient.with(client) { api in
            try await api.images.getImage(
                .with { $0.key = key.hasPrefix("sha256:") ? .imageId(key) : .setupHash(key) }
            ).image ?? Image()
        }
        if client.json { return StandardStream.output.writeLine(ImagesCommand.json(found).rendered(pretty: true)) }
        ImagesCommand.describe(found)
    }
}

struct ImagesBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a base image, setup commands and files (or find it in the cache).",
        discussion: """
            Streams the build's output (stderr of the setup commands on stderr) with its progress, then \
            prints the image. Exits 1 if a setup command failed.
            """)

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("The base image (a name the server has).", valueName: "base"))
    var base: String

    @Option(
        name: .customLong("setup"),
        help: ArgumentHelp("A setup command, run with /bin/sh -c (repeatable, in order).", valueName: "command"))
    var setup: [String] = []

    @Option(
        name: .customLong("file"),
        help: ArgumentHelp("LOCAL:ABSOLUTE — copy a local file into the image (repeatable).", valueName: "local:path"))
    var files: [String] = []

    @Flag(help: "Build again even if the image is cached.") var noCache = false

    @Flag(help: "Print no build output, only the result.") var quiet = false

    func run() async throws {
        var specs: [FileSpec] = []
        for argument in files {
            guard let colon = argument.firstIndex(of: ":") else {
                throw CLIError("--file wants LOCAL:ABSOLUTE, got \(argument)")
            }
            let local = String(argument[..<colon])
            let path = String(argument[argument.index(after: colon)...])
            guard let data = FileManager.default.contents(atPath: local) else { throw CLIError("cannot read \(local)") }
            specs.append(
                .with {
                    $0.path = path
                    $0.content = data.base64EncodedString()
                    $0.encoding = .base64
                })
        }
        let request = BuildImageRequest.with {
            $0.baseImage = base
            $0.setup = setup
            $0.files = specs
            $0.noCache = noCache
        }
        let quiet = quiet || client.json
        let result = try await APIClient.with(client) { api in
            try await api.images.buildImage(request) { responses in
                var result: BuildResult?
                for try await response in responses {
                    switch response.payload {
                    case .accepted(let accepted):
                        if !quiet {
                            StandardStream.error.writeLine(
                                "image \(accepted.imageId) (setup hash \(accepted.setupHash)): "
                                    + (accepted.cacheHit ? "cached, nothing to build" : "building"))
                        }
                    case .log(let line):
                        if !quiet {
                            let stream = line.stream == .stderr ? StandardStream.error : StandardStream.output
                            stream.writeLine("[\(line.step)] \(line.line)")
                        }
                    case .progress(let progress):
                        if !quiet, progress.phase == .runningSetup {
                            StandardStream.error.writeLine(
                                "step \(progress.currentStep)/\(progress.totalSteps) (\(progress.elapsedMs / 1000) s)")
                        }
                    case .result(let value): result = value
                    case nil: break
                    }
                }
                return result
            }
        }
        guard let result, let image = result.image else {
            throw CLIError("the server ended the build without a result")
        }
        if client.json {
            StandardStream.output.writeLine(ImagesCommand.json(image).rendered(pretty: true))
        } else {
            ImagesCommand.describe(image)
        }
        if image.status == .failed {
            throw CLIError("the build failed at setup command \(result.failedStep): \(image.failureMessage)")
        }
    }
}
