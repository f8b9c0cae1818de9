/*
 * The build configuration: what every Cloister executable trusts.
 *
 * It holds the attestation trust root, the auditors' public keys, the
 * frame limit, the attestation validity, and each internal service's
 * inbound peers.  It is part of what is measured: with hardware TEEs it is
 * compiled in; in sim mode it is a file (build.json) whose SHA-256 is
 * folded into every measurement, so a changed trust root or peer list
 * changes every measurement and voids the enclave info.
 *
 *   {
 *     "version": 1,
 *     "attestation_root": "-----BEGIN CERTIFICATE-----...",
 *     "auditors": { "alice": "-----BEGIN PUBLIC KEY-----...", ... },
 *     "max_frame": 16777216,
 *     "attestation_validity_seconds": 3600,
 *     "inbound": { "storage": ["management", "scheduler"], ... }
 *   }
 */
#ifndef CL_BUILDCONF_H
#define CL_BUILDCONF_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

#define BUILDCONF_MAX_AUDITORS	16
#define BUILDCONF_MAX_SERVICES	32
#define BUILDCONF_MAX_PEERS	16
#define BUILDCONF_NAME_MAX	32

struct buildconf_auditor {
	char name[BUILDCONF_NAME_MAX];
	EVP_PKEY *key;
};

struct buildconf_inbound {
	char service[BUILDCONF_NAME_MAX];
	char peer[BUILDCONF_MAX_PEERS][BUILDCONF_NAME_MAX];
	size_t npeers;
};

struct buildconf {
	uint8_t sha256[32];		/* of the file's exact bytes */
	X509 *root_cert;
	EVP_PKEY *root;			/* root_cert's public key */
	struct buildconf_auditor auditor[BUILDCONF_MAX_AUDITORS];
	size_t nauditors;
	size_t max_frame;
	int64_t validity_s;
	struct buildconf_inbound inbound[BUILDCONF_MAX_SERVICES];
	size_t ninbound;
};

/* Load and check path; on failure err says what is wrong. */
int buildconf_load(struct buildconf *bc, const char *path, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;
void buildconf_release(struct buildconf *bc);

/* True when peer may connect to service's internal endpoint. */
bool buildconf_allows(const struct buildconf *bc, const char *service,
    const char *peer) CL_NONNULL(1, 2, 3);
/* True when service has an internal endpoint (an inbound list). */
bool buildconf_has_inbound(const struct buildconf *bc, const char *service)
	CL_NONNULL(1, 2);

/* Checks used by buildconf_load and the tools that write the file. */
bool buildconf_valid_name(const char *name);

#endif
