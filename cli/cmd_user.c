/*
 * cloister user: manage users (as the logged-in user).
 *
 *   cloister user register ID --role ROLE [--attribute A] [--password-file F]
 *   cloister user update ID [--role ROLE] [--attribute A] [--password-file F]
 *   cloister user passwd [--old-password-file F] [--password-file F]
 *   cloister user reset-password ID
 *   cloister user delete ID
 *   cloister user list [--attribute A]
 */
#include "compat.h"

#include "authentication_schema.h"
#include "cli.h"
#include "secret.h"

static const char usage_text[] =
    "usage: cloister user register ID --role ROLE [--attribute A] [--password-file F]\n"
    "       cloister user update ID [--role ROLE] [--attribute A] [--password-file F]\n"
    "       cloister user passwd [--old-password-file F] [--password-file F]\n"
    "       cloister user reset-password ID\n"
    "       cloister user delete ID\n"
    "       cloister user list [--attribute A]\n"
    "\n"
    "Common options: --dir DIR (deployment; default $CLOISTER_DIR), --user ID\n"
    "(act as this logged-in user), --timeout MS.\n"
    "\n"
    "Roles: PlatformAdmin, FunctionOwner, DataOwnerManager, DataOwner; the two\n"
    "data roles need --attribute (the group they own or manage).\n"
    "A PlatformAdmin manages every user; a DataOwnerManager of A manages the\n"
    "DataOwners of A; everyone may change their own password.  Passwords are\n"
    "read from the file, $CLOISTER_PASSWORD or the terminal; at least 8\n"
    "characters.\n";

struct args {
	struct cli_net net;
	const char *cmd, *id, *role, *attr, *pwfile, *oldfile;
};

static int
parse(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&a->net, argc, argv, &i);
		const char **slot = NULL;

		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--role") == 0)
			slot = &a->role;
		else if (strcmp(argv[i], "--attribute") == 0)
			slot = &a->attr;
		else if (strcmp(argv[i], "--password-file") == 0)
			slot = &a->pwfile;
		else if (strcmp(argv[i], "--old-password-file") == 0)
			slot = &a->oldfile;
		if (slot != NULL) {
			if (i + 1 >= argc)
				return -1;
			*slot = argv[++i];
		} else if (argv[i][0] == '-') {
			return -1;
		} else if (a->cmd == NULL) {
			a->cmd = argv[i];
		} else if (a->id == NULL) {
			a->id = argv[i];
		} else {
			return -1;
		}
	}
	return a->cmd == NULL ? -1 : 0;
}

static int
add_password(json_t *req, const char *field, const char *prompt,
    const char *file)
{
	struct buf pw = BUF_INIT;
	int rc = -1;

	if (cli_read_password(prompt, file, &pw) == 0) {
		if (json_object_set_new(req, field, json_string(pw.p)) == 0)
			rc = 0;
		else
			cli_error("the password is not valid UTF-8");
	}
	secret_wipe(pw.p, pw.len);
	buf_release(&pw);
	return rc;
}

int
cmd_user(int argc, char **argv)
{
	struct args a;
	struct cli_conn c;
	const struct rpc_method *m = NULL;
	json_t *req = json_object(), *resp = NULL;
	bool needs_id;
	int rc = 1;

	if (parse(argc, argv, &a) != 0 || strcmp(a.cmd, "help") == 0) {
		fputs(usage_text, a.cmd && strcmp(a.cmd, "help") == 0 ? stdout : stderr);
		json_decref(req);
		return a.cmd && strcmp(a.cmd, "help") == 0 ? 0 : 2;
	}
	if (strcmp(a.cmd, "register") == 0)
		m = &authentication_service.methods[AUTHENTICATION_USER_REGISTER];
	else if (strcmp(a.cmd, "update") == 0)
		m = &authentication_service.methods[AUTHENTICATION_USER_UPDATE];
	else if (strcmp(a.cmd, "passwd") == 0)
		m = &authentication_service.methods[AUTHENTICATION_USER_CHANGE_PASSWORD];
	else if (strcmp(a.cmd, "reset-password") == 0)
		m = &authentication_service.methods[AUTHENTICATION_RESET_USER_PASSWORD];
	else if (strcmp(a.cmd, "delete") == 0)
		m = &authentication_service.methods[AUTHENTICATION_DELETE_USER];
	else if (strcmp(a.cmd, "list") == 0)
		m = &authentication_service.methods[AUTHENTICATION_LIST_USERS];
	if (m == NULL) {
		cli_error("unknown 'user' command '%s' (see 'cloister user help')",
		    a.cmd);
		json_decref(req);
		return 2;
	}
	needs_id = strcmp(a.cmd, "passwd") != 0 && strcmp(a.cmd, "list") != 0;
	if (needs_id != (a.id != NULL) ||
	    (strcmp(a.cmd, "register") == 0 && a.role == NULL)) {
		fputs(usage_text, stderr);
		json_decref(req);
		return 2;
	}
	if (a.id != NULL)
		json_object_set_new(req, "id", json_string(a.id));
	if (a.role != NULL)
		json_object_set_new(req, "role", json_string(a.role));
	if (a.attr != NULL)
		json_object_set_new(req, "attribute", json_string(a.attr));
	if (cli_attach_login(&a.net, req) != 0)
		goto out;
	if (strcmp(a.cmd, "register") == 0 &&
	    add_password(req, "password", "password for the new user: ",
	    a.pwfile) != 0)
		goto out;
	if (strcmp(a.cmd, "update") == 0 && a.pwfile != NULL &&
	    add_password(req, "password", "", a.pwfile) != 0)
		goto out;
	if (strcmp(a.cmd, "passwd") == 0 &&
	    (add_password(req, "old_password", "current password: ",
	    a.oldfile) != 0 ||
	    add_password(req, "password", "new password: ", a.pwfile) != 0))
		goto out;
	if (cli_connect(&c, &a.net, "authentication", &authentication_service) != 0)
		goto out;
	if (cli_call(&c, m, req, &resp, a.cmd) == 0) {
		rc = 0;
		if (strcmp(a.cmd, "list") == 0) {
			size_t i;
			json_t *v;

			json_array_foreach(json_object_get(resp, "ids"), i, v)
				printf("%s\n", json_string_value(v));
		} else if (strcmp(a.cmd, "reset-password") == 0) {
			printf("new password of '%s': %s\n", a.id,
			    json_string_value(json_object_get(resp, "password")));
		} else if (strcmp(a.cmd, "passwd") == 0) {
			printf("password changed; log in again\n");
		} else if (strcmp(a.cmd, "register") == 0) {
			printf("registered '%s' as %s%s%s\n", a.id, a.role,
			    a.attr ? " of " : "", a.attr ? a.attr : "");
		} else {
			printf("%s '%s': done\n", a.cmd, a.id);
		}
	}
	cli_disconnect(&c);
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}
