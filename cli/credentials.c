/*
 * Saved logins of the cloister tool.
 *
 * One file, $CLOISTER_CREDENTIALS or ~/.config/cloister/credentials.json,
 * mode 0600, remembers for each deployment directory the tokens of the
 * users who logged in there and which of them commands act as by default:
 *
 *   { "<deployment dir>": { "current": "alice",
 *       "users": { "alice": { "token": "...", "expires_at": 1795459999 } } } }
 *
 * The token is a bearer credential for its lifetime: the file is refused
 * if others can read it.
 */
#include "compat.h"

#include <sys/stat.h>

#include <jansson.h>
#include <termios.h>
#include <time.h>

#include "cli.h"
#include "crypto.h"
#include "secret.h"

static void
cred_path(char *out, size_t len)
{
	const char *env = getenv("CLOISTER_CREDENTIALS");
	const char *home = getenv("HOME");

	if (env != NULL && env[0] != '\0')
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/.config/cloister/credentials.json",
		    home ? home : ".");
}

static json_t *
cred_load(void)
{
	char path[1024];
	struct buf text = BUF_INIT;
	struct stat st;
	json_t *root = NULL;

	cred_path(path, sizeof(path));
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		cli_error("'%s' is readable by others: refusing to use it (chmod "
		    "600)", path);
		exit(1);
	}
	if (crypto_read_file(path, 1 << 20, &text, NULL) == 0)
		root = json_loadb(text.p, text.len, 0, NULL);
	buf_release(&text);
	if (!json_is_object(root)) {
		json_decref(root);
		root = json_object();
	}
	return root;
}

static int
cred_store(json_t *root)
{
	char path[1024], dir[1024], *slash;
	struct cl_error err;
	char *text;
	int rc;

	cred_path(path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (getenv("CLOISTER_CREDENTIALS") == NULL) {
			char parent[1024];

			snprintf(parent, sizeof(parent), "%s", dir);
			if ((slash = strrchr(parent, '/')) != NULL) {
				*slash = '\0';
				mkdir(parent, 0700);
			}
		}
		mkdir(dir, 0700);
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	cl_error_clear(&err);
	rc = crypto_write_file(path, text, strlen(text), 0600, &err);
	if (rc != 0)
		cli_error("cannot save the login: %s", err.message);
	secret_wipe(text, strlen(text));
	free(text);
	return rc;
}

static json_t *
deployment(json_t *root, const char *dir, bool create)
{
	char real[4096];
	json_t *d;

	if (realpath(dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", dir);
	d = json_object_get(root, real);
	if (d == NULL && create) {
		d = json_pack("{s:o}", "users", json_object());
		json_object_set_new(root, real, d);
	}
	return d;
}

int
cred_save(const char *dir, const char *user, const char *token, int64_t exp)
{
	json_t *root = cred_load(), *d = deployment(root, dir, true);
	int rc;

	json_object_set_new(json_object_get(d, "users"), user,
	    json_pack("{s:s, s:I}", "token", token, "expires_at", (json_int_t)exp));
	json_object_set_new(d, "current", json_string(user));
	rc = cred_store(root);
	json_decref(root);
	return rc;
}

int
cred_forget(const char *dir, const char *user)
{
	json_t *root = cred_load(), *d = deployment(root, dir, false);
	const char *cur;
	int rc = 0;

	if (d != NULL) {
		json_object_del(json_object_get(d, "users"), user);
		cur = json_string_value(json_object_get(d, "current"));
		if (cur != NULL && strcmp(cur, user) == 0)
			json_object_del(d, "current");
		rc = cred_store(root);
	}
	json_decref(root);
	return rc;
}

int
cred_get(const char *dir, const char *user, char *out_user, size_t ulen,
    struct buf *out_token)
{
	json_t *root = cred_load(), *d = deployment(root, dir, false), *u;
	const char *name = user ? user : getenv("CLOISTER_USER");
	const char *tok;
	int64_t exp;
	int rc = -1;

	if (name == NULL || name[0] == '\0')
		name = d ? json_string_value(json_object_get(d, "current")) : NULL;
	if (name == NULL) {
		cli_error("you are not logged in to '%s': run 'cloister login ID'",
		    dir);
		goto out;
	}
	u = d ? json_object_get(json_object_get(d, "users"), name) : NULL;
	tok = json_string_value(json_object_get(u, "token"));
	exp = json_integer_value(json_object_get(u, "expires_at"));
	if (tok == NULL) {
		cli_error("'%s' is not logged in to '%s': run 'cloister login %s'",
		    name, dir, name);
		goto out;
	}
	if (exp <= (int64_t)time(NULL)) {
		cli_error("the login of '%s' has expired: run 'cloister login %s'",
		    name, name);
		goto out;
	}
	snprintf(out_user, ulen, "%s", name);
	buf_clear(out_token);
	buf_adds(out_token, tok);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
cli_read_password(const char *prompt, const char *file, struct buf *out)
{
	const char *env = getenv("CLOISTER_PASSWORD");
	struct termios old, quiet;
	struct cl_error err;
	char line[1100];
	FILE *tty;
	bool restore;

	buf_clear(out);
	if (file != NULL) {
		cl_error_clear(&err);
		if (crypto_read_file(file, sizeof(line), out, &err) != 0) {
			cli_error("%s", err.message);
			return -1;
		}
	} else if (env != NULL) {
		buf_adds(out, env);
	} else {
		if ((tty = fopen("/dev/tty", "r+")) == NULL) {
			cli_error("no terminal to ask for a password: use "
			    "--password-file FILE or CLOISTER_PASSWORD");
			return -1;
		}
		fprintf(tty, "%s", prompt);
		fflush(tty);
		restore = tcgetattr(fileno(tty), &old) == 0;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (restore)
			tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
		if (fgets(line, sizeof(line), tty) == NULL)
			line[0] = '\0';
		if (restore)
			tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fprintf(tty, "\n");
		fclose(tty);
		buf_adds(out, line);
		secret_wipe(line, sizeof(line));
	}
	while (out->len > 0 && (out->p[out->len - 1] == '\n' ||
	    out->p[out->len - 1] == '\r'))
		buf_setlen(out, out->len - 1);
	if (out->len == 0) {
		cli_error("empty password");
		return -1;
	}
	return 0;
}
