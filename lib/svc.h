/*
 * What every Cloister service process shares at start: command line,
 * runtime configuration (the options common to all services), logging,
 * TLS, the RPC server, signals, and a readiness line.
 *
 *   cloister-<svc> [-c FILE] [-n] [-o NAME=VALUE]... [--show-config]
 *
 *   -c FILE   runtime configuration file
 *   -n        check the configuration, print "configuration OK", exit
 *   -o        override one option (repeatable), after the file
 *
 * Once listening, the service logs "ready: <svc> listening on HOST:PORT";
 * supervisors and tests wait for that line.
 */
#ifndef CL_SVC_H
#define CL_SVC_H

#include "conf.h"
#include "server.h"

struct svc_conf {
	char *listen;
	char *tls_cert;
	char *tls_key;
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

struct svc_desc {
	const char *name;
	const struct rpc_service *service;
	const rpc_handler_fn *handlers;
	void *app;
};

/* Run a service until SIGINT/SIGTERM; returns the process exit code. */
int svc_main(const struct svc_desc *desc, int argc, char **argv);

#endif
