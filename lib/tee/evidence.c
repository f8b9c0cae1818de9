/*
 * Backend-independent evidence: tagging, claims and key binding.
 */
#include "compat.h"

#include "crypto.h"
#include "tee.h"
#include "tee_int.h"

/* CoSWID / named-information hash algorithm id of SHA-256. */
#define HASH_ALG_SHA256 1

static void
make_claims(const uint8_t spki_hash[32], struct buf *out)
{
	cbor_item_t *m = cbor_new_definite_map(1), *entry = cbor_new_definite_array(2);

	if (!cbor_array_push(entry, cbor_move(cbor_build_uint8(HASH_ALG_SHA256))) ||
	    !cbor_array_push(entry, cbor_move(cbor_build_bytestring(spki_hash, 32))))
		BUG("cbor_array_push failed");
	tcb_put(m, "pubkey-hash", entry);
	tcb_append(out, m);
	cbor_decref(&m);
}

int
evidence_make(struct tee *t, EVP_PKEY *key, int64_t now, struct buf *out,
    struct cl_error *err)
{
	struct buf claims = BUF_INIT, quote = BUF_INIT;
	uint8_t spki_hash[32], rd[TEE_REPORT_DATA_BYTES];
	cbor_item_t *tag, *arr;
	int rc;

	if (crypto_spki_sha256(key, spki_hash) != 0)
		return cl_error_set(err, CL_EINTERNAL, "cannot encode the TLS key");
	make_claims(spki_hash, &claims);
	crypto_sha256(rd, claims.p, claims.len);
	if ((rc = t->be->quote(t, rd, now, &quote, err)) == 0) {
		arr = cbor_new_definite_array(2);
		if (!cbor_array_push(arr, cbor_move(cbor_build_bytestring(
		    (uint8_t *)quote.p, quote.len))) ||
		    !cbor_array_push(arr, cbor_move(cbor_build_bytestring(
		    (uint8_t *)claims.p, claims.len))))
			BUG("cbor_array_push failed");
		tag = cbor_new_tag(t->be->cbor_tag);
		cbor_tag_set_item(tag, cbor_move(arr));
		tcb_append(out, tag);
		cbor_decref(&tag);
	}
	buf_release(&claims);
	buf_release(&quote);
	return rc;
}

int
evidence_verify(const struct tee_trust *trust, const uint8_t *ev, size_t len,
    EVP_PKEY *cert_key, struct tee_report *out, struct cl_error *err)
{
	const struct tee_backend *be;
	cbor_item_t *tag, *arr, *claims = NULL, *ph;
	const uint8_t *qp, *cp;
	size_t qlen, clen;
	uint8_t rd[32], want[32], got[32];
	int rc = CL_EPROTO;

	if ((tag = tcb_load(ev, len, "evidence", err)) == NULL)
		return CL_EPROTO;
	if (!cbor_isa_tag(tag)) {
		cl_error_set(err, CL_EPROTO, "evidence is not CBOR-tagged");
		goto out;
	}
	if ((be = tee_backend_by_tag(cbor_tag_value(tag))) == NULL) {
		rc = cl_error_set(err, CL_EDENIED, "evidence of unsupported type "
		    "(CBOR tag %" PRIu64 ")", cbor_tag_value(tag));
		goto out;
	}
	arr = cbor_tag_item(tag);
	if (!cbor_isa_array(arr) || cbor_array_size(arr) != 2 ||
	    !tcb_bytes(cbor_array_handle(arr)[0], &qp, &qlen) ||
	    !tcb_bytes(cbor_array_handle(arr)[1], &cp, &clen)) {
		cbor_decref(&arr);
		cl_error_set(err, CL_EPROTO, "evidence is not [quote, claims]");
		goto out;
	}
	cbor_decref(&arr);	/* cbor_tag_item took a reference */

	if ((rc = be->verify(trust, qp, qlen, out, err)) != 0)
		goto out;
	rc = CL_EDENIED;
	crypto_sha256(rd, cp, clen);
	if (memcmp(rd, out->report_data, 32) != 0) {
		cl_error_set(err, CL_EDENIED, "evidence claims do not match the "
		    "quote's report data");
		goto out;
	}
	rc = CL_EPROTO;
	if ((claims = tcb_load(cp, clen, "evidence claims", err)) == NULL)
		goto out;
	ph = tcb_get(claims, "pubkey-hash");
	if (ph == NULL || !cbor_isa_array(ph) || cbor_array_size(ph) != 2 ||
	    !cbor_isa_uint(cbor_array_handle(ph)[0]) ||
	    cbor_get_int(cbor_array_handle(ph)[0]) != HASH_ALG_SHA256 ||
	    !tcb_bytes_exact(cbor_array_handle(ph)[1], got, 32)) {
		cl_error_set(err, CL_EPROTO, "evidence claims lack a SHA-256 "
		    "pubkey-hash");
		goto out;
	}
	rc = CL_EDENIED;
	if (crypto_spki_sha256(cert_key, want) != 0 || memcmp(want, got, 32) != 0) {
		cl_error_set(err, CL_EDENIED, "evidence is bound to another key");
		goto out;
	}
	if (out->issued_at > trust->now + TEE_CLOCK_SKEW_S) {
		cl_error_set(err, CL_EDENIED, "evidence issued %" PRId64 " s in "
		    "the future", out->issued_at - trust->now);
		goto out;
	}
	if (trust->now - out->issued_at > trust->max_age) {
		cl_error_set(err, CL_EDENIED, "evidence expired: issued %" PRId64
		    " s ago, valid for %" PRId64 " s", trust->now - out->issued_at,
		    trust->max_age);
		goto out;
	}
	rc = 0;
out:
	if (claims != NULL)
		cbor_decref(&claims);
	cbor_decref(&tag);
	return rc;
}
