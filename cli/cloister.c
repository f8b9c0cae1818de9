/*
 * cloister: the command-line tool for users of a Cloister platform.
 *
 *   cloister <command> [options] [arguments]
 *   cloister help [command]
 *
 * Dispatch is a table of subcommands (name, function, one-line summary);
 * each lives in its own cli/cmd_<name>.c.
 */
#include "compat.h"

#include "cli.h"
#include "client.h"
#include "authentication_internal_schema.h"
#include "authentication_schema.h"
#include "echo_schema.h"
#include "frontend_schema.h"
#include "log.h"
#include "tls.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd commands[] = {
	{ "attest", cmd_attest, "connect to a service and show what it proves" },
	{ "audit", cmd_audit, "read and verify the audit log" },
	{ "data", cmd_data, "register and inspect input and output files" },
	{ "dev", cmd_dev, "make development keys and build configuration" },
	{ "echo", cmd_echo, "talk to an echo service (ping, say)" },
	{ "enclave-info", cmd_enclave_info, "generate, sign or verify enclave info" },
	{ "file", cmd_file, "encrypt, decrypt and make keys for data files" },
	{ "function", cmd_function, "register, inspect and manage functions" },
	{ "login", cmd_login, "log in; later commands act as this user" },
	{ "logout", cmd_logout, "forget a saved login" },
	{ "task", cmd_task, "create, approve, invoke and follow tasks" },
	{ "tee", cmd_tee, "show which TEE interfaces this host offers" },
	{ "user", cmd_user, "register, update, list and delete users; passwords" },
	{ "whoami", cmd_whoami, "who the platform says you are" },
};

const struct rpc_service *const cli_services[] = {
	&authentication_service,
	&authentication_internal_service,
	&echo_service,
	&frontend_service,
};
const size_t cli_nservices = CL_ARRAY_SIZE(cli_services);

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: cloister [--dir DIR] [--user ID] <command> [options] "
	    "[arguments]\n\n"
	    "  --dir DIR   the deployment (default $CLOISTER_DIR)\n"
	    "  --user ID   act as this logged-in user (default: the last to "
	    "log in)\n\ncommands:\n");
	for (size_t i = 0; i < CL_ARRAY_SIZE(commands); i++)
		fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\nRun 'cloister <command> --help' for a command's options.\n");
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cloister: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_net_option(struct cli_net *net, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--dir") != 0 && strcmp(a, "--addr") != 0 &&
	    strcmp(a, "--timeout") != 0 && strcmp(a, "--user") != 0)
		return 0;
	if (*i + 1 >= argc) {
		cli_error("option '%s' needs a value", a);
		return -1;
	}
	if (strcmp(a, "--dir") == 0) {
		net->dir = argv[++*i];
	} else if (strcmp(a, "--addr") == 0) {
		net->addr = argv[++*i];
	} else if (strcmp(a, "--user") == 0) {
		net->user = argv[++*i];
	} else {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(argv[++*i], &end, 10);
		if (errno != 0 || *end != '\0' || v <= 0 || v > 3600000) {
			cli_error("--timeout needs milliseconds (1 to 3600000), "
			    "not '%s'", argv[*i]);
			return -1;
		}
		net->timeout_ms = v;
	}
	return 1;
}

const char *
cli_dir(const struct cli_net *net)
{
	const char *d = net->dir ? net->dir : getenv("CLOISTER_DIR");

	if (d == NULL || d[0] == '\0')
		cli_error("no deployment directory: use --dir DIR or set "
		    "CLOISTER_DIR (cloisterd up --dir DIR makes one)");
	return d && d[0] ? d : NULL;
}

int
cli_load_trust(struct svc_trust *t, const char *dir)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (cl_deploy_trust(t, dir, &err) != 0) {
		cli_error("%s", err.message);
		return -1;
	}
	return 0;
}

int
cli_connect(struct cli_conn *c, const struct cli_net *net, const char *svc_name,
    const struct rpc_service *svc)
{
	struct cl_error err;
	const char *dir;

	memset(c, 0, sizeof(*c));
	cl_error_clear(&err);
	if ((dir = cli_dir(net)) == NULL || cli_load_trust(&c->trust, dir) != 0)
		return -1;
	if (net->addr != NULL) {
		snprintf(c->addr, sizeof(c->addr), "%s", net->addr);
	} else if (cl_deploy_addr(dir, svc_name, c->addr, sizeof(c->addr),
	    &err) != 0) {
		cli_error("%s (use --addr HOST:PORT)", err.message);
		goto fail;
	}
	c->verifier = attest_verifier_new(&c->trust.bc, &c->trust.ei);
	if ((c->client = cl_attested_client(&c->trust, c->verifier, svc_name,
	    svc, c->addr, net->timeout_ms, &c->ctx, &err)) == NULL) {
		cli_error("%s", err.message);
		goto fail;
	}
	return 0;
fail:
	cli_disconnect(c);
	return -1;
}

int
cli_attach_login(const struct cli_net *net, json_t *req)
{
	const char *dir = cli_dir(net);
	struct buf token = BUF_INIT;
	char user[256];

	if (dir == NULL || cred_get(dir, net->user, user, sizeof(user), &token) != 0) {
		buf_release(&token);
		return -1;
	}
	json_object_set_new(req, "user", json_string(user));
	json_object_set_new(req, "token", json_string(token.p));
	buf_release(&token);
	return 0;
}

int
cli_call(struct cli_conn *c, const struct rpc_method *m, json_t *req,
    json_t **out_resp, const char *what)
{
	struct cl_error err;
	int rc;

	cl_error_clear(&err);
	rc = rpc_client_call(c->client, m, req, out_resp, &err);
	if (rc == 0)
		return 0;
	cli_error("%s: %s", what, err.message);
	if (rc == CL_EAUTH && strcmp(m->name, "user_login") != 0)
		fprintf(stderr, "(log in again with 'cloister login ID')\n");
	return rc;
}

void
cli_disconnect(struct cli_conn *c)
{
	rpc_client_free(c->client);
	SSL_CTX_free(c->ctx);
	attest_verifier_free(c->verifier);
	svc_trust_release(&c->trust);
	memset(c, 0, sizeof(*c));
}

int
main(int argc, char **argv)
{
	log_init("cloister", "cli", LOG_LVL_WARN, LOG_FMT_TEXT);
	/* --dir and --user may also come before the command */
	while (argc > 2 && (strcmp(argv[1], "--dir") == 0 ||
	    strcmp(argv[1], "--user") == 0)) {
		setenv(argv[1][2] == 'd' ? "CLOISTER_DIR" : "CLOISTER_USER",
		    argv[2], 1);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2) {
			char *sub[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < CL_ARRAY_SIZE(commands); i++)
				if (strcmp(commands[i].name, argv[2]) == 0)
					return commands[i].fn(2, sub);
			cli_error("unknown command '%s'", argv[2]);
			return 2;
		}
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'cloister help')", argv[1]);
	return 2;
}
