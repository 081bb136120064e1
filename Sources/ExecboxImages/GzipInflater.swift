import CZlib

/// Streaming gzip (or zlib) inflation with zlib, fed in pieces, output appended to the caller's
/// buffer. Concatenated gzip members are one stream, as `gzip -d` reads them. No ratio limit here:
/// callers bound what they take (`TarReader` through its policy, `maxOutput` per call).
///
/// A class because zlib's `z_stream` must not move once initialised (its state points back at it).
public final class GzipInflater {
    public enum Format: Sendable {
        case gzip
        /// RFC 1950 (what gRPC and HTTP call "deflate").
        case zlib
    }

    private enum State {
        /// Before the first member, or after one ended.
        case betweenMembers
        case inMember
        case failed(LayerError)
    }

    private let stream: UnsafeMutablePointer<z_stream>
    /// zlib writes here, then the bytes are appended to the caller's buffer.
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchSize)
    private static let scratchSize = 1 << 16
    private let initialised: Bool
    private var state = State.betweenMembers
    private var completedMembers = 0

    public init(format: Format = .gzip) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        initialised = execbox_inflate_init(stream, format == .gzip ? 1 : 0) == Z_OK
        if !initialised {
            state = .failed(.malformed("zlib could not start inflating (out of memory)"))
        }
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Inflates all of `input`, appending what it yields to `output`.
    public func inflate(_ input: some Collection<UInt8>, into output: inout [UInt8]) throws(LayerError) {
        let chunk = 1 << 16
        let bytes = ArraySlice(input)
        var consumed = 0
        while true {
            let before = output.count
            let step = try inflate(contiguous: bytes.dropFirst(consumed), into: &output, maxOutput: chunk)
            consumed += step
            if consumed == bytes.count && output.count - before < chunk { return }
            if step == 0 && output.count == before {
                throw fail(.malformed("the compressed stream stopped making progress"))
            }
        }
    }

    /// Inflates from the start of `input` until `output` has grown by `maxOutput` bytes or no more
    /// can be produced; returns how many input bytes were consumed (pass the rest again). Output
    /// zlib holds back when `maxOutput` is reached comes with the next call, even with no input.
    public func inflate(
        _ input: some Collection<UInt8>,
        into output: inout [UInt8],
        maxOutput: Int
    ) throws(LayerError) -> Int {
        if let slice = input as? ArraySlice<UInt8> {
            return try inflate(contiguous: slice, into: &output, maxOutput: maxOutput)
        }
        return try inflate(contiguous: ArraySlice(input), into: &output, maxOutput: maxOutput)
    }

    /// Throws unless the input so far ended exactly at the end of a member: a truncated stream, or
    /// one that never started, is an error.
    public func finish() throws(LayerError) {
        switch state {
        case .failed(let error): throw error
        case .inMember: throw fail(.malformed("the compressed stream is truncated"))
        case .betweenMembers:
            if completedMembers == 0 { throw fail(.malformed("the compressed stream is empty")) }
        }
    }

    private func inflate(
        contiguous input: ArraySlice<UInt8>,
        into output: inout [UInt8],
        maxOutput: Int
    ) throws(LayerError) -> Int {
        if case .failed(let error) = state { throw error }
        var status = Z_OK
        let z = stream
        input.withUnsafeBufferPointer { inBuffer in
            z.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            z.pointee.avail_in = uInt(inBuffer.count)
            var produced = 0
            while produced < maxOutput && status == Z_OK {
                let room = min(Self.scratchSize, maxOutput - produced)
                z.pointee.next_out = scratch
                z.pointee.avail_out = uInt(room)
                while z.pointee.avail_out > 0 {
                    if case .betweenMembers = state {
                        guard z.pointee.avail_in > 0 else { break }
                        // The first member, or another one after the last (zlib starts over).
                        if completedMembers > 0 { inflateReset(z) }
                        state = .inMember
                    }
                    let (inBefore, outBefore) = (z.pointee.avail_in, z.pointee.avail_out)
                    status = CZlib.inflate(z, Z_NO_FLUSH)
                    if status == Z_STREAM_END {
                        completedMembers += 1
                        state = .betweenMembers
                        status = Z_OK
                    } else if status != Z_OK || (z.pointee.avail_in == inBefore && z.pointee.avail_out == outBefore) {
                        break
                    }
                }
                let got = room - Int(z.pointee.avail_out)
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: got))
                produced += got
                if z.pointee.avail_out > 0 { break }  // out of input, or an error
            }
        }
        let consumed = input.count - Int(stream.pointee.avail_in)
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
        switch status {
        case Z_OK, Z_BUF_ERROR:
            return consumed
        case Z_NEED_DICT:
            throw fail(.unsupported("the zlib stream needs a preset dictionary"))
        case Z_MEM_ERROR:
            throw fail(.malformed("zlib ran out of memory"))
        default:
            let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw fail(.malformed("the compressed stream is corrupt (\(reason))"))
        }
    }

    private func fail(_ error: LayerError) -> LayerError {
        state = .failed(error)
        return error
    }
}
