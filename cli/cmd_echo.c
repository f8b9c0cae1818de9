/*
 * cloister echo: talk to an echo service.
 *
 *   cloister echo [--ca FILE] [--timeout MS] HOST:PORT ping
 *   cloister echo [--ca FILE] [--timeout MS] HOST:PORT say MESSAGE
 */
#include "compat.h"

#include "cli.h"
#include "echo_schema.h"

static const char usage_text[] =
    "usage: cloister echo [--ca FILE] [--timeout MS] HOST:PORT ping\n"
    "       cloister echo [--ca FILE] [--timeout MS] HOST:PORT say MESSAGE\n"
    "\n"
    "  --ca FILE      CA certificate(s) that must have signed the server's\n"
    "  --timeout MS   give up after MS milliseconds (default 30000)\n";

int
cmd_echo(int argc, char **argv)
{
	struct cli_net net = { 0 };
	const char *pos[3];
	int npos = 0, rc;
	struct cl_error err;
	struct rpc_client *cl;
	json_t *req = NULL, *resp = NULL;
	const struct rpc_method *m;
	SSL_CTX *ctx;

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
		if (argv[i][0] == '-' || npos == 3) {
			fputs(usage_text, stderr);
			return 2;
		}
		pos[npos++] = argv[i];
	}
	if (npos < 2 || (strcmp(pos[1], "say") == 0) != (npos == 3) ||
	    (strcmp(pos[1], "say") != 0 && strcmp(pos[1], "ping") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	m = rpc_find(&echo_service, pos[1]);
	if (npos == 3)
		req = json_pack("{s:s}", "message", pos[2]);
	if (npos == 3 && req == NULL) {
		cli_error("message is not valid UTF-8");
		return 1;
	}
	cl = cli_client(&net, pos[0], &echo_service, &ctx);
	cl_error_clear(&err);
	rc = rpc_client_call(cl, m, req, &resp, &err);
	if (rc != 0)
		cli_error("%s to '%s' failed: %s", m->name, pos[0], err.message);
	else if (npos == 3)
		printf("%s\n", json_string_value(json_object_get(resp, "message")));
	else
		printf("%s protocol version %lld\n",
		    json_string_value(json_object_get(resp, "service")),
		    (long long)json_integer_value(json_object_get(resp, "version")));
	json_decref(req);
	json_decref(resp);
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	return rc == 0 ? 0 : 1;
}
