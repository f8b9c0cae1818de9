/*
 * The platform client library (lib/client.h).
 *
 * Two attested connections, opened when first needed: the frontend (every
 * platform call) and the authentication service (login).  Both are
 * verified against the deployment's build configuration and enclave info
 * exactly as services verify each other.
 */
#include "compat.h"

#include <time.h>

#include "attest.h"
#include "authentication_schema.h"
#include "client.h"
#include "deploy.h"
#include "frontend_schema.h"
#include "rpc_client.h"
#include "secret.h"
#include "svc.h"

#define CLIENT_WAIT_FIRST_MS	2
#define CLIENT_WAIT_MAX_MS	1000
#define CLIENT_USER_MAX		128	/* authentication's limit on an id */
#define CLIENT_TOKEN_MAX	1024	/* and on a token */

struct conn {
	const char *service;		/* its name in the enclave info */
	const struct rpc_service *proto;
	char addr[300];
	SSL_CTX *ctx;
	struct rpc_client *rpc;
};

struct cl_client {
	struct svc_trust trust;
	struct attest_verifier *verifier;
	char dir[1024];
	int64_t timeout_ms;
	struct conn front, auth;
	char user[CLIENT_USER_MAX + 1];
	char token[CLIENT_TOKEN_MAX + 1];
	int64_t expires_at;
};

static int
conn_init(struct cl_client *c, struct conn *k, const char *service,
    const struct rpc_service *proto, const char *addr, struct cl_error *err)
{
	k->service = service;
	k->proto = proto;
	if (addr != NULL) {
		if (strlen(addr) >= sizeof(k->addr))
			return cl_error_set(err, CL_EINVAL, "address '%.64s...' "
			    "is too long", addr);
		snprintf(k->addr, sizeof(k->addr), "%s", addr);
		return 0;
	}
	return cl_deploy_addr(c->dir, service, k->addr, sizeof(k->addr), err);
}

/* k's RPC client, connecting on first use. */
static struct rpc_client *
conn_get(struct cl_client *c, struct conn *k, struct cl_error *err)
{
	if (k->rpc == NULL)
		k->rpc = cl_attested_client(&c->trust, c->verifier, k->service,
		    k->proto, k->addr, c->timeout_ms, &k->ctx, err);
	return k->rpc;
}

static void
conn_release(struct conn *k)
{
	rpc_client_free(k->rpc);
	SSL_CTX_free(k->ctx);
	k->rpc = NULL;
	k->ctx = NULL;
}

int
cl_deploy_trust(struct svc_trust *t, const char *dir, struct cl_error *err)
{
	char bc[1100], ei[1100];

	deploy_path(bc, sizeof(bc), dir, DEPLOY_BUILD_CONFIG);
	deploy_path(ei, sizeof(ei), dir, DEPLOY_ENCLAVE_INFO);
	return svc_trust_load(t, bc, ei, NULL, err);
}

int
cl_deploy_addr(const char *dir, const char *service, char *out, size_t len,
    struct cl_error *err)
{
	char path[1100];
	struct cl_error e;
	int rc;

	deploy_path(path, sizeof(path), dir, DEPLOY_RUNTIME);
	cl_error_clear(&e);
	if ((rc = conf_lookup(path, service, "listen", out, len, &e)) != 0)
		return cl_error_set(err, rc, "cannot find the address of "
		    "'%s': %s", service, e.message);
	return 0;
}

struct rpc_client *
cl_attested_client(const struct svc_trust *t, struct attest_verifier *v,
    const char *service, const struct rpc_service *proto, const char *addr,
    int64_t timeout_ms, SSL_CTX **ctx, struct cl_error *err)
{
	struct rpc_client_config cc = { 0 };

	if (*ctx == NULL && (*ctx = attest_client_ctx(NULL, v, service,
	    proto->alpn, err)) == NULL)
		return NULL;
	cc.addr = addr;
	cc.tls = *ctx;
	cc.service = proto;
	cc.timeout_ms = timeout_ms;
	cc.max_frame = t->bc.max_frame;
	return rpc_client_new(&cc, err);
}

struct cl_client *
cl_client_open(const struct cl_client_config *cfg, struct cl_error *err)
{
	struct cl_client *c;

	if (cfg->dir == NULL || cfg->dir[0] == '\0') {
		cl_error_set(err, CL_EINVAL, "no deployment directory");
		return NULL;
	}
	if (strlen(cfg->dir) >= sizeof(c->dir)) {
		cl_error_set(err, CL_EINVAL, "the deployment directory's path "
		    "is too long");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cl_error_set(err, CL_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", cfg->dir);
	c->timeout_ms = cfg->timeout_ms;
	if (cl_deploy_trust(&c->trust, c->dir, err) != 0) {
		free(c);
		return NULL;
	}
	if ((c->verifier = attest_verifier_new(&c->trust.bc,
	    &c->trust.ei)) == NULL) {
		cl_error_set(err, CL_ENOMEM, "out of memory");
		goto fail;
	}
	if (conn_init(c, &c->front, "frontend", &frontend_service,
	    cfg->frontend_addr, err) != 0 ||
	    conn_init(c, &c->auth, "authentication", &authentication_service,
	    cfg->auth_addr, err) != 0)
		goto fail;
	return c;
fail:
	cl_client_close(c);
	return NULL;
}

void
cl_client_close(struct cl_client *c)
{
	if (c == NULL)
		return;
	conn_release(&c->front);
	conn_release(&c->auth);
	attest_verifier_free(c->verifier);
	svc_trust_release(&c->trust);
	secret_wipe(c->token, sizeof(c->token));
	free(c);
}

static int
set_login(struct cl_client *c, const char *user, const char *token,
    int64_t expires_at, struct cl_error *err)
{
	if (user[0] == '\0' || strlen(user) > CLIENT_USER_MAX)
		return cl_error_set(err, CL_EINVAL, "a user id is 1 to %d "
		    "bytes", CLIENT_USER_MAX);
	if (token[0] == '\0' || strlen(token) > CLIENT_TOKEN_MAX)
		return cl_error_set(err, CL_EINVAL, "a token is 1 to %d bytes",
		    CLIENT_TOKEN_MAX);
	snprintf(c->user, sizeof(c->user), "%s", user);
	secret_wipe(c->token, sizeof(c->token));
	snprintf(c->token, sizeof(c->token), "%s", token);
	c->expires_at = expires_at;
	return 0;
}

int
cl_client_login(struct cl_client *c, const char *user, const char *password,
    struct cl_error *err)
{
	const struct rpc_method *m = rpc_find(&authentication_service,
	    "user_login");
	struct rpc_client *rpc;
	json_t *req, *resp = NULL;
	const char *token;
	int rc;

	if (m == NULL)
		return cl_error_set(err, CL_EINTERNAL, "no user_login");
	if ((rpc = conn_get(c, &c->auth, err)) == NULL)
		return err->code;
	if ((req = json_pack("{s:s, s:s}", "id", user, "password",
	    password)) == NULL)
		return cl_error_set(err, CL_EINVAL, "the user id and password "
		    "must be UTF-8 text");
	rc = rpc_client_call(rpc, m, req, &resp, err);
	json_decref(req);
	if (rc != 0)
		return rc;
	token = json_string_value(json_object_get(resp, "token"));
	rc = set_login(c, user, token != NULL ? token : "",
	    json_integer_value(json_object_get(resp, "expires_at")), err);
	json_decref(resp);
	return rc;
}

int
cl_client_use_token(struct cl_client *c, const char *user, const char *token,
    struct cl_error *err)
{
	return set_login(c, user, token, 0, err);
}

const char *
cl_client_token(const struct cl_client *c, int64_t *expires_at)
{
	if (expires_at != NULL)
		*expires_at = c->expires_at;
	return c->token[0] != '\0' ? c->token : NULL;
}

int
cl_client_call(struct cl_client *c, const char *method, const json_t *req,
    json_t **resp, struct cl_error *err)
{
	const struct rpc_method *m = rpc_find(&frontend_service, method);
	struct rpc_client *rpc;
	json_t *copy;
	int rc;

	*resp = NULL;
	if (m == NULL)
		return cl_error_set(err, CL_EUNKNOWN_REQ, "the platform has no "
		    "request '%.64s'", method);
	if (c->token[0] == '\0')
		return cl_error_set(err, CL_EAUTH, "not logged in");
	if (json_typeof(req) != JSON_OBJECT)
		return cl_error_set(err, CL_EINVAL, "a request is a JSON "
		    "object");
	if ((rpc = conn_get(c, &c->front, err)) == NULL)
		return err->code;
	if ((copy = json_copy((json_t *)req)) == NULL)
		return cl_error_set(err, CL_ENOMEM, "out of memory");
	json_object_set_new(copy, "user", json_string(c->user));
	json_object_set_new(copy, "token", json_string(c->token));
	rc = rpc_client_call(rpc, m, copy, resp, err);
	json_decref(copy);
	if (rc == 0) {
		json_object_del(*resp, "result");
		json_object_del(*resp, "response");
	}
	return rc;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
cl_client_wait_task(struct cl_client *c, const char *task_id,
    int64_t max_wait_ms, json_t **task, struct cl_error *err)
{
	int64_t deadline = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
	int64_t delay = CLIENT_WAIT_FIRST_MS;
	json_t *req = json_pack("{s:s}", "task_id", task_id);
	const char *status;
	int rc;

	*task = NULL;
	if (req == NULL)
		return cl_error_set(err, CL_EINVAL, "a task id is UTF-8 text");
	for (;;) {
		struct timespec ts;
		int64_t now;

		json_decref(*task);
		*task = NULL;
		if ((rc = cl_client_call(c, "get_task", req, task, err)) != 0)
			break;
		status = json_string_value(json_object_get(*task, "status"));
		if (status == NULL)
			status = "";
		if (strcmp(status, "finished") == 0) {
			rc = 0;
			break;
		}
		if (strcmp(status, "failed") == 0 ||
		    strcmp(status, "canceled") == 0) {
			const char *why = json_string_value(json_object_get(
			    json_object_get(*task, "task_result"), "error"));

			rc = cl_error_set(err, CL_ESTATE, "task '%s' %s%s%.400s",
			    task_id, status, why ? ": " : "", why ? why : "");
			break;
		}
		if ((now = now_ms()) >= deadline) {
			rc = cl_error_set(err, CL_ETIMEDOUT, "task '%s' is still "
			    "%s after %lld ms", task_id, status,
			    (long long)max_wait_ms);
			break;
		}
		delay = CL_MIN(delay, deadline - now);
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = delay % 1000 * 1000000;
		nanosleep(&ts, NULL);
		delay = CL_MIN(delay * 2, CLIENT_WAIT_MAX_MS);
	}
	json_decref(req);
	return rc;
}
