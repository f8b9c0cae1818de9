/*
 * A deployment directory: everything one Cloister installation needs to
 * start and to be verified, in one place.
 *
 *   DIR/build.json                        build configuration (measured)
 *   DIR/enclave_info.json                 service measurements
 *   DIR/enclave_info.json.<auditor>.sig   one signature per auditor
 *   DIR/runtime.conf                      addresses and paths (untrusted)
 *   DIR/keys/attestation-authority.key    sim trust root key (0600)
 *   DIR/keys/attestation-authority.pem    its certificate (the trust root)
 *   DIR/keys/auditor-<name>.key           development auditors' keys (0600)
 *
 * In a real installation the auditors keep their keys elsewhere and only
 * their signatures are here; `cloister dev init` makes development keys
 * for all roles so one person can try everything on one machine.
 */
#ifndef CL_DEPLOY_H
#define CL_DEPLOY_H

#include "err.h"

#define DEPLOY_BUILD_CONFIG	"build.json"
#define DEPLOY_ENCLAVE_INFO	"enclave_info.json"
#define DEPLOY_RUNTIME		"runtime.conf"
#define DEPLOY_AUTHORITY_KEY	"keys/attestation-authority.key"
#define DEPLOY_AUTHORITY_CERT	"keys/attestation-authority.pem"

/* service -> comma-separated peers admitted on its internal endpoint */
struct deploy_inbound {
	const char *service;
	const char *peers;
};

/* The platform's inbound table (ARCHITECTURE.md section 2). */
extern const struct deploy_inbound deploy_default_inbound[];
extern const size_t deploy_default_ninbound;

/* DIR/file into out. */
void deploy_path(char *out, size_t len, const char *dir, const char *file)
	CL_NONNULL(1, 3, 4);

/*
 * Create development keys (authority + auditors) and build.json in dir.
 * inbound entries replace the default entry of the same service, or add
 * one.  Refuses when dir/build.json exists.
 */
int deploy_init(const char *dir, const char *const *auditors, size_t nauditors,
    const struct deploy_inbound *inbound, size_t ninbound, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;

/*
 * Write dir/enclave_info.json for services name[i] = exe[i] and sign it
 * with every dir/keys/auditor-*.key.  Returns the number of signatures
 * made (>= 1), or a negative error.
 */
int deploy_enclave_info(const char *dir, const char *const *name,
    const char *const *exe, size_t n, struct cl_error *err)
	CL_NONNULL(1, 2, 3) CL_WUR;

#endif
