/*
 * The TEE layer: measure this process, produce evidence binding given
 * report data, and verify evidence from others.
 *
 * Backends are function-pointer tables chosen by name at start (STYLE
 * rule 3).  sim is software: it runs anywhere and protects nothing against
 * the machine's owner (see docs/threat-model.md).  Hardware backends (TDX
 * and SEV-SNP through configfs-tsm, SGX) plug in here; nothing above this
 * header knows which backend produced or checked a piece of evidence.
 *
 * Vocabulary (RATS, RFC 9334): this process is the Attester; a peer that
 * checks our evidence is the Verifier and Relying Party.
 */
#ifndef CL_TEE_H
#define CL_TEE_H

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"

#define TEE_MEASUREMENT_BYTES	32
#define TEE_SIGNER_BYTES	32
#define TEE_REPORT_DATA_BYTES	32	/* SHA-256 of the evidence claims */
#define TEE_SEAL_KEY_BYTES	32
#define TEE_SEAL_KEY_ID_BYTES	8

/* What verified evidence says about its attester. */
struct tee_report {
	char tee[16];				/* backend name: "sim", ... */
	uint8_t measurement[TEE_MEASUREMENT_BYTES];
	uint8_t signer[TEE_SIGNER_BYTES];
	uint8_t report_data[TEE_REPORT_DATA_BYTES];
	int64_t issued_at;			/* Unix seconds */
};

/* What a verifier trusts. */
struct tee_trust {
	EVP_PKEY *root;		/* attestation authority public key (sim); borrowed */
	int64_t now;		/* current time (seconds), set by the caller */
	int64_t max_age;	/* evidence older than this (seconds) is expired */
};

/* Clock skew tolerated for evidence issued "in the future". */
#define TEE_CLOCK_SKEW_S 60

struct tee;

struct tee_params {
	const char *backend;		/* "sim", ... */
	const char *authority_key;	/* sim: PEM private key of the authority */
	/* SHA-256 of the build configuration, folded into the measurement */
	uint8_t config_sha256[32];
};

struct tee_backend {
	const char *name;
	uint64_t cbor_tag;	/* tag wrapping this backend's evidence */
	int (*open)(struct tee *t, const struct tee_params *p,
	    struct cl_error *err);
	void (*close)(struct tee *t);
	/* Produce a quote (backend-specific bytes) over report_data. */
	int (*quote)(struct tee *t, const uint8_t rd[TEE_REPORT_DATA_BYTES],
	    int64_t now, struct buf *out, struct cl_error *err);
	/* Check a quote's signature chain; fill out (report_data included). */
	int (*verify)(const struct tee_trust *trust, const uint8_t *q,
	    size_t len, struct tee_report *out, struct cl_error *err);
	/* Derive the sealing key for label (see tee_seal_key). */
	int (*seal_key)(struct tee *t, const char *label,
	    uint8_t out[TEE_SEAL_KEY_BYTES], struct cl_error *err);
};

struct tee {
	const struct tee_backend *be;
	uint8_t measurement[TEE_MEASUREMENT_BYTES];
	uint8_t signer[TEE_SIGNER_BYTES];
	void *priv;
};

/* Open the named backend; NULL with err when unknown or it fails. Caller owns. */
struct tee *tee_open(const struct tee_params *p, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
void tee_close(struct tee *t);

/*
 * The key that seals this deployment's stored data for purpose label
 * ("storage", "authentication", ...), and its id (the first 8 bytes of
 * SHA-256 over the key), stored beside every sealed record so a record
 * sealed under another key is recognised and refused.  The key is bound to
 * the signer, not the measurement (like SGX's MRSIGNER policy), so an
 * upgraded service still opens its data.  out must be secret memory;
 * wipe it after use.
 */
int tee_seal_key(struct tee *t, const char *label,
    uint8_t out[TEE_SEAL_KEY_BYTES], uint8_t out_id[TEE_SEAL_KEY_ID_BYTES],
    struct cl_error *err) CL_NONNULL(1, 2, 3, 4) CL_WUR;

/* The backend whose evidence carries tag; NULL when none. */
const struct tee_backend *tee_backend_by_tag(uint64_t tag);

/*
 * Process hardening for every service: not dumpable (which also refuses
 * ptrace attach by other processes of the same user), no core files,
 * OpenSSL's secure heap for private keys (locked, guarded).  Returns 0 or
 * -1 with err.
 */
int tee_harden(struct cl_error *err) CL_WUR;

/*
 * sim measurement of an executable under a build configuration:
 *   SHA-256("cloister-sim-v1" || SHA-256(executable) || config_sha256)
 */
int tee_sim_measure(const char *exe_path, const uint8_t config_sha256[32],
    uint8_t out[TEE_MEASUREMENT_BYTES], struct cl_error *err) CL_WUR;

/*
 * Evidence in the Interoperable RA-TLS layout (TCG DICE tagged evidence,
 * carried in X.509 extension 2.23.133.5.4.9):
 *
 *   evidence = #6.<backend tag>([ quote: bstr, claims: bstr ])
 *   claims   = { "pubkey-hash": [ 1, bstr .size 32 ] }   (CoSWID hash-entry,
 *                                                          1 = sha-256)
 *   the quote's report data = SHA-256(claims)
 *
 * evidence_make binds key (the TLS key) into fresh evidence from t.
 */
int evidence_make(struct tee *t, EVP_PKEY *key, int64_t now, struct buf *out,
    struct cl_error *err) CL_NONNULL(1, 2, 4) CL_WUR;

/*
 * Verify evidence: its backend's signature chain to trust->root, the
 * claims' hash in the quote, the claims' pubkey-hash equal to cert_key's
 * SubjectPublicKeyInfo hash, and freshness.  Fills out on success.
 * Errors: CL_EPROTO (malformed), CL_EDENIED (does not verify or expired).
 */
int evidence_verify(const struct tee_trust *trust, const uint8_t *ev,
    size_t len, EVP_PKEY *cert_key, struct tee_report *out,
    struct cl_error *err) CL_NONNULL(1, 2, 4, 5) CL_WUR;

/* Report which TEE interfaces this host offers, one line each, to fp. */
void tee_host_status(FILE *fp);

extern const struct tee_backend tee_backend_sim;

#endif
