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

#include "attest.h"
#include "rpc_client.h"
#include "svc.h"

/*
 * Where a command finds the deployment it talks to, and how long it
 * waits.  The deployment directory (--dir, else $CLOISTER_DIR) holds the
 * build configuration and enclave info that verify every service, and
 * the runtime configuration that gives their addresses.
 */
struct cli_net {
	const char *dir;
	const char *addr;	/* --addr: overrides the runtime configuration */
	const char *user;	/* --user: act as this logged-in user */
	int64_t timeout_ms;
};

/*
 * Consume a common option at argv[*i] (advancing *i past its value).
 * Returns 1 when consumed, 0 when not a common option, -1 on a bad value.
 */
int cli_net_option(struct cli_net *net, int argc, char **argv, int *i);

/* An attested client of service svc_name (whose protocol is svc). */
struct cli_conn {
	struct svc_trust trust;
	struct attest_verifier *verifier;
	SSL_CTX *ctx;
	struct rpc_client *client;
	char addr[300];
};

/* Set up c; prints the reason and returns -1 on failure. */
int cli_connect(struct cli_conn *c, const struct cli_net *net,
    const char *svc_name, const struct rpc_service *svc);
void cli_disconnect(struct cli_conn *c);

/* Load a deployment's trust material, printing the reason on failure. */
int cli_load_trust(struct svc_trust *t, const char *dir);

/* The deployment directory: --dir, $CLOISTER_DIR, or NULL with a message. */
const char *cli_dir(const struct cli_net *net);

CL_PRINTF(1, 2) void cli_error(const char *fmt, ...);

/*
 * Attach the saved login (net->user, $CLOISTER_USER or the current one)
 * to req as "user" and "token".  Prints the reason and returns -1 when
 * there is none or it expired.
 */
int cli_attach_login(const struct cli_net *net, json_t *req);

/*
 * Call m on c's service and print a failure as "cloister: <what>: <why>",
 * with a hint to log in again when the token is refused.
 */
int cli_call(struct cli_conn *c, const struct rpc_method *m, json_t *req,
    json_t **out_resp, const char *what);

/* credentials.c */
int cred_save(const char *dir, const char *user, const char *token,
    int64_t exp);
int cred_forget(const char *dir, const char *user);
int cred_get(const char *dir, const char *user, char *out_user, size_t ulen,
    struct buf *out_token);
/* A password from file, $CLOISTER_PASSWORD, or the terminal (no echo). */
int cli_read_password(const char *prompt, const char *file, struct buf *out);

/* Every service protocol this tool knows (for cloister attest). */
extern const struct rpc_service *const cli_services[];
extern const size_t cli_nservices;

int cmd_attest(int argc, char **argv);
int cmd_dev(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_enclave_info(int argc, char **argv);
int cmd_file(int argc, char **argv);
int cmd_tee(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_function(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_audit(int argc, char **argv);

#endif
