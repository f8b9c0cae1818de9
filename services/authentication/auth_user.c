/*
 * User records, roles, rights and passwords.
 *
 * A user is one sealed store record "user/<id>" holding JSON.  Changes
 * are read-modify-write with compare-and-set (store_apply), so concurrent
 * requests never lose an update.
 */
#include "compat.h"

#include <time.h>

#include <argon2.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "auth.h"
#include "crypto.h"

#define USER_PREFIX "user/"
#define MODIFY_TRIES 16

static const char *const role_names[] = {
	[ROLE_PLATFORM_ADMIN] = "PlatformAdmin",
	[ROLE_FUNCTION_OWNER] = "FunctionOwner",
	[ROLE_DATA_OWNER_MANAGER] = "DataOwnerManager",
	[ROLE_DATA_OWNER] = "DataOwner",
};

const char *
role_name(enum role r)
{
	if (r <= ROLE_INVALID || r > ROLE_DATA_OWNER)
		return "Invalid";
	return role_names[r];
}

enum role
role_parse(const char *s)
{
	for (int r = ROLE_PLATFORM_ADMIN; r <= ROLE_DATA_OWNER; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_INVALID;
}

int
role_check(enum role r, const char *attr, struct cl_error *err)
{
	bool needs_attr = r == ROLE_DATA_OWNER || r == ROLE_DATA_OWNER_MANAGER;

	if (r == ROLE_INVALID)
		return cl_error_set(err, CL_EINVAL, "role must be PlatformAdmin, "
		    "FunctionOwner, DataOwnerManager or DataOwner");
	if (needs_attr && attr[0] == '\0')
		return cl_error_set(err, CL_EINVAL, "role '%s' needs an attribute "
		    "(the group it owns or manages)", role_name(r));
	if (!needs_attr && attr[0] != '\0')
		return cl_error_set(err, CL_EINVAL, "role '%s' takes no attribute",
		    role_name(r));
	for (const char *p = attr; *p; p++)
		if ((unsigned char)*p < 0x20)
			return cl_error_set(err, CL_EINVAL, "attribute has a "
			    "control character");
	return 0;
}

bool
may_manage(const struct user *caller, enum role r, const char *attr)
{
	switch (caller->role) {
	case ROLE_PLATFORM_ADMIN:
		return true;
	case ROLE_DATA_OWNER_MANAGER:
		return r == ROLE_DATA_OWNER && strcmp(attr, caller->attr) == 0;
	default:
		return false;
	}
}

int
password_check_policy(const char *id, const char *pw, struct cl_error *err)
{
	size_t n = strlen(pw);

	if (n < AUTH_PASSWORD_MIN)
		return cl_error_set(err, CL_EINVAL, "password must be at least %d "
		    "characters", AUTH_PASSWORD_MIN);
	if (n > AUTH_PASSWORD_MAX)
		return cl_error_set(err, CL_EINVAL, "password must be at most %d "
		    "bytes", AUTH_PASSWORD_MAX);
	if (strcmp(pw, id) == 0)
		return cl_error_set(err, CL_EINVAL, "password must not be the "
		    "user id");
	return 0;
}

int
password_hash(struct auth *a, const char *pw, char out[AUTH_HASH_MAX],
    struct cl_error *err)
{
	uint8_t salt[16];
	uint32_t mkib = (uint32_t)(a->opts.argon2_memory / 1024);
	int rc;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return cl_error_set(err, CL_EINTERNAL, "no randomness");
	rc = argon2id_hash_encoded((uint32_t)a->opts.argon2_passes, mkib, 1, pw,
	    strlen(pw), salt, sizeof(salt), 32, out, AUTH_HASH_MAX);
	if (rc != ARGON2_OK)
		return cl_error_set(err, CL_EINTERNAL, "cannot hash the password: "
		    "%s", argon2_error_message(rc));
	return 0;
}

bool
password_verify(const char *hash, const char *pw)
{
	return argon2id_verify(hash, pw, strlen(pw)) == ARGON2_OK;
}

void
password_verify_dummy(struct auth *a, const char *pw)
{
	(void)password_verify(a->dummy_hash, pw);
}

static void
user_key(struct buf *k, const char *id)
{
	buf_clear(k);
	buf_adds(k, USER_PREFIX);
	buf_adds(k, id);
}

static int
user_decode(const char *text, size_t len, struct user *u, struct cl_error *err)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *id, *role, *attr, *hash;

	memset(u, 0, sizeof(*u));
	id = json_string_value(json_object_get(o, "id"));
	role = json_string_value(json_object_get(o, "role"));
	attr = json_string_value(json_object_get(o, "attribute"));
	hash = json_string_value(json_object_get(o, "hash"));
	if (id == NULL || role == NULL || attr == NULL || hash == NULL ||
	    strlen(id) > AUTH_ID_MAX || strlen(attr) > AUTH_ATTR_MAX ||
	    strlen(hash) >= AUTH_HASH_MAX) {
		json_decref(o);
		return cl_error_set(err, CL_EINTERNAL, "a stored user record is "
		    "malformed");
	}
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->role = role_parse(role);
	snprintf(u->attr, sizeof(u->attr), "%s", attr);
	snprintf(u->hash, sizeof(u->hash), "%s", hash);
	u->gen = json_integer_value(json_object_get(o, "gen"));
	u->failures = json_integer_value(json_object_get(o, "failures"));
	u->last_failure = json_integer_value(json_object_get(o, "last_failure"));
	u->locked_until = json_integer_value(json_object_get(o, "locked_until"));
	u->created = json_integer_value(json_object_get(o, "created"));
	json_decref(o);
	return 0;
}

static char *
user_encode(const struct user *u)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
	    "id", u->id, "role", role_name(u->role), "attribute", u->attr,
	    "hash", u->hash, "gen", (json_int_t)u->gen,
	    "failures", (json_int_t)u->failures,
	    "last_failure", (json_int_t)u->last_failure,
	    "locked_until", (json_int_t)u->locked_until,
	    "created", (json_int_t)u->created);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

int
user_get(struct auth *a, const char *id, struct user *out, struct buf *raw,
    struct cl_error *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int rc;

	user_key(&k, id);
	rc = store_get(a->store, k.p, k.len, raw ? raw : &v, err);
	if (rc == 0)
		rc = user_decode(raw ? raw->p : v.p, raw ? raw->len : v.len, out, err);
	buf_release(&k);
	buf_release(&v);
	return rc;
}

int
user_create(struct auth *a, const struct user *u, struct cl_error *err)
{
	struct buf k = BUF_INIT;
	char *text = user_encode(u);
	struct store_op ops[2];
	int rc;

	user_key(&k, u->id);
	ops[0] = (struct store_op){ STORE_CHECK_ABSENT, k.p, k.len, NULL, 0 };
	ops[1] = (struct store_op){ STORE_PUT, k.p, k.len, text, strlen(text) };
	rc = store_apply(a->store, ops, 2, NULL, NULL);
	if (rc == CL_ESTATE)
		cl_error_set(err, CL_EEXIST, "user '%s' already exists", u->id);
	else if (rc != 0)
		cl_error_set(err, rc, "cannot store user '%s'", u->id);
	free(text);
	buf_release(&k);
	return rc == CL_ESTATE ? CL_EEXIST : rc;
}

int
user_modify(struct auth *a, const char *id, user_edit_fn fn, void *arg,
    struct user *out, struct cl_error *err)
{
	struct buf k = BUF_INIT, raw = BUF_INIT;
	int rc = CL_EBUSY;

	user_key(&k, id);
	for (int i = 0; i < MODIFY_TRIES; i++) {
		struct store_op ops[2];
		struct user u;
		char *text;

		if ((rc = user_get(a, id, &u, &raw, err)) != 0)
			break;
		if ((rc = fn(&u, arg, err)) != 0)
			break;
		text = user_encode(&u);
		ops[0] = (struct store_op){ STORE_CHECK_EQ, k.p, k.len, raw.p, raw.len };
		ops[1] = (struct store_op){ STORE_PUT, k.p, k.len, text, strlen(text) };
		rc = store_apply(a->store, ops, 2, NULL, NULL);
		free(text);
		if (rc == CL_ESTATE)
			continue;	/* changed meanwhile: read again */
		if (rc == 0 && out != NULL)
			*out = u;
		if (rc != 0)
			cl_error_set(err, rc, "cannot store user '%s'", id);
		break;
	}
	if (rc == CL_ESTATE)
		cl_error_set(err, CL_EBUSY, "user '%s' changes too often; try again",
		    id);
	buf_release(&k);
	buf_release(&raw);
	return rc == CL_ESTATE ? CL_EBUSY : rc;
}

int
user_delete(struct auth *a, const struct user *u, struct cl_error *err)
{
	struct buf k = BUF_INIT;
	int rc;

	user_key(&k, u->id);
	rc = store_del(a->store, k.p, k.len, err);
	buf_release(&k);
	return rc;
}

struct each_state {
	int (*fn)(void *arg, const struct user *u);
	void *arg;
	char last[AUTH_ID_MAX + sizeof(USER_PREFIX)];
	size_t lastlen;
	int stop;
};

static int
each_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct each_state *st = arg;
	struct user u;

	if (klen >= sizeof(st->last))
		return 0;
	memcpy(st->last, key, klen);
	st->lastlen = klen;
	if (user_decode(val, vlen, &u, NULL) != 0)
		return 0;
	st->stop = st->fn(st->arg, &u);
	return st->stop;
}

int
user_each(struct auth *a, int (*fn)(void *arg, const struct user *u), void *arg,
    struct cl_error *err)
{
	struct each_state st = { fn, arg, "", 0, 0 };
	bool more = true;
	int rc = 0;

	while (more && st.stop == 0) {
		rc = store_list(a->store, USER_PREFIX, strlen(USER_PREFIX),
		    st.lastlen ? st.last : NULL, st.lastlen, STORE_LIST_MAX,
		    each_cb, &st, &more, err);
		if (rc != 0)
			break;
	}
	return rc;
}

static int
count_admin(void *arg, const struct user *u)
{
	if (u->role == ROLE_PLATFORM_ADMIN)
		(*(size_t *)arg)++;
	return 0;
}

size_t
user_count_admins(struct auth *a, struct cl_error *err)
{
	size_t n = 0;

	if (user_each(a, count_admin, &n, err) != 0)
		return SIZE_MAX;
	return n;
}

pthread_mutex_t *
user_lock(struct auth *a, const char *id)
{
	uint8_t h[32];

	crypto_sha256(h, id, strlen(id));
	return &a->user_lock[h[0] % CL_ARRAY_SIZE(a->user_lock)];
}
