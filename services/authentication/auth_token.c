/*
 * Tokens.
 *
 *   token = "v1." base64url(payload) "." base64url(HMAC-SHA256(key, "v1." payload64))
 *   payload = {"sub": id, "gen": n, "iat": t, "exp": t}
 *
 * Short-lived (token_lifetime).  The key is made once, kept in secret
 * memory and stored sealed ("meta/token_key"), so tokens survive a
 * restart of the service.  A token dies when it expires, when the user's
 * password or role changes (gen no longer matches) and when the user is
 * deleted.  The role is never taken from the token: authentication
 * answers the user's current role.
 */
#include "compat.h"

#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"
#include "crypto.h"
#include "secret.h"

#define TOKEN_KEY_RECORD "meta/token_key"
#define TOKEN_PREFIX "v1."

int
token_load_key(struct auth *a, struct cl_error *err)
{
	struct buf raw = BUF_INIT;
	uint8_t fresh[AUTH_TOKEN_KEY_BYTES];
	int rc;

	if ((a->token_key = secret_alloc(AUTH_TOKEN_KEY_BYTES)) == NULL)
		return cl_error_set(err, CL_ENOMEM, "cannot lock memory for the "
		    "token key");
	rc = store_get(a->store, TOKEN_KEY_RECORD, strlen(TOKEN_KEY_RECORD), &raw,
	    NULL);
	if (rc == CL_ENOTFOUND) {
		struct store_op ops[2];

		if (RAND_bytes(fresh, sizeof(fresh)) != 1)
			return cl_error_set(err, CL_EINTERNAL, "no randomness");
		ops[0] = (struct store_op){ STORE_CHECK_ABSENT, TOKEN_KEY_RECORD,
		    strlen(TOKEN_KEY_RECORD), NULL, 0 };
		ops[1] = (struct store_op){ STORE_PUT, TOKEN_KEY_RECORD,
		    strlen(TOKEN_KEY_RECORD), fresh, sizeof(fresh) };
		rc = store_apply(a->store, ops, 2, NULL, err);
		secret_wipe(fresh, sizeof(fresh));
		if (rc != 0)
			goto out;
		rc = store_get(a->store, TOKEN_KEY_RECORD,
		    strlen(TOKEN_KEY_RECORD), &raw, err);
	}
	if (rc != 0) {
		cl_error_set(err, rc, "cannot read the token key");
		goto out;
	}
	if (raw.len != AUTH_TOKEN_KEY_BYTES) {
		rc = cl_error_set(err, CL_EINTERNAL, "the stored token key is "
		    "malformed");
		goto out;
	}
	memcpy(a->token_key, raw.p, AUTH_TOKEN_KEY_BYTES);
out:
	secret_wipe(raw.p, raw.len);
	buf_release(&raw);
	return rc;
}

static void
b64url(struct buf *out, const void *p, size_t len)
{
	size_t start = out->len;

	crypto_b64_encode(out, p, len);
	for (size_t i = start; i < out->len; i++) {
		if (out->p[i] == '+')
			out->p[i] = '-';
		else if (out->p[i] == '/')
			out->p[i] = '_';
	}
	while (out->len > start && out->p[out->len - 1] == '=')
		buf_setlen(out, out->len - 1);
}

static int
unb64url(struct buf *out, const char *s, size_t len)
{
	struct buf tmp = BUF_INIT;
	int rc;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+' || c == '/' || c == '=')
			return CL_EINVAL;
		buf_addch(&tmp, c == '-' ? '+' : c == '_' ? '/' : c);
	}
	while (tmp.len % 4 != 0)
		buf_addch(&tmp, '=');
	rc = crypto_b64_decode(out, tmp.p, tmp.len);
	buf_release(&tmp);
	return rc;
}

static void
mac(struct auth *a, const char *p, size_t len, uint8_t out[32])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, a->token_key,
	    AUTH_TOKEN_KEY_BYTES, (const unsigned char *)p, len, out, 32,
	    &outlen) == NULL || outlen != 32)
		BUG("HMAC-SHA256 failed");
}

int
token_issue(struct auth *a, const struct user *u, struct buf *out,
    int64_t *out_exp, struct cl_error *err)
{
	int64_t now = (int64_t)time(NULL);
	int64_t exp = now + a->opts.token_lifetime_ms / 1000;
	json_t *p = json_pack("{s:s, s:I, s:I, s:I}", "sub", u->id,
	    "gen", (json_int_t)u->gen, "iat", (json_int_t)now,
	    "exp", (json_int_t)exp);
	char *text = json_dumps(p, JSON_COMPACT);
	uint8_t m[32];

	(void)err;
	buf_clear(out);
	buf_adds(out, TOKEN_PREFIX);
	b64url(out, text, strlen(text));
	mac(a, out->p, out->len, m);
	buf_addch(out, '.');
	b64url(out, m, sizeof(m));
	free(text);
	json_decref(p);
	*out_exp = exp;
	return 0;
}

int
token_check(struct auth *a, const char *id, const char *token, struct user *u,
    int64_t *out_exp, struct cl_error *err)
{
	const char *dot;
	struct buf payload = BUF_INIT, sig = BUF_INIT;
	uint8_t m[32];
	json_t *p = NULL;
	const char *sub;
	int64_t exp, gen;
	int rc = CL_EAUTH;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 ||
	    (dot = strchr(token + strlen(TOKEN_PREFIX), '.')) == NULL ||
	    unb64url(&sig, dot + 1, strlen(dot + 1)) != 0 || sig.len != 32) {
		cl_error_set(err, CL_EAUTH, "invalid token");
		goto out;
	}
	mac(a, token, (size_t)(dot - token), m);
	if (!secret_eq(m, sig.p, 32)) {
		cl_error_set(err, CL_EAUTH, "invalid token");
		goto out;
	}
	if (unb64url(&payload, token + strlen(TOKEN_PREFIX),
	    (size_t)(dot - token) - strlen(TOKEN_PREFIX)) != 0 ||
	    (p = json_loadb(payload.p, payload.len, 0, NULL)) == NULL) {
		cl_error_set(err, CL_EAUTH, "invalid token");
		goto out;
	}
	sub = json_string_value(json_object_get(p, "sub"));
	exp = json_integer_value(json_object_get(p, "exp"));
	gen = json_integer_value(json_object_get(p, "gen"));
	if (sub == NULL || strcmp(sub, id) != 0) {
		cl_error_set(err, CL_EAUTH, "token was not issued to '%s'", id);
		goto out;
	}
	if (exp <= (int64_t)time(NULL)) {
		cl_error_set(err, CL_EAUTH, "token expired; log in again");
		goto out;
	}
	if (user_get(a, id, u, NULL, NULL) != 0) {
		cl_error_set(err, CL_EAUTH, "user '%s' no longer exists", id);
		goto out;
	}
	if (u->gen != gen) {
		cl_error_set(err, CL_EAUTH, "token was revoked by a password or "
		    "role change; log in again");
		goto out;
	}
	*out_exp = exp;
	rc = 0;
out:
	json_decref(p);
	buf_release(&payload);
	buf_release(&sig);
	return rc;
}
