/*
 * cloister echo: talk to an echo service.
 *
 *   cloister echo [--dir DIR] [--addr HOST:PORT] [--timeout MS] ping
 *   cloister echo [--dir DIR] [--addr HOST:PORT] [--timeout MS] say MESSAGE
 *   cloister echo --frontend [--user ID] say MESSAGE
 */
#include "compat.h"

#include "cli.h"
#include "echo_schema.h"
#include "frontend_schema.h"

static const char usage_text[] =
    "usage: cloister echo [--dir DIR] [--addr HOST:PORT] [--timeout MS] ping\n"
    "       cloister echo [--dir DIR] [--addr HOST:PORT] [--timeout MS] say MESSAGE\n"
    "\n"
    "  --dir DIR         deployment directory (default: $CLOISTER_DIR); its\n"
    "                    build configuration and enclave info verify the\n"
    "                    service, its runtime.conf gives the address\n"
    "  --addr HOST:PORT  talk to this address instead\n"
    "  --frontend        say it through the frontend, as the logged-in user\n"
    "                    (--user ID): echo answers with who the frontend\n"
    "                    vouched for\n"
    "  --timeout MS      give up after MS milliseconds (default 30000)\n";

int
cmd_echo(int argc, char **argv)
{
	struct cli_net net = { 0 };
	const char *pos[2];
	bool door = false;
	int npos = 0, rc;
	struct cl_error err;
	struct cli_conn c;
	json_t *req = NULL, *resp = NULL;
	const struct rpc_method *m;

	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&net, argc, argv, &i);

		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--frontend") == 0) {
			door = true;
			continue;
		}
		if (argv[i][0] == '-' || npos == 2) {
			fputs(usage_text, stderr);
			return 2;
		}
		pos[npos++] = argv[i];
	}
	if (npos < 1 || (strcmp(pos[0], "say") == 0) != (npos == 2) ||
	    (strcmp(pos[0], "say") != 0 && strcmp(pos[0], "ping") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	m = rpc_find(&echo_service, pos[0]);
	if (npos == 2 && (req = json_pack("{s:s}", "message", pos[1])) == NULL) {
		cli_error("message is not valid UTF-8");
		return 1;
	}
	if (door) {
		if (npos != 2) {
			cli_error("only 'say' goes through the frontend");
			json_decref(req);
			return 2;
		}
		m = &frontend_service.methods[FRONTEND_SAY];
		if (cli_attach_login(&net, req) != 0 ||
		    cli_connect(&c, &net, "frontend", &frontend_service) != 0) {
			json_decref(req);
			return 1;
		}
	} else if (cli_connect(&c, &net, "echo", &echo_service) != 0) {
		json_decref(req);
		return 1;
	}
	cl_error_clear(&err);
	rc = rpc_client_call(c.client, m, req, &resp, &err);
	if (rc != 0)
		cli_error("%s to '%s' failed: %s", m->name, c.addr, err.message);
	else if (npos == 2 && json_object_get(resp, "caller_id") != NULL)
		printf("%s  (echo heard it from '%s', %s, via the frontend)\n",
		    json_string_value(json_object_get(resp, "message")),
		    json_string_value(json_object_get(resp, "caller_id")),
		    json_string_value(json_object_get(resp, "caller_role")));
	else if (npos == 2)
		printf("%s\n", json_string_value(json_object_get(resp, "message")));
	else
		printf("%s protocol version %lld\n",
		    json_string_value(json_object_get(resp, "service")),
		    (long long)json_integer_value(json_object_get(resp, "version")));
	json_decref(req);
	json_decref(resp);
	cli_disconnect(&c);
	return rc == 0 ? 0 : 1;
}
