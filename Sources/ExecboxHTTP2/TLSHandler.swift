internal import COpenSSL
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Fired down the pipeline once the TLS handshake is done, with the protocol ALPN chose.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    public let alpn: String?
}

/// TLS over OpenSSL memory BIOs: ciphertext from the socket goes into `rbio`, `SSL_read` yields
/// plaintext for the next handler; plaintext written by the pipeline goes through `SSL_write`
/// and whatever OpenSSL put into `wbio` goes to the socket. The `SSL` is touched only here, on the
/// channel's event loop, and freed when the handler leaves the pipeline.
final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle, handshaking, active, closing, closed
    }

    /// Plaintext per `SSL_write` call, so a large write is encrypted and sent piecewise.
    private static let writeChunk = 64 << 10
    private static let readChunk = 16 << 10

    private let tls: TLSContext
    private let serverName: String?
    private var handshakePromise: EventLoopPromise<String?>?
    private var ssl: OpaquePointer?
    private var rbio: OpaquePointer?
    private var wbio: OpaquePointer?
    private var state = State.idle
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    private var timeout: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    /// `serverName` (client only) is sent as SNI and verified against the certificate.
    init(tls: TLSContext, serverName: String? = nil, handshakePromise: EventLoopPromise<String?>? = nil) {
        self.tls = tls
        self.serverName = serverName
        self.handshakePromise = handshakePromise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            let ssl = try tls.makeSSL()
            self.ssl = ssl
            guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
                throw HTTP2Error(.tlsConnection, "cannot allocate memory BIOs")
            }
            // The SSL owns both BIOs from here on.
            SSL_set_bio(ssl, rbio, wbio)
            self.rbio = rbio
            self.wbio = wbio
            if tls.isServer {
                SSL_set_accept_state(ssl)
            } else {
                try configureClient(ssl)
                SSL_set_connect_state(ssl)
            }
        } catch {
            fail(context: context, error: error)
            return
        }
        if context.channel.isActive { startHandshake(context: context) }
    }

    private func configureClient(_ ssl: OpaquePointer) throws {
        guard let serverName else { return }
        if isIPAddress(serverName) {
            if !tls.configuration.insecureSkipVerify
                && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) != 1
            {
                throw HTTP2Error(.tlsConfiguration, "cannot verify the address \(serverName): \(openSSLErrors())")
            }
            return
        }
        if execbox_SSL_set_tlsext_host_name(ssl, serverName) != 1 {
            throw HTTP2Error(.tlsConfiguration, "cannot set SNI \(serverName): \(openSSLErrors())")
        }
        if !tls.configuration.insecureSkipVerify && SSL_set1_host(ssl, serverName) != 1 {
            throw HTTP2Error(.tlsConfiguration, "cannot verify the name \(serverName): \(openSSLErrors())")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        state = .closed
        failPending(HTTP2Error(.tlsConnection, "the TLS handler was removed"))
        if let ssl { SSL_free(ssl) }
        ssl = nil
        rbio = nil
        wbio = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        state = .closed
        failPending(HTTP2Error(.tlsConnection, "the connection closed"))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard let rbio, state != .closed, state != .closing else { return }
        while bytes.readableBytes > 0 {
            let written = bytes.withUnsafeReadableBytes { pointer in
                BIO_write(rbio, pointer.baseAddress, Int32(min(pointer.count, Int(Int32.max))))
            }
            guard written > 0 else {
                fail(context: context, error: HTTP2Error(.tlsConnection, "BIO_write failed"))
                return
            }
            bytes.moveReaderIndex(forwardBy: Int(written))
        }
        switch state {
        case .idle:
            startHandshake(context: context)
        case .handshaking:
            handshake(context: context)
        case .active:
            readPlaintext(context: context)
        case .closing, .closed:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            pendingWrites.append((bytes, promise))
        case .active:
            encrypt(context: context, bytes, promise: promise)
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            pendingFlush = true
        default:
            context.flush()
        }
    }

    /// Sends close_notify (without waiting for the peer's) and closes.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .input {
            context.close(mode: mode, promise: promise)
            return
        }
        if state == .active, let ssl {
            state = .closing
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            if let out = drainCiphertext(context: context) { context.write(wrapOutboundOut(out), promise: nil) }
            context.flush()
        } else if state != .closing {
            state = .closed
        }
        context.close(mode: mode, promise: promise)
    }

    // MARK: handshake

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle, ssl != nil else { return }
        state = .handshaking
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: tls.configuration.handshakeTimeout) {
            loopBound.value.handshakeTimedOut()
        }
        handshake(context: context)
    }

    private func handshakeTimedOut() {
        guard state == .handshaking, let context else { return }
        fail(context: context, error: HTTP2Error(.tlsHandshake, "the TLS handshake timed out"))
    }

    private func handshake(context: ChannelHandlerContext) {
        guard let ssl else { return }
        ERR_clear_error()
        let status = SSL_do_handshake(ssl)
        guard status == 1 else {
            let error = SSL_get_error(ssl, status)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
                flushCiphertext(context: context)
            } else {
                fail(context: context, error: HTTP2Error(.tlsHandshake, "TLS handshake failed: \(describe(error))"))
            }
            return
        }
        state = .active
        timeout?.cancel()
        timeout = nil
        let alpn = negotiatedProtocol(ssl)
        flushCiphertext(context: context)
        let promise = handshakePromise
        handshakePromise = nil
        promise?.succeed(alpn)
        context.fireUserInboundEventTriggered(TLSHandshakeCompleted(alpn: alpn))
        // Writes queued during the handshake (a client's connection preface) go out now.
        let queued = pendingWrites
        pendingWrites.removeAll()
        for (bytes, promise) in queued where state == .active {
            encrypt(context: context, bytes, promise: promise)
        }
        if pendingFlush || !queued.isEmpty {
            pendingFlush = false
            context.flush()
        }
        // Application data may have come in the same packet as the handshake's last flight.
        if state == .active { readPlaintext(context: context) }
    }

    private func negotiatedProtocol(_ ssl: OpaquePointer) -> String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    // MARK: data

    private func readPlaintext(context: ChannelHandlerContext) {
        while state == .active, let ssl {
            var status: Int32 = 0
            var plaintext = context.channel.allocator.buffer(capacity: Self.readChunk)
            ERR_clear_error()
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readChunk) { pointer in
                status = SSL_read(ssl, pointer.baseAddress, Int32(min(pointer.count, Self.readChunk)))
                return Int(max(status, 0))
            }
            if status > 0 {
                context.fireChannelRead(wrapInboundOut(plaintext))
                continue
            }
            let error = SSL_get_error(ssl, status)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
                break
            } else if error == SSL_ERROR_ZERO_RETURN {
                // The peer's close_notify: answer it and close.
                context.close(promise: nil)
                return
            } else {
                fail(context: context, error: HTTP2Error(.tlsConnection, "TLS read failed: \(describe(error))"))
                return
            }
        }
        // Post-handshake messages (session tickets, key updates) OpenSSL wants to send.
        flushCiphertext(context: context)
    }

    private func encrypt(context: ChannelHandlerContext, _ plaintext: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let ssl else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var plaintext = plaintext
        if plaintext.readableBytes == 0 {
            context.write(wrapOutboundOut(plaintext), promise: promise)
            return
        }
        while plaintext.readableBytes > 0 {
            ERR_clear_error()
            let status = plaintext.withUnsafeReadableBytes { pointer in
                SSL_write(ssl, pointer.baseAddress, Int32(min(pointer.count, Self.writeChunk)))
            }
            guard status > 0 else {
                let error = SSL_get_error(ssl, status)
                promise?.fail(HTTP2Error(.tlsConnection, "TLS write failed"))
                fail(context: context, error: HTTP2Error(.tlsConnection, "TLS write failed: \(describe(error))"))
                return
            }
            plaintext.moveReaderIndex(forwardBy: Int(status))
            let last = plaintext.readableBytes == 0
            if let out = drainCiphertext(context: context) {
                context.write(wrapOutboundOut(out), promise: last ? promise : nil)
            } else if last {
                promise?.succeed()
            }
        }
    }

    private func drainCiphertext(context: ChannelHandlerContext) -> ByteBuffer? {
        guard let wbio else { return nil }
        let pending = Int(BIO_ctrl_pending(wbio))
        guard pending > 0 else { return nil }
        var out = context.channel.allocator.buffer(capacity: pending)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { pointer in
            Int(max(BIO_read(wbio, pointer.baseAddress, Int32(pending)), 0))
        }
        return out
    }

    private func flushCiphertext(context: ChannelHandlerContext) {
        guard let out = drainCiphertext(context: context) else { return }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    // MARK: failure

    /// Sends whatever alert OpenSSL queued, fails the handshake and closes.
    private func fail(context: ChannelHandlerContext, error: any Error) {
        guard state != .closed else { return }
        timeout?.cancel()
        timeout = nil
        if let out = drainCiphertext(context: context) { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
        state = .closed
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: any Error) {
        let promise = handshakePromise
        handshakePromise = nil
        promise?.fail(error)
        let queued = pendingWrites
        pendingWrites.removeAll()
        for (_, promise) in queued { promise?.fail(error) }
    }

    /// The SSL error class and OpenSSL's queue (no data from the connection).
    private func describe(_ error: Int32) -> String {
        let queue = openSSLErrors()
        if error == SSL_ERROR_SYSCALL { return "unexpected EOF or I/O error (\(queue))" }
        return "SSL error \(error) (\(queue))"
    }
}

private func isIPAddress(_ host: String) -> Bool {
    var address = [UInt8](repeating: 0, count: 16)
    return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
}
