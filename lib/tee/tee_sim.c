/*
 * The sim TEE backend: software attestation for machines without TEE
 * hardware, and for development and tests.
 *
 * The attestation authority is an ECDSA P-256 key made at deploy time
 * (cloister dev init); its certificate is the trust root in the build
 * configuration.  A quote is a CBOR array [body, signature]:
 *
 *   body = {                      (CBOR map, text keys)
 *     "tee":         "sim",
 *     "measurement": bstr .size 32,   SHA-256 of executable + build config
 *     "signer":      bstr .size 32,   SHA-256 of the authority's public key
 *     "report-data": bstr .size 32,   SHA-256 of the evidence claims
 *     "iat":         uint             issued-at, Unix seconds (EAT/CWT "iat")
 *   }
 *   signature = ECDSA-SHA256(authority key, encoded body), DER
 *
 * What sim does not do: anyone who can read the authority key can forge
 * evidence, and the machine's owner can read any process's memory.  It
 * still applies the process hardening of tee_harden.
 */
#include "compat.h"

#include <openssl/kdf.h>

#include "crypto.h"
#include "tee.h"
#include "tee_int.h"
#include "xalloc.h"

/* "clsi" in ASCII: an unregistered tag from the first-come range. */
#define TEE_SIM_CBOR_TAG 1668051817ull

struct sim {
	EVP_PKEY *authority;	/* in OpenSSL's secure heap when hardened */
};

int
tee_sim_measure(const char *exe_path, const uint8_t config_sha256[32],
    uint8_t out[TEE_MEASUREMENT_BYTES], struct cl_error *err)
{
	static const char label[] = "cloister-sim-v1";
	uint8_t in[sizeof(label) - 1 + 64];

	memcpy(in, label, sizeof(label) - 1);
	if (crypto_sha256_file(in + sizeof(label) - 1, exe_path, err) != 0)
		return CL_EIO;
	memcpy(in + sizeof(label) - 1 + 32, config_sha256, 32);
	crypto_sha256(out, in, sizeof(in));
	return 0;
}

static int
sim_open(struct tee *t, const struct tee_params *p, struct cl_error *err)
{
	struct sim *s;

	if (p->authority_key == NULL)
		return cl_error_set(err, CL_ECONFIG, "sim attestation needs the "
		    "authority key (option 'attestation_key')");
	if (tee_sim_measure("/proc/self/exe", p->config_sha256, t->measurement,
	    err) != 0)
		return CL_EIO;
	s = xcalloc(1, sizeof(*s));
	if ((s->authority = crypto_read_private_pem(p->authority_key, err)) == NULL) {
		free(s);
		return CL_ECONFIG;
	}
	if (crypto_spki_sha256(s->authority, t->signer) != 0)
		BUG("SPKI of a loaded key");
	t->priv = s;
	return 0;
}

static void
sim_close(struct tee *t)
{
	struct sim *s = t->priv;

	if (s != NULL) {
		EVP_PKEY_free(s->authority);
		free(s);
	}
	t->priv = NULL;
}

static int
sim_quote(struct tee *t, const uint8_t rd[TEE_REPORT_DATA_BYTES], int64_t now,
    struct buf *out, struct cl_error *err)
{
	struct sim *s = t->priv;
	struct buf body = BUF_INIT, sig = BUF_INIT;
	cbor_item_t *m = cbor_new_definite_map(5), *arr;
	int rc;

	tcb_put(m, "tee", cbor_build_string("sim"));
	tcb_put(m, "measurement", cbor_build_bytestring(t->measurement, 32));
	tcb_put(m, "signer", cbor_build_bytestring(t->signer, 32));
	tcb_put(m, "report-data", cbor_build_bytestring(rd, 32));
	tcb_put(m, "iat", cbor_build_uint64((uint64_t)now));
	tcb_append(&body, m);
	cbor_decref(&m);
	if ((rc = crypto_sign(s->authority, body.p, body.len, &sig, err)) == 0) {
		arr = cbor_new_definite_array(2);
		if (!cbor_array_push(arr, cbor_move(cbor_build_bytestring(
		    (uint8_t *)body.p, body.len))) ||
		    !cbor_array_push(arr, cbor_move(cbor_build_bytestring(
		    (uint8_t *)sig.p, sig.len))))
			BUG("cbor_array_push failed");
		tcb_append(out, arr);
		cbor_decref(&arr);
	}
	buf_release(&body);
	buf_release(&sig);
	return rc;
}

static int
sim_verify(const struct tee_trust *trust, const uint8_t *q, size_t len,
    struct tee_report *out, struct cl_error *err)
{
	cbor_item_t *arr, *body = NULL, *v;
	const uint8_t *bp, *sp;
	size_t blen, slen;
	uint8_t root_signer[32];
	int rc = CL_EPROTO;

	if ((arr = tcb_load(q, len, "sim quote", err)) == NULL)
		return CL_EPROTO;
	if (!cbor_isa_array(arr) || cbor_array_size(arr) != 2 ||
	    !tcb_bytes(cbor_array_handle(arr)[0], &bp, &blen) ||
	    !tcb_bytes(cbor_array_handle(arr)[1], &sp, &slen)) {
		cl_error_set(err, CL_EPROTO, "sim quote is not [body, signature]");
		goto out;
	}
	if (crypto_verify(trust->root, bp, blen, sp, slen, NULL) != 0) {
		rc = cl_error_set(err, CL_EDENIED, "sim quote is not signed by "
		    "the trusted attestation authority");
		goto out;
	}
	if ((body = tcb_load(bp, blen, "sim quote body", err)) == NULL)
		goto out;
	memset(out, 0, sizeof(*out));
	v = tcb_get(body, "tee");
	if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v) ||
	    cbor_string_length(v) != 3 || memcmp(cbor_string_handle(v), "sim", 3) != 0 ||
	    !tcb_bytes_exact(tcb_get(body, "measurement"), out->measurement, 32) ||
	    !tcb_bytes_exact(tcb_get(body, "signer"), out->signer, 32) ||
	    !tcb_bytes_exact(tcb_get(body, "report-data"), out->report_data, 32) ||
	    (v = tcb_get(body, "iat")) == NULL || !cbor_isa_uint(v) ||
	    cbor_get_int(v) > (uint64_t)INT64_MAX) {
		cl_error_set(err, CL_EPROTO, "sim quote body lacks a required claim");
		goto out;
	}
	out->issued_at = (int64_t)cbor_get_int(v);
	snprintf(out->tee, sizeof(out->tee), "sim");
	if (crypto_spki_sha256(trust->root, root_signer) != 0 ||
	    memcmp(root_signer, out->signer, 32) != 0) {
		rc = cl_error_set(err, CL_EDENIED, "sim quote names another signer");
		goto out;
	}
	rc = 0;
out:
	if (body != NULL)
		cbor_decref(&body);
	cbor_decref(&arr);
	return rc;
}

/*
 * sim sealing key: HKDF-SHA256 over the authority's private key, salted,
 * with the label as info.  Whoever holds the authority key (every sim
 * service, and the machine's owner) can derive it: sim protects stored
 * data against a stolen disk, not against the host.
 */
static int
sim_seal_key(struct tee *t, const char *label, uint8_t out[TEE_SEAL_KEY_BYTES],
    struct cl_error *err)
{
	struct sim *s = t->priv;
	unsigned char *der = NULL;
	EVP_PKEY_CTX *kdf;
	size_t outlen = TEE_SEAL_KEY_BYTES;
	int n, ok;

	if ((n = i2d_PrivateKey(s->authority, &der)) <= 0)
		return cl_error_set(err, CL_EINTERNAL, "cannot encode the "
		    "authority key");
	kdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	ok = kdf != NULL && EVP_PKEY_derive_init(kdf) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(kdf, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(kdf, (const unsigned char *)
	    "cloister-sim-seal-v1", 20) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(kdf, der, n) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(kdf, (const unsigned char *)label,
	    (int)strlen(label)) == 1 &&
	    EVP_PKEY_derive(kdf, out, &outlen) == 1;
	EVP_PKEY_CTX_free(kdf);
	OPENSSL_clear_free(der, (size_t)n);
	if (!ok)
		return cl_error_set(err, CL_EINTERNAL, "cannot derive the sealing "
		    "key");
	return 0;
}

const struct tee_backend tee_backend_sim = {
	.name = "sim",
	.cbor_tag = TEE_SIM_CBOR_TAG,
	.open = sim_open,
	.close = sim_close,
	.quote = sim_quote,
	.verify = sim_verify,
	.seal_key = sim_seal_key,
};
