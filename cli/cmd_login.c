/*
 * cloister login / logout: save and forget a user's token for a
 * deployment.
 *
 *   cloister login [--dir DIR] [--password-file FILE] ID
 *   cloister logout [--dir DIR] [ID]
 *
 * The password comes from --password-file, $CLOISTER_PASSWORD, or the
 * terminal.  Later commands act as the last user who logged in, or as
 * --user ID / $CLOISTER_USER.
 */
#include "compat.h"

#include <time.h>

#include "authentication_schema.h"
#include "cli.h"
#include "secret.h"

static const char login_usage[] =
    "usage: cloister login [--dir DIR] [--password-file FILE] ID\n"
    "\n"
    "Log in as ID; later commands act as ID (or as --user / $CLOISTER_USER\n"
    "among the users logged in).  The password is read from FILE, from\n"
    "$CLOISTER_PASSWORD, or from the terminal.\n";

int
cmd_login(int argc, char **argv)
{
	struct cli_net net = { 0 };
	const char *id = NULL, *pwfile = NULL, *dir;
	struct buf pw = BUF_INIT;
	struct cli_conn c;
	json_t *req, *resp = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&net, argc, argv, &i);

		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0) {
			fputs(login_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			pwfile = argv[++i];
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else {
			fputs(login_usage, stderr);
			return 2;
		}
	}
	if (id == NULL) {
		fputs(login_usage, stderr);
		return 2;
	}
	if ((dir = cli_dir(&net)) == NULL ||
	    cli_read_password("password: ", pwfile, &pw) != 0)
		return 1;
	if (cli_connect(&c, &net, "authentication", &authentication_service) != 0)
		goto out;
	req = json_pack("{s:s, s:s}", "id", id, "password", pw.p);
	if (req != NULL && cli_call(&c, &authentication_service.methods[
	    AUTHENTICATION_USER_LOGIN], req, &resp, "login failed") == 0) {
		const char *token = json_string_value(json_object_get(resp, "token"));
		int64_t exp = json_integer_value(json_object_get(resp, "expires_at"));

		if (cred_save(dir, id, token, exp) == 0) {
			printf("logged in as '%s' for %" PRId64 " minutes\n", id,
			    (exp - (int64_t)time(NULL) + 30) / 60);
			rc = 0;
		}
	}
	if (req == NULL)
		cli_error("the password is not valid UTF-8");
	json_decref(req);
	json_decref(resp);
	cli_disconnect(&c);
out:
	secret_wipe(pw.p, pw.len);
	buf_release(&pw);
	return rc;
}

int
cmd_logout(int argc, char **argv)
{
	struct cli_net net = { 0 };
	const char *id = NULL, *dir;
	struct buf token = BUF_INIT;
	char user[256];

	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&net, argc, argv, &i);

		if (r < 0)
			return 2;
		if (r == 0 && argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else if (r == 0) {
			fputs("usage: cloister logout [--dir DIR] [ID]\n", stderr);
			return 2;
		}
	}
	if ((dir = cli_dir(&net)) == NULL)
		return 1;
	if (id == NULL) {
		if (cred_get(dir, NULL, user, sizeof(user), &token) != 0)
			return 1;
		id = user;
	}
	buf_release(&token);
	if (cred_forget(dir, id) != 0)
		return 1;
	printf("forgot the login of '%s'\n", id);
	return 0;
}
