/*
 * The authentication service: private declarations shared by its files.
 *
 *   auth.c           main, options, start-up (store, token key, first admin)
 *   auth_user.c      user records, roles and who may manage whom
 *   auth_token.c     tokens: issue and check
 *   auth_api.c       the API endpoint's handlers
 *   auth_internal.c  the internal endpoint (the frontend checks tokens)
 */
#ifndef CL_AUTH_H
#define CL_AUTH_H

#include <pthread.h>

#include "server.h"
#include "store.h"
#include "svc.h"

#define AUTH_ID_MAX		128
#define AUTH_ATTR_MAX		128
#define AUTH_HASH_MAX		256
#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	1024
#define AUTH_TOKEN_KEY_BYTES	32

/*
 * Login throttling (options throttle_after, lockout_after, lockout_time):
 * after throttle_after consecutive failures, the next attempt must wait
 * 2^(failures - throttle_after) seconds after the last failure (at most
 * AUTH_MAX_WAIT_S); at lockout_after failures the account locks for
 * lockout_time.  A successful login, or a password reset by a manager,
 * clears the count.
 */
#define AUTH_MAX_WAIT_S		60

enum role {
	ROLE_INVALID = 0,
	ROLE_PLATFORM_ADMIN,
	ROLE_FUNCTION_OWNER,
	ROLE_DATA_OWNER_MANAGER,
	ROLE_DATA_OWNER,
};

struct auth_opts {
	int store_backend;
	char *store_path;
	int64_t token_lifetime_ms;
	char *admin_user;
	char *admin_password_file;
	int64_t argon2_memory;		/* bytes */
	int64_t argon2_passes;
	int64_t throttle_after;
	int64_t lockout_after;
	int64_t lockout_time_ms;
};

struct auth {
	struct auth_opts opts;
	struct store *store;
	uint8_t *token_key;		/* secret memory, AUTH_TOKEN_KEY_BYTES */
	pthread_mutex_t user_lock[64];	/* striped by user id: logins */
	pthread_mutex_t admin_lock;	/* role changes and deletions */
	char dummy_hash[AUTH_HASH_MAX];	/* verified for unknown users */
};

struct user {
	char id[AUTH_ID_MAX + 1];
	enum role role;
	char attr[AUTH_ATTR_MAX + 1];
	char hash[AUTH_HASH_MAX];	/* argon2id, encoded */
	int64_t gen;			/* bumped when tokens must die */
	int64_t failures;
	int64_t last_failure;
	int64_t locked_until;
	int64_t created;
};

/* auth_user.c */
const char *role_name(enum role r);
enum role role_parse(const char *s);
/* Validate a role/attribute pair for a user record. */
int role_check(enum role r, const char *attr, struct cl_error *err) CL_WUR;
/* May caller create, change or delete a user with role r and attribute attr? */
bool may_manage(const struct user *caller, enum role r, const char *attr);
int password_check_policy(const char *id, const char *pw, struct cl_error *err)
	CL_WUR;
int password_hash(struct auth *a, const char *pw, char out[AUTH_HASH_MAX],
    struct cl_error *err) CL_WUR;
bool password_verify(const char *hash, const char *pw);
/* Run as long as a verification, against no user (no timing oracle). */
void password_verify_dummy(struct auth *a, const char *pw);
int user_get(struct auth *a, const char *id, struct user *out, struct buf *raw,
    struct cl_error *err) CL_WUR;
int user_create(struct auth *a, const struct user *u, struct cl_error *err)
	CL_WUR;
/*
 * Read-modify-write user id atomically: fn edits the record (return
 * non-zero to abort with that code).  Retries on concurrent changes.
 */
typedef int (*user_edit_fn)(struct user *u, void *arg, struct cl_error *err);
int user_modify(struct auth *a, const char *id, user_edit_fn fn, void *arg,
    struct user *out, struct cl_error *err) CL_WUR;
int user_delete(struct auth *a, const struct user *u, struct cl_error *err)
	CL_WUR;
/* Call fn for every user; stops early on a non-zero return. */
int user_each(struct auth *a, int (*fn)(void *arg, const struct user *u),
    void *arg, struct cl_error *err) CL_WUR;
size_t user_count_admins(struct auth *a, struct cl_error *err);
pthread_mutex_t *user_lock(struct auth *a, const char *id);

/* auth_token.c */
int token_load_key(struct auth *a, struct cl_error *err) CL_WUR;
/* A token for u valid until *out_exp. */
int token_issue(struct auth *a, const struct user *u, struct buf *out,
    int64_t *out_exp, struct cl_error *err) CL_WUR;
/*
 * Check token for user id: signature, expiry, the user exists, and the
 * token is newer than the user's last password or role change.  Fills u.
 */
int token_check(struct auth *a, const char *id, const char *token,
    struct user *u, int64_t *out_exp, struct cl_error *err) CL_WUR;

/* auth_api.c, auth_internal.c */
extern const rpc_handler_fn auth_api_handlers[];
extern const rpc_handler_fn auth_internal_handlers[];

#endif
