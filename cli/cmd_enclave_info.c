/*
 * cloister enclave-info: the auditor-signed list of service measurements.
 *
 *   cloister enclave-info generate --build-config FILE --out FILE NAME=EXE...
 *   cloister enclave-info sign --auditor NAME --key KEY FILE
 *   cloister enclave-info verify --build-config FILE [--sigs DIR] FILE
 */
#include "compat.h"

#include "cli.h"
#include "crypto.h"
#include "enclave_info.h"

static const char usage_text[] =
    "usage: cloister enclave-info generate --build-config FILE --out FILE NAME=EXE...\n"
    "       cloister enclave-info sign --auditor NAME --key KEY FILE\n"
    "       cloister enclave-info verify --build-config FILE [--sigs DIR] FILE\n"
    "\n"
    "generate  measure each executable under the build configuration and\n"
    "          write the enclave info listing NAME -> measurement\n"
    "sign      sign FILE as auditor NAME with its Ed25519 private key; writes\n"
    "          FILE.NAME.sig\n"
    "verify    check every auditor's signature (the build configuration lists\n"
    "          the auditors) and print the services\n";

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Positional arguments: those not an option or an option's value. */
static int
positional(int argc, char **argv, const char **out, int max)
{
	int n = 0;

	for (int i = 2; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			i++;
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = argv[i];
	}
	return n;
}

static int
do_generate(int argc, char **argv)
{
	const char *bcp = opt(argc, argv, "--build-config");
	const char *out = opt(argc, argv, "--out"), *pos[32], *name[32], *exe[32];
	char namebuf[32][64];
	struct buildconf bc;
	struct cl_error err;
	int n, rc;

	n = positional(argc, argv, pos, 32);
	if (bcp == NULL || out == NULL || n <= 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(pos[i], '=');

		if (eq == NULL || eq == pos[i] || (size_t)(eq - pos[i]) >= 64) {
			cli_error("expected NAME=EXECUTABLE, not '%s'", pos[i]);
			return 2;
		}
		memcpy(namebuf[i], pos[i], (size_t)(eq - pos[i]));
		namebuf[i][eq - pos[i]] = '\0';
		name[i] = namebuf[i];
		exe[i] = eq + 1;
	}
	cl_error_clear(&err);
	if (buildconf_load(&bc, bcp, &err) != 0) {
		cli_error("%s", err.message);
		return 1;
	}
	rc = enclave_info_generate(out, &bc, name, exe, (size_t)n, &err);
	buildconf_release(&bc);
	if (rc != 0) {
		cli_error("%s", err.message);
		return 1;
	}
	printf("wrote %s (%d services)\n", out, n);
	return 0;
}

static int
do_sign(int argc, char **argv)
{
	const char *auditor = opt(argc, argv, "--auditor");
	const char *keyp = opt(argc, argv, "--key"), *pos[1];
	struct cl_error err;
	EVP_PKEY *key;
	int rc;

	if (auditor == NULL || keyp == NULL || positional(argc, argv, pos, 1) != 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	cl_error_clear(&err);
	if ((key = crypto_read_private_pem(keyp, &err)) == NULL) {
		cli_error("%s", err.message);
		return 1;
	}
	rc = enclave_info_sign(pos[0], auditor, key, &err);
	EVP_PKEY_free(key);
	if (rc != 0) {
		cli_error("%s", err.message);
		return 1;
	}
	printf("signed %s as '%s'\n", pos[0], auditor);
	return 0;
}

static int
do_verify(int argc, char **argv)
{
	const char *bcp = opt(argc, argv, "--build-config");
	const char *sigs = opt(argc, argv, "--sigs"), *pos[1];
	struct svc_trust t;
	struct cl_error err;
	char hex[65];

	if (bcp == NULL || positional(argc, argv, pos, 1) != 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	cl_error_clear(&err);
	if (svc_trust_load(&t, bcp, pos[0], sigs, &err) != 0) {
		cli_error("%s", err.message);
		return 1;
	}
	printf("all %zu auditor signatures verify:", t.bc.nauditors);
	for (size_t i = 0; i < t.bc.nauditors; i++)
		printf(" %s", t.bc.auditor[i].name);
	printf("\n");
	for (size_t i = 0; i < t.ei.n; i++) {
		crypto_hex(hex, t.ei.entry[i].measurement, 32);
		printf("%-16s %s\n", t.ei.entry[i].name, hex);
	}
	svc_trust_release(&t);
	return 0;
}

int
cmd_enclave_info(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "generate") == 0)
		return do_generate(argc, argv);
	if (strcmp(argv[1], "sign") == 0)
		return do_sign(argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return do_verify(argc, argv);
	cli_error("unknown 'enclave-info' command '%s'", argv[1]);
	return 2;
}
