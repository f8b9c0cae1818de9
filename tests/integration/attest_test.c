/*
 * attest_test: attestation must refuse every defect, over real TLS.
 *
 *   attest_test CASE
 *
 * Certificate cases run an in-process server presenting a crafted
 * certificate that claims to be the echo service, correct in every way but
 * one (the test holds the sim authority key, so it can forge what a
 * hardware TEE would not let it), and check that the real attested client
 * refuses it with the right reason.  'accepted' is the control: the same
 * crafting with no defect must connect.  Deployment cases start the real
 * echo service or load the trust material from a damaged copy of the test
 * deployment and check that both refuse.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <regex.h>
#include <time.h>

#include <openssl/err.h>

#include "crypto.h"
#include "deploy.h"
#include "echo_schema.h"
#include "harness.h"
#include "server.h"
#include "tls.h"

enum defect {
	D_NONE,
	D_UNLISTED,		/* measurement not in enclave info */
	D_UNTRUSTED,		/* evidence signed by another authority */
	D_WRONG_KEY,		/* evidence bound to another key */
	D_EXPIRED,		/* evidence older than the validity */
	D_TAMPERED,		/* a byte of the evidence changed, cert re-signed */
	D_TAMPERED_UNSIGNED,	/* a byte of the extension changed afterwards */
	D_TRUNCATED,		/* evidence cut in half */
	D_GARBLED,		/* evidence replaced by random bytes */
	D_NO_EVIDENCE,		/* certificate without the extension */
};

static void
expect_match(const char *what, const char *got, const char *re)
{
	regex_t rx;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		harness_fail("bad regex '%s'", re);
	if (regexec(&rx, got, 0, NULL, 0) != 0)
		harness_fail("%s: '%s' does not match /%s/", what, got, re);
	regfree(&rx);
	printf("  %s: %s\n", what, got);
}

/* A sim TEE claiming echo's measurement (or a random one), signed by
 * the deployment's authority or by a fresh one. */
static struct tee *
forger(bool other_authority, bool random_measurement)
{
	struct svc_trust *t = harness_trust();
	struct tee_params tp = { .backend = "sim" };
	const struct enclave_entry *echo = enclave_info_by_name(&t->ei, "echo");
	char ak[600];
	struct cl_error err;
	struct tee *tee;

	cl_error_clear(&err);
	if (other_authority) {
		EVP_PKEY *k = crypto_ec_keygen();

		snprintf(ak, sizeof(ak), "/tmp/cl-other-authority-%d.key", (int)getpid());
		unlink(ak);
		if (crypto_write_private_pem(ak, k, &err) != 0)
			harness_fail("%s", err.message);
		EVP_PKEY_free(k);
	} else {
		snprintf(ak, sizeof(ak), "%s/keys/attestation-authority.key",
		    harness_deploy());
	}
	tp.authority_key = ak;
	memcpy(tp.config_sha256, t->bc.sha256, 32);
	if ((tee = tee_open(&tp, &err)) == NULL)
		harness_fail("tee_open: %s", err.message);
	if (other_authority)
		unlink(ak);
	if (echo == NULL)
		harness_fail("test deployment lists no echo");
	memcpy(tee->measurement, echo->measurement, 32);
	if (random_measurement)
		crypto_sha256(tee->measurement, "not a listed measurement", 24);
	return tee;
}

static X509 *
craft(enum defect d, EVP_PKEY *key)
{
	struct svc_trust *t = harness_trust();
	struct tee *tee = forger(d == D_UNTRUSTED, d == D_UNLISTED);
	EVP_PKEY *other = crypto_ec_keygen();
	int64_t now = (int64_t)time(NULL), iat = now;
	struct buf ev = BUF_INIT;
	struct cl_error err;
	X509 *cert;

	cl_error_clear(&err);
	if (d == D_EXPIRED)
		iat = now - t->bc.validity_s - 100;
	if (evidence_make(tee, d == D_WRONG_KEY ? other : key, iat, &ev, &err) != 0)
		harness_fail("evidence_make: %s", err.message);
	if (d == D_TAMPERED)
		ev.p[ev.len / 2] ^= 0x01;
	if (d == D_TRUNCATED)
		buf_setlen(&ev, ev.len / 2);
	if (d == D_GARBLED)
		for (size_t i = 0; i < ev.len; i++)
			ev.p[i] = (char)(i * 131 + 7);
	cert = attest_make_cert(key, "echo", (uint8_t *)ev.p, ev.len, now - 60,
	    2 * t->bc.validity_s);
	if (cert == NULL)
		harness_fail("attest_make_cert failed");
	if (d == D_NO_EVIDENCE) {
		ASN1_OBJECT *oid = OBJ_txt2obj(ATTEST_EVIDENCE_OID, 1);
		int pos = X509_get_ext_by_OBJ(cert, oid, -1);

		X509_EXTENSION_free(X509_delete_ext(cert, pos));
		ASN1_OBJECT_free(oid);
		X509_sign(cert, key, EVP_sha256());
	}
	if (d == D_TAMPERED_UNSIGNED) {
		/* flip a byte inside the extension in the DER, keep the signature */
		unsigned char *der = NULL, *p;
		const unsigned char *cp;
		int len = i2d_X509(cert, &der);
		const char *needle = "report-data";

		p = memmem(der, (size_t)len, needle, strlen(needle));
		if (p == NULL)
			harness_fail("cannot find the evidence in the certificate");
		p[strlen(needle) + 3] ^= 0x01;
		cp = der;
		X509_free(cert);
		cert = d2i_X509(NULL, &cp, len);
		OPENSSL_free(der);
		if (cert == NULL)
			harness_fail("tampered certificate does not parse");
	}
	buf_release(&ev);
	EVP_PKEY_free(other);
	tee_close(tee);
	return cert;
}

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, in, inlen, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* Serve crafted cert, connect as a real client; returns the client's error. */
static int
run_cert_case(enum defect d, const char *expect_re)
{
	EVP_PKEY *key = crypto_ec_keygen();
	X509 *cert = craft(d, key);
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx;
	struct rpc_client_config cc = { 0 };
	struct rpc_client *cl;
	struct rpc_conn *conn;
	struct server *srv;
	struct cl_error err;
	char addr[64];

	cl_error_clear(&err);
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	if (SSL_CTX_use_certificate(sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, key) != 1)
		harness_fail("cannot use the crafted certificate");
	SSL_CTX_set_alpn_select_cb(sctx, alpn_cb, NULL);
	srv = harness_echo_server(sctx);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", server_port(srv));

	cctx = harness_client_ctx("echo", echo_service.alpn, false);
	cc.addr = addr;
	cc.tls = cctx;
	cc.service = &echo_service;
	cc.timeout_ms = 5000;
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		harness_fail("client: %s", err.message);
	conn = rpc_conn_open(cl, &err);
	if (d == D_NONE) {
		const struct attest_peer *p;

		if (conn == NULL)
			harness_fail("control case refused: %s", err.message);
		p = attest_peer_of(rpc_conn_ssl(conn));
		if (p == NULL || strcmp(p->name, "echo") != 0)
			harness_fail("control case: peer not identified as echo");
		printf("  accepted as '%s'\n", p->name);
	} else {
		if (conn != NULL)
			harness_fail("a certificate with a defect was accepted");
		expect_match("client refused", err.message, expect_re);
	}
	rpc_conn_close(conn);
	rpc_client_free(cl);
	SSL_CTX_free(cctx);
	server_free(srv);
	SSL_CTX_free(sctx);
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

/* Copy the test deployment's trust files to a fresh directory. */
static void
copy_deploy(char *out, size_t len)
{
	static const char *const files[] = { "build.json", "enclave_info.json",
	    "enclave_info.json.auditor1.sig", "enclave_info.json.auditor2.sig",
	    "keys/attestation-authority.key" };
	struct cl_error err;

	snprintf(out, len, "/tmp/cl-deploy-%d-XXXXXX", (int)getpid());
	if (mkdtemp(out) == NULL)
		harness_fail("mkdtemp: %s", strerror(errno));
	{
		char kd[700];

		snprintf(kd, sizeof(kd), "%s/keys", out);
		mkdir(kd, 0700);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(files); i++) {
		char from[700], to[700];
		struct buf b = BUF_INIT;

		cl_error_clear(&err);
		snprintf(from, sizeof(from), "%s/%s", harness_deploy(), files[i]);
		snprintf(to, sizeof(to), "%s/%s", out, files[i]);
		if (crypto_read_file(from, 1 << 20, &b, &err) != 0 ||
		    crypto_write_file(to, b.p, b.len, 0600, &err) != 0)
			harness_fail("copy: %s", err.message);
		buf_release(&b);
	}
}

static void
remove_tree(const char *dir)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* The echo service must refuse to start from dir, and a client too. */
static void
expect_refusals(const char *dir, const char *re)
{
	struct svc_proc p;
	struct svc_trust t;
	struct cl_error err;
	char bc[700], ei[700];

	cl_error_clear(&err);
	if (harness_start(&p, "echo", dir, NULL, 10000, &err) == 0) {
		harness_stop(&p);
		harness_fail("echo started from a damaged deployment");
	}
	expect_match("service refused to start", err.message, re);
	cl_error_clear(&err);
	snprintf(bc, sizeof(bc), "%s/build.json", dir);
	snprintf(ei, sizeof(ei), "%s/enclave_info.json", dir);
	if (svc_trust_load(&t, bc, ei, NULL, &err) == 0) {
		svc_trust_release(&t);
		if (strcmp(re, "not the one the enclave info lists") == 0)
			return;	/* the file itself is fine: only the service refuses */
		harness_fail("a client accepted a damaged deployment");
	}
	expect_match("client refused", err.message, re);
}

static void
write_text(const char *path, const char *text)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (crypto_write_file(path, text, strlen(text), 0644, &err) != 0)
		harness_fail("%s", err.message);
}

static int
run_deploy_case(const char *name)
{
	char dir[600], path[700];
	struct cl_error err;

	cl_error_clear(&err);
	copy_deploy(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/enclave_info.json.auditor2.sig", dir);
	if (strcmp(name, "enclave-info-missing-signature") == 0) {
		unlink(path);
		expect_refusals(dir, "lacks the signature of auditor 'auditor2'");
	} else if (strcmp(name, "enclave-info-wrong-signature") == 0) {
		/* a valid signature, but by a key that is not auditor2's */
		EVP_PKEY *k = crypto_ed25519_keygen();
		char info[700];

		snprintf(info, sizeof(info), "%s/enclave_info.json", dir);
		if (enclave_info_sign(info, "auditor2", k, &err) != 0)
			harness_fail("%s", err.message);
		EVP_PKEY_free(k);
		expect_refusals(dir, "signature of auditor 'auditor2' on enclave "
		    "info .* does not verify");
	} else if (strcmp(name, "enclave-info-tampered") == 0) {
		struct buf b = BUF_INIT;
		char info[700], *p;

		snprintf(info, sizeof(info), "%s/enclave_info.json", dir);
		if (crypto_read_file(info, 1 << 20, &b, &err) != 0)
			harness_fail("%s", err.message);
		/* change one digit of a measurement */
		p = strstr(b.p, "\"echo\": \"");
		if (p == NULL)
			harness_fail("no echo entry");
		p += 9;
		*p = *p == '0' ? '1' : '0';
		write_text(info, b.p);
		buf_release(&b);
		expect_refusals(dir, "signature of auditor '[a-z0-9]+' on enclave "
		    "info .* does not verify");
	} else if (strcmp(name, "measurement-mismatch") == 0) {
		/* properly signed enclave info listing another binary as echo */
		struct buildconf bc;
		const char *names[] = { "echo" }, *exes[1];
		char exe[600], info[700];

		snprintf(exe, sizeof(exe), "%s/tests/itest", harness_build_dir());
		exes[0] = exe;
		snprintf(path, sizeof(path), "%s/build.json", dir);
		snprintf(info, sizeof(info), "%s/enclave_info.json", dir);
		if (buildconf_load(&bc, path, &err) != 0 ||
		    enclave_info_generate(info, &bc, names, exes, 1, &err) != 0)
			harness_fail("%s", err.message);
		buildconf_release(&bc);
		for (int i = 1; i <= 2; i++) {
			char kp[700], an[16];
			EVP_PKEY *k;

			snprintf(an, sizeof(an), "auditor%d", i);
			snprintf(kp, sizeof(kp), "%s/keys/auditor-%s.key",
			    harness_deploy(), an);
			if ((k = crypto_read_private_pem(kp, &err)) == NULL ||
			    enclave_info_sign(info, an, k, &err) != 0)
				harness_fail("%s", err.message);
			EVP_PKEY_free(k);
		}
		expect_refusals(dir, "not the one the enclave info lists");
	} else {
		harness_fail("unknown case '%s'", name);
	}
	remove_tree(dir);
	return 0;
}

/* A listed peer that is not in echo's inbound list is refused. */
static int
run_not_inbound(void)
{
	struct rpc_client_config cc = { 0 };
	struct svc_proc p;
	struct cl_error err;
	struct rpc_client *cl;
	json_t *resp = NULL;
	SSL_CTX *ctx;
	int rc;

	cl_error_clear(&err);
	if (harness_start(&p, "echo", NULL, NULL, 10000, &err) != 0)
		harness_fail("%s", err.message);
	ctx = harness_client_ctx("echo", echo_service.alpn, true);
	cc.addr = p.internal_addr;
	cc.tls = ctx;
	cc.service = &echo_service;
	cc.timeout_ms = 5000;
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		harness_fail("%s", err.message);
	rc = rpc_client_call(cl, &echo_service.methods[ECHO_PING], NULL, &resp,
	    &err);
	if (rc == 0)
		harness_fail("attest-test was admitted to echo's internal endpoint");
	expect_match("echo refused", err.message,
	    "peer 'attest-test' may not call the internal endpoint of 'echo'");
	if (!harness_log_has(&p, "refused: peer 'attest-test' may not call"))
		harness_fail("echo did not log the refusal");
	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	if (harness_stop(&p) != 0)
		harness_fail("echo did not exit cleanly");
	unlink(p.log_path);
	return 0;
}

/* Connect and return the server certificate's serial and evidence time. */
static void
handshake_once(const char *addr, SSL_CTX *ctx, char *serial, size_t slen,
    int64_t *out_iat)
{
	struct rpc_client_config cc = { 0 };
	const struct attest_peer *peer;
	struct rpc_client *cl;
	struct rpc_conn *conn;
	struct cl_error err;
	BIGNUM *bn;
	char *hex;
	X509 *cert;

	cl_error_clear(&err);
	cc.addr = addr;
	cc.tls = ctx;
	cc.service = &echo_service;
	cc.timeout_ms = 5000;
	if ((cl = rpc_client_new(&cc, &err)) == NULL ||
	    (conn = rpc_conn_open(cl, &err)) == NULL)
		harness_fail("connect: %s", err.message);
	if ((peer = attest_peer_of(rpc_conn_ssl(conn))) == NULL)
		harness_fail("no verified peer");
	*out_iat = peer->report.issued_at;
	cert = SSL_get1_peer_certificate(rpc_conn_ssl(conn));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	hex = BN_bn2hex(bn);
	snprintf(serial, slen, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(cert);
	rpc_conn_close(conn);
	rpc_client_free(cl);
}

/*
 * An identity renews its key, evidence and certificate at two thirds of
 * the validity, and handshakes after that present the new one.
 */
static int
run_renewal(void)
{
	struct svc_trust *t = harness_trust();
	struct tee_params tp = { .backend = "sim" };
	struct attest_identity *id;
	struct attest_verifier *v;
	char ak[600], addr[64], s1[128], s2[128];
	struct cl_error err;
	SSL_CTX *sctx, *cctx;
	struct server *srv;
	int64_t iat1, iat2;
	struct tee *tee;

	cl_error_clear(&err);
	snprintf(ak, sizeof(ak), "%s/keys/attestation-authority.key",
	    harness_deploy());
	tp.authority_key = ak;
	memcpy(tp.config_sha256, t->bc.sha256, 32);
	if ((tee = tee_open(&tp, &err)) == NULL ||
	    (id = attest_identity_new(tee, "attest-test", 3, &err)) == NULL)
		harness_fail("%s", err.message);
	v = attest_verifier_new(&t->bc, &t->ei);
	if ((sctx = attest_server_ctx(id, v, echo_service.alpn, false, &err)) == NULL)
		harness_fail("%s", err.message);
	srv = harness_echo_server(sctx);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", server_port(srv));
	cctx = harness_client_ctx("attest-test", echo_service.alpn, false);

	handshake_once(addr, cctx, s1, sizeof(s1), &iat1);
	usleep(2600 * 1000);
	handshake_once(addr, cctx, s2, sizeof(s2), &iat2);
	printf("  certificate %s issued at %" PRId64 ", then %s issued at %"
	    PRId64 "\n", s1, iat1, s2, iat2);
	if (strcmp(s1, s2) == 0 || iat2 <= iat1)
		harness_fail("the certificate was not renewed");

	SSL_CTX_free(cctx);
	server_free(srv);
	SSL_CTX_free(sctx);
	attest_verifier_free(v);
	attest_identity_free(id);
	tee_close(tee);
	return 0;
}

static const struct {
	const char *name;
	enum defect d;
	const char *re;
} cert_cases[] = {
	{ "accepted", D_NONE, NULL },
	{ "unlisted-measurement", D_UNLISTED, "measurement .* is not in the enclave info" },
	{ "untrusted-authority", D_UNTRUSTED, "not signed by the trusted attestation authority" },
	{ "wrong-key", D_WRONG_KEY, "evidence is bound to another key" },
	{ "expired", D_EXPIRED, "evidence expired: issued [0-9]+ s ago, valid for [0-9]+ s" },
	{ "tampered-extension", D_TAMPERED, "(not signed by the trusted|malformed|claims do not match|lacks)" },
	{ "tampered-unsigned", D_TAMPERED_UNSIGNED, "not signed by its own key" },
	{ "truncated-evidence", D_TRUNCATED, "malformed CBOR" },
	{ "garbled-evidence", D_GARBLED, "(malformed CBOR|not CBOR-tagged|unsupported type|trailing bytes)" },
	{ "no-evidence", D_NO_EVIDENCE, "carries no attestation evidence" },
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: attest_test CASE\n");
		return 2;
	}
	printf("attest_test %s\n", argv[1]);
	for (size_t i = 0; i < CL_ARRAY_SIZE(cert_cases); i++)
		if (strcmp(cert_cases[i].name, argv[1]) == 0)
			return run_cert_case(cert_cases[i].d, cert_cases[i].re);
	if (strcmp(argv[1], "not-inbound") == 0)
		return run_not_inbound();
	if (strcmp(argv[1], "renewal") == 0)
		return run_renewal();
	return run_deploy_case(argv[1]);
}
