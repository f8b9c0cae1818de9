/*
 * TLS 1.3 contexts for servers and clients (OpenSSL 3).
 *
 * Only TLS 1.3 is offered.  ALPN carries the protocol name and version
 * ("cloister-echo/1"): a server refuses a client that does not offer its
 * exact protocol, so a version mismatch fails at connect with a clear
 * alert instead of as garbled requests later (STYLE rule 9).
 *
 * This module takes ordinary keys and certificates; the attestation layer
 * plugs its own certificate and verification in through the same
 * contexts.
 */
#ifndef CL_TLS_H
#define CL_TLS_H

#include <openssl/ssl.h>

#include "err.h"

/* Once per process, before threads start. */
void tls_global_init(void);

/*
 * Server context from PEM files; alpn is the one protocol accepted.
 * Caller owns (SSL_CTX_free).
 */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
    const char *alpn, struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

/*
 * Client context that verifies the server against the CA certificates in
 * ca_file (PEM) and offers alpn.  Caller owns.
 */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *alpn,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

/* Describe the most recent OpenSSL error of this thread into buf; clears the queue. */
const char *tls_error_string(char *buf, size_t len) CL_NONNULL(1);

/*
 * Why a custom verifier refused the peer's certificate on ssl (stored by
 * the verifier; NULL when none).  The string lives as long as ssl.
 */
void tls_set_verify_reason(SSL *ssl, const char *reason) CL_NONNULL(1, 2);

/* An OpenSSL ex_data free callback for data allocated with malloc. */
void tls_exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp);
const char *tls_verify_reason(SSL *ssl) CL_NONNULL(1);

/* Make a server context accept only ALPN protocol alpn (a static string). */
void tls_ctx_set_alpn_server(SSL_CTX *ctx, const char *alpn) CL_NONNULL(1, 2);

/* Encode "proto" as an ALPN wire list (length-prefixed) into out; returns its length or 0. */
size_t tls_alpn_wire(const char *proto, unsigned char *out, size_t outlen)
	CL_NONNULL(1, 2);

#endif
