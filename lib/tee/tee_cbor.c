/*
 * CBOR helpers for evidence encoding and decoding (libcbor).
 */
#include "compat.h"

#include "tee_int.h"

/*
 * Check that p[0..end) starts with one well-formed CBOR item whose
 * declared sizes fit in the bytes that remain, before libcbor sees it:
 * libcbor 0.8 allocates an array or map from its declared count before
 * reading any element, so 6 hostile bytes could ask for gigabytes (found
 * by fuzz/fuzz_evidence).  Indefinite lengths are refused (evidence never
 * needs them), and so is nesting deeper than TEE_CBOR_MAX_DEPTH.
 */
static int
scan(const uint8_t **pp, const uint8_t *end, int depth)
{
	const uint8_t *p = *pp;
	uint64_t arg = 0;
	unsigned major, ai, nbytes;

	if (p >= end || depth > TEE_CBOR_MAX_DEPTH)
		return -1;
	major = *p >> 5;
	ai = *p & 31;
	p++;
	if (ai < 24) {
		arg = ai;
	} else if (ai <= 27) {
		nbytes = 1u << (ai - 24);
		if ((size_t)(end - p) < nbytes)
			return -1;
		for (unsigned i = 0; i < nbytes; i++)
			arg = arg << 8 | *p++;
	} else {
		return -1;	/* reserved, or indefinite length */
	}
	switch (major) {
	case 0:		/* unsigned integer */
	case 1:		/* negative integer */
	case 7:		/* simple values and floats */
		break;
	case 2:		/* byte string */
	case 3:		/* text string */
		if (arg > (uint64_t)(end - p))
			return -1;
		p += arg;
		break;
	case 4:		/* array: each item takes at least one byte */
	case 5:		/* map: each pair takes at least two */
		if (arg > (uint64_t)(end - p) / (major == 5 ? 2 : 1))
			return -1;
		for (uint64_t i = 0; i < arg * (major == 5 ? 2 : 1); i++)
			if (scan(&p, end, depth + 1) != 0)
				return -1;
		break;
	case 6:		/* tag: one item follows */
		if (scan(&p, end, depth + 1) != 0)
			return -1;
		break;
	}
	*pp = p;
	return 0;
}

cbor_item_t *
tcb_load(const uint8_t *p, size_t len, const char *what, struct cl_error *err)
{
	struct cbor_load_result res;
	const uint8_t *q = p;
	cbor_item_t *it;

	if (len == 0 || len > TEE_EVIDENCE_MAX) {
		cl_error_set(err, CL_EPROTO, "%s: %zu bytes is not a valid size",
		    what, len);
		return NULL;
	}
	if (scan(&q, p + len, 0) != 0) {
		cl_error_set(err, CL_EPROTO, "%s: malformed CBOR (sizes beyond "
		    "the data, indefinite lengths or too deep)", what);
		return NULL;
	}
	if (q != p + len) {
		cl_error_set(err, CL_EPROTO, "%s: %zu trailing bytes after the "
		    "CBOR item", what, (size_t)(p + len - q));
		return NULL;
	}
	it = cbor_load(p, len, &res);
	if (it == NULL || res.error.code != CBOR_ERR_NONE) {
		if (it != NULL)
			cbor_decref(&it);
		cl_error_set(err, CL_EPROTO, "%s: malformed CBOR at byte %zu",
		    what, res.error.position);
		return NULL;
	}
	if (res.read != len) {
		cbor_decref(&it);
		cl_error_set(err, CL_EPROTO, "%s: %zu trailing bytes after the "
		    "CBOR item", what, len - res.read);
		return NULL;
	}
	return it;
}

void
tcb_append(struct buf *out, const cbor_item_t *item)
{
	unsigned char *p = NULL;
	size_t cap = 0, n;

	n = cbor_serialize_alloc(item, &p, &cap);
	if (n == 0)
		BUG("CBOR serialization failed");
	buf_add(out, p, n);
	free(p);
}

cbor_item_t *
tcb_get(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *pairs;
	size_t klen = strlen(key);

	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return NULL;
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		cbor_item_t *k = pairs[i].key;

		if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
		    cbor_string_length(k) == klen &&
		    memcmp(cbor_string_handle(k), key, klen) == 0)
			return pairs[i].value;
	}
	return NULL;
}

bool
tcb_bytes(const cbor_item_t *it, const uint8_t **out_p, size_t *out_len)
{
	if (it == NULL || !cbor_isa_bytestring(it) ||
	    !cbor_bytestring_is_definite(it))
		return false;
	*out_p = cbor_bytestring_handle(it);
	*out_len = cbor_bytestring_length(it);
	return true;
}

bool
tcb_bytes_exact(const cbor_item_t *it, uint8_t *out, size_t len)
{
	const uint8_t *p;
	size_t n;

	if (!tcb_bytes(it, &p, &n) || n != len)
		return false;
	memcpy(out, p, len);
	return true;
}

void
tcb_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	if (!cbor_map_add(map, (struct cbor_pair){
	    .key = cbor_move(cbor_build_string(key)),
	    .value = cbor_move(value) }))
		BUG("cbor_map_add failed for '%s'", key);
}
