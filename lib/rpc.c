/*
 * Envelopes, JSON limits and schema validation.
 */
#include "compat.h"

#include "frame.h"
#include "rpc.h"

static const char *const request_reserved[] = { "request", NULL };
static const char *const response_reserved[] = { "result", "response", NULL };

const struct rpc_method *
rpc_find(const struct rpc_service *svc, const char *name)
{
	size_t lo = 0, hi = svc->nmethods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, svc->methods[mid].name);

		if (c == 0)
			return &svc->methods[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const char *
type_name(enum rpc_type t)
{
	switch (t) {
	case RPC_T_STRING: return "a string";
	case RPC_T_INT: return "an integer";
	case RPC_T_NUMBER: return "a number";
	case RPC_T_BOOL: return "a boolean";
	case RPC_T_OBJECT: return "an object";
	case RPC_T_ARRAY: return "an array";
	case RPC_T_ANY: return "any value";
	}
	return "?";
}

static bool
is_reserved(const char *const *reserved, const char *key)
{
	for (; reserved != NULL && *reserved != NULL; reserved++)
		if (strcmp(*reserved, key) == 0)
			return true;
	return false;
}

static int
check_field(const struct rpc_field *f, const json_t *v, const char *what,
    struct cl_error *err)
{
	int64_t n;

	switch (f->type) {
	case RPC_T_STRING:
		if (!json_is_string(v))
			goto type;
		n = (int64_t)json_string_length(v);
		if (n < f->min || n > f->max)
			return cl_error_set(err, CL_EINVAL, "%s: field '%s' must "
			    "be %" PRId64 " to %" PRId64 " bytes long, not %"
			    PRId64, what, f->name, f->min, f->max, n);
		return 0;
	case RPC_T_INT:
		if (!json_is_integer(v))
			goto type;
		n = json_integer_value(v);
		if (n < f->min || n > f->max)
			return cl_error_set(err, CL_EINVAL, "%s: field '%s' must "
			    "be between %" PRId64 " and %" PRId64 ", not %" PRId64,
			    what, f->name, f->min, f->max, n);
		return 0;
	case RPC_T_NUMBER:
		if (!json_is_number(v))
			goto type;
		return 0;
	case RPC_T_BOOL:
		if (!json_is_boolean(v))
			goto type;
		return 0;
	case RPC_T_OBJECT:
	case RPC_T_ARRAY:
		if (f->type == RPC_T_OBJECT ? !json_is_object(v) : !json_is_array(v))
			goto type;
		n = (int64_t)(f->type == RPC_T_OBJECT ? json_object_size(v) :
		    json_array_size(v));
		if (n < f->min || n > f->max)
			return cl_error_set(err, CL_EINVAL, "%s: field '%s' must "
			    "have %" PRId64 " to %" PRId64 " %s, not %" PRId64,
			    what, f->name, f->min, f->max,
			    f->type == RPC_T_OBJECT ? "members" : "items", n);
		return 0;
	case RPC_T_ANY:
		return 0;
	}
type:
	return cl_error_set(err, CL_EINVAL, "%s: field '%s' must be %s", what,
	    f->name, type_name(f->type));
}

int
rpc_validate(const struct rpc_field *fields, size_t nfields, const json_t *obj,
    const char *const *reserved, const char *what, struct cl_error *err)
{
	const char *key;
	json_t *v;

	for (size_t i = 0; i < nfields; i++) {
		v = json_object_get(obj, fields[i].name);
		if (v == NULL) {
			if (fields[i].flags & RPC_F_REQUIRED)
				return cl_error_set(err, CL_EINVAL,
				    "%s: missing field '%s'", what,
				    fields[i].name);
			continue;
		}
		if (check_field(&fields[i], v, what, err) != 0)
			return CL_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		if (is_reserved(reserved, key))
			continue;
		for (i = 0; i < nfields; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == nfields)
			return cl_error_set(err, CL_EINVAL,
			    "%s: unknown field '%.64s'", what, key);
	}
	return 0;
}

/* Depth of nesting, stopping early once over limit. */
static int
json_depth(const json_t *v, int limit)
{
	int max = 0, d;

	if (limit < 0)
		return 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;

		json_object_foreach((json_t *)v, k, c) {
			if ((d = json_depth(c, limit - 1)) > max)
				max = d;
			if (max > limit)
				break;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *c;

		json_array_foreach(v, i, c) {
			if ((d = json_depth(c, limit - 1)) > max)
				max = d;
			if (max > limit)
				break;
		}
		return max + 1;
	}
	return 0;
}

json_t *
rpc_json_parse(const void *body, size_t len, struct cl_error *err)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		cl_error_set(err, CL_EBADJSON, "invalid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		cl_error_set(err, CL_EBADJSON, "message must be a JSON object");
		return NULL;
	}
	if (json_depth(obj, CL_JSON_MAX_DEPTH) > CL_JSON_MAX_DEPTH) {
		json_decref(obj);
		cl_error_set(err, CL_EBADJSON, "JSON nested deeper than %d levels",
		    CL_JSON_MAX_DEPTH);
		return NULL;
	}
	return obj;
}

int
rpc_parse_request(const struct rpc_service *svc, const void *body, size_t len,
    const struct rpc_method **out_m, json_t **out_req, struct cl_error *err)
{
	const struct rpc_method *m;
	json_t *obj, *name;
	char what[CL_REQUEST_NAME_MAX + 16];

	*out_m = NULL;
	*out_req = NULL;
	if ((obj = rpc_json_parse(body, len, err)) == NULL)
		return err ? err->code : CL_EBADJSON;
	name = json_object_get(obj, "request");
	if (!json_is_string(name)) {
		json_decref(obj);
		return cl_error_set(err, CL_EPROTO,
		    "message has no 'request' string");
	}
	if (json_string_length(name) > CL_REQUEST_NAME_MAX ||
	    (m = rpc_find(svc, json_string_value(name))) == NULL) {
		cl_error_set(err, CL_EUNKNOWN_REQ, "unknown request '%.64s' for "
		    "service '%s'", json_string_value(name), svc->name);
		json_decref(obj);
		return CL_EUNKNOWN_REQ;
	}
	*out_m = m;
	snprintf(what, sizeof(what), "request '%s'", m->name);
	if (rpc_validate(m->req, m->nreq, obj, request_reserved, what, err) != 0) {
		json_decref(obj);
		return CL_EINVAL;
	}
	*out_req = obj;
	return 0;
}

int
rpc_parse_response(const struct rpc_method *m, const void *body, size_t len,
    json_t **out_resp, struct cl_error *err)
{
	const char *result, *resp_name;
	json_t *obj, *e;
	char what[CL_REQUEST_NAME_MAX + 16];

	*out_resp = NULL;
	if ((obj = rpc_json_parse(body, len, NULL)) == NULL)
		return cl_error_set(err, CL_EPROTO, "response to '%s' is not a "
		    "JSON object", m->name);
	result = json_string_value(json_object_get(obj, "result"));
	resp_name = json_string_value(json_object_get(obj, "response"));
	if (result != NULL && strcmp(result, "err") == 0) {
		const char *code, *msg;
		int rc;

		e = json_object_get(obj, "error");
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
		rc = cl_err_from_str(code ? code : "internal");
		if (rc == CL_OK)	/* an error envelope saying "ok" */
			rc = CL_EPROTO;
		cl_error_set(err, rc, "%s", msg ? msg : "(no message)");
		json_decref(obj);
		return rc;
	}
	if (result == NULL || strcmp(result, "ok") != 0 || resp_name == NULL ||
	    strcmp(resp_name, m->name) != 0) {
		json_decref(obj);
		return cl_error_set(err, CL_EPROTO, "malformed response to '%s'",
		    m->name);
	}
	snprintf(what, sizeof(what), "response '%s'", m->name);
	{
		struct cl_error verr;

		cl_error_clear(&verr);
		if (rpc_validate(m->resp, m->nresp, obj, response_reserved, what,
		    &verr) != 0) {
			json_decref(obj);
			return cl_error_set(err, CL_EPROTO, "server broke the "
			    "protocol: %s", verr.message);
		}
	}
	*out_resp = obj;
	return 0;
}

json_t *
rpc_request_new(const struct rpc_method *m)
{
	return json_pack("{s:s}", "request", m->name);
}

void
rpc_make_ok(json_t *obj, const struct rpc_method *m)
{
	json_object_set_new(obj, "result", json_string("ok"));
	json_object_set_new(obj, "response", json_string(m->name));
}

json_t *
rpc_error_new(const struct rpc_method *m, int code, const char *message)
{
	json_t *obj;

	obj = json_pack("{s:s, s:{s:s, s:s?}}", "result", "err", "error",
	    "code", cl_err_str(code), "message", message);
	if (obj == NULL) {
		/* message was not valid UTF-8: send the code alone */
		obj = json_pack("{s:s, s:{s:s, s:s}}", "result", "err", "error",
		    "code", cl_err_str(code), "message", "(unprintable message)");
	}
	if (m != NULL)
		json_object_set_new(obj, "response", json_string(m->name));
	return obj;
}

static int
encode_cb(const char *p, size_t len, void *data)
{
	buf_add(data, p, len);
	return 0;
}

int
rpc_encode(struct buf *out, const json_t *obj, size_t max)
{
	size_t start = out->len, body;
	uint8_t hdr[CL_FRAME_HDR_LEN] = { 0 };

	buf_add(out, hdr, sizeof(hdr));
	if (json_dump_callback(obj, encode_cb, out, JSON_COMPACT) != 0)
		BUG("json_dump_callback failed");
	body = out->len - start - CL_FRAME_HDR_LEN;
	if (body > max) {
		buf_setlen(out, start);
		return CL_ETOOBIG;
	}
	frame_put_header((uint8_t *)out->p + start, body);
	return 0;
}
