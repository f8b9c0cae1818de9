/*
 * cloister attest: connect to a service, verify it, and show what it
 * proves.
 *
 *   cloister attest [--dir DIR] [--service NAME] [--timeout MS] HOST:PORT
 *
 * Exit status 0 only when the service verifies: evidence signed by the
 * trust root, bound to its TLS key, fresh, and its measurement listed in
 * enclave info whose auditor signatures all verify.
 */
#include "compat.h"

#include <time.h>

#include "cli.h"
#include "crypto.h"
#include "tls.h"

static const char usage_text[] =
    "usage: cloister attest [--dir DIR] [--service NAME] [--timeout MS] HOST:PORT\n"
    "\n"
    "  --dir DIR       deployment directory whose build configuration and\n"
    "                  enclave info to verify with (default: $CLOISTER_DIR)\n"
    "  --service NAME  require the service to be NAME (default: any listed)\n";

static void
print_time(const char *label, int64_t t, int64_t now)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[64];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-12s %s (%" PRId64 " s %s)\n", label, buf,
	    t <= now ? now - t : t - now, t <= now ? "ago" : "from now");
}

int
cmd_attest(int argc, char **argv)
{
	struct cli_net net = { 0 };
	const char *service = NULL, *addr = NULL, *dir;
	struct rpc_client_config cc = { 0 };
	struct attest_verifier *v = NULL;
	struct rpc_client *cl = NULL;
	struct rpc_conn *conn = NULL;
	const struct attest_peer *p;
	unsigned char alpn[1024];
	size_t alen = 0;
	struct svc_trust t;
	struct cl_error err;
	SSL_CTX *ctx = NULL;
	char hex[65];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		int r = cli_net_option(&net, argc, argv, &i);

		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
			service = argv[++i];
		else if (argv[i][0] != '-' && addr == NULL)
			addr = argv[i];
		else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (addr == NULL) {
		fputs(usage_text, stderr);
		return 2;
	}
	if ((dir = cli_dir(&net)) == NULL || cli_load_trust(&t, dir) != 0)
		return 1;
	cl_error_clear(&err);
	/* Offer every protocol we know: the server picks its own. */
	for (size_t i = 0; i < cli_nservices; i++) {
		if (service != NULL && strcmp(cli_services[i]->name, service) != 0)
			continue;
		alen += tls_alpn_wire(cli_services[i]->alpn, alpn + alen,
		    sizeof(alpn) - alen);
	}
	if (alen == 0) {
		cli_error("unknown service '%s'", service);
		goto out;
	}
	v = attest_verifier_new(&t.bc, &t.ei);
	ctx = attest_client_ctx(NULL, v, service ? service : "",
	    cli_services[0]->alpn, &err);
	if (ctx == NULL) {
		cli_error("%s", err.message);
		goto out;
	}
	SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned int)alen);
	cc.addr = addr;
	cc.tls = ctx;
	cc.service = cli_services[0];
	cc.timeout_ms = net.timeout_ms;
	if ((cl = rpc_client_new(&cc, &err)) == NULL) {
		cli_error("%s", err.message);
		goto out;
	}
	if ((conn = rpc_conn_open(cl, &err)) == NULL) {
		cli_error("%s does not verify: %s", addr, err.message);
		goto out;
	}
	if ((p = attest_peer_of(rpc_conn_ssl(conn))) == NULL) {
		cli_error("%s does not verify: no attestation was checked", addr);
		goto out;
	}
	{
		const unsigned char *proto;
		unsigned int plen;
		int64_t now = (int64_t)time(NULL);

		SSL_get0_alpn_selected(rpc_conn_ssl(conn), &proto, &plen);
		printf("%-12s %s\n", "service", p->name);
		crypto_hex(hex, p->report.measurement, 32);
		printf("%-12s %s\n", "measurement", hex);
		crypto_hex(hex, p->report.signer, 32);
		printf("%-12s %s\n", "signer", hex);
		printf("%-12s %s\n", "tee", p->report.tee);
		print_time("issued-at", p->report.issued_at, now);
		print_time("expires", p->report.issued_at + t.bc.validity_s, now);
		printf("%-12s %.*s\n", "protocol", (int)plen, proto);
		printf("%-12s evidence signed by the trust root, bound to the TLS "
		    "key and fresh; measurement listed in enclave info signed by",
		    "verified");
		for (size_t i = 0; i < t.bc.nauditors; i++)
			printf("%s %s", i ? "," : "", t.bc.auditor[i].name);
		printf("\n");
	}
	rc = 0;
out:
	rpc_conn_close(conn);
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	attest_verifier_free(v);
	svc_trust_release(&t);
	return rc;
}
