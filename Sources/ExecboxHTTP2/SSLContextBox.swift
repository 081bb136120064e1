internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one `SSL_CTX` reference.
final class SSLContextBox: @unchecked Sendable {
    // SSL_CTX is reference-counted and thread-safe for SSL_new once configured.
    let context: OpaquePointer

    /// TLS 1.2 suites: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    init(configuration: TLSConfiguration) throws {
        ERR_clear_error()
        let isServer = configuration.certificateChainFile != nil
        guard let context = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw HTTP2Error(.tlsConfiguration, "SSL_CTX_new failed: \(openSSLErrors())")
        }
        self.context = context
        try check(execbox_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION), "set the minimum version")
        try check(SSL_CTX_set_cipher_list(context, Self.tls12Ciphers), "set the TLS 1.2 ciphers")
        try check(SSL_CTX_set_ciphersuites(context, Self.tls13Suites), "set the TLS 1.3 suites")
        try check(execbox_SSL_CTX_set1_groups_list(context, "X25519:P-256:P-384"), "set the groups")
        _ = SSL_CTX_set_options(context, isServer ? execbox_server_options() : execbox_client_options())
        _ = execbox_SSL_CTX_set_mode(context, execbox_mode_release_buffers())
        if isServer {
            try loadIdentity(configuration)
            let protocols = encodeALPN(configuration.applicationProtocols)
            let preference = ALPNPreference(protocols)
            // The preference object lives as long as the context: it is released in deinit.
            SSL_CTX_set_alpn_select_cb(context, alpnSelect, Unmanaged.passRetained(preference).toOpaque())
            alpnPreference = preference
        } else {
            try loadTrust(configuration)
            let protocols = encodeALPN(configuration.applicationProtocols)
            // SSL_CTX_set_alpn_protos returns 0 on success.
            let status = protocols.withUnsafeBufferPointer {
                SSL_CTX_set_alpn_protos(context, $0.baseAddress, UInt32($0.count))
            }
            if status != 0 { throw HTTP2Error(.tlsConfiguration, "cannot set ALPN: \(openSSLErrors())") }
        }
    }

    private var alpnPreference: ALPNPreference?

    deinit {
        SSL_CTX_free(context)
        if let alpnPreference { Unmanaged.passUnretained(alpnPreference).release() }
    }

    private func check(_ status: Int32, _ what: String) throws {
        if status != 1 { throw HTTP2Error(.tlsConfiguration, "cannot \(what): \(openSSLErrors())") }
    }

    private func loadIdentity(_ configuration: TLSConfiguration) throws {
        guard let chain = configuration.certificateChainFile, let key = configuration.privateKeyFile else {
            throw HTTP2Error(.tlsConfiguration, "a TLS listener needs a certificate chain file and a private key file")
        }
        try requireReadable(chain, "certificate chain")
        try requireReadable(key, "private key")
        if SSL_CTX_use_certificate_chain_file(context, chain) != 1 {
            throw HTTP2Error(.tlsConfiguration, "cannot load the certificate chain \(chain): \(openSSLErrors())")
        }
        if SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 {
            // The message names the file, never its contents.
            let errors = openSSLErrors()
            if errors.contains("key values mismatch") {
                throw HTTP2Error(.tlsConfiguration, "the private key \(key) does not match the certificate: \(errors)")
            }
            throw HTTP2Error(.tlsConfiguration, "cannot load the private key \(key): \(errors)")
        }
        if SSL_CTX_check_private_key(context) != 1 {
            throw HTTP2Error(.tlsConfiguration, "the private key does not match the certificate: \(openSSLErrors())")
        }
    }

    private func loadTrust(_ configuration: TLSConfiguration) throws {
        if configuration.insecureSkipVerify {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            return
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let file = configuration.trustRootsFile {
            try requireReadable(file, "trust roots")
            if SSL_CTX_load_verify_locations(context, file, nil) != 1 {
                throw HTTP2Error(.tlsConfiguration, "cannot load the trust roots \(file): \(openSSLErrors())")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw HTTP2Error(.tlsConfiguration, "cannot load the system trust store: \(openSSLErrors())")
        }
    }

    private func requireReadable(_ path: String, _ what: String) throws {
        if access(path, R_OK) != 0 {
            throw HTTP2Error(.tlsConfiguration, "cannot read the \(what) file \(path)")
        }
    }
}
