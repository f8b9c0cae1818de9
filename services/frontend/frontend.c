/*
 * The frontend service: the one API door for everything that is not
 * authentication.  It keeps no state: each request is authenticated
 * through the authentication service and forwarded, with the caller's
 * identity and role attached, to the internal endpoint of the service the
 * frontend's schema names for it (schema/frontend.json, "upstream").
 *
 * Endpoints: API only.  Peers: authentication (internal), and each
 * upstream service (internal: management for the platform calls, echo for
 * 'say'), all mutually attested; their inbound lists admit the frontend.
 * An upstream without an address is simply not offered: its calls answer
 * that the frontend has no address for it.
 */
#include "compat.h"

#include "authentication_internal_schema.h"
#include "echo_schema.h"
#include "frontend.h"
#include "management_schema.h"
#include "frontend_schema.h"

static struct frontend fe;

#define O(f) offsetof(struct frontend_opts, f)
static const struct conf_option frontend_options[] = {
	{ "authentication_addr", CONF_ADDR, O(authentication_addr), 0, 0, NULL,
	  NULL, CONF_REQUIRED, "the authentication service's internal endpoint" },
	{ "management_addr", CONF_ADDR, O(management_addr), 0, 0, NULL, NULL, 0,
	  "the management service's internal endpoint (the platform calls)" },
	{ "echo_addr", CONF_ADDR, O(echo_addr), 0, 0, NULL, NULL, 0,
	  "the echo service's internal endpoint (for 'say')" },
	{ "auth_cache", CONF_DURATION, O(auth_cache_ms), 0, 60000, "10s", NULL, 0,
	  "remember a successful token check this long (0 = never)" },
};
#undef O

/* whoami is answered here; every request with an upstream is forwarded. */
static rpc_handler_fn frontend_handlers[FRONTEND_NMETHODS];

static int
frontend_init(struct svc *s, struct cl_error *err)
{
	const struct {
		const char *name;
		const struct rpc_service *proto;
		const char *addr;
	} ups[] = {
		{ "management", &management_service, fe.opts.management_addr },
		{ "echo", &echo_service, fe.opts.echo_addr },
	};

	pthread_mutex_init(&fe.cache_lock, NULL);
	fe.auth = svc_peer_client(s, "authentication", fe.opts.authentication_addr,
	    &authentication_internal_service, err);
	if (fe.auth == NULL)
		return err->code;
	for (size_t i = 0; i < CL_ARRAY_SIZE(ups); i++) {
		struct upstream *u = &fe.upstream[fe.nupstream++];

		u->name = ups[i].name;
		u->proto = ups[i].proto;
		if (ups[i].addr != NULL &&
		    (u->client = svc_peer_client(s, ups[i].name, ups[i].addr,
		    ups[i].proto, err)) == NULL)
			return err->code;
	}
	/* every forwarded request must exist upstream: a build mistake */
	for (size_t i = 0; i < frontend_service.nmethods; i++) {
		const struct rpc_method *m = &frontend_service.methods[i];
		bool found = m->upstream == NULL;

		for (size_t j = 0; j < fe.nupstream && !found; j++)
			found = strcmp(fe.upstream[j].name, m->upstream) == 0 &&
			    rpc_find(fe.upstream[j].proto, m->name) != NULL;
		if (!found)
			BUG("frontend request '%s' has no upstream '%s'", m->name,
			    m->upstream);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	for (size_t i = 0; i < frontend_service.nmethods; i++)
		frontend_handlers[i] = frontend_service.methods[i].upstream ?
		    frontend_forward : NULL;
	frontend_handlers[FRONTEND_WHOAMI] = frontend_whoami;

	const struct svc_desc desc = {
		.name = "frontend",
		.api = { .service = &frontend_service,
		    .handlers = frontend_handlers },
		.app = &fe,
		.opts = frontend_options,
		.nopts = CL_ARRAY_SIZE(frontend_options),
		.opts_out = &fe.opts,
		.init = frontend_init,
	};

	return svc_main(&desc, argc, argv);
}
