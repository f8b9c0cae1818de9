/*
 * The audit log over the storage service (docs/platform.md, "Audit log"):
 * appending one hash-chained entry per storage transaction, reading the
 * entries back in sequence order with filters, and checking a run of
 * entries for altered, removed or reordered ones.
 *
 * Keys are "audit/entry/" and the seq in 16 zero-padded digits, so key
 * order is seq order and a storage_list page is a run of the chain.
 * "audit/head" holds {seq, hash} of the newest entry; an append checks it
 * (compare-and-set) in the transaction that writes the entry, so two
 * appenders never take the same seq and the chain never forks.
 *
 * Everything read from storage is checked before use: a stored record of
 * the wrong shape is an error naming its key and field, never a crash.
 */
#include "compat.h"

#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "audit.h"
#include "crypto.h"
#include "log.h"
#include "storage_client.h"

#define HEAD_KEY	"audit/head"
#define ENTRY_PREFIX	"audit/entry/"
#define SEQ_DIGITS	16
#define SEQ_MAX		INT64_C(9999999999999999)	/* 16 digits */
#define KEY_SIZE	(sizeof(ENTRY_PREFIX) + 20)	/* room for any int64 */
#define READ_MAX	1000		/* audit_read's limit, storage_list's page */

/*
 * Appends that lose the compare-and-set to another appender read the head
 * again and retry, after a random pause growing to ~6 ms; so many losses
 * in a row mean the log is hammered beyond reason, and the caller is told
 * to try again (CL_EBUSY) rather than kept waiting.
 */
#define APPEND_TRIES	64

/*
 * Longest user, action or object recorded.  They are ids and request
 * names; the bound stops a caller's mistake from putting a huge record
 * on every reader's path.
 */
#define FIELD_MAX	1024

#define ZERO16		"0000000000000000"
static const char zero_hash[AUDIT_HASH_HEX + 1] = ZERO16 ZERO16 ZERO16 ZERO16;

static void
entry_key(char out[KEY_SIZE], int64_t seq)
{
	snprintf(out, KEY_SIZE, ENTRY_PREFIX "%0*" PRId64, SEQ_DIGITS, seq);
}

/* 64 lowercase hex digits (s may be NULL). */
static bool
is_hex64(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++)
		if (n == AUDIT_HASH_HEX || !((s[n] >= '0' && s[n] <= '9') ||
		    (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == AUDIT_HASH_HEX;
}

static bool
is_hash(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) == AUDIT_HASH_HEX &&
	    is_hex64(json_string_value(v));
}

static bool
is_result(const char *s)
{
	return s != NULL && (strcmp(s, "ok") == 0 || strcmp(s, "denied") == 0 ||
	    strcmp(s, "failed") == 0);
}

/*
 * Why e is not a well-formed entry (a constant message naming the field),
 * or NULL when it is.  A full entry has exactly the eight members of
 * audit.h; when reduced_ok, {seq, prev, hash} alone is accepted too
 * (*out_full false).  *out_seq gets the seq once that much is known, else
 * 0.
 */
static const char *
entry_shape(const json_t *e, bool reduced_ok, int64_t *out_seq, bool *out_full)
{
	const json_t *v;

	*out_seq = 0;
	*out_full = false;
	if (!json_is_object(e))
		return "it is not an object";
	v = json_object_get(e, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > SEQ_MAX)
		return "'seq' is missing or not an integer from 1 to "
		    "9999999999999999";
	*out_seq = json_integer_value(v);
	if (!is_hash(json_object_get(e, "prev")))
		return "'prev' is missing or not 64 lowercase hex digits";
	if (!is_hash(json_object_get(e, "hash")))
		return "'hash' is missing or not 64 lowercase hex digits";
	if (reduced_ok && json_object_size(e) == 3)
		return NULL;
	v = json_object_get(e, "time");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return "'time' is missing or not a non-negative integer";
	if (!json_is_string(json_object_get(e, "user")))
		return "'user' is missing or not a string";
	if (!json_is_string(json_object_get(e, "action")))
		return "'action' is missing or not a string";
	if (!json_is_string(json_object_get(e, "object")))
		return "'object' is missing or not a string";
	if (!is_result(json_string_value(json_object_get(e, "result"))))
		return "'result' is missing or not \"ok\", \"denied\" or \"failed\"";
	if (json_object_size(e) != 8)
		return "it has members other than seq, time, user, action, "
		    "object, result, prev and hash";
	*out_full = true;
	return NULL;
}

void
audit_entry_hash(const json_t *entry, char out[AUDIT_HASH_HEX + 1])
{
	uint8_t md[CRYPTO_SHA256_BYTES];
	json_t *copy;
	char *text;

	if (json_typeof(entry) != JSON_OBJECT)
		BUG("audit_entry_hash: the entry is not an object");
	copy = json_deep_copy(entry);
	if (copy != NULL)
		json_object_del(copy, "hash");
	text = copy != NULL ? json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS) :
	    NULL;
	json_decref(copy);
	if (text == NULL) {
		/* Out of memory: services abort (STYLE rule 14). */
		log_emit(LOG_LVL_FATAL, 0, "out of memory hashing an audit entry");
		abort();
	}
	crypto_sha256(md, text, strlen(text));
	crypto_hex(out, md, sizeof(md));
	free(text);
}

/* ---- append ---- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random pause before retry number attempt (1, 2, ...). */
static void
backoff(int attempt)
{
	unsigned r = 0;
	unsigned cap = 100u << CL_MIN(attempt, 6);	/* microseconds */

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)attempt * 2654435761u;
	usleep((useconds_t)(r % cap));
}

/*
 * The head's seq and hash (the head is borrowed), or CL_EINTERNAL naming
 * what is wrong with it.
 */
static int
head_parse(const json_t *head, int64_t *out_seq, const char **out_hash,
    struct cl_error *err)
{
	const json_t *seq = json_object_get(head, "seq");

	if (!json_is_object(head) || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1 || json_integer_value(seq) > SEQ_MAX ||
	    !is_hash(json_object_get(head, "hash")) || json_object_size(head) != 2)
		return cl_error_set(err, CL_EINTERNAL, "'" HEAD_KEY "' is "
		    "malformed: it must be {seq (1 to 9999999999999999), hash "
		    "(64 lowercase hex digits)}");
	*out_seq = json_integer_value(seq);
	*out_hash = json_string_value(json_object_get(head, "hash"));
	return 0;
}

/* {user, action, object, result} as JSON strings, checked. */
static int
append_fields(json_t *base, const char *const name[4],
    const char *const value[4], struct cl_error *err)
{
	for (int i = 0; i < 4; i++) {
		json_t *s;

		if (strlen(value[i]) > FIELD_MAX)
			return cl_error_set(err, CL_EINVAL, "audit '%s' is longer "
			    "than %d bytes", name[i], FIELD_MAX);
		if ((s = json_string(value[i])) == NULL)
			return cl_error_set(err, CL_EINVAL, "audit '%s' is not "
			    "valid UTF-8", name[i]);
		if (json_object_set_new(base, name[i], s) != 0)
			return cl_error_set(err, CL_ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * One attempt: the entry after head (NULL: the first entry) and the
 * transaction that writes it with the new head.  CL_ESTATE when another
 * appender got there first.
 */
static int
append_once(struct rpc_client *storage, const json_t *base, json_t *head,
    int64_t *out_seq, struct cl_error *err)
{
	const char *prev = zero_hash;
	char hash[AUDIT_HASH_HEX + 1], key[KEY_SIZE];
	json_t *entry, *ops, *newhead;
	int64_t seq = 0;
	int rc;

	if (head != NULL && (rc = head_parse(head, &seq, &prev, err)) != 0)
		return rc;
	if (seq >= SEQ_MAX)
		return cl_error_set(err, CL_ETOOBIG, "the audit log is full");
	seq++;
	entry = json_deep_copy(base);
	ops = json_array();
	if (entry == NULL || ops == NULL ||
	    json_object_set_new(entry, "seq", json_integer(seq)) != 0 ||
	    json_object_set_new(entry, "time", json_integer(now_ms())) != 0 ||
	    json_object_set_new(entry, "prev", json_string(prev)) != 0) {
		json_decref(entry);
		json_decref(ops);
		return cl_error_set(err, CL_ENOMEM, "out of memory");
	}
	audit_entry_hash(entry, hash);
	json_object_set_new(entry, "hash", json_string(hash));
	newhead = json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "hash", hash);
	entry_key(key, seq);
	if (head != NULL)
		storage_op_check_eq(ops, HEAD_KEY, head);
	else
		storage_op_check_absent(ops, HEAD_KEY);
	storage_op_check_absent(ops, key);
	storage_op_put(ops, key, entry);
	if (newhead != NULL)
		storage_op_put(ops, HEAD_KEY, newhead);
	if (newhead == NULL || json_array_size(ops) != 4 ||
	    json_object_size(entry) != 8)
		rc = cl_error_set(err, CL_ENOMEM, "out of memory");
	else
		rc = storage_apply(storage, ops, err);
	json_decref(newhead);
	json_decref(entry);
	json_decref(ops);
	if (rc == 0 && out_seq != NULL)
		*out_seq = seq;
	return rc;
}

int
audit_append(struct rpc_client *storage, const char *user, const char *action,
    const char *object, const char *result, int64_t *out_seq,
    struct cl_error *err)
{
	static const char *const name[4] = { "user", "action", "object",
	    "result" };
	const char *const value[4] = { user, action, object, result };
	json_t *base, *head = NULL, *last = NULL;
	bool tried = false;
	int rc;

	if (!is_result(result))
		return cl_error_set(err, CL_EINVAL, "audit result must be \"ok\", "
		    "\"denied\" or \"failed\", not '%.32s'", result);
	if ((base = json_object()) == NULL)
		return cl_error_set(err, CL_ENOMEM, "out of memory");
	if ((rc = append_fields(base, name, value, err)) != 0)
		goto done;
	for (int i = 0; i < APPEND_TRIES; i++) {
		struct cl_error e;

		cl_error_clear(&e);
		rc = storage_get(storage, HEAD_KEY, &head, &e);
		if (rc == CL_ENOTFOUND) {
			head = NULL;		/* the log is empty */
			cl_error_clear(&e);
		} else if (rc != 0) {
			cl_error_set(err, rc, "cannot read '" HEAD_KEY "': %s",
			    e.message);
			goto done;
		}
		/*
		 * The head only moves forward.  If it has not moved since an
		 * attempt lost, its check held and the entry's did not: an
		 * entry exists beyond the head, and retrying cannot help.
		 */
		if (tried && (head == NULL ? last == NULL : json_equal(head, last))) {
			char key[KEY_SIZE];
			int64_t seq = 0;
			const char *h;

			if (head != NULL && head_parse(head, &seq, &h, NULL) != 0)
				seq = 0;
			entry_key(key, seq + 1);
			rc = cl_error_set(err, CL_EINTERNAL, "the audit log is "
			    "inconsistent: '%s' exists beyond '" HEAD_KEY "'", key);
			goto done;
		}
		rc = append_once(storage, base, head, out_seq, &e);
		if (rc != CL_ESTATE) {
			if (rc != 0)
				cl_error_set(err, rc, "cannot append to the audit "
				    "log: %s", e.message);
			goto done;
		}
		json_decref(last);
		last = head;
		head = NULL;
		tried = true;
		backoff(i + 1);
	}
	rc = cl_error_set(err, CL_EBUSY, "the audit log is busy (too many "
	    "concurrent appends); try again");
done:
	json_decref(head);
	json_decref(last);
	json_decref(base);
	return rc;
}

/* ---- read ---- */

/*
 * Check one storage_list item {key, value} against the entry it should
 * hold.  *out_seq and *out_entry (borrowed from item) are the entry's.
 */
static int
stored_entry(const json_t *item, int64_t after, int64_t *out_seq,
    json_t **out_entry, struct cl_error *err)
{
	const char *key = json_string_value(json_object_get(item, "key"));
	json_t *e = json_object_get(item, "value");
	char want[KEY_SIZE];
	const char *why;
	bool full;

	if (key == NULL || e == NULL)
		return cl_error_set(err, CL_EINTERNAL, "storage listed an audit "
		    "record without a key or a value");
	if ((why = entry_shape(e, false, out_seq, &full)) != NULL)
		return cl_error_set(err, CL_EINTERNAL, "stored audit entry "
		    "'%.64s' is malformed: %s", key, why);
	entry_key(want, *out_seq);
	if (strcmp(key, want) != 0)
		return cl_error_set(err, CL_EINTERNAL, "stored audit entry "
		    "'%.64s' holds seq %" PRId64, key, *out_seq);
	if (*out_seq <= after)
		return cl_error_set(err, CL_EINTERNAL, "storage listed audit "
		    "entry '%.64s' out of order", key);
	*out_entry = e;
	return 0;
}

static bool
matches(const json_t *e, const char *field, const char *want)
{
	return want == NULL ||
	    strcmp(json_string_value(json_object_get(e, field)), want) == 0;
}

int
audit_read(struct rpc_client *storage, int64_t after, int limit,
    const char *user, const char *object, json_t **out_entries,
    bool *out_more, struct cl_error *err)
{
	bool filtered = user != NULL || object != NULL, more = true;
	char from[KEY_SIZE];
	json_t *out;
	int rc = 0;

	*out_entries = NULL;
	*out_more = false;
	if (after < 0 || after > SEQ_MAX)
		return cl_error_set(err, CL_EINVAL, "'after' must be from 0 to "
		    "9999999999999999");
	if (limit < 1 || limit > READ_MAX)
		return cl_error_set(err, CL_EINVAL, "'limit' must be from 1 to %d",
		    READ_MAX);
	if ((out = json_array()) == NULL)
		return cl_error_set(err, CL_ENOMEM, "out of memory");
	entry_key(from, after);
	/*
	 * With a filter, scan until limit entries match or the log ends.
	 * NEEDSWORK: that is the whole log for a rare user or object; an
	 * index per user and object would bound it.
	 */
	while (rc == 0 && more && json_array_size(out) < (size_t)limit) {
		int want = filtered ? READ_MAX : limit - (int)json_array_size(out);
		json_t *page = NULL;
		bool page_more = false;
		size_t i = 0, n;

		rc = storage_list(storage, ENTRY_PREFIX, from, want, &page,
		    &page_more, err);
		if (rc != 0)
			break;
		n = json_array_size(page);
		if (!json_is_array(page) || (n == 0 && page_more)) {
			rc = cl_error_set(err, CL_EINTERNAL, "storage answered a "
			    "malformed list of audit entries");
			json_decref(page);
			break;
		}
		for (; i < n && json_array_size(out) < (size_t)limit; i++) {
			json_t *e = NULL;

			rc = stored_entry(json_array_get(page, i), after, &after,
			    &e, err);
			if (rc != 0)
				break;
			entry_key(from, after);
			if (matches(e, "user", user) && matches(e, "object",
			    object) && json_array_append(out, e) != 0)
				rc = cl_error_set(err, CL_ENOMEM, "out of memory");
		}
		more = i < n || page_more;
		json_decref(page);
	}
	if (rc != 0) {
		json_decref(out);
		return rc;
	}
	*out_entries = out;
	*out_more = more;
	return 0;
}

/* ---- check ---- */

int
audit_check_chain(const json_t *entries, const char *prev,
    struct cl_error *err)
{
	char hash[AUDIT_HASH_HEX + 1];
	const char *want_prev = prev;
	int64_t last = 0;		/* seq of the entry before, 0 = unknown */
	size_t i;

	if (!is_hex64(prev))
		return cl_error_set(err, CL_EINVAL, "the hash the chain follows "
		    "must be 64 lowercase hex digits");
	if (json_typeof(entries) != JSON_ARRAY)
		return cl_error_set(err, CL_EDENIED, "the audit chain is not an "
		    "array");
	for (i = 0; i < json_array_size(entries); i++) {
		const json_t *e = json_array_get(entries, i);
		int64_t seq;
		const char *why;
		bool full, start = i == 0 && strcmp(prev, zero_hash) == 0;

		if ((why = entry_shape(e, true, &seq, &full)) != NULL) {
			if (seq > 0)
				return cl_error_set(err, CL_EDENIED, "audit entry "
				    "%" PRId64 " is malformed: %s", seq, why);
			if (i == 0)
				return cl_error_set(err, CL_EDENIED, "the first "
				    "audit entry is malformed: %s", why);
			return cl_error_set(err, CL_EDENIED, "the audit entry "
			    "after seq %" PRId64 " is malformed: %s", last, why);
		}
		/* Consecutive seqs: from 1 at the start, then each one more. */
		if (start && seq == 2)
			return cl_error_set(err, CL_EDENIED, "audit entry 1 is "
			    "missing: the chain starts at seq 2");
		if (start && seq != 1)
			return cl_error_set(err, CL_EDENIED, "audit entries 1 to %"
			    PRId64 " are missing: the chain starts at seq %" PRId64,
			    seq - 1, seq);
		if (i > 0 && seq > last + 1) {
			if (seq == last + 2)
				return cl_error_set(err, CL_EDENIED, "audit entry "
				    "%" PRId64 " is missing: seq %" PRId64 " follows "
				    "seq %" PRId64, last + 1, seq, last);
			return cl_error_set(err, CL_EDENIED, "audit entries %"
			    PRId64 " to %" PRId64 " are missing: seq %" PRId64
			    " follows seq %" PRId64, last + 1, seq - 1, seq, last);
		}
		if (i > 0 && seq <= last)
			return cl_error_set(err, CL_EDENIED, "audit entry %" PRId64
			    " is out of order or repeated: it follows seq %"
			    PRId64, seq, last);
		/* The link to the entry before. */
		if (seq == 1 && !start)
			return cl_error_set(err, CL_EDENIED, "audit entry 1 has a "
			    "broken link: it must start the chain, after 64 "
			    "zeros");
		if (strcmp(json_string_value(json_object_get(e, "prev")),
		    want_prev) != 0) {
			if (start)
				return cl_error_set(err, CL_EDENIED, "audit entry 1 "
				    "has a broken link: its prev is not 64 zeros");
			if (i == 0)
				return cl_error_set(err, CL_EDENIED, "audit entry %"
				    PRId64 " has a broken link: its prev is not the "
				    "hash it should follow", seq);
			return cl_error_set(err, CL_EDENIED, "audit entry %" PRId64
			    " has a broken link: its prev is not the hash of "
			    "entry %" PRId64 " (altered?)", seq, last);
		}
		/* Its own hash, when its contents are here. */
		if (full) {
			audit_entry_hash(e, hash);
			if (strcmp(hash, json_string_value(json_object_get(e,
			    "hash"))) != 0)
				return cl_error_set(err, CL_EDENIED, "audit entry %"
				    PRId64 " is altered: its hash does not match "
				    "its contents", seq);
		}
		want_prev = json_string_value(json_object_get(e, "hash"));
		last = seq;
	}
	return 0;
}
