/*
 * Enclave info: the auditor-signed list of which code may run as which
 * service.
 *
 *   enclave_info.json
 *   {
 *     "version": 1,
 *     "tee": "sim",
 *     "build_config_sha256": "<hex>",
 *     "services": { "echo": "<hex measurement>", ... }
 *   }
 *   enclave_info.json.<auditor>.sig    base64 Ed25519 signature over the
 *                                      exact bytes of enclave_info.json
 *
 * A service refuses to start, and a client refuses to connect, unless the
 * signature of every auditor listed in the build configuration verifies.
 */
#ifndef CL_ENCLAVE_INFO_H
#define CL_ENCLAVE_INFO_H

#include "buildconf.h"
#include "tee.h"

#define ENCLAVE_INFO_MAX 32

struct enclave_entry {
	char name[BUILDCONF_NAME_MAX];
	uint8_t measurement[TEE_MEASUREMENT_BYTES];
};

struct enclave_info {
	struct enclave_entry entry[ENCLAVE_INFO_MAX];
	size_t n;
};

/*
 * Load path and verify every auditor's signature (found beside it, or in
 * sigdir when not NULL) against bc.  err names the missing or failing
 * auditor.
 */
int enclave_info_load(struct enclave_info *ei, const char *path,
    const char *sigdir, const struct buildconf *bc, struct cl_error *err)
	CL_NONNULL(1, 2, 4) CL_WUR;

const struct enclave_entry *enclave_info_by_measurement(
    const struct enclave_info *ei, const uint8_t m[TEE_MEASUREMENT_BYTES])
	CL_NONNULL(1, 2);
const struct enclave_entry *enclave_info_by_name(const struct enclave_info *ei,
    const char *name) CL_NONNULL(1, 2);

/*
 * Write enclave info for n services (name[i] runs executable exe[i]) under
 * the build configuration bc, to path.
 */
int enclave_info_generate(const char *path, const struct buildconf *bc,
    const char *const *name, const char *const *exe, size_t n,
    struct cl_error *err) CL_NONNULL(1, 2, 3, 4) CL_WUR;

/* Sign path as auditor (key is its Ed25519 private key); writes the .sig file. */
int enclave_info_sign(const char *path, const char *auditor, EVP_PKEY *key,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;

/* The signature file of auditor for path (sigdir may be NULL). */
void enclave_info_sig_path(char *out, size_t len, const char *path,
    const char *sigdir, const char *auditor);

#endif
