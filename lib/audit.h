/*
 * The audit log: an append-only, hash-chained record in the storage
 * service of who did what to which object, when, and with what result
 * (docs/platform.md, "Audit log").
 *
 * Entry: {seq, time (Unix ms), user, action, object, result, prev, hash}
 * where hash = SHA-256 (lowercase hex) of the canonical JSON (compact,
 * sorted keys) of the entry without "hash", and prev is the previous
 * entry's hash (64 zeros for seq 1).  Stored at "audit/entry/<seq as 16
 * zero-padded digits>"; "audit/head" holds {seq, hash} of the newest.
 */
#ifndef CL_AUDIT_H
#define CL_AUDIT_H

#include <jansson.h>

#include "rpc_client.h"

#define AUDIT_HASH_HEX 64

/*
 * Append one entry, atomically with the head (one storage transaction,
 * retried on conflict).  result is "ok", "denied" or "failed".  *out_seq
 * (may be NULL) gets its sequence number.
 */
int audit_append(struct rpc_client *storage, const char *user,
    const char *action, const char *object, const char *result,
    int64_t *out_seq, struct cl_error *err) CL_NONNULL(1, 2, 3, 4, 5) CL_WUR;

/*
 * Entries with seq > after, oldest first, at most limit (<= 1000), keeping
 * only those whose user equals user and whose object equals object (either
 * filter NULL = any).  *out_entries is a new array (caller owns);
 * *out_more tells whether entries remain after the last one examined.
 */
int audit_read(struct rpc_client *storage, int64_t after, int limit,
    const char *user, const char *object, json_t **out_entries,
    bool *out_more, struct cl_error *err) CL_NONNULL(1, 6, 7) CL_WUR;

/*
 * Check a run of consecutive entries, oldest first, following the entry
 * with hash prev (64 zeros at the start).  Entries may be full, or reduced
 * to {seq, prev, hash} when the reader may not see them: links are checked
 * for all, hashes recomputed for full ones.  Returns 0, or CL_EDENIED with
 * err naming the first altered, removed or out-of-order entry.
 */
int audit_check_chain(const json_t *entries, const char *prev,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

/* The hash an entry (without its "hash" member) should carry. */
void audit_entry_hash(const json_t *entry, char out[AUDIT_HASH_HEX + 1])
	CL_NONNULL(1, 2);

#endif
