/*
 * Attested TLS: identities (key epochs, certificates with evidence,
 * renewal) and verification (certificate -> evidence -> enclave info).
 */
#include "compat.h"

#include <pthread.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "crypto.h"
#include "log.h"
#include "tls.h"
#include "xalloc.h"

#define VCACHE_SLOTS 128

/*
 * Verification
 */

struct vcache_entry {
	uint8_t cert_hash[32];
	int64_t expires;	/* 0 = empty slot */
	struct attest_peer peer;
};

struct attest_verifier {
	const struct buildconf *bc;
	const struct enclave_info *ei;
	pthread_mutex_t lock;
	struct vcache_entry cache[VCACHE_SLOTS];
	unsigned next;
	bool no_cache;
};

/* What a context's verify callback needs. */
struct ctx_arg {
	struct attest_verifier *v;
	char expect[BUILDCONF_NAME_MAX];	/* "" = any listed service */
};

static int peer_idx = -1, ctxarg_idx = -1;

static void
attest_init_once(void)
{
	tls_global_init();
	peer_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_exdata_free);
	ctxarg_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_exdata_free);
}

static void
attest_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, attest_init_once);
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

struct attest_verifier *
attest_verifier_new(const struct buildconf *bc, const struct enclave_info *ei)
{
	struct attest_verifier *v = xcalloc(1, sizeof(*v));

	attest_init();
	v->bc = bc;
	v->ei = ei;
	pthread_mutex_init(&v->lock, NULL);
	return v;
}

void
attest_verifier_free(struct attest_verifier *v)
{
	if (v == NULL)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

void
attest_verifier_set_cache(struct attest_verifier *v, bool on)
{
	pthread_mutex_lock(&v->lock);
	v->no_cache = !on;
	memset(v->cache, 0, sizeof(v->cache));
	pthread_mutex_unlock(&v->lock);
}

static bool
cache_get(struct attest_verifier *v, const uint8_t h[32], int64_t now,
    struct attest_peer *out)
{
	bool hit = false;

	pthread_mutex_lock(&v->lock);
	if (v->no_cache) {
		pthread_mutex_unlock(&v->lock);
		return false;
	}
	for (size_t i = 0; i < VCACHE_SLOTS; i++) {
		struct vcache_entry *e = &v->cache[i];

		if (e->expires > now && memcmp(e->cert_hash, h, 32) == 0) {
			*out = e->peer;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return hit;
}

static void
cache_put(struct attest_verifier *v, const uint8_t h[32], int64_t expires,
    const struct attest_peer *peer)
{
	pthread_mutex_lock(&v->lock);
	if (v->no_cache) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->cache[v->next] = (struct vcache_entry){ .expires = expires };
	memcpy(v->cache[v->next].cert_hash, h, 32);
	v->cache[v->next].peer = *peer;
	v->next = (v->next + 1) % VCACHE_SLOTS;
	pthread_mutex_unlock(&v->lock);
}

/* The evidence extension's contents, borrowed from cert; NULL if absent. */
static const ASN1_OCTET_STRING *
find_evidence(X509 *cert, struct cl_error *err)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(ATTEST_EVIDENCE_OID, 1);
	int pos = X509_get_ext_by_OBJ(cert, oid, -1);
	X509_EXTENSION *ext;

	if (pos >= 0 && X509_get_ext_by_OBJ(cert, oid, pos) >= 0) {
		ASN1_OBJECT_free(oid);
		cl_error_set(err, CL_EPROTO, "certificate carries two evidence "
		    "extensions");
		return NULL;
	}
	ASN1_OBJECT_free(oid);
	if (pos < 0 || (ext = X509_get_ext(cert, pos)) == NULL) {
		cl_error_set(err, CL_EDENIED, "certificate carries no attestation "
		    "evidence (extension %s)", ATTEST_EVIDENCE_OID);
		return NULL;
	}
	return X509_EXTENSION_get_data(ext);
}

static int64_t
asn1_time_s(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

int
attest_verify_cert(struct attest_verifier *v, X509 *cert,
    struct attest_peer *out, struct cl_error *err)
{
	struct tee_trust trust = { v->bc->root, now_s(), v->bc->validity_s };
	const struct enclave_entry *e;
	const ASN1_OCTET_STRING *ev;
	unsigned char *der = NULL;
	uint8_t h[32];
	int64_t nb, na, expires;
	EVP_PKEY *key;
	int len, rc;

	if ((len = i2d_X509(cert, &der)) <= 0)
		return cl_error_set(err, CL_EPROTO, "certificate does not encode");
	crypto_sha256(h, der, (size_t)len);
	OPENSSL_free(der);
	if (cache_get(v, h, trust.now, out))
		return 0;

	memset(out, 0, sizeof(*out));
	if ((key = X509_get0_pubkey(cert)) == NULL)
		return cl_error_set(err, CL_EPROTO, "certificate has no usable key");
	if (X509_verify(cert, key) != 1) {
		ERR_clear_error();
		return cl_error_set(err, CL_EDENIED, "certificate is not signed by "
		    "its own key (altered)");
	}
	nb = asn1_time_s(X509_get0_notBefore(cert));
	na = asn1_time_s(X509_get0_notAfter(cert));
	if (nb < 0 || na < 0 || nb > trust.now + TEE_CLOCK_SKEW_S || na < trust.now)
		return cl_error_set(err, CL_EDENIED, "certificate is outside its "
		    "validity period");
	if ((ev = find_evidence(cert, err)) == NULL)
		return err ? err->code : CL_EDENIED;
	rc = evidence_verify(&trust, ASN1_STRING_get0_data(ev),
	    (size_t)ASN1_STRING_length(ev), key, &out->report, err);
	if (rc != 0)
		return rc;
	if ((e = enclave_info_by_measurement(v->ei, out->report.measurement)) == NULL) {
		char hex[65];

		crypto_hex(hex, out->report.measurement, 32);
		return cl_error_set(err, CL_EDENIED, "measurement %.16s... is not in "
		    "the enclave info", hex);
	}
	snprintf(out->name, sizeof(out->name), "%s", e->name);
	expires = CL_MIN(na, out->report.issued_at + v->bc->validity_s);
	cache_put(v, h, expires, out);
	return 0;
}

static int
verify_cb(X509_STORE_CTX *xs, void *arg)
{
	struct ctx_arg *ca = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	struct attest_peer *peer;
	struct cl_error err;

	cl_error_clear(&err);
	peer = xcalloc(1, sizeof(*peer));
	if (cert == NULL) {
		cl_error_set(&err, CL_EDENIED, "peer sent no certificate");
	} else if (attest_verify_cert(ca->v, cert, peer, &err) == 0 &&
	    ca->expect[0] != '\0' && strcmp(peer->name, ca->expect) != 0) {
		cl_error_set(&err, CL_EDENIED, "peer is service '%s', not '%s'",
		    peer->name, ca->expect);
	}
	if (err.code != CL_OK) {
		free(peer);
		if (ssl != NULL)
			tls_set_verify_reason(ssl, err.message);
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (ssl != NULL)
		SSL_set_ex_data(ssl, peer_idx, peer);
	else
		free(peer);
	return 1;
}

const struct attest_peer *
attest_peer_of(SSL *ssl)
{
	return peer_idx < 0 ? NULL : SSL_get_ex_data(ssl, peer_idx);
}

/*
 * Identities
 */

struct epoch {
	EVP_PKEY *key;
	X509 *cert;
	int64_t renew_at;
};

struct attest_identity {
	struct tee *tee;
	char name[BUILDCONF_NAME_MAX];
	int64_t validity_s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct epoch cur;	/* under lock */
	bool stopping;
	pthread_t renewer;
	bool has_renewer;
};

X509 *
attest_make_cert(EVP_PKEY *key, const char *name, const uint8_t *ev,
    size_t evlen, int64_t not_before, int64_t validity_s)
{
	X509 *cert = X509_new();
	X509_NAME *subj = X509_NAME_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(ATTEST_EVIDENCE_OID, 1);
	ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ok = false;

	if (cert == NULL || subj == NULL || oid == NULL || data == NULL)
		goto out;
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (X509_set_version(cert, X509_VERSION_3) != 1 || bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
	    (const unsigned char *)"Cloister", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) != 1 ||
	    X509_set_subject_name(cert, subj) != 1 ||
	    X509_set_issuer_name(cert, subj) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(cert),
	    (time_t)(not_before + validity_s)) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    ASN1_OCTET_STRING_set(data, ev, (int)evlen) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, data)) == NULL ||
	    X509_add_ext(cert, ext, -1) != 1 ||
	    X509_sign(cert, key, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	BN_free(bn);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(data);
	ASN1_OBJECT_free(oid);
	X509_NAME_free(subj);
	if (!ok) {
		X509_free(cert);
		cert = NULL;
		ERR_clear_error();
	}
	return cert;
}

static int
epoch_make(struct attest_identity *id, struct epoch *out, struct cl_error *err)
{
	struct buf ev = BUF_INIT;
	int64_t now = now_s();
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((out->key = crypto_ec_keygen()) == NULL)
		return cl_error_set(err, CL_EINTERNAL, "cannot make a TLS key");
	if ((rc = evidence_make(id->tee, out->key, now, &ev, err)) != 0)
		goto fail;
	/* notBefore a little early: peers' clocks may lag ours */
	out->cert = attest_make_cert(out->key, id->name, (uint8_t *)ev.p, ev.len,
	    now - TEE_CLOCK_SKEW_S, id->validity_s + TEE_CLOCK_SKEW_S);
	if (out->cert == NULL) {
		rc = cl_error_set(err, CL_EINTERNAL, "cannot make the attested "
		    "certificate");
		goto fail;
	}
	out->renew_at = now + id->validity_s * 2 / 3;
	buf_release(&ev);
	return 0;
fail:
	buf_release(&ev);
	EVP_PKEY_free(out->key);
	out->key = NULL;
	return rc;
}

static void
epoch_release(struct epoch *e)
{
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
	memset(e, 0, sizeof(*e));
}

static void *
renewer_main(void *arg)
{
	struct attest_identity *id = arg;

	pthread_setname_np(pthread_self(), "attest-renew");
	pthread_mutex_lock(&id->lock);
	while (!id->stopping) {
		struct timespec ts = { (time_t)id->cur.renew_at, 0 };
		struct epoch fresh, old;
		struct cl_error err;

		if (now_s() < id->cur.renew_at) {
			pthread_cond_timedwait(&id->cond, &id->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&id->lock);
		cl_error_clear(&err);
		if (epoch_make(id, &fresh, &err) != 0) {
			/* keep the old epoch; try again in a minute */
			log_warnx("cannot renew the attested certificate: %s",
			    err.message);
			pthread_mutex_lock(&id->lock);
			id->cur.renew_at = now_s() + 60;
			continue;
		}
		pthread_mutex_lock(&id->lock);
		old = id->cur;
		id->cur = fresh;
		pthread_mutex_unlock(&id->lock);
		/* connections that took the old cert hold their own references */
		epoch_release(&old);
		log_info("renewed the attested certificate");
		pthread_mutex_lock(&id->lock);
	}
	pthread_mutex_unlock(&id->lock);
	return NULL;
}

struct attest_identity *
attest_identity_new(struct tee *t, const char *name, int64_t validity_s,
    struct cl_error *err)
{
	struct attest_identity *id = xcalloc(1, sizeof(*id));
	pthread_condattr_t ca;

	attest_init();
	id->tee = t;
	id->validity_s = validity_s;
	snprintf(id->name, sizeof(id->name), "%s", name);
	pthread_mutex_init(&id->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_REALTIME);
	pthread_cond_init(&id->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (epoch_make(id, &id->cur, err) != 0) {
		attest_identity_free(id);
		return NULL;
	}
	if (pthread_create(&id->renewer, NULL, renewer_main, id) != 0) {
		cl_error_set(err, CL_EIO, "cannot start the renewal thread");
		attest_identity_free(id);
		return NULL;
	}
	id->has_renewer = true;
	return id;
}

void
attest_identity_free(struct attest_identity *id)
{
	if (id == NULL)
		return;
	if (id->has_renewer) {
		pthread_mutex_lock(&id->lock);
		id->stopping = true;
		pthread_cond_broadcast(&id->cond);
		pthread_mutex_unlock(&id->lock);
		pthread_join(id->renewer, NULL);
	}
	epoch_release(&id->cur);
	pthread_cond_destroy(&id->cond);
	pthread_mutex_destroy(&id->lock);
	free(id);
}

/* Present the current epoch's certificate on this handshake. */
static int
cert_cb(SSL *ssl, void *arg)
{
	struct attest_identity *id = arg;
	int ok;

	pthread_mutex_lock(&id->lock);
	ok = SSL_use_certificate(ssl, id->cur.cert) == 1 &&
	    SSL_use_PrivateKey(ssl, id->cur.key) == 1;
	pthread_mutex_unlock(&id->lock);
	return ok ? 1 : 0;
}

static SSL_CTX *
ctx_attach(SSL_CTX *ctx, struct attest_identity *id, struct attest_verifier *v,
    const char *expect, int verify_mode)
{
	struct ctx_arg *ca = xcalloc(1, sizeof(*ca));

	ca->v = v;
	snprintf(ca->expect, sizeof(ca->expect), "%s", expect ? expect : "");
	SSL_CTX_set_ex_data(ctx, ctxarg_idx, ca);
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, ca);
	SSL_CTX_set_verify(ctx, verify_mode, NULL);
	if (id != NULL)
		SSL_CTX_set_cert_cb(ctx, cert_cb, id);
	return ctx;
}

static SSL_CTX *
ctx_base(const SSL_METHOD *method, struct cl_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		cl_error_set(err, CL_ETLS, "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

SSL_CTX *
attest_server_ctx(struct attest_identity *id, struct attest_verifier *v,
    const char *alpn, bool mutual, struct cl_error *err)
{
	SSL_CTX *ctx;

	attest_init();
	if ((ctx = ctx_base(TLS_server_method(), err)) == NULL)
		return NULL;
	SSL_CTX_set_num_tickets(ctx, 0);
	tls_ctx_set_alpn_server(ctx, alpn);
	return ctx_attach(ctx, id, v, NULL, mutual ?
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE);
}

SSL_CTX *
attest_client_ctx(struct attest_identity *id, struct attest_verifier *v,
    const char *expect, const char *alpn, struct cl_error *err)
{
	unsigned char wire[256];
	size_t wlen;
	SSL_CTX *ctx;

	attest_init();
	if ((wlen = tls_alpn_wire(alpn, wire, sizeof(wire))) == 0) {
		cl_error_set(err, CL_EINVAL, "bad ALPN protocol '%s'", alpn);
		return NULL;
	}
	if ((ctx = ctx_base(TLS_client_method(), err)) == NULL)
		return NULL;
	SSL_CTX_set_alpn_protos(ctx, wire, (unsigned int)wlen);
	return ctx_attach(ctx, id, v, expect, SSL_VERIFY_PEER);
}
