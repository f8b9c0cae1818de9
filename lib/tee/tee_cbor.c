/*
 * CBOR helpers for evidence encoding and decoding (libcbor).
 */
#include "compat.h"

#include "tee_int.h"

cbor_item_t *
tcb_load(const uint8_t *p, size_t len, const char *what, struct cl_error *err)
{
	struct cbor_load_result res;
	cbor_item_t *it;

	if (len == 0 || len > TEE_EVIDENCE_MAX) {
		cl_error_set(err, CL_EPROTO, "%s: %zu bytes is not a valid size",
		    what, len);
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
