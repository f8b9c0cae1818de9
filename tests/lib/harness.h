/*
 * Test harness: start real service processes, wait until they are ready,
 * read their logs, stop them.  Used by the integration driver, unit
 * tests that need a live server, and the benchmarks.
 *
 * Environment (set by CTest): CL_BUILD_DIR (where the service binaries
 * are), CL_TEST_CERTS (made by tools/gen-dev-certs.sh), CL_SOURCE_DIR.
 */
#ifndef CL_HARNESS_H
#define CL_HARNESS_H

#include <openssl/ssl.h>

#include "err.h"

struct svc_proc {
	pid_t pid;
	uint16_t port;
	char addr[64];		/* "127.0.0.1:PORT" */
	char log_path[512];	/* the service's stderr */
};

/* Directory of the test certificates (CL_TEST_CERTS, or build/test-certs). */
const char *harness_certs(void);
/* Directory of the built binaries (CL_BUILD_DIR, or "build"). */
const char *harness_build_dir(void);

/*
 * Start <build>/cloister-<name> on 127.0.0.1, port 0, with the test
 * certificate, then the "-o NAME=VALUE" overrides in opts (NULL-terminated,
 * may be NULL).  Waits up to timeout_ms for the readiness line.  On
 * failure the process is gone and err says why (with the log's last line).
 */
int harness_start(struct svc_proc *p, const char *name,
    const char *const *opts, int timeout_ms, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;

/* SIGTERM, wait up to 5 s, then SIGKILL.  Returns the exit status (waitpid form). */
int harness_stop(struct svc_proc *p) CL_NONNULL(1);

/* True when the process is still running. */
bool harness_alive(struct svc_proc *p) CL_NONNULL(1);

/* True when the log has a line matching the POSIX extended regex re. */
bool harness_log_has(const struct svc_proc *p, const char *re) CL_NONNULL(1, 2);

/* Client context trusting the test CA (or ca_name.pem in the cert dir). */
SSL_CTX *harness_client_ctx(const char *ca_name, const char *alpn)
	CL_NONNULL(1, 2);

/* Monotonic milliseconds. */
int64_t harness_now_ms(void);

#endif
