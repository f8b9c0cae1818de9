/*
 * Common service start-up, the shared runtime options, and trust loading.
 */
#include "compat.h"

#include <signal.h>

#include "crypto.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "svc.h"
#include "tls.h"

static const char *const level_choices[] = { "fatal", "warn", "info", "debug", NULL };
static const char *const format_choices[] = { "text", "json", NULL };
const char *const svc_attestation_backends[] = { "sim", "tdx", "snp", "sgx", NULL };

#define O(f) offsetof(struct svc_conf, f)
const struct conf_option svc_conf_options[] = {
	{ "build_config", CONF_PATH, O(build_config), 0, 0, NULL, NULL,
	  CONF_REQUIRED, "the build configuration (sim: build.json)" },
	{ "enclave_info", CONF_PATH, O(enclave_info), 0, 0, NULL, NULL,
	  CONF_REQUIRED, "auditor-signed list of service measurements" },
	{ "enclave_info_sigs", CONF_PATH, O(enclave_info_sigs), 0, 0, NULL, NULL,
	  0, "directory of the auditors' signatures (default: beside it)" },
	{ "attestation", CONF_ENUM, O(attestation), 0, 0, "sim",
	  svc_attestation_backends, 0, "TEE backend that attests this process" },
	{ "attestation_key", CONF_PATH, O(attestation_key), 0, 0, NULL, NULL, 0,
	  "sim: the attestation authority's private key" },
	{ "listen", CONF_ADDR, O(listen), 0, 0, NULL, NULL, 0,
	  "API endpoint address (clients verify us; we admit any client)" },
	{ "internal_listen", CONF_ADDR, O(internal_listen), 0, 0, NULL, NULL, 0,
	  "internal endpoint address (mutually attested; inbound peers only)" },
	{ "internal_advertise", CONF_ADDR, O(internal_advertise), 0, 0, NULL,
	  NULL, 0, "address peers use for the internal endpoint (default: "
	  "internal_listen)" },
	{ "log_level", CONF_ENUM, O(log_level), 0, 0, "info", level_choices, 0,
	  "least severe level logged" },
	{ "log_format", CONF_ENUM, O(log_format), 0, 0, "text", format_choices, 0,
	  "text lines, or one JSON object per line" },
	{ "io_threads", CONF_INT, O(io_threads), 0, CL_IO_THREADS_MAX, "0", NULL, 0,
	  "event-loop threads per endpoint; 0 = one per CPU, at most 4" },
	{ "workers", CONF_INT, O(workers), 0, CL_WORKERS_MAX, "0", NULL, 0,
	  "request-handler threads per endpoint; 0 = two per CPU" },
	{ "max_frame", CONF_SIZE, O(max_frame), CL_FRAME_MAX_FLOOR,
	  CL_FRAME_MAX_CEILING, "32M", NULL, 0,
	  "largest frame; never above the build configuration's" },
	{ "idle_timeout", CONF_DURATION, O(idle_timeout_ms), 1,
	  CL_IDLE_TIMEOUT_MS_MAX, "60s", NULL, 0,
	  "close a connection silent this long, even mid-frame" },
	{ "handshake_timeout", CONF_DURATION, O(handshake_timeout_ms), 1, 600000,
	  "10s", NULL, 0, "close a connection whose TLS handshake takes longer" },
	{ "max_connections", CONF_INT, O(max_connections), 1,
	  CL_MAX_CONNECTIONS_CEILING, "4096", NULL, 0,
	  "simultaneous connections per endpoint; more are refused" },
};
#undef O
const size_t svc_conf_noptions = CL_ARRAY_SIZE(svc_conf_options);
#define SVC_MAX_OPTS 24
_Static_assert(CL_ARRAY_SIZE(svc_conf_options) <= SVC_MAX_OPTS,
    "grow SVC_MAX_OPTS");

int
svc_trust_load(struct svc_trust *t, const char *build_config,
    const char *enclave_info, const char *sigdir, struct cl_error *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = buildconf_load(&t->bc, build_config, err)) != 0)
		return rc;
	if ((rc = enclave_info_load(&t->ei, enclave_info, sigdir, &t->bc, err)) != 0)
		buildconf_release(&t->bc);
	return rc;
}

void
svc_trust_release(struct svc_trust *t)
{
	buildconf_release(&t->bc);
}

#define SVC_MAX_PEERS 8

/* A running service. */
struct svc {
	const struct svc_desc *desc;
	struct svc_conf conf;
	struct svc_trust trust;
	struct tee *tee;
	struct attest_identity *id;
	struct attest_verifier *verifier;
	SSL_CTX *ctx[2];
	struct server *srv[2];
	bool check_only;
	bool inited;
	struct {
		SSL_CTX *ctx;
		struct rpc_client *client;
	} peer[SVC_MAX_PEERS];
	size_t npeers;
};

const char *
svc_name(const struct svc *s)
{
	return s->desc->name;
}

struct tee *
svc_tee(struct svc *s)
{
	return s->tee;
}

const struct svc_trust *
svc_trust_of(const struct svc *s)
{
	return &s->trust;
}

bool
svc_check_only(const struct svc *s)
{
	return s->check_only;
}

struct store *
svc_open_store(struct svc *s, const char *backend, const char *location,
    const char *label, struct cl_error *err)
{
	uint8_t *key = secret_alloc(TEE_SEAL_KEY_BYTES);
	uint8_t id[TEE_SEAL_KEY_ID_BYTES];
	struct store *st = NULL;

	if (key == NULL) {
		cl_error_set(err, CL_ENOMEM, "cannot lock memory for the sealing key");
		return NULL;
	}
	if (tee_seal_key(s->tee, label, key, id, err) == 0)
		st = store_open(backend, location ? location : "", key, id, err);
	secret_free(key);
	return st;
}

struct rpc_client *
svc_peer_client(struct svc *s, const char *peer, const char *addr,
    const struct rpc_service *proto, struct cl_error *err)
{
	struct rpc_client_config cc = { 0 };
	SSL_CTX *ctx;
	struct rpc_client *cl;

	if (s->npeers == SVC_MAX_PEERS)
		BUG("service '%s' has too many peers", s->desc->name);
	ctx = attest_client_ctx(s->id, s->verifier, peer, proto->alpn, err);
	if (ctx == NULL)
		return NULL;
	cc.addr = addr;
	cc.tls = ctx;
	cc.service = proto;
	cc.max_frame = (size_t)s->conf.max_frame;
	cc.timeout_ms = 30000;
	if ((cl = rpc_client_new(&cc, err)) == NULL) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	s->peer[s->npeers].ctx = ctx;
	s->peer[s->npeers].client = cl;
	s->npeers++;
	return cl;
}

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static CL_NORETURN void
usage(const char *name)
{
	fprintf(stderr, "usage: cloister-%s [-c FILE] [-n] [-o NAME=VALUE]... "
	    "[--show-config]\n", name);
	exit(2);
}

/* Internal endpoints admit attested peers from the inbound list only. */
static bool
check_inbound(void *arg, SSL *ssl, const char **out_name, char *why,
    size_t whylen)
{
	struct svc *s = arg;
	const struct attest_peer *p = attest_peer_of(ssl);

	if (p == NULL) {
		snprintf(why, whylen, "internal endpoint of '%s' needs an "
		    "attested client", s->desc->name);
		return false;
	}
	if (!buildconf_allows(&s->trust.bc, s->desc->name, p->name)) {
		snprintf(why, whylen, "peer '%s' may not call the internal "
		    "endpoint of '%s'", p->name, s->desc->name);
		return false;
	}
	*out_name = p->name;
	return true;
}

/* Options: defaults, the file ([name] section), then -o overrides. */
static int
load_conf(struct svc *s, const char *path, const char *const *override,
    size_t noverride, struct cl_error *err)
{
	const char *name = s->desc->name;
	struct conf_table t[2] = {
		{ svc_conf_options, svc_conf_noptions, &s->conf },
		{ s->desc->opts, s->desc->nopts, s->desc->opts_out },
	};
	size_t nt = s->desc->nopts > 0 ? 2 : 1;
	int rc;

	/* required options may come from -o: checked after them */
	if ((rc = conf_load_tables(t, nt, path, name, false, err)) != 0)
		return rc;
	for (size_t k = 0; k < noverride; k++) {
		const char *eq = strchr(override[k], '=');
		char oname[64];

		if (eq == NULL || eq == override[k] ||
		    (size_t)(eq - override[k]) >= sizeof(oname))
			return cl_error_set(err, CL_ECONFIG, "-o needs NAME=VALUE, "
			    "not '%s'", override[k]);
		memcpy(oname, override[k], (size_t)(eq - override[k]));
		oname[eq - override[k]] = '\0';
		if ((rc = conf_set_tables(t, nt, oname, eq + 1, "(command line)",
		    0, err)) != 0)
			return rc;
	}
	for (size_t j = 0; j < nt; j++) {
		for (size_t k = 0; k < t[j].nopts; k++) {
			const char *const *sp = (const char *const *)(const void *)
			    ((const char *)t[j].out + t[j].opts[k].offset);

			if ((t[j].opts[k].flags & CONF_REQUIRED) && *sp == NULL)
				return cl_error_set(err, CL_ECONFIG, "required "
				    "option '%s' is not set (use -c FILE or -o "
				    "%s=...)", t[j].opts[k].name, t[j].opts[k].name);
		}
	}
	if (s->desc->api.service != NULL && s->conf.listen == NULL)
		return cl_error_set(err, CL_ECONFIG, "'%s' needs 'listen' for "
		    "its API endpoint", name);
	if (s->desc->internal.service != NULL && s->conf.internal_listen == NULL)
		return cl_error_set(err, CL_ECONFIG, "'%s' needs "
		    "'internal_listen' for its internal endpoint", name);
	if (s->desc->api.service == NULL && s->conf.listen != NULL)
		return cl_error_set(err, CL_ECONFIG, "'%s' has no API endpoint: "
		    "remove 'listen'", name);
	if (s->desc->internal.service == NULL && s->conf.internal_listen != NULL)
		return cl_error_set(err, CL_ECONFIG, "'%s' has no internal "
		    "endpoint: remove 'internal_listen'", name);
	return 0;
}

/* Trust: build configuration, enclave info, our own measurement, identity. */
static int
setup_trust(struct svc *s, struct cl_error *err)
{
	struct tee_params tp = { 0 };
	const struct enclave_entry *e;
	char hex[65];
	int rc;

	if ((rc = svc_trust_load(&s->trust, s->conf.build_config,
	    s->conf.enclave_info, s->conf.enclave_info_sigs, err)) != 0)
		return rc;
	if ((size_t)s->conf.max_frame > s->trust.bc.max_frame)
		s->conf.max_frame = (int64_t)s->trust.bc.max_frame;
	if ((rc = tee_harden(err)) != 0)
		return rc;
	tp.backend = svc_attestation_backends[s->conf.attestation];
	tp.authority_key = s->conf.attestation_key;
	memcpy(tp.config_sha256, s->trust.bc.sha256, 32);
	if ((s->tee = tee_open(&tp, err)) == NULL)
		return err->code;
	crypto_hex(hex, s->tee->measurement, 32);
	e = enclave_info_by_name(&s->trust.ei, s->desc->name);
	if (e == NULL)
		return cl_error_set(err, CL_EDENIED, "enclave info lists no "
		    "service '%s'", s->desc->name);
	if (memcmp(e->measurement, s->tee->measurement, 32) != 0)
		return cl_error_set(err, CL_EDENIED, "this executable's measurement "
		    "%.16s... is not the one the enclave info lists for '%s' "
		    "(rebuilt without regenerating the enclave info?)", hex,
		    s->desc->name);
	s->id = attest_identity_new(s->tee, s->desc->name, s->trust.bc.validity_s,
	    err);
	if (s->id == NULL)
		return err->code;
	s->verifier = attest_verifier_new(&s->trust.bc, &s->trust.ei);
	return 0;
}

static int
start_endpoint(struct svc *s, int which, struct cl_error *err)
{
	const struct svc_endpoint_desc *ed = which == 0 ? &s->desc->api :
	    &s->desc->internal;
	struct server_config sc = { 0 };

	if (ed->service == NULL)
		return 0;
	s->ctx[which] = attest_server_ctx(s->id, s->verifier, ed->service->alpn,
	    which == 1, err);
	if (s->ctx[which] == NULL)
		return err->code;
	sc.listen = which == 0 ? s->conf.listen : s->conf.internal_listen;
	sc.tls = s->ctx[which];
	sc.service = ed->service;
	sc.handlers = ed->handlers;
	sc.inline_methods = ed->inline_methods;
	sc.app = s->desc->app;
	sc.io_threads = (unsigned)s->conf.io_threads;
	sc.workers = (unsigned)s->conf.workers;
	sc.max_frame = (size_t)s->conf.max_frame;
	sc.idle_timeout_ms = s->conf.idle_timeout_ms;
	sc.handshake_timeout_ms = s->conf.handshake_timeout_ms;
	sc.max_connections = (unsigned)s->conf.max_connections;
	if (which == 1) {
		sc.check_peer = check_inbound;
		sc.check_peer_arg = s;
	}
	if ((s->srv[which] = server_new(&sc, err)) == NULL)
		return err->code;
	return server_start(s->srv[which], err);
}

static void
svc_release(struct svc *s)
{
	for (int i = 0; i < 2; i++) {
		server_free(s->srv[i]);
		SSL_CTX_free(s->ctx[i]);
	}
	if (s->inited && s->desc->fini != NULL)
		s->desc->fini(s);
	for (size_t i = 0; i < s->npeers; i++) {
		rpc_client_free(s->peer[i].client);
		SSL_CTX_free(s->peer[i].ctx);
	}
	attest_verifier_free(s->verifier);
	attest_identity_free(s->id);
	tee_close(s->tee);
	svc_trust_release(&s->trust);
	conf_release(svc_conf_options, svc_conf_noptions, &s->conf);
	if (s->desc->nopts > 0)
		conf_release(s->desc->opts, s->desc->nopts, s->desc->opts_out);
}

static void
endpoint_addr(char *out, size_t len, const char *listen, const struct server *srv)
{
	char host[256];
	uint16_t p;

	if (srv == NULL || conf_addr_split(listen, host, sizeof(host), &p) != 0) {
		snprintf(out, len, "-");
		return;
	}
	snprintf(out, len, "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", server_port(srv));
}

int
svc_main(const struct svc_desc *desc, int argc, char **argv)
{
	struct svc s = { .desc = desc };
	struct cl_error err;
	const char *path = NULL, *override[64];
	size_t noverride = 0;
	bool check_only = false, show = false;
	struct sigaction sa = { 0 };
	sigset_t mask, old;
	char api[300], internal[300], hex[65];

	log_init(desc->name, "main", LOG_LVL_INFO, LOG_FMT_TEXT);
	cl_error_clear(&err);
	for (int i = 1; i < argc; i++) {
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
	if (load_conf(&s, path, override, noverride, &err) != 0)
		goto fail;
	log_init(desc->name, "main", (enum log_level)s.conf.log_level,
	    (enum log_format)s.conf.log_format);
	if (show) {
		conf_show(svc_conf_options, svc_conf_noptions, &s.conf, stdout);
		if (desc->nopts > 0)
			conf_show(desc->opts, desc->nopts, desc->opts_out, stdout);
	}
	tls_global_init();
	s.check_only = check_only;
	if (setup_trust(&s, &err) != 0)
		goto fail;
	if (desc->init != NULL) {
		if (desc->init(&s, &err) != 0) {
			if (err.code == CL_OK)
				cl_error_set(&err, CL_EINTERNAL, "initialisation failed");
			goto fail;
		}
		s.inited = true;
	}
	if (check_only) {
		printf("configuration OK\n");
		svc_release(&s);
		return 0;
	}

	/* Block the stop signals in every thread; main waits for them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (start_endpoint(&s, 0, &err) != 0 || start_endpoint(&s, 1, &err) != 0)
		goto fail;
	endpoint_addr(api, sizeof(api), s.conf.listen, s.srv[0]);
	endpoint_addr(internal, sizeof(internal), s.conf.internal_listen, s.srv[1]);
	crypto_hex(hex, s.tee->measurement, 32);
	log_info("ready: %s api=%s internal=%s measurement=%s", desc->name, api,
	    internal, hex);
	while (!stop_requested)
		sigsuspend(&old);
	log_info("stopping");
	svc_release(&s);
	log_info("stopped");
	return 0;

fail:
	if (err.line > 0)
		fprintf(stderr, "cloister-%s: %s:%d: %s\n", desc->name, err.file,
		    err.line, err.message);
	else
		fprintf(stderr, "cloister-%s: cannot start: %s\n", desc->name,
		    err.message);
	svc_release(&s);
	return 1;
}
