import ExecboxAPI
import ExecboxImages
import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage

extension SessionManager {
    /// The image a new session runs on, settled before anything is recorded where it can be: an
    /// image id (`sha256:…`) must be one the account built or used (NOT_FOUND otherwise) and READY
    /// (FAILED_PRECONDITION for a failed build); a request with setup commands needs a backend
    /// with images. Whether the build will be a cache hit is known here too.
    struct SessionImage: Sendable {
        /// The image id the session names or will build; empty for a plain image name.
        var id: String?
        var cacheHit = false
        /// After a build or cache hit: the image.
        var built: CachedImage?
    }

    func resolveImage(_ plan: SessionPlan, principal: Principal) async throws -> SessionImage {
        if let build = plan.build {
            guard let images else {
                throw ErrorDetails.withCode(
                    .badRequest,
                    RPCError(code: .unimplemented, message: "this server's sandbox backend cannot build images"))
            }
            let id = build.hash.id
            let hit = try await images.backend.imageInfo(id) != nil
            if !hit { try await images.requireBase(build.base) }
            return SessionImage(id: id, cacheHit: hit)
        }
        let name = plan.sandbox.image
        guard ImageContentHash.isValidID(name) else { return SessionImage() }
        guard let image = try await store.accountImage(accountID: principal.accountID, hash: name) else {
            throw RPCError(code: .notFound, message: "image \(name) not found")
        }
        guard image.status == .ready else {
            throw ServiceErrors.failedPrecondition(
                image.status == .failed
                    ? "image \(name)'s build failed: \(image.failureMessage)" : "image \(name) is still building")
        }
        try await store.recordImageUse(accountID: principal.accountID, hash: name, at: now())
        return SessionImage(id: name, cacheHit: true, built: image)
    }

    /// The sandbox to create: with setup commands, after the build (or cache hit) on its image,
    /// the session BUILDING meanwhile. A failed setup command fails the session and the call
    /// (FAILED_PRECONDITION, with the command and its exit in the message).
    func sandboxSpec(_ plan: SessionPlan, _ image: SessionImage, session: SessionRecord) async throws -> SandboxSpec {
        var spec = plan.sandbox
        guard let build = plan.build, let images else { return spec }
        let building = try await store.updateSession(
            id: session.id, accountID: nil, allowedFrom: [.pending], SessionChange(status: .building))
        events.publish(building, type: .statusChanged, previous: .pending, at: now())
        let outcome = try await images.build(build, accountID: session.accountID)
        if let failure = outcome.failure {
            throw SandboxError(code: .failedPrecondition, message: "the image build failed: \(failure.message)")
        }
        spec.image = outcome.image.hash
        return spec
    }
}
