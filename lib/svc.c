/*
 * Common service start-up and the shared runtime options.
 */
#include "compat.h"

#include <signal.h>

#include "conf.h"
#include "log.h"
#include "svc.h"
#include "tls.h"

static const char *const level_choices[] = { "fatal", "warn", "info", "debug", NULL };
static const char *const format_choices[] = { "text", "json", NULL };

#define O(f) offsetof(struct svc_conf, f)
const struct conf_option svc_conf_options[] = {
	{ "listen", CONF_ADDR, O(listen), 0, 0, "127.0.0.1:0", NULL, 0,
	  "address to listen on; port 0 picks a free port" },
	{ "tls_cert", CONF_PATH, O(tls_cert), 0, 0, NULL, NULL, CONF_REQUIRED,
	  "PEM certificate chain of this service" },
	{ "tls_key", CONF_PATH, O(tls_key), 0, 0, NULL, NULL, CONF_REQUIRED,
	  "PEM private key of the certificate" },
	{ "log_level", CONF_ENUM, O(log_level), 0, 0, "info", level_choices, 0,
	  "least severe level logged" },
	{ "log_format", CONF_ENUM, O(log_format), 0, 0, "text", format_choices, 0,
	  "text lines, or one JSON object per line" },
	{ "io_threads", CONF_INT, O(io_threads), 0, CL_IO_THREADS_MAX, "0", NULL, 0,
	  "event-loop threads; 0 = one per CPU, at most 4" },
	{ "workers", CONF_INT, O(workers), 0, CL_WORKERS_MAX, "0", NULL, 0,
	  "request-handler threads; 0 = two per CPU" },
	{ "max_frame", CONF_SIZE, O(max_frame), CL_FRAME_MAX_FLOOR,
	  CL_FRAME_MAX_CEILING, "16M", NULL, 0,
	  "largest request or response frame" },
	{ "idle_timeout", CONF_DURATION, O(idle_timeout_ms), 1,
	  CL_IDLE_TIMEOUT_MS_MAX, "60s", NULL, 0,
	  "close a connection silent this long, even mid-frame" },
	{ "handshake_timeout", CONF_DURATION, O(handshake_timeout_ms), 1, 600000,
	  "10s", NULL, 0, "close a connection whose TLS handshake takes longer" },
	{ "max_connections", CONF_INT, O(max_connections), 1,
	  CL_MAX_CONNECTIONS_CEILING, "4096", NULL, 0,
	  "simultaneous connections; more are refused" },
};
#undef O
const size_t svc_conf_noptions = CL_ARRAY_SIZE(svc_conf_options);
_Static_assert(CL_ARRAY_SIZE(svc_conf_options) <= 16, "grow opts[] in svc_main");

static struct server *running;
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: cloister-%s [-c FILE] [-n] [-o NAME=VALUE]... "
	    "[--show-config]\n", name);
	exit(2);
}

int
svc_main(const struct svc_desc *desc, int argc, char **argv)
{
	struct svc_conf conf = { 0 };
	struct server_config sc = { 0 };
	struct cl_error err;
	const char *path = NULL;
	bool check_only = false, show = false;
	struct conf_option opts[16];
	const char *override[64];
	size_t noverride = 0;
	struct sigaction sa = { 0 };
	sigset_t mask, old;
	SSL_CTX *tls;
	int i;

	log_init(desc->name, "main", LOG_LVL_INFO, LOG_FMT_TEXT);
	cl_error_clear(&err);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-n") == 0)
			check_only = true;
		else if (strcmp(argv[i], "--show-config") == 0)
			show = true;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc &&
		    noverride < CL_ARRAY_SIZE(override))
			override[noverride++] = argv[++i];
		else
			usage(desc->name);
	}

	/*
	 * Defaults, then the file, then -o overrides; required options are
	 * checked once all three are applied, so -o may supply them.
	 */
	memcpy(opts, svc_conf_options, svc_conf_noptions * sizeof(opts[0]));
	for (size_t k = 0; k < svc_conf_noptions; k++)
		opts[k].flags &= ~(unsigned)CONF_REQUIRED;
	if (conf_load(opts, svc_conf_noptions, &conf, path, &err) != 0)
		goto config_fail;
	for (size_t k = 0; k < noverride; k++) {
		const char *eq = strchr(override[k], '=');
		char name[64];

		if (eq == NULL || eq == override[k] ||
		    (size_t)(eq - override[k]) >= sizeof(name)) {
			cl_error_set(&err, CL_ECONFIG, "-o needs NAME=VALUE, not "
			    "'%s'", override[k]);
			goto config_fail;
		}
		memcpy(name, override[k], (size_t)(eq - override[k]));
		name[eq - override[k]] = '\0';
		if (conf_set(opts, svc_conf_noptions, &conf, name, eq + 1,
		    "(command line)", 0, &err) != 0)
			goto config_fail;
	}
	for (size_t k = 0; k < svc_conf_noptions; k++) {
		const char *const *sp = (const char *const *)(const void *)
		    ((const char *)&conf + svc_conf_options[k].offset);

		if ((svc_conf_options[k].flags & CONF_REQUIRED) && *sp == NULL) {
			cl_error_set(&err, CL_ECONFIG, "required option '%s' is not "
			    "set (use -c FILE or -o %s=...)",
			    svc_conf_options[k].name, svc_conf_options[k].name);
			goto config_fail;
		}
	}
	log_init(desc->name, "main", (enum log_level)conf.log_level,
	    (enum log_format)conf.log_format);
	if (show)
		conf_show(svc_conf_options, svc_conf_noptions, &conf, stdout);

	tls_global_init();
	tls = tls_server_ctx_new(conf.tls_cert, conf.tls_key,
	    desc->service->alpn, &err);
	if (tls == NULL)
		goto config_fail;
	if (check_only) {
		printf("configuration OK\n");
		SSL_CTX_free(tls);
		conf_release(svc_conf_options, svc_conf_noptions, &conf);
		return 0;
	}

	sc.listen = conf.listen;
	sc.tls = tls;
	sc.service = desc->service;
	sc.handlers = desc->handlers;
	sc.app = desc->app;
	sc.io_threads = (unsigned)conf.io_threads;
	sc.workers = (unsigned)conf.workers;
	sc.max_frame = (size_t)conf.max_frame;
	sc.idle_timeout_ms = conf.idle_timeout_ms;
	sc.handshake_timeout_ms = conf.handshake_timeout_ms;
	sc.max_connections = (unsigned)conf.max_connections;

	/* Block the stop signals in every thread; main waits for them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if ((running = server_new(&sc, &err)) == NULL ||
	    server_start(running, &err) != 0) {
		log_emit(LOG_LVL_FATAL, 0, "cannot start: %s", err.message);
		server_free(running);
		SSL_CTX_free(tls);
		conf_release(svc_conf_options, svc_conf_noptions, &conf);
		return 1;
	}
	{
		char host[256];
		uint16_t p;

		if (conf_addr_split(conf.listen, host, sizeof(host), &p) != 0)
			BUG("listen address validated but unparsable");
		log_info("ready: %s listening on %s%s%s:%u (protocol %s)",
		    desc->name, strchr(host, ':') ? "[" : "", host,
		    strchr(host, ':') ? "]" : "", server_port(running),
		    desc->service->alpn);
	}
	while (!stop_requested)
		sigsuspend(&old);
	log_info("stopping");
	server_free(running);
	running = NULL;
	SSL_CTX_free(tls);
	conf_release(svc_conf_options, svc_conf_noptions, &conf);
	log_info("stopped");
	return 0;

config_fail:
	if (err.line > 0)
		fprintf(stderr, "cloister-%s: %s:%d: %s\n", desc->name, err.file,
		    err.line, err.message);
	else
		fprintf(stderr, "cloister-%s: %s\n", desc->name, err.message);
	conf_release(svc_conf_options, svc_conf_noptions, &conf);
	return 1;
}
