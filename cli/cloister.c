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
#include "log.h"
#include "tls.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd commands[] = {
	{ "echo", cmd_echo, "talk to an echo service (ping, say)" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: cloister <command> [options] [arguments]\n\n"
	    "commands:\n");
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

	if (strcmp(a, "--ca") == 0 || strcmp(a, "--timeout") == 0) {
		if (*i + 1 >= argc) {
			cli_error("option '%s' needs a value", a);
			return -1;
		}
		if (a[2] == 'c') {
			net->ca = argv[++*i];
		} else {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(argv[++*i], &end, 10);
			if (errno != 0 || *end != '\0' || v <= 0 || v > 3600000) {
				cli_error("--timeout needs milliseconds (1 to "
				    "3600000), not '%s'", argv[*i]);
				return -1;
			}
			net->timeout_ms = v;
		}
		return 1;
	}
	return 0;
}

struct rpc_client *
cli_client(const struct cli_net *net, const char *addr,
    const struct rpc_service *svc, SSL_CTX **out_ctx)
{
	struct rpc_client_config cc = { 0 };
	struct cl_error err;
	struct rpc_client *cl;
	SSL_CTX *ctx;

	cl_error_clear(&err);
	if (net->ca == NULL) {
		cli_error("no CA certificate to verify '%s' with (use --ca FILE)",
		    addr);
		exit(1);
	}
	tls_global_init();
	if ((ctx = tls_client_ctx_new(net->ca, svc->alpn, &err)) == NULL) {
		cli_error("%s", err.message);
		exit(1);
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	cc.addr = addr;
	cc.tls = ctx;
	cc.service = svc;
	cc.timeout_ms = net->timeout_ms;
	if ((cl = rpc_client_new(&cc, &err)) == NULL) {
		cli_error("%s", err.message);
		SSL_CTX_free(ctx);
		exit(1);
	}
	*out_ctx = ctx;
	return cl;
}

int
main(int argc, char **argv)
{
	log_init("cloister", "cli", LOG_LVL_WARN, LOG_FMT_TEXT);
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
