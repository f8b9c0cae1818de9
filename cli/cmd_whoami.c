/*
 * cloister whoami: who the frontend says you are (checks the saved login
 * through the API door, as every platform call does).
 */
#include "compat.h"

#include <time.h>

#include "cli.h"
#include "frontend_schema.h"

int
cmd_whoami(int argc, char **argv)
{
	struct cli_net net = { 0 };
	struct cli_conn c;
	json_t *req = json_object(), *resp = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&net, argc, argv, &i);

		if (r <= 0) {
			fputs("usage: cloister whoami [--dir DIR] [--user ID]\n",
			    r == 0 && strcmp(argv[i], "--help") == 0 ? stdout : stderr);
			json_decref(req);
			return r == 0 && strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (cli_attach_login(&net, req) != 0 ||
	    cli_connect(&c, &net, "frontend", &frontend_service) != 0) {
		json_decref(req);
		return 1;
	}
	if (cli_call(&c, &frontend_service.methods[FRONTEND_WHOAMI], req, &resp,
	    "whoami") == 0) {
		const char *attr = json_string_value(json_object_get(resp, "attribute"));
		int64_t exp = json_integer_value(json_object_get(resp, "expires_at"));

		printf("%s, %s%s%s; login valid for %" PRId64 " more minutes\n",
		    json_string_value(json_object_get(resp, "id")),
		    json_string_value(json_object_get(resp, "role")),
		    attr && attr[0] ? " of " : "", attr ? attr : "",
		    (exp - (int64_t)time(NULL)) / 60);
		rc = 0;
	}
	json_decref(req);
	json_decref(resp);
	cli_disconnect(&c);
	return rc;
}
