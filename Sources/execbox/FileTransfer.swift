import Crypto
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWire
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Copies one file into or out of a session through FileService, in 1 MiB chunks, checked end
/// to end with SHA-256: an upload is hashed first, so the server refuses a file that arrived
/// different and nothing appears; a download goes to a temporary file that is renamed into place
/// only when its hash matches the server's.
enum FileTransfer {
    static let chunkSize = 1 << 20

    struct Summary: Sendable {
        var path: String
        var size: Int64
        var sha256: String

        /// The REST upload body `{"path", "size"}`, with the SHA-256.
        var json: JSONValue {
            var object = JSONObject()
            object.add("path", path)
            object.add("size", size)
            object.add("sha256", sha256)
            return object.value
        }
    }

    static func upload(
        _ api: APIClient, local: String, session: String, remote: String, quiet: Bool
    ) async throws -> Summary {
        let file = try LocalFile(openForReading: local)
        defer { file.close() }
        let digest = try await NIOThreadPool.singleton.runIfActive { try file.sha256() }
        let header = WriteFileHeader.with {
            $0.sessionId = session
            $0.path = remote
            $0.mode = file.mode
            $0.createParents = true
            $0.sizeBytes = file.size
            $0.sha256 = digest
        }
        let response = try await api.files.writeFile { writer in
            try await writer.write(.with { $0.payload = .header(header) })
            var progress = ProgressBar(label: basename(local), total: file.size, quiet: quiet)
            var offset: Int64 = 0
            while true {
                let chunk = try await NIOThreadPool.singleton.runIfActive { [offset] in
                    try file.read(at: offset, count: chunkSize)
                }
                if chunk.isEmpty { break }
                try await writer.write(.with { $0.payload = .data(chunk) })
                offset += Int64(chunk.count)
                progress?.advance(by: chunk.count)
            }
            progress?.finish()
            guard offset == file.size else { throw CLIError("\(local) changed size while it was being sent") }
        }
        guard response.sha256 == digest, response.sizeBytes == file.size else {
            throw CLIError("the server stored \(remote) with a different size or SHA-256 than was sent")
        }
        return Summary(path: response.path, size: response.sizeBytes, sha256: response.sha256)
    }

    /// Downloads into `local` (a file, a directory to put it in, or `-` for stdout).
    static func download(
        _ api: APIClient, session: String, remote: String, local: String, quiet: Bool
    ) async throws -> Summary {
        let toStdout = local == "-"
        let destination = toStdout ? "-" : (LocalFile.isDirectory(local) ? local + "/" + basename(remote) : local)
        let request = ReadFileRequest.with {
            $0.sessionId = session
            $0.path = remote
        }
        let temporary = toStdout ? nil : try LocalFile(creatingTemporaryNextTo: destination)
        do {
            let (size, mode, digest) = try await api.files.readFile(request) { responses in
                var hasher = SHA256()
                var size: Int64 = 0
                var mode: UInt32 = 0o644
                var progress: ProgressBar?
                var serverDigest = ""
                for try await response in responses {
                    if let info = response.info {
                        mode = info.mode & 0o777
                        progress = ProgressBar(label: basename(remote), total: info.sizeBytes, quiet: quiet || toStdout)
                    }
                    if !response.data.isEmpty {
                        hasher.update(data: response.data)
                        if let temporary {
                            try temporary.write(response.data)
                        } else {
                            try StandardStream.output.write(response.data)
                        }
                        size += Int64(response.data.count)
                        progress?.advance(by: response.data.count)
                    }
                    if !response.sha256.isEmpty { serverDigest = response.sha256 }
                }
                progress?.finish()
                let digest = hex(hasher.finalize())
                guard digest == serverDigest else {
                    throw CLIError(
                        "\(remote) arrived damaged: its SHA-256 differs from the server's; nothing was written")
                }
                return (size, mode, digest)
            }
            try temporary?.commit(to: destination, mode: mode)
            return Summary(path: destination, size: size, sha256: digest)
        } catch {
            temporary?.discard()
            throw error
        }
    }

    static func basename(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
