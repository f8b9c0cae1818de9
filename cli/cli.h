/*
 * The cloister command-line tool: shared declarations.
 *
 * Each subcommand lives in cli/cmd_<name>.c as
 *   int cmd_<name>(int argc, char **argv)
 * with argv[0] the subcommand name, and is listed in the table in
 * cli/cloister.c (git's builtin/ layout).  Subcommands print results to
 * stdout and errors to stderr as "cloister: <what failed>: <why>", and
 * return the process exit code: 0 success, 1 failure, 2 usage error.
 */
#ifndef CL_CLI_H
#define CL_CLI_H

#include <openssl/ssl.h>

#include "rpc_client.h"

/* Options every network subcommand accepts. */
struct cli_net {
	const char *ca;		/* --ca FILE: CA certificate(s) to verify the server */
	int64_t timeout_ms;	/* --timeout MS */
};

/*
 * Consume a common option at argv[*i] (advancing *i past its value).
 * Returns 1 when consumed, 0 when not a common option, -1 on a bad value.
 */
int cli_net_option(struct cli_net *net, int argc, char **argv, int *i);

/* A client for service at addr, per net.  Exits 1 with a message on failure. */
struct rpc_client *cli_client(const struct cli_net *net, const char *addr,
    const struct rpc_service *svc, SSL_CTX **out_ctx);

CL_PRINTF(1, 2) void cli_error(const char *fmt, ...);

int cmd_echo(int argc, char **argv);

#endif
