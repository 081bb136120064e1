public import ExecboxAPI
import ExecboxImages
public import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// `execbox.v1.ImageService`: builds from a base image plus setup commands and files, cached by
/// content id (`ImageBuilds`), and the account's images. An account sees the images it built or
/// used; the build cache itself is shared (the same inputs give the same image, built once).
public struct ImageService: ImageServiceProtocol {
    let builds: ImageBuilds
    let store: any ExecboxStore
    let now: @Sendable () -> Date

    /// Nil when the manager's backend has no images.
    public init?(manager: SessionManager) {
        guard let builds = manager.images else { return nil }
        self.builds = builds
        self.store = manager.store
        self.now = manager.now
    }

    public func buildImage(
        request: BuildImageRequest, responses: RPCWriter<BuildImageResponse>, context: ServerContext
    ) async throws {
        let principal = try Principal.required()
        let build = try ImageBuilds.request(
            base: request.baseImage, setup: request.setup, files: request.files, noCache: request.noCache)
        // Build events arrive from the backend's tasks: they go out in order through one stream.
        let (stream, continuation) = AsyncStream.makeStream(of: BuildImageResponse.self)
        async let outcome: ImageBuilds.Outcome = {
            defer { continuation.finish() }
            return try await builds.build(build, accountID: principal.accountID) { continuation.yield($0) }
        }()
        for await message in stream { try await responses.write(message) }
        let result = try await outcome
        try await responses.write(
            .with {
                $0.payload = .result(
                    .with {
                        $0.image = Self.image(result.image)
                        $0.cacheHit = result.cacheHit
                        if let failure = result.failure {
                            $0.failedStep = UInt32(failure.step)
                            if let exit = failure.exit {
                                $0.failedStepExit = APIMapping.exitStatus(exit, duration: nil, endedAt: now())
                            }
                        }
                    })
            })
    }

    public func getImage(request: GetImageRequest, context: ServerContext) async throws -> GetImageResponse {
        let principal = try Principal.required()
        let image: CachedImage?
        switch request.key {
        case .imageId(let id):
            guard ImageContentHash.isValidID(id) else { throw Validation.invalid("image_id must be sha256:<64 hex>") }
            image = try await store.accountImage(accountID: principal.accountID, hash: id)
        case .setupHash(let hash):
            guard ImageContentHash.isValidLegacyHash(hash) else {
                throw Validation.invalid("setup_hash must be 16 lowercase hex characters")
            }
            image = try await store.accountImage(accountID: principal.accountID, legacyHash: hash)
        case nil:
            throw Validation.invalid("image_id or setup_hash is required")
        }
        guard let image else { throw RPCError(code: .notFound, message: "image not found") }
        return .with { $0.image = Self.image(image) }
    }

    public func listImages(request: ListImagesRequest, context: ServerContext) async throws -> ListImagesResponse {
        let principal = try Principal.required()
        let status: CachedImage.Status? =
            switch request.status {
            case .unspecified: nil
            case .building: .building
            case .ready: .ready
            case .failed: .failed
            default: throw Validation.invalid("unknown status")
            }
        guard request.baseImage.utf8.count <= 512 else { throw Validation.invalid("base_image is at most 512 bytes") }
        let filters = "images|\(request.baseImage)|\(status?.rawValue ?? "")"
        let now = now()
        let page = try await store.accountImages(
            accountID: principal.accountID, baseImage: request.baseImage.isEmpty ? nil : request.baseImage,
            status: status, page: try PageToken.pageRequest(request.page, filters: filters, now: now))
        return .with {
            $0.images = page.items.map(Self.image)
            $0.page = PageToken.response(page.nextCursor, filters: filters, now: now)
        }
    }

    static func image(_ image: CachedImage) -> Image {
        .with {
            $0.id = image.hash
            $0.setupHash = image.legacyHash
            $0.baseImage = image.baseImage
            $0.setup = image.setup
            $0.files = image.files.map { file in
                .with {
                    $0.path = file.path; $0.sizeBytes = Int64(file.size)
                }
            }
            $0.reference = image.status == .ready ? image.imageRef : ""
            $0.status =
                switch image.status {
                case .building: .building
                case .ready: .ready
                case .failed: .failed
                }
            $0.createdAt = Timestamps.make(image.createdAt)
            if let used = image.lastUsedAt { $0.lastUsedAt = Timestamps.make(used) }
            $0.buildDurationMs = Int64(image.buildDurationMs ?? 0)
            $0.sizeBytes = Int64(image.sizeBytes ?? 0)
            $0.failureMessage = image.failureMessage
        }
    }
}
