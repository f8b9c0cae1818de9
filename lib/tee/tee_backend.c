/*
 * TEE backend registry, process hardening and host probing.
 */
#include "compat.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "tee.h"
#include "xalloc.h"

static const struct tee_backend *const backends[] = {
	&tee_backend_sim,
};

/* Hardware backends this build knows of but does not implement yet. */
static const char *const planned[] = { "tdx", "snp", "sgx" };

struct tee *
tee_open(const struct tee_params *p, struct cl_error *err)
{
	struct tee *t;

	for (size_t i = 0; i < CL_ARRAY_SIZE(backends); i++) {
		if (strcmp(backends[i]->name, p->backend) != 0)
			continue;
		t = xcalloc(1, sizeof(*t));
		t->be = backends[i];
		if (t->be->open(t, p, err) != 0) {
			free(t);
			return NULL;
		}
		return t;
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(planned); i++) {
		if (strcmp(planned[i], p->backend) == 0) {
			cl_error_set(err, CL_EINVAL, "attestation backend '%s' is "
			    "not implemented in this build (available: sim)",
			    p->backend);
			return NULL;
		}
	}
	cl_error_set(err, CL_EINVAL, "unknown attestation backend '%s' "
	    "(available: sim)", p->backend);
	return NULL;
}

void
tee_close(struct tee *t)
{
	if (t == NULL)
		return;
	t->be->close(t);
	free(t);
}

int
tee_seal_key(struct tee *t, const char *label, uint8_t out[TEE_SEAL_KEY_BYTES],
    uint8_t out_id[TEE_SEAL_KEY_ID_BYTES], struct cl_error *err)
{
	uint8_t h[32];
	int rc;

	if ((rc = t->be->seal_key(t, label, out, err)) != 0)
		return rc;
	crypto_sha256(h, out, TEE_SEAL_KEY_BYTES);
	memcpy(out_id, h, TEE_SEAL_KEY_ID_BYTES);
	return 0;
}

const struct tee_backend *
tee_backend_by_tag(uint64_t tag)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(backends); i++)
		if (backends[i]->cbor_tag == tag)
			return backends[i];
	return NULL;
}

int
tee_harden(struct cl_error *err)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cl_error_set(err, CL_EIO, "cannot make the process "
		    "non-dumpable: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return cl_error_set(err, CL_EIO, "cannot disable core files: %s",
		    strerror(errno));
	/*
	 * Private keys live in OpenSSL's secure heap: mlocked, guarded and
	 * wiped on free.  Once per process; 1 MiB holds many P-256 keys.
	 */
	if (!CRYPTO_secure_malloc_initialized() &&
	    CRYPTO_secure_malloc_init(1 << 20, 32) == 0)
		return cl_error_set(err, CL_EIO, "cannot set up locked memory "
		    "for keys (RLIMIT_MEMLOCK too low?)");
	return 0;
}

static void
probe(FILE *fp, const char *what, const char *path, const char *note)
{
	struct stat st;
	bool present = stat(path, &st) == 0;

	fprintf(fp, "%-34s %-8s %s%s%s\n", what, present ? "present" : "absent",
	    path, note ? "  " : "", note ? note : "");
}

void
tee_host_status(FILE *fp)
{
	fprintf(fp, "%-34s %-8s %s\n", "interface", "status", "where");
	probe(fp, "configfs-tsm reports (TDX, SNP)", "/sys/kernel/config/tsm/report",
	    "Linux 6.7+ confidential guest");
	probe(fp, "Intel TDX guest device", "/dev/tdx_guest", NULL);
	probe(fp, "AMD SEV-SNP guest device", "/dev/sev-guest", NULL);
	probe(fp, "Intel SGX enclave device", "/dev/sgx_enclave", NULL);
	probe(fp, "Intel SGX provisioning device", "/dev/sgx_provision", NULL);
	fprintf(fp, "\nbackends in this build: sim (software; protects nothing "
	    "against the machine's owner)\n");
}
