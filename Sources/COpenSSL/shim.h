#ifndef EXECBOX_COPENSSL_SHIM_H
#define EXECBOX_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Wrappers for the macros Swift cannot call (they expand to SSL_CTX_ctrl/SSL_ctrl or to
// SSL_OP_BIT shifts).

static inline int execbox_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int execbox_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline long execbox_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int execbox_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}

/// No compression (CRIME), no renegotiation of any kind, the server's cipher order.
static inline uint64_t execbox_server_options(void) {
    return SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
        | SSL_OP_CIPHER_SERVER_PREFERENCE;
}

static inline uint64_t execbox_client_options(void) {
    return SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
}

static inline long execbox_mode_release_buffers(void) {
    return SSL_MODE_RELEASE_BUFFERS;
}

#endif
