/*
 * The authentication API endpoint: user_login and the user management
 * calls.  Every call but user_login authenticates its caller first.
 *
 * Who may do what (docs/users.md):
 *   PlatformAdmin         manage every user
 *   DataOwnerManager(a)   manage the DataOwner(a) users only
 *   anyone                log in; change their own password
 * The last PlatformAdmin can neither be deleted nor lose the role.
 */
#include "compat.h"

#include <time.h>

#include <openssl/rand.h>

#include "authentication_schema.h"
#include "auth.h"
#include "crypto.h"
#include "log.h"
#include "secret.h"

static const char *
str(const json_t *req, const char *field)
{
	const char *s = json_string_value(json_object_get(req, field));

	return s ? s : "";
}

static int
check_id(const char *id, struct cl_error *err)
{
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/' || *p == 0x7f)
			return cl_error_set(err, CL_EINVAL, "user id may not contain "
			    "spaces, '/' or control characters");
	return 0;
}

/* The authenticated caller of req, into caller. */
static int
authenticate(struct auth *a, const json_t *req, struct user *caller,
    struct cl_error *err)
{
	int64_t exp;

	return token_check(a, str(req, "user"), str(req, "token"), caller, &exp,
	    err);
}

/* The target user, which caller must be allowed to manage. */
static int
managed_target(struct auth *a, const struct user *caller, const char *id,
    struct user *target, struct cl_error *err)
{
	if (user_get(a, id, target, NULL, NULL) != 0 ||
	    !may_manage(caller, target->role, target->attr)) {
		/* the same answer whether absent or not ours: no enumeration */
		if (may_manage(caller, ROLE_PLATFORM_ADMIN, ""))
			return cl_error_set(err, CL_ENOTFOUND, "no user '%s'", id);
		return cl_error_set(err, CL_EDENIED, "you may not manage user "
		    "'%s'", id);
	}
	return 0;
}

/*
 * user_login
 */

struct login_result {
	struct auth *a;
	int64_t now;
	bool ok;
};

static int
record_attempt(struct user *u, void *arg, struct cl_error *err)
{
	struct login_result *r = arg;

	(void)err;
	if (r->ok) {
		u->failures = 0;
		u->locked_until = 0;
		return 0;
	}
	u->failures++;
	u->last_failure = r->now;
	if (u->failures >= r->a->opts.lockout_after)
		u->locked_until = r->now + r->a->opts.lockout_time_ms / 1000;
	return 0;
}

static int
user_login(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = str(req, "id"), *pw = str(req, "password");
	struct login_result r = { a, (int64_t)time(NULL), false };
	pthread_mutex_t *lk = user_lock(a, id);
	struct buf token = BUF_INIT;
	struct user u;
	int64_t exp;
	int rc;

	/* one attempt per user at a time: throttling cannot be raced */
	pthread_mutex_lock(lk);
	if (user_get(a, id, &u, NULL, NULL) != 0) {
		password_verify_dummy(a, pw);
		rc = cl_error_set(err, CL_EAUTH, "authentication failed");
		goto out;
	}
	if (u.locked_until > r.now) {
		rc = cl_error_set(err, CL_EDENIED, "account '%s' is locked for %"
		    PRId64 " more seconds after %" PRId64 " failed logins (an "
		    "administrator can reset its password)", id,
		    u.locked_until - r.now, u.failures);
		goto out;
	}
	/* a lockout that has run out counts as the wait */
	if (u.failures >= a->opts.throttle_after && u.locked_until == 0) {
		int64_t shift = u.failures - a->opts.throttle_after;
		int64_t wait = shift >= 6 ? AUTH_MAX_WAIT_S :
		    CL_MIN((int64_t)1 << shift, AUTH_MAX_WAIT_S);

		if (r.now - u.last_failure < wait) {
			rc = cl_error_set(err, CL_EBUSY, "too many failed logins "
			    "for '%s': try again in %" PRId64 " s", id,
			    wait - (r.now - u.last_failure));
			goto out;
		}
	}
	r.ok = password_verify(u.hash, pw);
	if ((r.ok && u.failures == 0) ||
	    (rc = user_modify(a, id, record_attempt, &r, &u, err)) == 0) {
		if (!r.ok) {
			log_info("failed login for '%s' (%" PRId64 " in a row)", id,
			    u.failures);
			rc = cl_error_set(err, CL_EAUTH, "authentication failed");
			goto out;
		}
		rc = token_issue(a, &u, &token, &exp, err);
		if (rc == 0) {
			json_object_set_new(resp, "token", json_string(token.p));
			json_object_set_new(resp, "expires_at", json_integer(exp));
		}
	}
out:
	pthread_mutex_unlock(lk);
	secret_wipe(token.p, token.len);
	buf_release(&token);
	return rc;
}

/*
 * user_register
 */

static int
user_register(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = str(req, "id"), *attr = str(req, "attribute");
	enum role role = role_parse(str(req, "role"));
	struct user caller, u = { 0 };
	int rc;

	(void)resp;
	if ((rc = authenticate(a, req, &caller, err)) != 0 ||
	    (rc = check_id(id, err)) != 0 ||
	    (rc = role_check(role, attr, err)) != 0)
		return rc;
	if (!may_manage(&caller, role, attr))
		return cl_error_set(err, CL_EDENIED, "a %s may not register a "
		    "%s%s%s", role_name(caller.role), role_name(role),
		    attr[0] ? " of " : "", attr);
	if ((rc = password_check_policy(id, str(req, "password"), err)) != 0)
		return rc;
	snprintf(u.id, sizeof(u.id), "%s", id);
	u.role = role;
	snprintf(u.attr, sizeof(u.attr), "%s", attr);
	u.created = (int64_t)time(NULL);
	if ((rc = password_hash(a, str(req, "password"), u.hash, err)) != 0)
		return rc;
	if ((rc = user_create(a, &u, err)) != 0)
		return rc;
	log_info("'%s' registered user '%s' as %s%s%s", caller.id, id,
	    role_name(role), attr[0] ? " of " : "", attr);
	return 0;
}

/*
 * user_update
 */

struct update {
	const char *password;		/* NULL = unchanged */
	char hash[AUTH_HASH_MAX];
	enum role role;			/* ROLE_INVALID = unchanged */
	const char *attr;		/* NULL = unchanged */
	const struct user *caller;
};

static int
apply_update(struct user *u, void *arg, struct cl_error *err)
{
	struct update *up = arg;
	enum role role = up->role != ROLE_INVALID ? up->role : u->role;
	char attr[AUTH_ATTR_MAX + 1];	/* a copy: u->attr is rewritten below */
	int rc;

	snprintf(attr, sizeof(attr), "%s", up->attr ? up->attr : u->attr);

	/* re-checked on the record as it is now, not as it was read */
	if (!may_manage(up->caller, u->role, u->attr) ||
	    !may_manage(up->caller, role, attr))
		return cl_error_set(err, CL_EDENIED, "you may not make '%s' a %s%s%s",
		    u->id, role_name(role), attr[0] ? " of " : "", attr);
	if ((rc = role_check(role, attr, err)) != 0)
		return rc;
	if (role != u->role || strcmp(attr, u->attr) != 0 || up->password)
		u->gen++;	/* outstanding tokens die */
	u->role = role;
	snprintf(u->attr, sizeof(u->attr), "%s", attr);
	if (up->password != NULL) {
		memcpy(u->hash, up->hash, sizeof(u->hash));
		u->failures = 0;
		u->locked_until = 0;
	}
	return 0;
}

static int
user_update(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = str(req, "id");
	struct update up = { 0 };
	struct user caller, target;
	int rc;

	(void)resp;
	if ((rc = authenticate(a, req, &caller, err)) != 0 ||
	    (rc = managed_target(a, &caller, id, &target, err)) != 0)
		return rc;
	up.caller = &caller;
	if (json_object_get(req, "role") != NULL &&
	    (up.role = role_parse(str(req, "role"))) == ROLE_INVALID)
		return role_check(ROLE_INVALID, "", err);
	if (json_object_get(req, "attribute") != NULL)
		up.attr = str(req, "attribute");
	if (json_object_get(req, "password") != NULL) {
		up.password = str(req, "password");
		if ((rc = password_check_policy(id, up.password, err)) != 0 ||
		    (rc = password_hash(a, up.password, up.hash, err)) != 0)
			return rc;
	}
	pthread_mutex_lock(&a->admin_lock);
	if (target.role == ROLE_PLATFORM_ADMIN && up.role != ROLE_INVALID &&
	    up.role != ROLE_PLATFORM_ADMIN && user_count_admins(a, err) <= 1) {
		pthread_mutex_unlock(&a->admin_lock);
		return cl_error_set(err, CL_ESTATE, "'%s' is the last "
		    "PlatformAdmin and must keep the role", id);
	}
	rc = user_modify(a, id, apply_update, &up, NULL, err);
	pthread_mutex_unlock(&a->admin_lock);
	if (rc == 0)
		log_info("'%s' updated user '%s'", caller.id, id);
	return rc;
}

/*
 * user_change_password
 */

static int
set_password(struct user *u, void *arg, struct cl_error *err)
{
	(void)err;
	memcpy(u->hash, arg, AUTH_HASH_MAX);
	u->gen++;
	u->failures = 0;
	u->locked_until = 0;
	return 0;
}

static int
user_change_password(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	char hash[AUTH_HASH_MAX];
	struct user caller;
	int rc;

	(void)resp;
	if ((rc = authenticate(a, req, &caller, err)) != 0)
		return rc;
	if (!password_verify(caller.hash, str(req, "old_password")))
		return cl_error_set(err, CL_EAUTH, "the current password is wrong");
	if ((rc = password_check_policy(caller.id, str(req, "password"), err)) != 0 ||
	    (rc = password_hash(a, str(req, "password"), hash, err)) != 0)
		return rc;
	if ((rc = user_modify(a, caller.id, set_password, hash, NULL, err)) == 0)
		log_info("'%s' changed their password", caller.id);
	return rc;
}

/*
 * reset_user_password
 */

static int
reset_user_password(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = str(req, "id");
	uint8_t rnd[18];
	struct buf pw = BUF_INIT;
	char hash[AUTH_HASH_MAX];
	struct user caller, target;
	int rc;

	if ((rc = authenticate(a, req, &caller, err)) != 0 ||
	    (rc = managed_target(a, &caller, id, &target, err)) != 0)
		return rc;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cl_error_set(err, CL_EINTERNAL, "no randomness");
	crypto_b64_encode(&pw, rnd, sizeof(rnd));	/* 24 characters */
	for (size_t i = 0; i < pw.len; i++)
		if (pw.p[i] == '+' || pw.p[i] == '/')
			pw.p[i] = pw.p[i] == '+' ? '-' : '_';
	secret_wipe(rnd, sizeof(rnd));
	if ((rc = password_hash(a, pw.p, hash, err)) == 0 &&
	    (rc = user_modify(a, id, set_password, hash, NULL, err)) == 0) {
		json_object_set_new(resp, "password", json_string(pw.p));
		log_info("'%s' reset the password of '%s'", caller.id, id);
	}
	secret_wipe(pw.p, pw.len);
	buf_release(&pw);
	return rc;
}

/*
 * delete_user
 */

static int
delete_user(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	const char *id = str(req, "id");
	struct user caller, target;
	int rc;

	(void)resp;
	if ((rc = authenticate(a, req, &caller, err)) != 0 ||
	    (rc = managed_target(a, &caller, id, &target, err)) != 0)
		return rc;
	pthread_mutex_lock(&a->admin_lock);
	if (target.role == ROLE_PLATFORM_ADMIN && user_count_admins(a, err) <= 1)
		rc = cl_error_set(err, CL_ESTATE, "'%s' is the last PlatformAdmin "
		    "and cannot be deleted", id);
	else
		rc = user_delete(a, &target, err);
	pthread_mutex_unlock(&a->admin_lock);
	if (rc == 0)
		log_info("'%s' deleted user '%s'", caller.id, id);
	return rc;
}

/*
 * list_users
 */

struct list_state {
	const struct user *caller;
	const char *attr;		/* NULL = any */
	json_t *ids;
};

static int
list_one(void *arg, const struct user *u)
{
	struct list_state *st = arg;

	if (!may_manage(st->caller, u->role, u->attr))
		return 0;
	if (st->attr != NULL && strcmp(st->attr, u->attr) != 0)
		return 0;
	json_array_append_new(st->ids, json_string(u->id));
	return 0;
}

static int
list_users(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	struct auth *a = ctx->app;
	struct list_state st = { NULL, NULL, json_array() };
	struct user caller;
	int rc;

	if ((rc = authenticate(a, req, &caller, err)) != 0)
		goto fail;
	if (caller.role != ROLE_PLATFORM_ADMIN &&
	    caller.role != ROLE_DATA_OWNER_MANAGER) {
		rc = cl_error_set(err, CL_EDENIED, "a %s may not list users",
		    role_name(caller.role));
		goto fail;
	}
	st.caller = &caller;
	if (json_object_get(req, "attribute") != NULL)
		st.attr = str(req, "attribute");
	if ((rc = user_each(a, list_one, &st, err)) != 0)
		goto fail;
	json_object_set_new(resp, "ids", st.ids);
	return 0;
fail:
	json_decref(st.ids);
	return rc;
}

const rpc_handler_fn auth_api_handlers[AUTHENTICATION_NMETHODS] = {
	[AUTHENTICATION_USER_LOGIN] = user_login,
	[AUTHENTICATION_USER_REGISTER] = user_register,
	[AUTHENTICATION_USER_UPDATE] = user_update,
	[AUTHENTICATION_USER_CHANGE_PASSWORD] = user_change_password,
	[AUTHENTICATION_RESET_USER_PASSWORD] = reset_user_password,
	[AUTHENTICATION_DELETE_USER] = delete_user,
	[AUTHENTICATION_LIST_USERS] = list_users,
};
