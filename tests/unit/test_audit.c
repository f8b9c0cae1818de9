/*
 * Unit tests for lib/audit: the entry hash against a known answer (SHA-256
 * of the canonical JSON, computed independently with sha256sum), and
 * audit_check_chain on chains built in memory.  An intact chain, or a run
 * of it following a known hash, passes, with full or reduced entries; an
 * altered field, a removed entry, a swapped pair, a wrong first prev, a
 * repeated seq, a broken link through a reduced entry and a malformed
 * entry are each refused with CL_EDENIED and a message naming the seq.
 */
#include "compat.h"

#include <setjmp.h>

#include <cmocka.h>

#include "audit.h"

#define Z16 "0000000000000000"
#define ZEROS Z16 Z16 Z16 Z16
#define OTHER "0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"

/* A chain of n full entries, seq 1..n, correctly linked and hashed. */
static json_t *
chain(int n)
{
	json_t *a = json_array();
	char prev[AUDIT_HASH_HEX + 1] = ZEROS, hash[AUDIT_HASH_HEX + 1];

	for (int i = 1; i <= n; i++) {
		char object[32];
		json_t *e;

		snprintf(object, sizeof(object), "task-%d", i);
		e = json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:s}", "seq", i,
		    "time", (json_int_t)1700000000000 + i, "user",
		    i % 2 ? "alice" : "bob", "action", "invoke_task", "object",
		    object, "result", i % 3 ? "ok" : "denied", "prev", prev);
		assert_non_null(e);
		audit_entry_hash(e, hash);
		json_object_set_new(e, "hash", json_string(hash));
		json_array_append_new(a, e);
		memcpy(prev, hash, sizeof(prev));
	}
	return a;
}

/* Entry i (0-based), borrowed. */
static json_t *
at(json_t *a, size_t i)
{
	json_t *e = json_array_get(a, i);

	assert_non_null(e);
	return e;
}

static const char *
hash_of(json_t *a, size_t i)
{
	return json_string_value(json_object_get(at(a, i), "hash"));
}

/* Give entry i the hash its (altered) contents should carry. */
static void
rehash(json_t *a, size_t i)
{
	char hash[AUDIT_HASH_HEX + 1];

	audit_entry_hash(at(a, i), hash);
	json_object_set_new(at(a, i), "hash", json_string(hash));
}

/* Reduce entry i to {seq, prev, hash}. */
static void
reduce(json_t *a, size_t i)
{
	json_t *e = at(a, i);
	json_t *r = json_pack("{s:O, s:O, s:O}", "seq", json_object_get(e, "seq"),
	    "prev", json_object_get(e, "prev"), "hash", json_object_get(e, "hash"));

	assert_non_null(r);
	json_array_set_new(a, i, r);
}

/* True when msg holds the number n as a whole number. */
static bool
names(const char *msg, long long n)
{
	for (const char *p = msg; *p != '\0'; p++) {
		char *end;
		long long v;

		if (*p < '0' || *p > '9' || (p > msg && p[-1] >= '0' &&
		    p[-1] <= '9'))
			continue;
		v = strtoll(p, &end, 10);
		if (v == n)
			return true;
		p = end - 1;
	}
	return false;
}

static void
passes(const json_t *a, const char *prev)
{
	struct cl_error err;

	cl_error_clear(&err);
	if (audit_check_chain(a, prev, &err) != 0)
		fail_msg("refused an intact chain: %s", err.message);
}

/* Refused with CL_EDENIED, naming seq, saying what. */
static void
refused(const json_t *a, const char *prev, long long seq, const char *what)
{
	struct cl_error err;
	int rc;

	cl_error_clear(&err);
	rc = audit_check_chain(a, prev, &err);
	if (rc != CL_EDENIED)
		fail_msg("expected a refusal naming seq %lld (%s), got %d: %s",
		    seq, what, rc, err.message);
	if (!names(err.message, seq) || strstr(err.message, what) == NULL)
		fail_msg("expected a message naming seq %lld and saying '%s', "
		    "got: %s", seq, what, err.message);
}

static void
test_hash_known_answer(void **state)
{
	/* sha256sum of the canonical text below, computed outside Cloister:
	 * {"action":"register_function","object":"function-1","prev":"000...",
	 * "result":"ok","seq":1,"time":1700000000000,"user":"alice"} */
	static const char want[] =
	    "eeb5f1a2b7103955fdade29dda86a0c41b0d79c3dc857f4f9b541341a33fb8a3";
	char hash[AUDIT_HASH_HEX + 1];
	json_t *e, *f;

	(void)state;
	/* built in a non-sorted order on purpose */
	e = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:i}", "user", "alice",
	    "result", "ok", "time", (json_int_t)1700000000000, "prev", ZEROS,
	    "object", "function-1", "action", "register_function", "seq", 1);
	audit_entry_hash(e, hash);
	assert_string_equal(hash, want);

	/* "hash" is left out of its own hash */
	json_object_set_new(e, "hash", json_string(OTHER));
	audit_entry_hash(e, hash);
	assert_string_equal(hash, want);

	/* every field counts */
	f = json_deep_copy(e);
	json_object_set_new(f, "user", json_string("alicf"));
	audit_entry_hash(f, hash);
	assert_string_not_equal(hash, want);
	json_decref(f);
	f = json_deep_copy(e);
	json_object_set_new(f, "time", json_integer(1700000000001));
	audit_entry_hash(f, hash);
	assert_string_not_equal(hash, want);
	json_decref(f);
	json_decref(e);
}

static void
test_intact(void **state)
{
	json_t *a = chain(7), *run, *empty = json_array();

	(void)state;
	passes(a, ZEROS);
	passes(empty, ZEROS);
	passes(empty, OTHER);

	/* a run from the middle, following entry 2's hash */
	run = json_array();
	for (size_t i = 2; i < 7; i++)
		json_array_append(run, at(a, i));
	passes(run, hash_of(a, 1));
	/* ... but not following any other hash, nor from the start */
	refused(run, hash_of(a, 0), 3, "broken link");
	refused(run, ZEROS, 2, "missing");

	json_decref(run);
	json_decref(empty);
	json_decref(a);
}

static void
test_altered_field(void **state)
{
	static const char *const fields[] = { "user", "action", "object",
	    "result" };

	(void)state;
	for (size_t f = 0; f < CL_ARRAY_SIZE(fields); f++) {
		json_t *a = chain(6);
		const char *v = json_string_value(json_object_get(at(a, 3),
		    fields[f]));

		json_object_set_new(at(a, 3), fields[f], json_string(
		    strcmp(v, "ok") == 0 ? "failed" : "mallory"));
		refused(a, ZEROS, 4, "altered");
		json_decref(a);
	}

	{
		json_t *a = chain(6);

		json_object_set_new(at(a, 3), "time", json_integer(0));
		refused(a, ZEROS, 4, "altered");
		json_decref(a);
	}
	{
		/* a hash of the right form, but not the contents' */
		json_t *a = chain(6);

		json_object_set_new(at(a, 3), "hash", json_string(OTHER));
		refused(a, ZEROS, 4, "altered");
		json_decref(a);
	}
	{
		/* altered and re-hashed: the next entry's link breaks */
		json_t *a = chain(6);

		json_object_set_new(at(a, 3), "user", json_string("mallory"));
		rehash(a, 3);
		refused(a, ZEROS, 5, "broken link");
		refused(a, ZEROS, 4, "entry 4");
		json_decref(a);
	}
	{
		/* a rewritten prev */
		json_t *a = chain(6);

		json_object_set_new(at(a, 3), "prev", json_string(OTHER));
		rehash(a, 3);
		refused(a, ZEROS, 4, "broken link");
		json_decref(a);
	}
}

static void
test_removed(void **state)
{
	json_t *a = chain(6);

	(void)state;
	json_array_remove(a, 2);		/* seq 3 */
	refused(a, ZEROS, 3, "missing");
	json_decref(a);

	a = chain(6);
	json_array_remove(a, 2);
	json_array_remove(a, 2);		/* seq 3 and 4 */
	refused(a, ZEROS, 3, "entries 3 to 4 are missing");
	json_decref(a);

	a = chain(6);
	json_array_remove(a, 0);		/* seq 1 */
	refused(a, ZEROS, 1, "missing");
	json_decref(a);

	a = chain(6);
	json_array_remove(a, 0);
	json_array_remove(a, 0);		/* seq 1 and 2 */
	refused(a, ZEROS, 2, "entries 1 to 2 are missing");
	json_decref(a);
}

static void
test_swapped(void **state)
{
	json_t *a = chain(6), *e;

	(void)state;
	e = json_incref(at(a, 2));
	json_array_set(a, 2, at(a, 3));
	json_array_set_new(a, 3, e);		/* 1 2 4 3 5 6 */
	refused(a, ZEROS, 3, "missing");
	json_decref(a);

	/* swapped seqs too, hashes recomputed: the links break */
	a = chain(6);
	json_object_set_new(at(a, 2), "seq", json_integer(4));
	json_object_set_new(at(a, 3), "seq", json_integer(3));
	rehash(a, 2);
	rehash(a, 3);
	e = json_incref(at(a, 2));
	json_array_set(a, 2, at(a, 3));
	json_array_set_new(a, 3, e);
	refused(a, ZEROS, 3, "broken link");
	json_decref(a);
}

static void
test_wrong_first_prev(void **state)
{
	json_t *a = chain(4);

	(void)state;
	json_object_set_new(at(a, 0), "prev", json_string(OTHER));
	rehash(a, 0);
	refused(a, ZEROS, 1, "broken link");
	/* entry 1 does not follow anything, whatever the caller says */
	refused(a, OTHER, 1, "broken link");
	json_decref(a);

	/* the caller's prev is wrong */
	a = chain(4);
	refused(a, OTHER, 1, "broken link");
	json_decref(a);
}

static void
test_duplicate(void **state)
{
	json_t *a = chain(5);

	(void)state;
	json_array_insert(a, 3, at(a, 2));	/* 1 2 3 3 4 5 */
	refused(a, ZEROS, 3, "repeated");
	json_decref(a);

	/* a second seq 3 with other contents, correctly hashed */
	a = chain(5);
	{
		json_t *e = json_deep_copy(at(a, 2));

		json_object_set_new(e, "user", json_string("mallory"));
		json_array_insert_new(a, 3, e);
		rehash(a, 3);
	}
	refused(a, ZEROS, 3, "repeated");
	json_decref(a);
}

static void
test_reduced(void **state)
{
	json_t *a = chain(7);

	(void)state;
	reduce(a, 1);
	reduce(a, 3);
	reduce(a, 4);
	passes(a, ZEROS);
	for (size_t i = 0; i < 7; i++)
		reduce(a, i);
	passes(a, ZEROS);
	json_decref(a);

	/* a reduced entry's prev broken */
	a = chain(7);
	reduce(a, 3);
	json_object_set_new(at(a, 3), "prev", json_string(OTHER));
	refused(a, ZEROS, 4, "broken link");
	json_decref(a);

	/* a reduced entry's hash altered: the full one after it refuses */
	a = chain(7);
	reduce(a, 3);
	json_object_set_new(at(a, 3), "hash", json_string(OTHER));
	refused(a, ZEROS, 5, "broken link");
	json_decref(a);

	/* two reduced in a row, a link between them broken */
	a = chain(7);
	reduce(a, 3);
	reduce(a, 4);
	json_object_set_new(at(a, 4), "prev", json_string(OTHER));
	refused(a, ZEROS, 5, "broken link");
	json_decref(a);

	/* reduced, and one removed */
	a = chain(7);
	for (size_t i = 0; i < 7; i++)
		reduce(a, i);
	json_array_remove(a, 5);
	refused(a, ZEROS, 6, "missing");
	json_decref(a);
}

static void
test_malformed(void **state)
{
	struct {
		const char *field;
		json_t *value;		/* NULL: removed */
		const char *what;
	} cases[] = {
		{ "time", json_string("now"), "'time'" },
		{ "time", NULL, "'time'" },
		{ "user", json_integer(5), "'user'" },
		{ "user", NULL, "'user'" },
		{ "action", json_null(), "'action'" },
		{ "object", json_true(), "'object'" },
		{ "result", json_string("maybe"), "'result'" },
		{ "hash", json_string("abc"), "'hash'" },
		{ "hash", json_string("0123456789ABCDEF0123456789abcdef"
		    "0123456789abcdef0123456789abcdef"), "'hash'" },
		{ "hash", NULL, "'hash'" },
		{ "prev", json_integer(0), "'prev'" },
		{ "prev", NULL, "'prev'" },
		{ "extra", json_string("x"), "other than" },
	};
	struct cl_error err;
	json_t *a;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(cases); i++) {
		a = chain(5);
		if (cases[i].value != NULL)
			json_object_set_new(at(a, 2), cases[i].field,
			    cases[i].value);
		else
			json_object_del(at(a, 2), cases[i].field);
		refused(a, ZEROS, 3, cases[i].what);
		refused(a, ZEROS, 3, "malformed");
		json_decref(a);
	}

	/* no usable seq: named by the seq before it */
	a = chain(5);
	json_object_set_new(at(a, 2), "seq", json_string("3"));
	refused(a, ZEROS, 2, "'seq'");
	json_object_set_new(at(a, 2), "seq", json_integer(0));
	refused(a, ZEROS, 2, "'seq'");
	json_object_set_new(at(a, 2), "seq", json_integer(10000000000000000));
	refused(a, ZEROS, 2, "'seq'");
	json_array_set_new(a, 2, json_string("entry"));
	refused(a, ZEROS, 2, "not an object");
	json_decref(a);

	/* a reduced entry missing a member is not reduced */
	a = chain(5);
	reduce(a, 2);
	json_object_del(at(a, 2), "prev");
	json_object_set_new(at(a, 2), "user", json_string("x"));
	refused(a, ZEROS, 3, "'prev'");
	json_decref(a);

	/* not an array; a malformed hash to follow */
	a = json_object();
	cl_error_clear(&err);
	assert_int_equal(audit_check_chain(a, ZEROS, &err), CL_EDENIED);
	json_decref(a);
	a = chain(2);
	cl_error_clear(&err);
	assert_int_equal(audit_check_chain(a, "00", &err), CL_EINVAL);
	cl_error_clear(&err);
	assert_int_equal(audit_check_chain(a, ZEROS "0", &err), CL_EINVAL);
	json_decref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known_answer),
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_altered_field),
		cmocka_unit_test(test_removed),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_wrong_first_prev),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reduced),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
