/*
 * Fuzz harness for attestation evidence (lib/tee/evidence.c, tee_sim.c,
 * tee_cbor.c) and attested certificates (lib/tee/attest.c): the input is
 * hostile bytes from a peer's certificate.
 *
 * The first byte chooses the target:
 *   even: the rest is an evidence blob, checked by evidence_verify under
 *         a fixed trust root and key;
 *   odd:  the rest is a DER certificate, checked by attest_verify_cert
 *         against fixed build configuration and enclave info.
 *
 * Invariants: never crash or leak; a blob not made by the trust root is
 * never accepted (this harness holds no authority key, so acceptance is
 * impossible without forging ECDSA: any success traps).
 */
#include "compat.h"

#include <openssl/x509.h>

#include "attest.h"
#include "crypto.h"
#include "tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static EVP_PKEY *root, *key;
static struct buildconf bc;
static struct enclave_info ei;
static struct attest_verifier *verifier;

static void
setup(void)
{
	root = crypto_ec_keygen();
	key = crypto_ec_keygen();
	CHECK(root != NULL && key != NULL);
	bc.root = root;
	bc.validity_s = 3600;
	bc.max_frame = 65536;
	ei.n = 1;
	snprintf(ei.entry[0].name, sizeof(ei.entry[0].name), "echo");
	verifier = attest_verifier_new(&bc, &ei);
	attest_verifier_set_cache(verifier, false);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_error err;

	if (root == NULL)
		setup();
	if (size < 1)
		return 0;
	cl_error_clear(&err);
	if ((data[0] & 1) == 0) {
		struct tee_trust trust = { root, 1800000000, 3600 };
		struct tee_report rep;
		int rc = evidence_verify(&trust, data + 1, size - 1, key, &rep, &err);

		CHECK(rc != 0);
		CHECK(rc == err.code && err.message[0] != '\0');
	} else {
		const unsigned char *p = data + 1;
		X509 *cert = d2i_X509(NULL, &p, (long)(size - 1));
		struct attest_peer peer;

		if (cert != NULL) {
			int rc = attest_verify_cert(verifier, cert, &peer, &err);

			CHECK(rc != 0);
			CHECK(rc == err.code && err.message[0] != '\0');
			X509_free(cert);
		}
	}
	return 0;
}
