/*
 * The authentication service: users, roles, passwords (argon2id) and
 * tokens.
 *
 * Endpoints: API (user_login and the user management calls, for
 * everyone) and internal (user_authenticate, for the frontend).
 *
 * State: its own sealed store (LMDB by default) holding the users and the
 * token-signing key, so users and tokens survive restarts.  The first
 * PlatformAdmin is created at the first start from a password given once
 * (admin_password_file, or the CLOISTER_ADMIN_PASSWORD environment
 * variable); there is no built-in default password, and with no users and
 * no such password the service refuses to start.
 *
 * Processes: one (main, I/O threads, workers).  Password hashing runs on
 * the workers; nothing here is marked inline.
 */
#include "compat.h"

#include <sys/stat.h>

#include <time.h>

#include "auth.h"
#include "authentication_internal_schema.h"
#include "authentication_schema.h"
#include "crypto.h"
#include "log.h"
#include "secret.h"

static struct auth auth;

static const char *const backends[] = { "lmdb", "mem", NULL };

#define O(f) offsetof(struct auth_opts, f)
static const struct conf_option auth_options[] = {
	{ "store_backend", CONF_ENUM, O(store_backend), 0, 0, "lmdb", backends, 0,
	  "where users live: lmdb (durable) or mem (lost at exit: tests)" },
	{ "store_path", CONF_PATH, O(store_path), 0, 0, NULL, NULL, 0,
	  "lmdb: the directory of the user store" },
	{ "token_lifetime", CONF_DURATION, O(token_lifetime_ms), 1000,
	  24 * 3600 * 1000, "1h", NULL, 0, "how long a login's token is valid" },
	{ "admin_user", CONF_STRING, O(admin_user), 0, 0, "admin", NULL, 0,
	  "id of the first PlatformAdmin, made at the first start" },
	{ "admin_password_file", CONF_PATH, O(admin_password_file), 0, 0, NULL,
	  NULL, 0, "file (mode 0600) with the first PlatformAdmin's password; "
	  "or set CLOISTER_ADMIN_PASSWORD" },
	{ "argon2_memory", CONF_SIZE, O(argon2_memory), 64 * 1024,
	  1024 * 1024 * 1024, "19M", NULL, 0,
	  "argon2id memory per password hash (OWASP: 19M with 2 passes)" },
	{ "argon2_passes", CONF_INT, O(argon2_passes), 1, 10, "2", NULL, 0,
	  "argon2id passes" },
	{ "throttle_after", CONF_INT, O(throttle_after), 1, 100, "3", NULL, 0,
	  "failed logins in a row after which each attempt must wait longer" },
	{ "lockout_after", CONF_INT, O(lockout_after), 2, 1000, "10", NULL, 0,
	  "failed logins in a row that lock the account" },
	{ "lockout_time", CONF_DURATION, O(lockout_time_ms), 1000,
	  7 * 24 * 3600 * 1000LL, "15m", NULL, 0,
	  "how long a locked account stays locked" },
};
#undef O

static int
any_user(void *arg, const struct user *u)
{
	(void)u;
	*(bool *)arg = true;
	return 1;
}

/* The first administrator's password, from the file or the environment. */
static int
read_admin_password(struct buf *out, struct cl_error *err)
{
	const char *env = getenv("CLOISTER_ADMIN_PASSWORD");
	const char *path = auth.opts.admin_password_file;
	struct stat st;

	if (path != NULL) {
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
			return cl_error_set(err, CL_EDENIED, "'%s' is readable by "
			    "others (chmod 600)", path);
		if (crypto_read_file(path, AUTH_PASSWORD_MAX + 2, out, err) != 0)
			return CL_ECONFIG;
		while (out->len > 0 && (out->p[out->len - 1] == '\n' ||
		    out->p[out->len - 1] == '\r'))
			buf_setlen(out, out->len - 1);
		return 0;
	}
	if (env != NULL) {
		buf_adds(out, env);
		return 0;
	}
	return cl_error_set(err, CL_ECONFIG, "there are no users yet: give the "
	    "first administrator's password in 'admin_password_file' or in "
	    "CLOISTER_ADMIN_PASSWORD");
}

static int
make_first_admin(struct cl_error *err)
{
	struct buf pw = BUF_INIT;
	struct user u = { 0 };
	bool exists = false;
	int rc;

	if ((rc = user_each(&auth, any_user, &exists, err)) != 0)
		return rc;
	if (exists) {
		if (auth.opts.admin_password_file != NULL)
			log_info("users exist: '%s' is no longer needed and can be "
			    "removed", auth.opts.admin_password_file);
		return 0;
	}
	if ((rc = read_admin_password(&pw, err)) != 0)
		goto out;
	snprintf(u.id, sizeof(u.id), "%s", auth.opts.admin_user);
	if (strlen(auth.opts.admin_user) == 0 ||
	    strlen(auth.opts.admin_user) > AUTH_ID_MAX ||
	    strchr(auth.opts.admin_user, '/') != NULL) {
		rc = cl_error_set(err, CL_ECONFIG, "bad admin_user '%s'",
		    auth.opts.admin_user);
		goto out;
	}
	if ((rc = password_check_policy(u.id, pw.p, err)) != 0)
		goto out;
	u.role = ROLE_PLATFORM_ADMIN;
	u.created = (int64_t)time(NULL);
	if ((rc = password_hash(&auth, pw.p, u.hash, err)) != 0 ||
	    (rc = user_create(&auth, &u, err)) != 0)
		goto out;
	log_info("created the first PlatformAdmin '%s'", u.id);
out:
	secret_wipe(pw.p, pw.len);
	buf_release(&pw);
	return rc;
}

static int
auth_init(struct svc *s, struct cl_error *err)
{
	int rc;

	for (size_t i = 0; i < CL_ARRAY_SIZE(auth.user_lock); i++)
		pthread_mutex_init(&auth.user_lock[i], NULL);
	pthread_mutex_init(&auth.admin_lock, NULL);
	if (auth.opts.store_backend == 0 && auth.opts.store_path == NULL)
		return cl_error_set(err, CL_ECONFIG, "'store_path' is needed for "
		    "the lmdb user store");
	auth.store = svc_open_store(s, backends[auth.opts.store_backend],
	    auth.opts.store_path, "authentication", err);
	if (auth.store == NULL)
		return err->code;
	if ((rc = token_load_key(&auth, err)) != 0 ||
	    (rc = password_hash(&auth, "no such user, no such password",
	    auth.dummy_hash, err)) != 0 ||
	    (rc = make_first_admin(err)) != 0)
		return rc;
	return 0;
}

static void
auth_fini(struct svc *s)
{
	(void)s;
	store_close(auth.store);
	secret_free(auth.token_key);
	auth.store = NULL;
	auth.token_key = NULL;
}

int
main(int argc, char **argv)
{
	const struct svc_desc desc = {
		.name = "authentication",
		.api = { .service = &authentication_service,
		    .handlers = auth_api_handlers },
		.internal = { .service = &authentication_internal_service,
		    .handlers = auth_internal_handlers },
		.app = &auth,
		.opts = auth_options,
		.nopts = CL_ARRAY_SIZE(auth_options),
		.opts_out = &auth.opts,
		.init = auth_init,
		.fini = auth_fini,
	};

	return svc_main(&desc, argc, argv);
}
