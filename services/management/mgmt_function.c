/*
 * Functions: their definitions, payloads and usage counters
 * (docs/platform.md, "Identifiers and records").
 *
 *   function/function-<uuid>  the definition, without its payload:
 *       {id, name, description, executor_type, public, arguments, inputs,
 *        outputs, user_allowlist, usage_quota, owner, disabled, revision,
 *        payload: {bytes, sha256, chunks}, created_at, updated_at}
 *   payload/function-<uuid>/<revision>/<i>  the payload's base64 text in
 *       chunks of at most MGMT_CHUNK bytes (a payload of 16 MiB is 22 MiB
 *       of base64: more than one storage value or frame holds)
 *   usage/function-<uuid>     {function_id, use_numbers}
 *
 * Every update makes a new revision (a random name): its chunks are
 * written first, then the record moves to them in one compare-and-set
 * that also deletes the old chunks.  A task remembers the revision it was
 * created with and runs only that one, so what its participants approved
 * is what runs.  Chunks of a change that never happened (a crash, or a
 * lost race, between the two steps) are left behind: NEEDSWORK a sweep of
 * chunks no record names.
 */
#include "compat.h"

#include <openssl/rand.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"
#include "mgmt.h"
#include "storage_client.h"

static const char *const executor_types[] = { "builtin", "python", "wasm" };

void
function_chunk_key(char *out, size_t len, const char *id, const char *revision,
    size_t i)
{
	snprintf(out, len, "payload/%s/%s/%04zu", id, revision, i);
}

/* Argument, input and output names: they name files and variables. */
static int
check_name(const json_t *v, const char *what, struct cl_error *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (s == NULL || len == 0 || len > MGMT_NAME_MAX || s[0] == '.' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != len)
		return cl_error_set(err, CL_EINVAL, "%s must be 1 to %d "
		    "letters, digits, '_', '.' or '-', not starting with '.'",
		    what, MGMT_NAME_MAX);
	return 0;
}

/*
 * Members of an object from the request, each optional with a default,
 * no others: {key, default_value, allow_overwrite} or {name, description,
 * optional}.
 */
static int
check_members(const json_t *o, const char *const *names, const char *what,
    struct cl_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return cl_error_set(err, CL_EINVAL, "%s must be an object",
		    what);
	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; names[i] != NULL && strcmp(names[i], k) != 0; i++)
			;
		if (names[i] == NULL)
			return cl_error_set(err, CL_EINVAL, "%s has no member "
			    "'%.64s'", what, k);
	}
	return 0;
}

/* arguments: [{key, default_value (any JSON), allow_overwrite}] */
static int
check_arguments(const json_t *arr, json_t *out, struct cl_error *err)
{
	static const char *const names[] = { "key", "default_value",
	    "allow_overwrite", NULL };
	char what[48];
	const json_t *a;
	size_t i;
	int rc;

	json_array_foreach(arr, i, a) {
		const json_t *key = json_object_get(a, "key");
		const json_t *dv = json_object_get(a, "default_value");
		const json_t *ow = json_object_get(a, "allow_overwrite");

		snprintf(what, sizeof(what), "arguments[%zu]", i);
		if ((rc = check_members(a, names, what, err)) != 0)
			return rc;
		snprintf(what, sizeof(what), "arguments[%zu].key", i);
		if ((rc = check_name(key, what, err)) != 0)
			return rc;
		if (ow != NULL && !json_is_boolean(ow))
			return cl_error_set(err, CL_EINVAL, "arguments[%zu]."
			    "allow_overwrite must be true or false", i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(key, json_object_get(json_array_get(arr,
			    j), "key")))
				return cl_error_set(err, CL_EINVAL, "argument "
				    "'%s' is declared twice",
				    json_string_value(key));
		json_array_append_new(out, json_pack("{s:O, s:O, s:b}", "key",
		    key, "default_value", dv ? dv : json_null(),
		    "allow_overwrite", ow == NULL || json_is_true(ow)));
	}
	return 0;
}

/* inputs, outputs: [{name, description, optional}] */
static int
check_slots(const json_t *arr, const char *field, json_t *out,
    struct cl_error *err)
{
	static const char *const names[] = { "name", "description", "optional",
	    NULL };
	char what[48];
	const json_t *s;
	size_t i;
	int rc;

	json_array_foreach(arr, i, s) {
		const json_t *name = json_object_get(s, "name");
		const json_t *desc = json_object_get(s, "description");
		const json_t *opt = json_object_get(s, "optional");

		snprintf(what, sizeof(what), "%s[%zu]", field, i);
		if ((rc = check_members(s, names, what, err)) != 0)
			return rc;
		snprintf(what, sizeof(what), "%s[%zu].name", field, i);
		if ((rc = check_name(name, what, err)) != 0)
			return rc;
		if ((desc != NULL && (!json_is_string(desc) ||
		    json_string_length(desc) > 1024)) ||
		    (opt != NULL && !json_is_boolean(opt)))
			return cl_error_set(err, CL_EINVAL, "%s[%zu]: "
			    "description must be a string of at most 1024 "
			    "bytes and optional true or false", field, i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(name, json_object_get(json_array_get(arr,
			    j), "name")))
				return cl_error_set(err, CL_EINVAL, "%s: '%s' "
				    "is declared twice", field,
				    json_string_value(name));
		json_array_append_new(out, json_pack("{s:O, s:s, s:b}", "name",
		    name, "description", desc ? json_string_value(desc) : "",
		    "optional", json_is_true(opt)));
	}
	return 0;
}

/*
 * The definition in a register or update request, checked, into a new
 * object of the record's definition fields; *out_payload borrows the
 * request's base64 payload.
 */
static int
parse_definition(struct call *c, const json_t *req, json_t **out,
    const char **out_payload, struct cl_error *err)
{
	const char *etype = mgmt_str(req, "executor_type");
	const char *payload = mgmt_str(req, "payload");
	const json_t *quota = json_object_get(req, "usage_quota");
	const json_t *allow = json_object_get(req, "user_allowlist");
	json_t *def, *v;
	size_t plen, i;
	char *text;
	int rc;

	*out = NULL;
	payload = payload ? payload : "";
	plen = strlen(payload);
	for (i = 0; i < CL_ARRAY_SIZE(executor_types); i++)
		if (strcmp(etype, executor_types[i]) == 0)
			break;
	if (i == CL_ARRAY_SIZE(executor_types))
		return cl_error_set(err, CL_EINVAL, "executor_type must be "
		    "builtin, python or wasm, not '%.16s'", etype);
	if ((rc = mgmt_check_text(mgmt_str(req, "name"), "name", err)) != 0 ||
	    (rc = mgmt_b64_check(payload, plen, "payload", err)) != 0)
		return rc;
	if ((int64_t)mgmt_b64_size(payload, plen) > c->m->opts.payload_max)
		return cl_error_set(err, CL_ETOOBIG, "payload of %zu bytes is "
		    "over the limit of %" PRId64 " bytes",
		    mgmt_b64_size(payload, plen), c->m->opts.payload_max);
	if (i == 0 && plen > 0)
		return cl_error_set(err, CL_EINVAL, "a builtin function has no "
		    "payload: its name selects the builtin");
	if (i != 0 && plen == 0)
		return cl_error_set(err, CL_EINVAL, "a %s function needs its "
		    "code in payload", etype);
	if (quota != NULL && !json_is_null(quota) &&
	    (!json_is_integer(quota) || json_integer_value(quota) < 0))
		return cl_error_set(err, CL_EINVAL, "usage_quota must be an "
		    "integer >= 0, or null for no limit");
	def = json_pack("{s:O, s:s, s:s, s:b, s:[], s:[], s:[], s:[], s:O}",
	    "name", json_object_get(req, "name"), "description",
	    mgmt_str(req, "description") ? mgmt_str(req, "description") : "",
	    "executor_type", etype, "public",
	    json_is_true(json_object_get(req, "public")), "arguments", "inputs",
	    "outputs", "user_allowlist", "usage_quota",
	    quota ? quota : json_null());
	if ((rc = check_arguments(json_object_get(req, "arguments"),
	    json_object_get(def, "arguments"), err)) != 0 ||
	    (rc = check_slots(json_object_get(req, "inputs"), "inputs",
	    json_object_get(def, "inputs"), err)) != 0 ||
	    (rc = check_slots(json_object_get(req, "outputs"), "outputs",
	    json_object_get(def, "outputs"), err)) != 0)
		goto fail;
	if (json_array_size(allow) > 0) {
		if ((rc = mgmt_user_set(allow, 256, "user_allowlist", &v,
		    err)) != 0)
			goto fail;
		json_object_set_new(def, "user_allowlist", v);
	}
	text = json_dumps(def, JSON_COMPACT);
	plen = strlen(text);
	free(text);
	if (plen > MGMT_RECORD_MAX) {
		rc = cl_error_set(err, CL_ETOOBIG, "the definition takes %zu "
		    "bytes, over the limit of %d (without the payload)", plen,
		    MGMT_RECORD_MAX);
		goto fail;
	}
	*out = def;
	*out_payload = payload;
	return 0;
fail:
	json_decref(def);
	return rc;
}

static void
new_revision(char out[17])
{
	uint8_t r[8];

	if (RAND_bytes(r, sizeof(r)) != 1)
		BUG("RAND_bytes failed");
	crypto_hex(out, r, sizeof(r));
}

static size_t
nchunks(size_t len)
{
	return (len + MGMT_CHUNK - 1) / MGMT_CHUNK;
}

/* Delete chunks [0, n) of a revision, as far as storage lets us. */
static void
drop_chunks(struct call *c, const char *id, const char *revision, size_t n)
{
	char key[MGMT_ID_MAX + 48];
	struct cl_error e;

	for (size_t i = 0; i < n; i++) {
		function_chunk_key(key, sizeof(key), id, revision, i);
		cl_error_clear(&e);
		if (storage_delete(c->m->storage, key, &e) != 0 &&
		    e.code != CL_ENOTFOUND)
			log_warnx("cannot delete '%s': %s", key, e.message);
	}
}

/*
 * Write a payload's chunks under a new revision; fills *info with
 * {bytes, sha256, chunks}.
 */
static int
put_chunks(struct call *c, const char *id, const char *revision,
    const char *payload, json_t **info, struct cl_error *err)
{
	size_t len = strlen(payload), n = nchunks(len);
	uint8_t sum[CRYPTO_SHA256_BYTES];
	char key[MGMT_ID_MAX + 48], hex[2 * CRYPTO_SHA256_BYTES + 1];
	struct buf raw = BUF_INIT;
	struct cl_error e;
	int rc = 0;

	if (crypto_b64_decode(&raw, payload, len) != 0)
		BUG("checked base64 did not decode");
	crypto_sha256(sum, raw.p, raw.len);
	crypto_hex(hex, sum, sizeof(sum));
	*info = json_pack("{s:I, s:s, s:I}", "bytes", (json_int_t)raw.len,
	    "sha256", hex, "chunks", (json_int_t)n);
	buf_release(&raw);
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *v = json_stringn(payload + i * MGMT_CHUNK,
		    CL_MIN(len - i * MGMT_CHUNK, (size_t)MGMT_CHUNK));

		function_chunk_key(key, sizeof(key), id, revision, i);
		cl_error_clear(&e);
		if ((rc = storage_put(c->m->storage, key, v, &e)) != 0) {
			cl_error_set(err, rc, "storage: %s", e.message);
			drop_chunks(c, id, revision, i);
		}
		json_decref(v);
	}
	if (rc != 0) {
		json_decref(*info);
		*info = NULL;
	}
	return rc;
}

/* The whole payload of rec, into a new string; MGMT_RETRY if it moved on. */
static int
get_payload(struct call *c, const json_t *rec, json_t **out,
    struct cl_error *err)
{
	size_t n = (size_t)json_integer_value(json_object_get(
	    json_object_get(rec, "payload"), "chunks"));
	char key[MGMT_ID_MAX + 48];
	struct buf b = BUF_INIT;
	struct cl_error e;
	json_t *v;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		function_chunk_key(key, sizeof(key), mgmt_str(rec, "id"),
		    mgmt_str(rec, "revision"), i);
		cl_error_clear(&e);
		if ((rc = storage_get(c->m->storage, key, &v, &e)) == 0) {
			if (json_is_string(v))
				buf_add(&b, json_string_value(v),
				    json_string_length(v));
			else
				rc = cl_error_set(err, CL_EINTERNAL, "'%s' is "
				    "not a string", key);
			json_decref(v);
		} else if (rc == CL_ENOTFOUND) {
			rc = MGMT_RETRY;	/* an update replaced it */
		} else {
			cl_error_set(err, rc, "storage: %s", e.message);
		}
	}
	if (rc == 0)
		*out = json_stringn(b.p ? b.p : "", b.len);
	buf_release(&b);
	return rc;
}

static int
get_function(struct call *c, const json_t *req, json_t **out,
    struct cl_error *err)
{
	const char *id = mgmt_str(req, "function_id");
	int rc;

	mgmt_object(c, id);
	if ((rc = mgmt_check_id(id, "function", "function_id", err)) != 0)
		return rc;
	return mgmt_get(c, "function", id, "function", out, err);
}

/* What access control needs to know of a function someone looks at. */
static json_t *
view_facts(const json_t *rec)
{
	return json_pack("{s:O, s:O, s:O}", "owner", json_object_get(rec,
	    "owner"), "public", json_object_get(rec, "public"), "allowlist",
	    json_object_get(rec, "user_allowlist"));
}

int
function_register(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char id[MGMT_ID_MAX + 1], key[MGMT_ID_MAX + 16], ukey[MGMT_ID_MAX + 16];
	char revision[17];
	const char *payload;
	json_t *rec, *info, *ops;
	int64_t now = mgmt_now_ms();
	int rc;

	if ((rc = parse_definition(c, req, &rec, &payload, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, json_object(), err)) != 0) {
		json_decref(rec);
		return rc;
	}
	mgmt_new_id(id, "function");
	mgmt_object(c, id);
	new_revision(revision);
	if ((rc = put_chunks(c, id, revision, payload, &info, err)) != 0) {
		json_decref(rec);
		return rc;
	}
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "owner", json_string(c->who.user));
	json_object_set_new(rec, "disabled", json_false());
	json_object_set_new(rec, "revision", json_string(revision));
	json_object_set_new(rec, "payload", info);
	json_object_set_new(rec, "created_at", json_integer(now));
	json_object_set_new(rec, "updated_at", json_integer(now));
	mgmt_key(key, sizeof(key), "function", id);
	mgmt_key(ukey, sizeof(ukey), "usage", id);
	ops = json_array();
	storage_op_check_absent(ops, key);
	storage_op_put(ops, key, rec);
	storage_op_check_absent(ops, ukey);
	json_array_append_new(ops, json_pack("{s:s, s:s, s:{s:s, s:i}}", "op",
	    "put", "key", ukey, "value", "function_id", id, "use_numbers", 0));
	rc = mgmt_apply(c, ops, err);
	if (rc == MGMT_RETRY)
		drop_chunks(c, id, revision, nchunks(strlen(payload)));
	else if (rc == 0)
		json_object_set_new(resp, "function_id", json_string(id));
	json_decref(rec);
	return rc;
}

/*
 * update_function: new definition and payload, same id, owner, usage and
 * state.  The payload is written once, before the compare-and-set, which
 * this call retries itself.
 */
int
function_update(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char key[MGMT_ID_MAX + 16], ckey[MGMT_ID_MAX + 48], revision[17] = "";
	const char *payload, *k;
	json_t *def, *rec = NULL, *info = NULL, *next, *ops, *v;
	int rc, attempt;

	mgmt_object(c, mgmt_str(req, "function_id"));
	if ((rc = parse_definition(c, req, &def, &payload, err)) != 0)
		return rc;
	for (attempt = 0; attempt < MGMT_ATTEMPTS; attempt++) {
		json_decref(rec);
		rec = NULL;
		if ((rc = get_function(c, req, &rec, err)) != 0 ||
		    (rc = mgmt_authorize(c, c->action, json_pack("{s:O}",
		    "owner", json_object_get(rec, "owner")), err)) != 0)
			break;
		if (revision[0] == '\0') {
			new_revision(revision);
			if ((rc = put_chunks(c, mgmt_str(rec, "id"), revision,
			    payload, &info, err)) != 0) {
				revision[0] = '\0';
				break;
			}
		}
		next = json_deep_copy(rec);
		json_object_foreach(def, k, v)
			json_object_set(next, k, v);
		json_object_set_new(next, "revision", json_string(revision));
		json_object_set(next, "payload", info);
		json_object_set_new(next, "updated_at",
		    json_integer(mgmt_now_ms()));
		mgmt_key(key, sizeof(key), "function", mgmt_str(rec, "id"));
		ops = json_array();
		storage_op_check_eq(ops, key, rec);
		storage_op_put(ops, key, next);
		json_decref(next);
		for (json_int_t i = 0; i < json_integer_value(json_object_get(
		    json_object_get(rec, "payload"), "chunks")); i++) {
			function_chunk_key(ckey, sizeof(ckey), mgmt_str(rec,
			    "id"), mgmt_str(rec, "revision"), (size_t)i);
			storage_op_delete(ops, ckey);
		}
		if ((rc = mgmt_apply(c, ops, err)) != MGMT_RETRY)
			break;
		mgmt_backoff(attempt + 1);
	}
	if (rc == MGMT_RETRY)
		rc = cl_error_set(err, CL_EBUSY, "function '%s' changed %d "
		    "times while this call tried to change it: try again",
		    c->object, attempt);
	if (rc == 0)
		json_object_set(resp, "function_id", json_object_get(rec,
		    "id"));
	else if (revision[0] != '\0' && (rc == CL_EBUSY || rc == CL_EDENIED ||
	    rc == CL_ENOTFOUND))
		drop_chunks(c, c->object, revision, nchunks(strlen(payload)));
	json_decref(info);
	json_decref(rec);
	json_decref(def);
	return rc;
}

int
function_get(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	static const char *const shown[] = { "name", "description",
	    "executor_type", "public", "arguments", "inputs", "outputs",
	    "usage_quota", "owner", "disabled", "revision", "created_at",
	    "updated_at" };
	json_t *rec, *payload;
	bool full;
	int rc;

	if ((rc = get_function(c, req, &rec, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, view_facts(rec), err)) != 0)
		goto out;
	json_object_set(resp, "function_id", json_object_get(rec, "id"));
	for (size_t i = 0; i < CL_ARRAY_SIZE(shown); i++)
		json_object_set(resp, shown[i], json_object_get(rec, shown[i]));
	/* an allowlisted user may use a private function, not read it */
	full = json_is_true(json_object_get(rec, "public")) ||
	    strcmp(mgmt_str(rec, "owner"), c->who.user) == 0 ||
	    mgmt_is_admin(c);
	if (full && (rc = get_payload(c, rec, &payload, err)) == 0) {
		json_object_set_new(resp, "payload", payload);
		json_object_set(resp, "user_allowlist", json_object_get(rec,
		    "user_allowlist"));
	}
out:
	json_decref(rec);
	return rc;
}

int
function_delete(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char key[MGMT_ID_MAX + 48];
	json_t *rec, *ops;
	int rc;

	(void)resp;
	if ((rc = get_function(c, req, &rec, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "owner",
	    json_object_get(rec, "owner")), err)) != 0) {
		json_decref(rec);
		return rc;
	}
	ops = json_array();
	mgmt_key(key, sizeof(key), "function", mgmt_str(rec, "id"));
	storage_op_check_eq(ops, key, rec);
	storage_op_delete(ops, key);
	mgmt_key(key, sizeof(key), "usage", mgmt_str(rec, "id"));
	storage_op_delete(ops, key);
	for (json_int_t i = 0; i < json_integer_value(json_object_get(
	    json_object_get(rec, "payload"), "chunks")); i++) {
		function_chunk_key(key, sizeof(key), mgmt_str(rec, "id"),
		    mgmt_str(rec, "revision"), (size_t)i);
		storage_op_delete(ops, key);
	}
	rc = mgmt_apply(c, ops, err);
	json_decref(rec);
	return rc;
}

int
function_disable(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	char key[MGMT_ID_MAX + 16], what[MGMT_ID_MAX + 16];
	json_t *rec, *next, *ops;
	int rc;

	(void)resp;
	if ((rc = get_function(c, req, &rec, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "function '%s'", mgmt_str(rec, "id"));
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "owner",
	    json_object_get(rec, "owner")), err)) == 0 &&
	    json_is_true(json_object_get(rec, "disabled")))
		rc = mgmt_bad_state(c, what, "disabled", "an enabled function",
		    err);
	if (rc != 0) {
		json_decref(rec);
		return rc;
	}
	next = json_deep_copy(rec);
	json_object_set_new(next, "disabled", json_true());
	json_object_set_new(next, "updated_at", json_integer(mgmt_now_ms()));
	mgmt_key(key, sizeof(key), "function", mgmt_str(rec, "id"));
	ops = json_array();
	storage_op_check_eq(ops, key, rec);
	storage_op_put(ops, key, next);
	rc = mgmt_apply(c, ops, err);
	json_decref(next);
	json_decref(rec);
	return rc;
}

/*
 * list_functions: every function record is read, a page at a time.
 * NEEDSWORK an index per user once installations hold many functions.
 */
int
function_list(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *user = mgmt_str(req, "user_id");
	json_t *owned, *allowed, *page = NULL;
	char after[MGMT_ID_MAX + 16] = "";
	struct cl_error e;
	bool more = true;
	int rc;

	mgmt_object(c, user);
	if ((rc = mgmt_check_user(json_object_get(req, "user_id"), "user_id",
	    err)) != 0 ||
	    (rc = mgmt_authorize(c, c->action, json_pack("{s:s}", "user", user),
	    err)) != 0)
		return rc;
	owned = json_array();
	allowed = json_array();
	while (more && rc == 0) {
		const json_t *ent;
		size_t i;

		cl_error_clear(&e);
		if ((rc = storage_list(c->m->storage, "function/", after[0] ?
		    after : NULL, MGMT_LIST_PAGE, &page, &more, &e)) != 0) {
			cl_error_set(err, rc, "storage: %s", e.message);
			break;
		}
		json_array_foreach(page, i, ent) {
			const json_t *rec = json_object_get(ent, "value");
			json_t *id = json_object_get(rec, "id");

			if (mgmt_str(rec, "owner") != NULL &&
			    strcmp(mgmt_str(rec, "owner"), user) == 0)
				json_array_append(owned, id);
			if (mgmt_has(json_object_get(rec, "user_allowlist"),
			    user))
				json_array_append(allowed, id);
			snprintf(after, sizeof(after), "%s", mgmt_str(ent,
			    "key"));
		}
		json_decref(page);
		page = NULL;
	}
	if (rc == 0) {
		json_object_set(resp, "registered_functions", owned);
		json_object_set(resp, "allowed_functions", allowed);
	}
	json_decref(owned);
	json_decref(allowed);
	return rc;
}

int
function_usage(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	json_t *rec, *usage = NULL;
	int rc;

	if ((rc = get_function(c, req, &rec, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, view_facts(rec), err)) == 0 &&
	    (rc = mgmt_get(c, "usage", mgmt_str(rec, "id"), "usage counter",
	    &usage, err)) == 0) {
		json_object_set(resp, "function_quota", json_object_get(rec,
		    "usage_quota"));
		json_object_set(resp, "current_usage", json_object_get(usage,
		    "use_numbers"));
	}
	json_decref(usage);
	json_decref(rec);
	return rc;
}
