/*
 * The platform client library: what a program needs to use a Cloister
 * deployment as one of its users, the way the `cloister` command does.
 *
 *   struct cl_client_config cfg = { .dir = "/tmp/cl" };
 *   struct cl_client *c = cl_client_open(&cfg, &err);
 *   cl_client_login(c, "bank1", password, &err);
 *   cl_client_call(c, "create_task", req, &resp, &err);
 *   cl_client_call(c, "invoke_task", ...);
 *   cl_client_wait_task(c, task_id, 60000, &task, &err);
 *   cl_client_close(c);
 *
 * A client verifies every service it talks to against the deployment's
 * build configuration and auditor-signed enclave info (attested TLS),
 * logs in at the authentication service, and sends every platform call
 * (the frontend's protocol, schema/frontend.json) with the user's token
 * attached.  Encrypting and decrypting files is lib/filecrypt.h.
 *
 * A client is for one thread at a time.  Every call returns 0, or a
 * negative cl_err with err saying why (CL_EAUTH: log in again).
 */
#ifndef CL_CLIENT_H
#define CL_CLIENT_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "err.h"
#include "rpc_client.h"

struct attest_verifier;
struct svc_trust;

struct cl_client;

struct cl_client_config {
	/*
	 * The deployment directory: build.json and enclave_info.json (what
	 * services must prove), runtime.conf (where they listen).
	 */
	const char *dir;
	const char *frontend_addr;	/* NULL: runtime.conf's [frontend] */
	const char *auth_addr;		/* NULL: runtime.conf's [authentication] */
	int64_t timeout_ms;		/* each call; 0 = the RPC default */
};

struct cl_client *cl_client_open(const struct cl_client_config *cfg,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;
void cl_client_close(struct cl_client *c);

/* Log in as user with password; the token is kept for the calls. */
int cl_client_login(struct cl_client *c, const char *user,
    const char *password, struct cl_error *err) CL_NONNULL(1, 2, 3, 4) CL_WUR;
/* Act with a token got earlier (cloister login saves them). */
int cl_client_use_token(struct cl_client *c, const char *user,
    const char *token, struct cl_error *err) CL_NONNULL(1, 2, 3, 4) CL_WUR;
/* The token in use and when it expires (Unix seconds; 0 if unknown). */
const char *cl_client_token(const struct cl_client *c, int64_t *expires_at)
	CL_NONNULL(1);

/*
 * Call the platform's request method (e.g. "register_input_file") with
 * req's fields (borrowed; the user and token are added to a copy).  On
 * success *resp is the answer (caller owns), without its envelope.
 */
int cl_client_call(struct cl_client *c, const char *method, const json_t *req,
    json_t **resp, struct cl_error *err) CL_NONNULL(1, 2, 3, 4, 5) CL_WUR;

/*
 * Wait until task_id is finished, failed or canceled, asking soon at
 * first (a short task ends in milliseconds), then less often, up to once
 * a second, for at most max_wait_ms.  *task (caller owns) is the task as
 * get_task last answered, whatever the outcome.  Returns 0 when it
 * finished; CL_ESTATE when it failed or was canceled (err says so, with
 * the task's reason); CL_ETIMEDOUT when it had not ended by max_wait_ms;
 * or the error of a call.
 */
int cl_client_wait_task(struct cl_client *c, const char *task_id,
    int64_t max_wait_ms, json_t **task, struct cl_error *err)
	CL_NONNULL(1, 2, 4, 5) CL_WUR;

/*
 * The pieces a client is made of, for programs (the cloister command)
 * that talk to other services of a deployment as a user.
 */

/* dir's trust material: build.json and its auditor-signed enclave info. */
int cl_deploy_trust(struct svc_trust *t, const char *dir,
    struct cl_error *err) CL_NONNULL(1, 2, 3) CL_WUR;
/* Where service listens, from dir's runtime.conf, into out. */
int cl_deploy_addr(const char *dir, const char *service, char *out,
    size_t len, struct cl_error *err) CL_NONNULL(1, 2, 3, 5) CL_WUR;
/*
 * An RPC client of service (protocol proto) at addr that accepts only
 * that service, attested under t and v, as a user (no identity of its
 * own); *ctx gets its TLS context, which the caller frees after the
 * client.  NULL with err on failure.
 */
struct rpc_client *cl_attested_client(const struct svc_trust *t,
    struct attest_verifier *v, const char *service,
    const struct rpc_service *proto, const char *addr, int64_t timeout_ms,
    SSL_CTX **ctx, struct cl_error *err) CL_NONNULL(1, 2, 3, 4, 5, 7, 8);

#endif
