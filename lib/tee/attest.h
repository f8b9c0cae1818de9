/*
 * Attested TLS: every endpoint proves which code it runs.
 *
 * An identity is this process's attested TLS credential: a fresh P-256
 * key per epoch, evidence binding that key (made once per epoch, reused
 * by every handshake), and a self-signed certificate carrying the
 * evidence in extension 2.23.133.5.4.9.  A background thread renews the
 * epoch at two thirds of its validity; handshakes always present the
 * current one.
 *
 * A verifier checks a peer's certificate instead of a CA chain: the
 * certificate's self-signature and validity period, the evidence (signed
 * by the trust root, bound to the certificate's key, fresh), and the
 * measurement listed in auditor-signed enclave info, which names the
 * peer.  Verified certificates are cached by hash until they expire, so
 * repeated connections cost no extra signature checks.
 */
#ifndef CL_ATTEST_H
#define CL_ATTEST_H

#include <openssl/ssl.h>

#include "buildconf.h"
#include "enclave_info.h"
#include "tee.h"

#define ATTEST_EVIDENCE_OID "2.23.133.5.4.9"

struct attest_identity;
struct attest_verifier;

/* Who is on the other side of a verified connection. */
struct attest_peer {
	char name[BUILDCONF_NAME_MAX];
	struct tee_report report;
};

/* Borrowed bc and ei must outlive the verifier. */
struct attest_verifier *attest_verifier_new(const struct buildconf *bc,
    const struct enclave_info *ei) CL_NONNULL(1, 2);
void attest_verifier_free(struct attest_verifier *v);
/* Turn the cache of verified certificates on (the default) or off. */
void attest_verifier_set_cache(struct attest_verifier *v, bool on) CL_NONNULL(1);

/*
 * Verify cert (DER or X509) fully; on success fill out.  CL_EDENIED or
 * CL_EPROTO with the reason in err.
 */
int attest_verify_cert(struct attest_verifier *v, X509 *cert,
    struct attest_peer *out, struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

/* Start an identity for service name on t (borrowed; outlives it). */
struct attest_identity *attest_identity_new(struct tee *t, const char *name,
    int64_t validity_s, struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
void attest_identity_free(struct attest_identity *id);

/*
 * Server context for an endpoint.  mutual: require and verify a client
 * certificate (internal endpoints).  Caller owns.
 */
SSL_CTX *attest_server_ctx(struct attest_identity *id,
    struct attest_verifier *v, const char *alpn, bool mutual,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

/*
 * Client context that accepts only the service named expect.  id is the
 * caller's own identity for internal endpoints, NULL for users.
 */
SSL_CTX *attest_client_ctx(struct attest_identity *id,
    struct attest_verifier *v, const char *expect, const char *alpn,
    struct cl_error *err) CL_NONNULL(2, 3, 4) CL_WUR;

/* The verified peer of a connection after its handshake; NULL if none. */
const struct attest_peer *attest_peer_of(SSL *ssl) CL_NONNULL(1);

/*
 * Make a certificate for key carrying evidence ev, valid from not_before
 * for validity_s seconds.  Used by identities, and by tests to build
 * certificates that must be refused.
 */
X509 *attest_make_cert(EVP_PKEY *key, const char *name, const uint8_t *ev,
    size_t evlen, int64_t not_before, int64_t validity_s) CL_NONNULL(1, 2, 3)
	CL_WUR;

#endif
