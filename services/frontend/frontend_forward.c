/*
 * Authenticating callers and forwarding their requests.
 *
 * Every request carries "user" and "token".  The frontend asks the
 * authentication service's internal endpoint (user_authenticate) and
 * remembers a success for auth_cache (default 10 s, never past the
 * token's expiry), so a burst of calls costs one check; a token revoked
 * by a password change therefore stops working here within auth_cache.
 * Failures are never cached.
 *
 * A forwarded request goes to the internal endpoint of the service its
 * schema names ("upstream") without "user" and "token", and with
 * "caller_id", "caller_role" and "caller_attribute" attached; upstream
 * services believe those fields only from the frontend, whose identity
 * they see through mutual attestation.  The answer, or the upstream's
 * error, goes back unchanged.
 */
#include "compat.h"

#include <time.h>

#include "authentication_internal_schema.h"
#include "crypto.h"
#include "frontend.h"
#include "secret.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
cache_key(uint8_t out[32], const char *id, const char *token)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, id);
	buf_addch(&b, '\0');
	buf_adds(&b, token);
	crypto_sha256(out, b.p, b.len);
	secret_wipe(b.p, b.len);
	buf_release(&b);
}

static bool
cache_find(struct frontend *f, const uint8_t key[32], struct caller *out)
{
	struct auth_entry *e = &f->cache[key[0] | (key[1] << 8) % 4 * 256];
	bool hit = false;

	e = &f->cache[(key[0] | (unsigned)key[1] << 8) % FRONTEND_CACHE_SLOTS];
	pthread_mutex_lock(&f->cache_lock);
	if (e->until_ms > now_ms() && secret_eq(e->key, key, 32)) {
		snprintf(out->id, sizeof(out->id), "%s", e->id);
		snprintf(out->role, sizeof(out->role), "%s", e->role);
		snprintf(out->attribute, sizeof(out->attribute), "%s", e->attribute);
		out->expires_at = e->expires_at;
		hit = true;
	}
	pthread_mutex_unlock(&f->cache_lock);
	return hit;
}

static void
cache_put(struct frontend *f, const uint8_t key[32], const struct caller *c)
{
	struct auth_entry *e =
	    &f->cache[(key[0] | (unsigned)key[1] << 8) % FRONTEND_CACHE_SLOTS];
	int64_t ttl = f->opts.auth_cache_ms;
	int64_t left = (c->expires_at - (int64_t)time(NULL)) * 1000;

	if (ttl <= 0)
		return;
	pthread_mutex_lock(&f->cache_lock);
	memcpy(e->key, key, 32);
	e->until_ms = now_ms() + CL_MIN(ttl, left);
	snprintf(e->id, sizeof(e->id), "%s", c->id);
	snprintf(e->role, sizeof(e->role), "%s", c->role);
	snprintf(e->attribute, sizeof(e->attribute), "%s", c->attribute);
	e->expires_at = c->expires_at;
	pthread_mutex_unlock(&f->cache_lock);
}

int
frontend_authenticate(struct frontend *f, const json_t *req, struct caller *out,
    struct cl_error *err)
{
	const char *id = json_string_value(json_object_get(req, "user"));
	const char *token = json_string_value(json_object_get(req, "token"));
	const struct rpc_method *m = &authentication_internal_service.methods[
	    AUTHENTICATION_INTERNAL_USER_AUTHENTICATE];
	json_t *areq, *aresp = NULL;
	uint8_t key[32];
	int rc;

	cache_key(key, id, token);
	if (cache_find(f, key, out))
		return 0;
	areq = json_pack("{s:s, s:s}", "id", id, "token", token);
	rc = rpc_client_call(f->auth, m, areq, &aresp, err);
	json_decref(areq);
	if (rc != 0) {
		/* the authentication service's own reason, or why we could not ask */
		if (rc != CL_EAUTH && rc != CL_EDENIED && err != NULL) {
			char why[CL_ERR_MSG_MAX];

			snprintf(why, sizeof(why), "%s", err->message);
			cl_error_clear(err);
			cl_error_set(err, CL_EINTERNAL, "cannot check credentials: "
			    "authentication service: %s", why);
			return CL_EINTERNAL;
		}
		return rc;
	}
	snprintf(out->id, sizeof(out->id), "%s",
	    json_string_value(json_object_get(aresp, "id")));
	snprintf(out->role, sizeof(out->role), "%s",
	    json_string_value(json_object_get(aresp, "role")));
	snprintf(out->attribute, sizeof(out->attribute), "%s",
	    json_string_value(json_object_get(aresp, "attribute")));
	out->expires_at = json_integer_value(json_object_get(aresp, "expires_at"));
	json_decref(aresp);
	cache_put(f, key, out);
	return 0;
}

int
frontend_whoami(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct caller c;
	int rc;

	if ((rc = frontend_authenticate(ctx->app, req, &c, err)) != 0)
		return rc;
	json_object_set_new(resp, "id", json_string(c.id));
	json_object_set_new(resp, "role", json_string(c.role));
	json_object_set_new(resp, "attribute", json_string(c.attribute));
	json_object_set_new(resp, "expires_at", json_integer(c.expires_at));
	return 0;
}

int
frontend_forward(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct frontend *f = ctx->app;
	const struct upstream *up = NULL;
	const struct rpc_method *um;
	json_t *ureq, *uresp = NULL, *v;
	const char *k;
	struct caller c;
	int rc;

	for (size_t i = 0; i < f->nupstream; i++)
		if (strcmp(f->upstream[i].name, ctx->method->upstream) == 0)
			up = &f->upstream[i];
	if (up == NULL || up->client == NULL)
		return cl_error_set(err, CL_EINTERNAL, "'%s' is not available: the "
		    "frontend has no address for service '%s'", ctx->method->name,
		    ctx->method->upstream);
	if ((rc = frontend_authenticate(f, req, &c, err)) != 0)
		return rc;
	if ((um = rpc_find(up->proto, ctx->method->name)) == NULL)
		BUG("'%s' has no upstream request '%s'", up->name, ctx->method->name);
	ureq = json_deep_copy(req);
	json_object_del(ureq, "request");
	json_object_del(ureq, "user");
	json_object_del(ureq, "token");
	json_object_set_new(ureq, "caller_id", json_string(c.id));
	json_object_set_new(ureq, "caller_role", json_string(c.role));
	json_object_set_new(ureq, "caller_attribute", json_string(c.attribute));
	rc = rpc_client_call(up->client, um, ureq, &uresp, err);
	json_decref(ureq);
	if (rc != 0)
		return rc;
	json_object_foreach(uresp, k, v)
		if (strcmp(k, "result") != 0 && strcmp(k, "response") != 0)
			json_object_set(resp, k, v);
	json_decref(uresp);
	return 0;
}
