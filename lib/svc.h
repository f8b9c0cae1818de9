/*
 * What every Cloister service process shares at start: command line,
 * runtime configuration, logging, hardening, attestation, its endpoints,
 * signals, and a readiness line.
 *
 *   cloister-<svc> [-c FILE] [-n] [-o NAME=VALUE]... [--show-config]
 *
 *   -c FILE   runtime configuration (lines before any [section], and the
 *             lines of [<svc>])
 *   -n        check everything that start-up checks, print
 *             "configuration OK", exit
 *   -o        override one option (repeatable), after the file
 *
 * Start-up refuses, with the reason, unless: the build configuration
 * loads; every auditor's signature on the enclave info verifies; this
 * executable's measurement is the one the enclave info lists for this
 * service.  Then each endpoint gets attested TLS: the API endpoint (listen)
 * verifies nothing of clients; the internal endpoint (internal_listen)
 * requires an attested client listed in the build configuration's inbound
 * peers for this service.
 *
 * Once every endpoint listens, the service logs one line that
 * supervisors and tests wait for:
 *   "ready: <svc> api=HOST:PORT internal=HOST:PORT measurement=HEX"
 */
#ifndef CL_SVC_H
#define CL_SVC_H

#include "attest.h"
#include "buildconf.h"
#include "conf.h"
#include "enclave_info.h"
#include "rpc_client.h"
#include "server.h"

struct svc_conf {
	char *build_config;
	char *enclave_info;
	char *enclave_info_sigs;
	int attestation;
	char *attestation_key;
	char *listen;
	char *internal_listen;
	char *internal_advertise;
	int log_level;
	int log_format;
	int64_t io_threads;
	int64_t workers;
	int64_t max_frame;
	int64_t idle_timeout_ms;
	int64_t handshake_timeout_ms;
	int64_t max_connections;
};

extern const struct conf_option svc_conf_options[];
extern const size_t svc_conf_noptions;
extern const char *const svc_attestation_backends[];

struct svc_endpoint_desc {
	const struct rpc_service *service;	/* NULL = no such endpoint */
	const rpc_handler_fn *handlers;
	const bool *inline_methods;	/* server_config.inline_methods; may be
					 * filled by init */
};

struct svc;

struct svc_desc {
	const char *name;
	struct svc_endpoint_desc api;
	struct svc_endpoint_desc internal;
	void *app;			/* handlers' rpc_ctx.app */
	/* the service's own runtime options, written into opts_out */
	const struct conf_option *opts;
	size_t nopts;
	void *opts_out;
	/*
	 * Called once trust is set up and before any endpoint listens (and
	 * also with -n, to check everything); a failure stops the start
	 * with err's reason.  fini runs after the endpoints are gone.
	 */
	int (*init)(struct svc *s, struct cl_error *err);
	void (*fini)(struct svc *s);
};

/* What init and handlers may use of the running service. */
const char *svc_name(const struct svc *s) CL_NONNULL(1);
struct tee *svc_tee(struct svc *s) CL_NONNULL(1);
const struct svc_trust *svc_trust_of(const struct svc *s) CL_NONNULL(1);
bool svc_check_only(const struct svc *s) CL_NONNULL(1);

/*
 * Open a store sealed with this deployment's key for purpose label (see
 * tee_seal_key).  Caller owns; store_close releases it.
 */
struct store *svc_open_store(struct svc *s, const char *backend,
    const char *location, const char *label, struct cl_error *err)
	CL_NONNULL(1, 2, 4) CL_WUR;

/*
 * A client of peer's internal endpoint at addr, presenting this service's
 * attested identity and accepting only the service named peer.  The
 * client belongs to s (freed with it).
 */
struct rpc_client *svc_peer_client(struct svc *s, const char *peer,
    const char *addr, const struct rpc_service *proto, struct cl_error *err)
	CL_NONNULL(1, 2, 3, 4) CL_WUR;

/* Run a service until SIGINT/SIGTERM; returns the process exit code. */
int svc_main(const struct svc_desc *desc, int argc, char **argv);

/*
 * The trust material a process loads at start (services, the CLI, the
 * supervisor): build configuration and verified enclave info.
 */
struct svc_trust {
	struct buildconf bc;
	struct enclave_info ei;
};

int svc_trust_load(struct svc_trust *t, const char *build_config,
    const char *enclave_info, const char *sigdir, struct cl_error *err)
	CL_NONNULL(1, 2, 3) CL_WUR;
void svc_trust_release(struct svc_trust *t);

#endif
