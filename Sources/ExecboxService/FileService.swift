import Crypto
public import ExecboxAPI
public import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// `execbox.v1.FileService` over a ``SessionManager``: files move in and out of a RUNNING session
/// as streams of at most 1 MiB chunks, never held whole in memory; paths resolve inside the
/// sandbox root (the backend's job: `..` and symlinks cannot leave it).
public struct FileService: FileServiceProtocol {
    public let manager: SessionManager
    /// The largest file WriteFile accepts (file.proto: default 100 MiB).
    public let maxUploadBytes: Int

    static let chunkSize = 1 << 20

    public init(manager: SessionManager, maxUploadBytes: Int = 100 << 20) {
        self.manager = manager
        self.maxUploadBytes = maxUploadBytes
    }

    static func path(_ path: String) throws -> String {
        guard path.hasPrefix("/"), path.utf8.count <= 4096, !path.utf8.contains(0) else {
            throw Validation.invalid("path must be absolute, at most 4096 bytes, without NUL")
        }
        return path
    }

    static func mode(_ mode: UInt32, field: String = "mode") throws -> UInt32 {
        guard mode <= 0o7777 else { throw Validation.invalid("\(field) must be at most 0o7777") }
        return mode
    }

    public func writeFile(requests: RPCAsyncSequence<WriteFileRequest>, context: ServerContext) async throws
        -> WriteFileResponse
    {
        let principal = try Principal.required()
        var iterator = requests.makeAsyncIterator()
        guard case .header(let header)? = try await iterator.next()?.payload else {
            throw Validation.invalid("the first message must be header")
        }
        let path = try Self.path(header.path)
        let mode = try Self.mode(header.mode)
        guard !(header.exclusive && header.append) else {
            throw Validation.invalid("exclusive and append cannot be combined")
        }
        guard header.sizeBytes >= 0 else { throw Validation.invalid("size_bytes must not be negative") }
        guard header.sizeBytes <= maxUploadBytes else { throw Self.tooLarge(maxUploadBytes) }
        let expectedDigest = header.sha256.lowercased()
        guard expectedDigest.isEmpty || (expectedDigest.utf8.count == 64 && expectedDigest.allSatisfy(\.isHexDigit))
        else { throw Validation.invalid("sha256 must be 64 hex characters") }
        let (_, sandboxID) = try await manager.runningSandbox(header.sessionId, of: principal)
        var hasher = SHA256()
        var received = 0
        var digest = ""
        let limit = maxUploadBytes
        let info = try await manager.backend.writeFile(
            sandboxID, path: path,
            options: FileWriteOptions(
                mode: mode, createParents: header.createParents, exclusive: header.exclusive, append: header.append)
        ) { writer in
            while let request = try await iterator.next() {
                guard case .data(let bytes)? = request.payload else {
                    throw Validation.invalid("only data may follow the header")
                }
                guard bytes.count <= Self.chunkSize else {
                    throw Validation.invalid("data must be at most 1 MiB per message")
                }
                received += bytes.count
                guard received <= limit else { throw Self.tooLarge(limit) }
                hasher.update(data: bytes)
                try await writer.write(bytes)
            }
            if header.sizeBytes > 0, received != header.sizeBytes {
                throw Validation.invalid("received \(received) bytes, the header announced \(header.sizeBytes)")
            }
            // Checked before the body returns, so a whole-file write with the wrong content never
            // becomes visible (appends land as they arrive).
            digest = Self.hex(hasher.finalize())
            if !expectedDigest.isEmpty, digest != expectedDigest {
                throw Validation.invalid("the SHA-256 of the received bytes is \(digest), not \(expectedDigest)")
            }
        }
        return WriteFileResponse.with {
            $0.path = path
            $0.sizeBytes = Int64(received)
            $0.sha256 = digest
            $0.info = Self.fileInfo(info)
        }
    }

    static func tooLarge(_ limit: Int) -> RPCError {
        ErrorDetails.withCode(
            .payloadTooLarge,
            RPCError(code: .resourceExhausted, message: "the file exceeds the maximum upload size of \(limit) bytes"))
    }

    public func readFile(request: ReadFileRequest, responses: RPCWriter<ReadFileResponse>, context: ServerContext)
        async throws
    {
        let principal = try Principal.required()
        let path = try Self.path(request.path)
        guard request.offset >= 0, request.length >= 0 else {
            throw Validation.invalid("offset and length must not be negative")
        }
        let (_, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        let info = try await manager.backend.stat(sandboxID, path: path)
        guard info.kind != .directory else { throw ServiceErrors.failedPrecondition("\(path) is a directory") }
        // The metadata and size would be the link's, the bytes its target's: read the target instead.
        guard info.kind != .symlink else {
            throw ServiceErrors.failedPrecondition("\(path) is a symbolic link; read its target instead")
        }
        guard request.offset <= info.size else {
            throw RPCError(
                code: .outOfRange, message: "offset \(request.offset) is beyond the file's \(info.size) bytes")
        }
        // No arithmetic on the client's numbers before they are bounded by the file's size.
        let available = Int64(info.size) - request.offset
        let end = Int(request.offset + (request.length == 0 ? available : min(request.length, available)))
        var offset = Int(request.offset)
        var hasher = SHA256()
        var first = true
        repeat {
            let bytes = try await manager.backend.readFile(
                sandboxID, path: path, offset: offset, length: min(Self.chunkSize, end - offset))
            hasher.update(data: bytes)
            let last = bytes.isEmpty || offset + bytes.count >= end
            let message = ReadFileResponse.with {
                if first { $0.info = Self.fileInfo(info) }
                $0.offset = Int64(offset)
                $0.data = bytes
                if last { $0.sha256 = Self.hex(hasher.finalize()) }
            }
            try await responses.write(message)
            first = false
            offset += bytes.count
            if last { break }
        } while true
    }

    public func listDir(request: ListDirRequest, context: ServerContext) async throws -> ListDirResponse {
        let principal = try Principal.required()
        let path = try Self.path(request.path)
        let now = manager.now()
        let page = try PageToken.pageRequest(request.page, filters: "dir|\(path)", now: now)
        let (_, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        let entries = try await manager.backend.listDirectory(sandboxID, path: path)
        let after = page.cursor
        // Entries come sorted by name byte-wise; the cursor is the last name of the previous page.
        let rest = after.map { cursor in entries.filter { Self.byteOrder(cursor, Self.name($0.path)) } } ?? entries
        let items = Array(rest.prefix(page.limit))
        let next = rest.count > items.count ? items.last.map { Self.name($0.path) } : nil
        return ListDirResponse.with {
            $0.path = path
            $0.entries = items.map(Self.fileInfo)
            $0.page = PageToken.response(next, filters: "dir|\(path)", now: now)
        }
    }

    public func stat(request: StatRequest, context: ServerContext) async throws -> StatResponse {
        let principal = try Principal.required()
        let path = try Self.path(request.path)
        let (_, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        let info = try await manager.backend.stat(sandboxID, path: path)
        return StatResponse.with { $0.info = Self.fileInfo(info) }
    }

    public func remove(request: RemoveRequest, context: ServerContext) async throws -> RemoveResponse {
        let principal = try Principal.required()
        let path = try Self.path(request.path)
        guard path.split(separator: "/").isEmpty == false else { throw Validation.invalid("/ cannot be removed") }
        let (_, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        let count = try await manager.backend.remove(sandboxID, path: path, recursive: request.recursive)
        return RemoveResponse.with { $0.removedCount = Int64(count) }
    }

    public func makeDir(request: MakeDirRequest, context: ServerContext) async throws -> MakeDirResponse {
        let principal = try Principal.required()
        let path = try Self.path(request.path)
        let mode = try Self.mode(request.mode)
        let (_, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        let info = try await manager.backend.makeDirectory(
            sandboxID, path: path, mode: mode == 0 ? 0o755 : mode, parents: request.parents)
        return MakeDirResponse.with { $0.info = Self.fileInfo(info) }
    }

    static func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    static func name(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "/"
    }

    static func fileInfo(_ info: SandboxFileInfo) -> FileInfo {
        FileInfo.with {
            $0.name = name(info.path)
            $0.path = info.path
            $0.fileType =
                switch info.kind {
                case .file: .regular
                case .directory: .directory
                case .symlink: .symlink
                case .other: .other
                }
            $0.sizeBytes = Int64(info.size)
            $0.mode = info.mode & 0o7777
            $0.modifiedAt = Timestamps.make(Date(timeIntervalSince1970: info.modifiedAt))
            $0.uid = info.uid
            $0.gid = info.gid
            $0.symlinkTarget = info.symlinkTarget
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
