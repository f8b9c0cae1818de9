/*
 * Input and output files (docs/platform.md, "Identifiers and records").
 *
 * A file record says where a file is (url), how it is encrypted
 * (crypto_info, never returned: its owners gave it, and a fusion output's
 * key is the platform's alone), its integrity tag (cmac; an output's is
 * null until a task writes it) and who owns it.  in_use becomes true when
 * a task is given the file: from then on the record never changes except
 * for the cmac the task's result sets, so what the participants approved
 * is what runs.  An output serves one task only.
 *
 *   input/input-<uuid>    {id, url, cmac, crypto_info, owners, in_use,
 *                          created_at}
 *   output/output-<uuid>  {id, url, cmac, crypto_info, owners, fusion,
 *                          in_use, created_at}
 */
#include "compat.h"

#include <ctype.h>

#include <openssl/rand.h>

#include "buf.h"
#include "crypto.h"
#include "mgmt.h"
#include "storage_client.h"

/* The encryptions a file may have; raw (plaintext) is for inputs only. */
static const struct {
	const char *schema;
	size_t key, iv;		/* bytes */
	bool output;
} ciphers[] = {
	{ "aes-gcm-128", 16, 12, true },
	{ "aes-gcm-256", 32, 12, true },
	{ "chunked", 32, 0, true },	/* docs/files.md; its nonces are inside */
	{ "raw", 0, 0, false },
};

/* The crypto_info of a request, checked, into a new normalized object. */
static int
check_crypto(const json_t *ci, bool output, json_t **out, struct cl_error *err)
{
	const char *schema = mgmt_str(ci, "schema");
	const char *key = mgmt_str(ci, "key"), *iv = mgmt_str(ci, "iv");
	const char *k;
	json_t *v;
	size_t i;
	int rc;

	*out = NULL;
	json_object_foreach((json_t *)ci, k, v)
		if (strcmp(k, "schema") != 0 && strcmp(k, "key") != 0 &&
		    strcmp(k, "iv") != 0)
			return cl_error_set(err, CL_EINVAL, "crypto_info has "
			    "no member '%.64s' (schema, key, iv)", k);
	for (i = 0; schema != NULL && i < CL_ARRAY_SIZE(ciphers); i++)
		if (strcmp(ciphers[i].schema, schema) == 0)
			break;
	if (schema == NULL || i == CL_ARRAY_SIZE(ciphers))
		return cl_error_set(err, CL_EINVAL, "crypto_info.schema must "
		    "be aes-gcm-128, aes-gcm-256, chunked or raw");
	if (output && !ciphers[i].output)
		return cl_error_set(err, CL_EINVAL, "an output cannot be '%s': "
		    "results are never written in plaintext", schema);
	if (key == NULL)
		key = ciphers[i].key == 0 && json_object_get(ci,
		    "key") == NULL ? "" : NULL;
	if (iv == NULL)
		iv = ciphers[i].iv == 0 && json_object_get(ci, "iv") == NULL ?
		    "" : NULL;
	if (key == NULL || iv == NULL)
		return cl_error_set(err, CL_EINVAL, "crypto_info.key and "
		    "crypto_info.iv must be base64 strings");
	if ((rc = mgmt_b64_check(key, strlen(key), "crypto_info.key",
	    err)) != 0 ||
	    (rc = mgmt_b64_check(iv, strlen(iv), "crypto_info.iv", err)) != 0)
		return rc;
	if (mgmt_b64_size(key, strlen(key)) != ciphers[i].key ||
	    mgmt_b64_size(iv, strlen(iv)) != ciphers[i].iv)
		return cl_error_set(err, CL_EINVAL, "%s needs a %zu-byte key "
		    "and a %zu-byte iv", schema, ciphers[i].key, ciphers[i].iv);
	*out = json_pack("{s:s, s:s, s:s}", "schema", schema, "key", key, "iv",
	    iv);
	return 0;
}

/* A url a user may register: no control characters, not the platform's. */
static int
check_url(const char *url, struct cl_error *err)
{
	int rc;

	if ((rc = mgmt_check_text(url, "url", err)) != 0)
		return rc;
	if (strncmp(url, "fusion:", 7) == 0)
		return cl_error_set(err, CL_EINVAL, "fusion: urls belong to "
		    "the platform (register_fusion_output makes them)");
	return 0;
}

/* A cmac: hex, into lowercase. */
static int
check_cmac(const char *cmac, char *out, size_t len, struct cl_error *err)
{
	size_t n = strlen(cmac);

	if (n % 2 != 0 || n + 1 > len)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)cmac[i]))
			goto bad;
		out[i] = (char)tolower((unsigned char)cmac[i]);
	}
	out[n] = '\0';
	return 0;
bad:
	return cl_error_set(err, CL_EINVAL, "cmac must be hex (an even number "
	    "of digits)");
}

static void
key_of(char *out, size_t len, const char *id)
{
	mgmt_key(out, len, strncmp(id, "input-", 6) == 0 ? "input" : "output",
	    id);
}

/* Store a new record under its id (a collision is MGMT_RETRY). */
static int
put_new(struct call *c, json_t *rec, struct cl_error *err)
{
	char key[MGMT_ID_MAX + 16];
	json_t *ops = json_array();

	key_of(key, sizeof(key), mgmt_str(rec, "id"));
	storage_op_check_absent(ops, key);
	storage_op_put(ops, key, rec);
	return mgmt_apply(c, ops, err);
}

/* register_input_file, register_output_file */
static int
register_file(struct call *c, const json_t *req, json_t *resp, bool output,
    struct cl_error *err)
{
	const char *url = mgmt_str(req, "url");
	char id[MGMT_ID_MAX + 1], cmac[129];
	json_t *ci = NULL, *rec;
	int rc;

	if ((rc = check_url(url, err)) != 0 ||
	    (rc = check_crypto(json_object_get(req, "crypto_info"), output, &ci,
	    err)) != 0 ||
	    (!output && (rc = check_cmac(mgmt_str(req, "cmac"), cmac,
	    sizeof(cmac), err)) != 0) ||
	    (rc = mgmt_authorize(c, c->action, json_object(), err)) != 0) {
		json_decref(ci);
		return rc;
	}
	mgmt_new_id(id, output ? "output" : "input");
	mgmt_object(c, id);
	rec = json_pack("{s:s, s:s, s:o, s:[s], s:b, s:I}", "id", id, "url",
	    url, "crypto_info", ci, "owners", c->who.user, "in_use", 0,
	    "created_at", (json_int_t)mgmt_now_ms());
	if (output) {
		json_object_set_new(rec, "cmac", json_null());
		json_object_set_new(rec, "fusion", json_false());
	} else {
		json_object_set_new(rec, "cmac", json_string(cmac));
	}
	rc = put_new(c, rec, err);
	json_decref(rec);
	if (rc == 0)
		json_object_set_new(resp, "data_id", json_string(id));
	return rc;
}

int
data_register_input(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	return register_file(c, req, resp, false, err);
}

int
data_register_output(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	return register_file(c, req, resp, true, err);
}

/*
 * register_fusion_output: an output of several owners, kept where the
 * platform chooses and encrypted under a key only the platform holds.
 */
int
data_register_fusion(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	uint8_t key[32], iv[12];
	struct buf k = BUF_INIT, v = BUF_INIT;
	char id[MGMT_ID_MAX + 1], url[MGMT_ID_MAX + 32];
	json_t *owners, *rec;
	int rc;

	if ((rc = mgmt_user_set(json_object_get(req, "owners"), MGMT_OWNERS_MAX,
	    "owners", &owners, err)) != 0)
		return rc;
	if ((rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "owners",
	    owners), err)) != 0) {
		json_decref(owners);
		return rc;
	}
	mgmt_new_id(id, "output");
	mgmt_object(c, id);
	snprintf(url, sizeof(url), "fusion:///%s.fusion", id + 7);
	if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(iv,
	    sizeof(iv)) != 1)
		BUG("RAND_bytes failed");
	crypto_b64_encode(&k, key, sizeof(key));
	crypto_b64_encode(&v, iv, sizeof(iv));
	rec = json_pack("{s:s, s:s, s:n, s:{s:s, s:s, s:s}, s:o, s:b, s:b, "
	    "s:I}", "id", id, "url", url, "cmac", "crypto_info", "schema",
	    "aes-gcm-256", "key", k.p, "iv", v.p, "owners", owners, "fusion", 1,
	    "in_use", 0, "created_at", (json_int_t)mgmt_now_ms());
	rc = put_new(c, rec, err);
	json_decref(rec);
	buf_release(&k);
	buf_release(&v);
	if (rc == 0)
		json_object_set_new(resp, "data_id", json_string(id));
	return rc;
}

/*
 * register_input_from_output: a finished output becomes an input with
 * the same uuid, owners, key and tag (results chained between tasks).
 */
int
data_input_from_output(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *oid = mgmt_str(req, "data_id");
	char id[MGMT_ID_MAX + 1];
	char okey[MGMT_ID_MAX + 16], ikey[MGMT_ID_MAX + 16];
	json_t *out = NULL, *in = NULL, *rec, *ops;
	const json_t *cmac;
	int rc;

	mgmt_object(c, oid);
	if ((rc = mgmt_check_id(oid, "output", "data_id", err)) != 0 ||
	    (rc = mgmt_get(c, "output", oid, "output", &out, err)) != 0)
		return rc;
	cmac = json_object_get(out, "cmac");
	rc = mgmt_authorize(c, c->action, json_pack("{s:O, s:b}", "owners",
	    json_object_get(out, "owners"), "finished", json_is_string(cmac)),
	    err);
	if (rc != 0)
		goto out;
	snprintf(id, sizeof(id), "input-%s", oid + 7);
	if (mgmt_get(c, "input", id, "input", &in, NULL) == 0) {
		rc = cl_error_set(err, CL_EEXIST, "output '%s' is already "
		    "input '%s'", oid, id);
		goto out;
	}
	rec = json_pack("{s:s, s:O, s:O, s:O, s:O, s:b, s:I}", "id", id, "url",
	    json_object_get(out, "url"), "cmac", cmac, "crypto_info",
	    json_object_get(out, "crypto_info"), "owners",
	    json_object_get(out, "owners"), "in_use", 0, "created_at",
	    (json_int_t)mgmt_now_ms());
	mgmt_key(okey, sizeof(okey), "output", oid);
	mgmt_key(ikey, sizeof(ikey), "input", id);
	ops = json_array();
	storage_op_check_eq(ops, okey, out);
	storage_op_check_absent(ops, ikey);
	storage_op_put(ops, ikey, rec);
	json_decref(rec);
	if ((rc = mgmt_apply(c, ops, err)) == 0) {
		json_object_set_new(resp, "data_id", json_string(id));
		mgmt_object(c, id);
	}
out:
	json_decref(in);
	json_decref(out);
	return rc;
}

/* The file named by the request's data_id, of the kind the call is about. */
static int
get_file(struct call *c, const json_t *req, json_t **out, struct cl_error *err)
{
	const char *id = mgmt_str(req, "data_id");
	const char *kind = strstr(c->action, "input") ? "input" : "output";
	int rc;

	mgmt_object(c, id);
	if ((rc = mgmt_check_id(id, kind, "data_id", err)) != 0 ||
	    (rc = mgmt_get(c, kind, id, kind, out, err)) != 0)
		return rc;
	rc = mgmt_authorize(c, c->action, json_pack("{s:O}", "owners",
	    json_object_get(*out, "owners")), err);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* get_input_file, get_output_file */
int
data_get(struct call *c, const json_t *req, json_t *resp, struct cl_error *err)
{
	static const char *const shown[] = { "url", "cmac", "owners", "fusion",
	    "in_use", "created_at" };
	json_t *rec;
	int rc;

	if ((rc = get_file(c, req, &rec, err)) != 0)
		return rc;
	json_object_set(resp, "data_id", json_object_get(rec, "id"));
	for (size_t i = 0; i < CL_ARRAY_SIZE(shown); i++)
		if (json_object_get(rec, shown[i]) != NULL)
			json_object_set(resp, shown[i], json_object_get(rec,
			    shown[i]));
	json_decref(rec);
	return 0;
}

/*
 * update_input_file, update_output_file: a new url for the same id, as
 * long as no task uses the file.
 */
int
data_update(struct call *c, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const char *url = mgmt_str(req, "url");
	char key[MGMT_ID_MAX + 16], what[MGMT_ID_MAX + 16];
	json_t *rec, *ops, *next;
	int rc;

	if ((rc = get_file(c, req, &rec, err)) != 0)
		return rc;
	snprintf(what, sizeof(what), "file '%s'", mgmt_str(rec, "id"));
	if (json_is_true(json_object_get(rec, "fusion")))
		rc = cl_error_set(err, CL_EINVAL, "%s is a fusion output: it "
		    "stays where the platform keeps it", what);
	else if (json_is_true(json_object_get(rec, "in_use")))
		rc = mgmt_bad_state(c, what, "in_use", "a file no task uses "
		    "yet (register a new one)", err);
	else
		rc = check_url(url, err);
	if (rc != 0) {
		json_decref(rec);
		return rc;
	}
	next = json_deep_copy(rec);
	json_object_set_new(next, "url", json_string(url));
	key_of(key, sizeof(key), mgmt_str(rec, "id"));
	ops = json_array();
	storage_op_check_eq(ops, key, rec);
	storage_op_put(ops, key, next);
	if ((rc = mgmt_apply(c, ops, err)) == 0)
		json_object_set(resp, "data_id", json_object_get(rec, "id"));
	json_decref(next);
	json_decref(rec);
	return rc;
}
