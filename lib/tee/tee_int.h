/*
 * Internals shared by the files of the tee module only: CBOR helpers
 * over libcbor.  Included by lib/tee/ *.c and nobody else.
 */
#ifndef CL_TEE_INT_H
#define CL_TEE_INT_H

#include <cbor.h>

#include "buf.h"
#include "err.h"

/* Largest evidence accepted, before parsing: real quotes with their
 * certificate chains stay well under this. */
#define TEE_EVIDENCE_MAX	(64 * 1024)

/* Deepest CBOR nesting accepted in evidence (ours is 3 levels deep). */
#define TEE_CBOR_MAX_DEPTH	16

/* Decode exactly len bytes as one CBOR item; NULL with err otherwise. */
cbor_item_t *tcb_load(const uint8_t *p, size_t len, const char *what,
    struct cl_error *err) CL_WUR;
/* Append the encoding of item to out. */
void tcb_append(struct buf *out, const cbor_item_t *item);
/* Value of text key in a definite map; NULL when absent or not a map. */
cbor_item_t *tcb_get(const cbor_item_t *map, const char *key);
/* A definite byte string's contents; false otherwise. */
bool tcb_bytes(const cbor_item_t *it, const uint8_t **out_p, size_t *out_len);
/* A definite byte string of exactly len bytes copied to out; false otherwise. */
bool tcb_bytes_exact(const cbor_item_t *it, uint8_t *out, size_t len);
/* Add text key -> value (reference moved) to a definite map. */
void tcb_put(cbor_item_t *map, const char *key, cbor_item_t *value);

#endif
