import ExecboxImages
import ExecboxSandbox
import FoundationEssentials
import Glibc

/// Brings an OCI image into the store: from an OCI image layout directory (read directly), from an
/// `oci-archive` or `docker-archive` tarball, or from a registry (both converted to a layout first
/// by `skopeo copy`). Every blob's digest is verified, every layer's uncompressed digest is checked
/// against the config's `diff_ids`, and every entry passes `LayerPolicy` before anything is written
/// (`TarReader` checks as it reads); a layer the store already has is not unpacked again.
struct ImageImporter {
    let store: ImageStore
    var policy = LayerPolicy.default
    var progress: @Sendable (String) -> Void = { _ in }

    enum Source: Sendable {
        case layout(String)
        case archive(String)
        case registry(String)
    }

    /// Imports `source` as `name` and returns the stored image.
    func run(_ source: Source, name: String) async throws -> StoredImage {
        switch source {
        case .layout(let directory):
            return try importLayout(directory, tag: nil, name: name)
        case .archive(let file):
            let layout = try store.scratchDirectory("layout")
            defer { BundleWriter.remove(layout) }
            try await convert(file, into: layout)
            return try importLayout(layout, tag: "import", name: name)
        case .registry(let reference):
            let layout = try store.scratchDirectory("layout")
            defer { BundleWriter.remove(layout) }
            progress("pulling \(reference) with skopeo")
            try await skopeo(["copy", "docker://\(reference)", "oci:\(layout):import"])
            return try importLayout(layout, tag: "import", name: name)
        }
    }

    /// `skopeo copy` of an `oci-archive`, else a `docker-archive`, into an OCI layout.
    private func convert(_ file: String, into layout: String) async throws {
        progress("reading \(file) with skopeo")
        var failures: [String] = []
        for transport in ["oci-archive", "docker-archive"] {
            do {
                // Local files need no signature policy; a registry pull uses the host's.
                try await skopeo(["--insecure-policy", "copy", "\(transport):\(file)", "oci:\(layout):import"])
                return
            } catch {
                failures.append("\(transport): \(error)")
            }
        }
        throw SandboxError.invalidArgument(
            "\(file) is neither an OCI nor a Docker image archive (\(failures.joined(separator: "; ").prefix(600)))")
    }

    private func skopeo(_ arguments: [String]) async throws {
        guard let skopeo = HostCommand.find(["/usr/bin/skopeo"]) else {
            throw SandboxError(code: .unavailable, message: "skopeo is not installed (apt-get install skopeo)")
        }
        try await HostCommand.run([skopeo] + arguments)
    }

    // MARK: OCI layout

    private func readBlob(_ layout: String, _ digest: Digest, limit: Int) throws -> [UInt8] {
        guard let bytes = HostFiles.read("\(layout)/blobs/\(digest.algorithm)/\(digest.hex)", limit: limit) else {
            throw SandboxError.invalidArgument("the image has no blob \(digest) (or it is over \(limit) bytes)")
        }
        guard Digest.sha256(bytes) == digest else {
            throw SandboxError.invalidArgument("blob \(digest) does not match its digest")
        }
        return bytes
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw SandboxError.invalidArgument("the image's \(what) is not valid: \(error)")
        }
    }

    func importLayout(_ layout: String, tag: String?, name: String) throws -> StoredImage {
        guard let indexBytes = HostFiles.read("\(layout)/index.json", limit: 1 << 20) else {
            throw SandboxError.invalidArgument("\(layout) is not an OCI image layout (no index.json)")
        }
        let index = try decode(OCIIndex.self, indexBytes, what: "index.json")
        var candidates = index.manifests
        if let tag {
            candidates = candidates.filter { $0.referenceName == tag }
        }
        guard let descriptor = candidates.first else {
            throw SandboxError.invalidArgument("the image layout has no manifest\(tag.map { " tagged \($0)" } ?? "")")
        }
        var manifestDigest = descriptor.digest
        var manifestBytes = try readBlob(layout, manifestDigest, limit: 4 << 20)
        if descriptor.mediaType == "application/vnd.oci.image.index.v1+json" {
            // A multi-platform index: this host's platform.
            let nested = try decode(OCIIndex.self, manifestBytes, what: "image index")
            guard
                let chosen = nested.manifests.first(where: {
                    $0.platform?.os == "linux" && $0.platform?.architecture == "amd64"
                })
            else { throw SandboxError.invalidArgument("the image has no linux/amd64 manifest") }
            manifestDigest = chosen.digest
            manifestBytes = try readBlob(layout, manifestDigest, limit: 4 << 20)
        }
        let manifest = try decode(OCIManifest.self, manifestBytes, what: "manifest")
        let configDigest = manifest.config.digest
        let config = try decode(OCIImageConfig.self, try readBlob(layout, configDigest, limit: 4 << 20), what: "config")
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count, !diffIDs.isEmpty else {
            throw SandboxError.invalidArgument(
                "the image's config names \(diffIDs.count) layers, its manifest \(manifest.layers.count)")
        }
        guard diffIDs.count <= OverlayRoot.maxLayers else {
            throw SandboxError.invalidArgument(
                "the image has \(diffIDs.count) layers; at most \(OverlayRoot.maxLayers) are supported")
        }
        if config.os != "linux" { throw SandboxError.invalidArgument("the image is for \(config.os), not linux") }
        if config.architecture != "amd64" {
            throw SandboxError.invalidArgument("the image is for \(config.architecture), not amd64")
        }
        var size: Int64 = 0
        for (number, (layer, diffID)) in zip(manifest.layers, diffIDs).enumerated() {
            let label = "layer \(number + 1)/\(diffIDs.count) \(diffID.hex.prefix(12))"
            if store.hasLayer(diffID.hex) {
                progress("\(label): already stored")
            } else {
                progress("\(label): unpacking \(layer.size) bytes")
                try unpackLayer(layout, blob: layer.digest, diffID: diffID, label: label)
            }
            size += store.layerBytes(diffID.hex)
        }
        let now = Date().timeIntervalSince1970
        let settings = config.config
        let image = StoredImage(
            name: name,
            id: configDigest.description,
            layers: diffIDs.map(\.hex),
            config: ImageRuntimeConfig(
                entrypoint: settings?.entrypoint ?? [],
                cmd: settings?.cmd ?? [],
                env: settings?.env ?? [],
                workingDir: settings?.workingDir ?? "",
                user: settings?.user ?? ""
            ),
            sizeBytes: size,
            source: .imported,
            createdAt: now,
            lastUsedAt: now
        )
        _ = try ImageUser.resolve(image.config.user, layers: image.layers.map(store.layerPath))
        try store.save(image)
        progress("stored \(name) (\(image.id), \(diffIDs.count) layers, \(size) bytes)")
        return image
    }

    /// Reads one layer blob (gzip or plain tar) twice: first only checking — both digests and every
    /// entry against the policy, writing nothing — then unpacking it into a scratch directory, which
    /// is committed under its uncompressed digest. A hostile layer never touches the disk.
    private func unpackLayer(_ layout: String, blob: Digest, diffID: Digest, label: String) throws {
        let path = "\(layout)/blobs/\(blob.algorithm)/\(blob.hex)"
        do {
            try withLayerReader(path) { reader, stream in
                while try reader.next() != nil {}
                try stream.finish()
                guard stream.compressedDigest == blob else {
                    throw SandboxError.invalidArgument("\(label): the blob does not match its digest \(blob)")
                }
                guard stream.uncompressedDigest == diffID else {
                    throw SandboxError.invalidArgument(
                        "\(label): the uncompressed layer does not match its diff id \(diffID)")
                }
            }
        } catch let error as LayerError {
            throw SandboxError.invalidArgument("\(label): \(error)")
        }
        progress("\(label): checked \(blob.hex.prefix(12)), unpacking")
        let directory = try store.scratchDirectory("layer")
        do {
            try withLayerReader(path) { reader, _ in
                var unpacker = try LayerUnpacker(directory: directory)
                defer { unpacker.close() }
                try unpacker.unpack(&reader)
            }
        } catch let error as LayerError {
            BundleWriter.remove(directory)
            throw SandboxError.invalidArgument("\(label): \(error)")
        } catch var error as SandboxError {
            BundleWriter.remove(directory)
            error.message = "\(label): \(error.message)"
            throw error
        } catch {
            BundleWriter.remove(directory)
            throw error
        }
        try store.commitLayer(directory, digest: diffID.hex)
    }

    private func withLayerReader(_ path: String, _ body: (inout TarReader, LayerStream) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SandboxError.invalidArgument("the image has no blob \(path.suffix(64))") }
        defer { close(fd) }
        let stream = LayerStream(fd: fd)
        var reader = TarReader(policy: policy, read: stream.read)
        try body(&reader, stream)
    }
}

/// A layer blob as a tar stream: reads the file, hashes the bytes as stored, inflates them when they
/// are gzip (`LayerDecompressor`) and hashes the tar itself.
final class LayerStream {
    let fd: Int32
    private var compressedHasher = DigestHasher()
    private var uncompressedHasher = DigestHasher()
    private var decompressor: LayerDecompressor?
    private(set) var compressedDigest: Digest?
    private(set) var uncompressedDigest: Digest?

    init(fd: Int32) {
        self.fd = fd
        decompressor = LayerDecompressor { [unowned self] buffer, max in try self.readFile(into: &buffer, max: max) }
    }

    /// `TarReader`'s source: appends up to `max` bytes of tar to `buffer`, 0 at the end.
    func read(into buffer: inout [UInt8], max: Int) throws -> Int {
        let before = buffer.count
        let count = try decompressor!.read(into: &buffer, max: max)
        uncompressedHasher.update(buffer[before...])
        return count
    }

    private func readFile(into buffer: inout [UInt8], max: Int) throws -> Int {
        let before = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: max))
        var count = 0
        repeat {
            count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + before, max) }
        } while count < 0 && errno == EINTR
        guard count >= 0 else {
            buffer.removeLast(max)
            throw SandboxError(code: .internal, message: "reading a layer failed", cause: SystemError("read"))
        }
        buffer.removeLast(max - count)
        compressedHasher.update(buffer[before...])
        return count
    }

    /// Reads what the tar reader left (padding after the end blocks) so the digests cover the file.
    func finish() throws {
        var scratch: [UInt8] = []
        while try read(into: &scratch, max: 1 << 20) > 0 { scratch.removeAll(keepingCapacity: true) }
        compressedDigest = compressedHasher.finalize()
        uncompressedDigest = uncompressedHasher.finalize()
    }
}
