/*
 * TLS context setup.
 */
#include "compat.h"

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

static int reason_idx = -1;

void
tls_exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
tls_init_once(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	reason_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_exdata_free);
}

void
tls_global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tls_init_once);
}

void
tls_set_verify_reason(SSL *ssl, const char *reason)
{
	char *old = SSL_get_ex_data(ssl, reason_idx), *dup = strdup(reason);

	if (dup == NULL)
		return;
	free(old);
	SSL_set_ex_data(ssl, reason_idx, dup);
}

const char *
tls_verify_reason(SSL *ssl)
{
	return reason_idx < 0 ? NULL : SSL_get_ex_data(ssl, reason_idx);
}

const char *
tls_error_string(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

size_t
tls_alpn_wire(const char *proto, unsigned char *out, size_t outlen)
{
	size_t n = strlen(proto);

	if (n == 0 || n > 255 || n + 1 > outlen)
		return 0;
	out[0] = (unsigned char)n;
	memcpy(out + 1, proto, n);
	return n + 1;
}

static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const char *want = arg;
	size_t wlen = strlen(want);

	(void)ssl;
	while (inlen > 0) {
		unsigned int n = in[0];

		if (n + 1u > inlen)
			break;
		if (n == wlen && memcmp(in + 1, want, n) == 0) {
			*out = in + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		in += n + 1;
		inlen -= n + 1;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;	/* no_application_protocol */
}

void
tls_ctx_set_alpn_server(SSL_CTX *ctx, const char *alpn)
{
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, (void *)alpn);
}

static SSL_CTX *
ctx_common(const SSL_METHOD *method, struct cl_error *err)
{
	char ebuf[256];
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		cl_error_set(err, CL_ETLS, "cannot create TLS context: %s",
		    tls_error_string(ebuf, sizeof(ebuf)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file,
    const char *alpn, struct cl_error *err)
{
	char ebuf[256];
	SSL_CTX *ctx;

	if ((ctx = ctx_common(TLS_server_method(), err)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		cl_error_set(err, CL_ETLS, "cannot load certificate '%s': %s",
		    cert_file, tls_error_string(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		cl_error_set(err, CL_ETLS, "cannot load private key '%s': %s",
		    key_file, tls_error_string(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		cl_error_set(err, CL_ETLS, "private key '%s' does not match "
		    "certificate '%s'", key_file, cert_file);
		goto fail;
	}
	/* Session tickets would let a resumed client skip verification of a
	 * renewed certificate; every connection does a full handshake. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	tls_ctx_set_alpn_server(ctx, alpn);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx_new(const char *ca_file, const char *alpn, struct cl_error *err)
{
	unsigned char wire[256];
	size_t wlen;
	char ebuf[256];
	SSL_CTX *ctx;

	if ((wlen = tls_alpn_wire(alpn, wire, sizeof(wire))) == 0) {
		cl_error_set(err, CL_EINVAL, "bad ALPN protocol '%s'", alpn);
		return NULL;
	}
	if ((ctx = ctx_common(TLS_client_method(), err)) == NULL)
		return NULL;
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		cl_error_set(err, CL_ETLS, "cannot load CA certificates '%s': %s",
		    ca_file, tls_error_string(ebuf, sizeof(ebuf)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_alpn_protos(ctx, wire, (unsigned int)wlen) != 0) {
		cl_error_set(err, CL_ETLS, "cannot set ALPN '%s'", alpn);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
