/*
 * Test harness: start real service processes over real attested TLS,
 * wait until they are ready, read their logs, stop them.  Used by the
 * integration drivers, unit tests that need a live server, and the
 * benchmarks.
 *
 * Environment (set by CTest): CL_BUILD_DIR (the built binaries),
 * CL_TEST_DEPLOY (the deployment made by tests/lib/make-test-deploy.sh),
 * CL_SOURCE_DIR.
 */
#ifndef CL_HARNESS_H
#define CL_HARNESS_H

#include <openssl/ssl.h>

#include "err.h"
#include "svc.h"

struct svc_proc {
	pid_t pid;
	char addr[64];		/* API endpoint "127.0.0.1:PORT", or "" */
	char internal_addr[64];	/* internal endpoint, or "" */
	char log_path[512];	/* the service's stderr */
};

/* The test deployment directory (CL_TEST_DEPLOY, or build/test-deploy). */
const char *harness_deploy(void);
/* Directory of the built binaries (CL_BUILD_DIR, or "build"). */
const char *harness_build_dir(void);

/*
 * Start <build>/cloister-<name> with the test deployment's trust
 * material, its endpoints on 127.0.0.1 port 0, then the "-o NAME=VALUE"
 * overrides in opts (NULL-terminated, may be NULL).  deploy may be NULL
 * for harness_deploy().  Waits up to timeout_ms for the readiness line.
 * On failure the process is gone and err says why (with the log's last
 * line, which holds a refusal's reason).
 */
int harness_start(struct svc_proc *p, const char *name, const char *deploy,
    const char *const *opts, int timeout_ms, struct cl_error *err)
	CL_NONNULL(1, 2) CL_WUR;

/* SIGTERM, wait up to 5 s, then SIGKILL.  Returns the exit status (waitpid form). */
int harness_stop(struct svc_proc *p) CL_NONNULL(1);

/* True when the process is still running. */
bool harness_alive(struct svc_proc *p) CL_NONNULL(1);

/* True when the log has a line matching the POSIX extended regex re. */
bool harness_log_has(const struct svc_proc *p, const char *re) CL_NONNULL(1, 2);

/* The test deployment's trust material (loaded once; aborts on failure). */
struct svc_trust *harness_trust(void);

/*
 * Client context accepting only service expect, as a user (no identity
 * of its own) or, when internal, as this test program's own attested
 * identity (sim, measured like any service).  Caller owns.
 */
SSL_CTX *harness_client_ctx(const char *expect, const char *alpn, bool internal)
	CL_NONNULL(1, 2);

/*
 * An in-process server on 127.0.0.1 speaking the echo protocol with
 * handlers that answer every request with a fixed, valid response, over
 * tls (borrowed): for tests and benchmarks of the TLS and attestation
 * layers.  Aborts on failure.  Free with server_free.
 */
struct server *harness_echo_server(SSL_CTX *tls) CL_NONNULL(1);

/* Print "FAIL: <message>" to stderr and exit 1: for test programs. */
CL_NORETURN void harness_fail(const char *fmt, ...) CL_PRINTF(1, 2);

/* Monotonic milliseconds. */
int64_t harness_now_ms(void);

#endif
