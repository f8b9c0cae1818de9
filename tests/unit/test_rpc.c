/*
 * Unit tests for lib/rpc: method lookup, request and response envelopes,
 * schema validation, JSON limits (depth, duplicate keys, NUL), frame
 * encoding and error envelopes.  The service is a table built by hand
 * here (methods sorted by name, one field of every rpc_type with
 * bounds) so the tests do not depend on any schema file.  Request bodies
 * come from a network peer: every refusal is checked for its code, and
 * CL_EINVAL messages for the field they name.
 */
#include "compat.h"

#include <setjmp.h>

#include <cmocka.h>

#include "frame.h"
#include "rpc.h"

static const struct rpc_field put_req[] = {
	{ "name", RPC_T_STRING, RPC_F_REQUIRED, 1, 8, NULL },
	{ "count", RPC_T_INT, 0, 0, 100, NULL },
	{ "ratio", RPC_T_NUMBER, 0, 0, 0, NULL },
	{ "on", RPC_T_BOOL, 0, 0, 0, NULL },
	{ "meta", RPC_T_OBJECT, 0, 0, 2, NULL },
	{ "tags", RPC_T_ARRAY, 0, 1, 3, NULL },
	{ "any", RPC_T_ANY, 0, 0, 0, NULL },
	{ "key", RPC_T_STRING, RPC_F_SECRET, 0, 64, NULL },
};

static const struct rpc_field put_resp[] = {
	{ "id", RPC_T_INT, RPC_F_REQUIRED, 1, 1000, NULL },
	{ "note", RPC_T_STRING, 0, 0, 16, NULL },
};

static const struct rpc_field get_req[] = {
	{ "id", RPC_T_INT, RPC_F_REQUIRED, 1, 1000, NULL },
};

static const struct rpc_method methods[] = {
	{ "alpha", 0, RPC_M_INLINE, NULL, "first", NULL, 0, NULL, 0 },
	{ "get", 1, 0, NULL, "", get_req, 1, put_resp, 2 },
	{ "put", 2, 0, NULL, "", put_req, CL_ARRAY_SIZE(put_req), put_resp, 2 },
	{ "put_many", 3, 0, NULL, "", put_req, CL_ARRAY_SIZE(put_req), NULL, 0 },
	{ "zeta", 4, 0, NULL, "last", NULL, 0, NULL, 0 },
};

static const struct rpc_service svc = {
	"test", 1, "cloister-test/1", methods, CL_ARRAY_SIZE(methods)
};

#define M_PUT	(&methods[2])

/* --- helpers --- */

/* Parse a request; on success the request object is freed here. */
static int
req(const char *body, const struct rpc_method **out_m, struct cl_error *err)
{
	json_t *obj = (json_t *)1;
	int rc;

	cl_error_clear(err);
	rc = rpc_parse_request(&svc, body, strlen(body), out_m, &obj, err);
	if (rc == 0) {
		assert_non_null(obj);
		assert_true(json_is_object(obj));
		json_decref(obj);
	} else {
		assert_null(obj);
		assert_int_equal(err->code, rc);
	}
	return rc;
}

/* The request must be refused with code; the message must hold want. */
static void
expect_req(const char *body, int code, const char *want)
{
	const struct rpc_method *m;
	struct cl_error err;
	int rc = req(body, &m, &err);

	if (rc != code)
		fail_msg("%s\n  gave %d (%s: %s), want %d", body, rc,
		    cl_err_str(rc), err.message, code);
	if (want != NULL && strstr(err.message, want) == NULL)
		fail_msg("%s\n  message '%s' does not contain '%s'", body,
		    err.message, want);
}

static void
expect_req_ok(const char *body)
{
	const struct rpc_method *m;
	struct cl_error err;
	int rc = req(body, &m, &err);

	if (rc != 0)
		fail_msg("%s\n  refused: %d %s", body, rc, err.message);
	assert_non_null(m);
}

static int
resp(const struct rpc_method *m, const char *body, struct cl_error *err)
{
	json_t *obj = (json_t *)1;
	int rc;

	cl_error_clear(err);
	rc = rpc_parse_response(m, body, strlen(body), &obj, err);
	if (rc == 0) {
		assert_non_null(obj);
		json_decref(obj);
	} else {
		assert_null(obj);
	}
	return rc;
}

/* Depth-deep nesting of "[" (or "{\"a\":") around a scalar, in b. */
static void
nest(struct buf *b, int depth, bool objects)
{
	for (int i = 0; i < depth; i++)
		buf_adds(b, objects ? "{\"a\":" : "[");
	buf_adds(b, "1");
	for (int i = 0; i < depth; i++)
		buf_adds(b, objects ? "}" : "]");
}

/* --- rpc_find --- */

static void
test_find(void **state)
{
	static const char *const absent[] = { "", "a", "alph", "alpha ",
	    "ALPHA", "beta", "gets", "pu", "put_", "put_manyx", "zeta2", "zz",
	    "\x7f", "~" };
	struct rpc_service one = { "one", 1, "x", methods + 2, 1 };
	struct rpc_service none = { "none", 1, "x", methods, 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(methods); i++) {
		const struct rpc_method *m = rpc_find(&svc, methods[i].name);

		assert_ptr_equal(m, &methods[i]);
		assert_int_equal(m->id, (int)i);
	}
	assert_ptr_equal(rpc_find(&svc, "alpha"), &methods[0]);	/* first */
	assert_ptr_equal(rpc_find(&svc, "zeta"), &methods[4]);	/* last */
	for (size_t i = 0; i < CL_ARRAY_SIZE(absent); i++)
		if (rpc_find(&svc, absent[i]) != NULL)
			fail_msg("'%s' found", absent[i]);
	assert_ptr_equal(rpc_find(&one, "put"), &methods[2]);
	assert_null(rpc_find(&one, "alpha"));
	assert_null(rpc_find(&one, "zeta"));
	assert_null(rpc_find(&none, "put"));
	assert_null(rpc_find(&none, ""));
}

/* --- rpc_parse_request --- */

static void
test_request_valid(void **state)
{
	const struct rpc_method *m = NULL;
	struct cl_error err;
	json_t *obj = NULL;
	const char *body = "{\"request\":\"put\",\"name\":\"abc\",\"count\":5,"
	    "\"ratio\":1.5,\"on\":true,\"meta\":{\"a\":1},\"tags\":[\"x\"],"
	    "\"any\":null,\"key\":\"k\"}";

	cl_error_clear(&err);
	assert_int_equal(rpc_parse_request(&svc, body, strlen(body), &m, &obj,
	    &err), 0);
	assert_ptr_equal(m, M_PUT);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(obj, "name")),
	    "abc");
	assert_int_equal(json_integer_value(json_object_get(obj, "count")), 5);
	assert_int_equal(err.code, CL_OK);
	json_decref(obj);

	/* only the required field; and methods without fields */
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\"}");
	expect_req_ok("{\"name\":\"a\",\"request\":\"put\"}");
	expect_req_ok("{\"request\":\"alpha\"}");
	expect_req_ok("{\"request\":\"zeta\"}");
	expect_req_ok("  {\"request\" : \"get\", \"id\" : 1}\n");
	/* an integer is a number; ANY takes anything */
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"ratio\":3}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"ratio\":-1e300}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"any\":[1,{\"b\":"
	    "\"c\"},null]}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"on\":false}");
	/* bounds are inclusive */
	expect_req_ok("{\"request\":\"put\",\"name\":\"12345678\",\"count\":0}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"count\":100}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"tags\":[1,2,3]}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"meta\":{}}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"meta\":{\"x\":1,"
	    "\"y\":2}}");
	/* string bounds are bytes: four 2-byte characters fit in 8 */
	expect_req_ok("{\"request\":\"put\",\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\"}");
	expect_req_ok("{\"request\":\"put\",\"name\":\"\\u00e9\\u00e9\\u00e9"
	    "\\u00e9\"}");
}

static void
test_request_bad_json(void **state)
{
	static const char *const bad[] = { "", " ", "{", "}", "not json",
	    "{\"request\":\"put\",}", "{\"request\":\"put\"} x",
	    "{\"request\":\"put\"}{}", "{'request':'put'}",
	    "{\"request\":\"put\",\"name\":\"a\",\"count\":01}",
	    "{\"request\":\"put\",\"name\":\"a\",\"count\":99999999999999999999}",
	    "{\"request\":\"put\",\"name\":\"a\",\"ratio\":1e999}",
	    "{\"request\":\"put\",\"name\":\"a\",\"ratio\":NaN}",
	    "{\"request\":\"put\",\"name\":\"\xff\"}",
	    "{\"request\":\"put\",\"name\":\"\xc3\"}",
	    "{\"request\":\"put\",\"name\":\"\\ud800\"}",
	};

	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++)
		expect_req(bad[i], CL_EBADJSON, NULL);
	expect_req("{", CL_EBADJSON, "invalid JSON");
}

static void
test_request_not_object(void **state)
{
	static const char *const scalars[] = { "\"put\"", "42", "-1.5", "true",
	    "null" };

	expect_req("[]", CL_EBADJSON, "must be a JSON object");
	expect_req("[{\"request\":\"put\"}]", CL_EBADJSON,
	    "must be a JSON object");
	for (size_t i = 0; i < CL_ARRAY_SIZE(scalars); i++)
		expect_req(scalars[i], CL_EBADJSON, NULL);
}

static void
test_request_envelope(void **state)
{
	const struct rpc_method *m = (const struct rpc_method *)1;
	struct cl_error err;

	expect_req("{}", CL_EPROTO, "no 'request' string");
	expect_req("{\"name\":\"a\"}", CL_EPROTO, "no 'request' string");
	expect_req("{\"request\":5}", CL_EPROTO, "no 'request' string");
	expect_req("{\"request\":null}", CL_EPROTO, NULL);
	expect_req("{\"request\":[\"put\"]}", CL_EPROTO, NULL);
	expect_req("{\"request\":{\"name\":\"put\"}}", CL_EPROTO, NULL);
	expect_req("{\"request\":true}", CL_EPROTO, NULL);
	expect_req("{\"Request\":\"put\"}", CL_EPROTO, NULL);

	expect_req("{\"request\":\"nope\"}", CL_EUNKNOWN_REQ,
	    "unknown request 'nope' for service 'test'");
	expect_req("{\"request\":\"\"}", CL_EUNKNOWN_REQ, NULL);
	expect_req("{\"request\":\"PUT\"}", CL_EUNKNOWN_REQ, NULL);
	expect_req("{\"request\":\"put \"}", CL_EUNKNOWN_REQ, NULL);
	assert_int_equal(req("{\"request\":\"nope\"}", &m, &err),
	    CL_EUNKNOWN_REQ);
	assert_null(m);

	/* an overlong name is refused and not echoed in full */
	{
		struct buf b = BUF_INIT;

		buf_adds(&b, "{\"request\":\"put");
		for (int i = 0; i < 5000; i++)
			buf_addch(&b, 'x');
		buf_adds(&b, "\"}");
		assert_int_equal(req(b.p, &m, &err), CL_EUNKNOWN_REQ);
		assert_true(strlen(err.message) < 150);
		buf_release(&b);
	}
}

static void
test_request_fields(void **state)
{
	const struct rpc_method *m = NULL;
	struct cl_error err;

	/* the method is reported even though its fields were refused */
	assert_int_equal(req("{\"request\":\"put\"}", &m, &err), CL_EINVAL);
	assert_ptr_equal(m, M_PUT);
	assert_string_equal(err.message, "request 'put': missing field 'name'");
	expect_req("{\"request\":\"get\"}", CL_EINVAL, "missing field 'id'");
	expect_req("{\"request\":\"put\",\"count\":5}", CL_EINVAL,
	    "missing field 'name'");
	expect_req("{\"request\":\"put\",\"name\":null}", CL_EINVAL,
	    "field 'name' must be a string");

	/* wrong type, for each type */
	expect_req("{\"request\":\"put\",\"name\":5}", CL_EINVAL,
	    "field 'name' must be a string");
	expect_req("{\"request\":\"put\",\"name\":[\"a\"]}", CL_EINVAL,
	    "field 'name' must be a string");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":\"5\"}",
	    CL_EINVAL, "field 'count' must be an integer");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":5.0}",
	    CL_EINVAL, "field 'count' must be an integer");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":true}",
	    CL_EINVAL, "field 'count' must be an integer");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"ratio\":\"1\"}",
	    CL_EINVAL, "field 'ratio' must be a number");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"ratio\":null}",
	    CL_EINVAL, "field 'ratio' must be a number");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"on\":1}",
	    CL_EINVAL, "field 'on' must be a boolean");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"on\":\"true\"}",
	    CL_EINVAL, "field 'on' must be a boolean");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"meta\":[]}",
	    CL_EINVAL, "field 'meta' must be an object");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"meta\":\"{}\"}",
	    CL_EINVAL, "field 'meta' must be an object");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"tags\":{}}",
	    CL_EINVAL, "field 'tags' must be an array");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"tags\":\"x\"}",
	    CL_EINVAL, "field 'tags' must be an array");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"key\":5}",
	    CL_EINVAL, "field 'key' must be a string");

	/* bounds */
	expect_req("{\"request\":\"put\",\"name\":\"123456789\"}", CL_EINVAL,
	    "field 'name' must be 1 to 8 bytes long, not 9");
	expect_req("{\"request\":\"put\",\"name\":\"\"}", CL_EINVAL,
	    "field 'name' must be 1 to 8 bytes long, not 0");
	expect_req("{\"request\":\"put\",\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\"}", CL_EINVAL, "field 'name'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":-1}",
	    CL_EINVAL, "field 'count' must be between 0 and 100, not -1");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":101}",
	    CL_EINVAL, "field 'count' must be between 0 and 100, not 101");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":"
	    "9223372036854775807}", CL_EINVAL, "field 'count'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"count\":"
	    "-9223372036854775808}", CL_EINVAL, "field 'count'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"tags\":[1,2,3,4]}",
	    CL_EINVAL, "field 'tags' must have 1 to 3 items, not 4");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"tags\":[]}",
	    CL_EINVAL, "field 'tags' must have 1 to 3 items, not 0");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"meta\":{\"a\":1,"
	    "\"b\":2,\"c\":3}}", CL_EINVAL,
	    "field 'meta' must have 0 to 2 members, not 3");

	/* unknown fields, including the names reserved for responses */
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"extra\":1}",
	    CL_EINVAL, "request 'put': unknown field 'extra'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"Name\":\"a\"}",
	    CL_EINVAL, "unknown field 'Name'");
	expect_req("{\"request\":\"alpha\",\"x\":null}", CL_EINVAL,
	    "unknown field 'x'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"response\":\"put\"}",
	    CL_EINVAL, "unknown field 'response'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"result\":\"ok\"}",
	    CL_EINVAL, "unknown field 'result'");
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"error\":{}}",
	    CL_EINVAL, "unknown field 'error'");
}

static void
test_request_duplicates(void **state)
{
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"name\":\"b\"}",
	    CL_EBADJSON, NULL);
	expect_req("{\"request\":\"put\",\"request\":\"alpha\",\"name\":\"a\"}",
	    CL_EBADJSON, NULL);
	/* nested objects too */
	expect_req("{\"request\":\"put\",\"name\":\"a\",\"any\":{\"x\":1,"
	    "\"x\":2}}", CL_EBADJSON, NULL);
	/* the same key in different objects is fine */
	expect_req_ok("{\"request\":\"put\",\"name\":\"a\",\"any\":{\"name\":1,"
	    "\"x\":{\"name\":2}}}");
}

static void
test_request_depth(void **state)
{
	struct buf b = BUF_INIT;

	/*
	 * The envelope object is level 1, so a value nested
	 * CL_JSON_MAX_DEPTH - 1 deep reaches exactly the limit.
	 */
	for (int objects = 0; objects < 2; objects++) {
		buf_clear(&b);
		buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"any\":");
		nest(&b, CL_JSON_MAX_DEPTH - 1, objects);
		buf_adds(&b, "}");
		expect_req_ok(b.p);

		buf_clear(&b);
		buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"any\":");
		nest(&b, CL_JSON_MAX_DEPTH, objects);
		buf_adds(&b, "}");
		expect_req(b.p, CL_EBADJSON, "nested deeper than");

		/* the deep value may be any field, even an unknown one */
		buf_clear(&b);
		buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"zz\":");
		nest(&b, CL_JSON_MAX_DEPTH, objects);
		buf_adds(&b, "}");
		expect_req(b.p, CL_EBADJSON, "nested deeper than");
	}
	/* empty containers count as a level too */
	buf_clear(&b);
	buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"any\":");
	for (int i = 0; i < CL_JSON_MAX_DEPTH; i++)
		buf_adds(&b, "[");
	for (int i = 0; i < CL_JSON_MAX_DEPTH; i++)
		buf_adds(&b, "]");
	buf_adds(&b, "}");
	expect_req(b.p, CL_EBADJSON, NULL);

	/* far deeper than the limit: refused, no crash */
	buf_clear(&b);
	buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"any\":");
	nest(&b, 100000, false);
	buf_adds(&b, "}");
	expect_req(b.p, CL_EBADJSON, NULL);

	/* wide but shallow is fine */
	buf_clear(&b);
	buf_adds(&b, "{\"request\":\"put\",\"name\":\"a\",\"any\":[");
	for (int i = 0; i < 10000; i++)
		buf_adds(&b, i ? ",[[1]]" : "[[1]]");
	buf_adds(&b, "]}");
	expect_req_ok(b.p);
	buf_release(&b);
}

static void
test_request_nul(void **state)
{
	static const char raw[] = "{\"request\":\"put\",\"name\":\"a\0b\"}";
	const struct rpc_method *m;
	struct cl_error err;
	json_t *obj;

	expect_req("{\"request\":\"put\",\"name\":\"a\\u0000b\"}", CL_EBADJSON,
	    NULL);
	expect_req("{\"request\":\"put\\u0000\",\"name\":\"a\"}", CL_EBADJSON,
	    NULL);
	expect_req("{\"request\":\"put\",\"na\\u0000me\":\"a\"}", CL_EBADJSON,
	    NULL);
	/* a raw NUL byte inside the body */
	cl_error_clear(&err);
	assert_int_equal(rpc_parse_request(&svc, raw, sizeof(raw) - 1, &m, &obj,
	    &err), CL_EBADJSON);
	assert_null(obj);
	/* and a NUL after a complete object */
	cl_error_clear(&err);
	assert_int_equal(rpc_parse_request(&svc, "{\"request\":\"alpha\"}\0",
	    20, &m, &obj, &err), CL_EBADJSON);
	assert_null(obj);
}

static void
test_request_no_error_object(void **state)
{
	const struct rpc_method *m;
	json_t *obj;
	const char *b;

	/* err may be NULL: the codes are the same */
	b = "{";
	assert_int_equal(rpc_parse_request(&svc, b, strlen(b), &m, &obj, NULL),
	    CL_EBADJSON);
	b = "{}";
	assert_int_equal(rpc_parse_request(&svc, b, strlen(b), &m, &obj, NULL),
	    CL_EPROTO);
	b = "{\"request\":\"x\"}";
	assert_int_equal(rpc_parse_request(&svc, b, strlen(b), &m, &obj, NULL),
	    CL_EUNKNOWN_REQ);
	b = "{\"request\":\"put\"}";
	assert_int_equal(rpc_parse_request(&svc, b, strlen(b), &m, &obj, NULL),
	    CL_EINVAL);
	b = "{\"request\":\"alpha\"}";
	assert_int_equal(rpc_parse_request(&svc, b, strlen(b), &m, &obj, NULL),
	    0);
	json_decref(obj);
}

/* --- rpc_parse_response --- */

static void
test_response_ok(void **state)
{
	struct cl_error err;
	json_t *obj = NULL;
	const char *b = "{\"result\":\"ok\",\"response\":\"put\",\"id\":7,"
	    "\"note\":\"fine\"}";

	cl_error_clear(&err);
	assert_int_equal(rpc_parse_response(M_PUT, b, strlen(b), &obj, &err), 0);
	assert_non_null(obj);
	assert_int_equal(json_integer_value(json_object_get(obj, "id")), 7);
	json_decref(obj);
	assert_int_equal(resp(M_PUT, "{\"response\":\"put\",\"id\":1000,"
	    "\"result\":\"ok\"}", &err), 0);
	assert_int_equal(resp(&methods[0], "{\"result\":\"ok\","
	    "\"response\":\"alpha\"}", &err), 0);
}

static void
test_response_err(void **state)
{
	struct cl_error err;

	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"response\":\"put\","
	    "\"error\":{\"code\":\"busy\",\"message\":\"queue full\"}}", &err),
	    CL_EBUSY);
	assert_int_equal(err.code, CL_EBUSY);
	assert_string_equal(err.message, "queue full");

	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"error\":{\"code\":"
	    "\"not_found\",\"message\":\"no such 'x'\"}}", &err), CL_ENOTFOUND);
	assert_string_equal(err.message, "no such 'x'");

	/* an unknown or missing code is "internal" */
	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"response\":\"put\","
	    "\"error\":{\"code\":\"weird\",\"message\":\"m\"}}", &err),
	    CL_EINTERNAL);
	assert_string_equal(err.message, "m");
	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"response\":\"put\"}",
	    &err), CL_EINTERNAL);
	assert_string_equal(err.message, "(no message)");
	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"error\":\"busy\"}",
	    &err), CL_EINTERNAL);
	assert_int_equal(resp(M_PUT, "{\"result\":\"err\",\"error\":{\"code\":"
	    "5}}", &err), CL_EINTERNAL);

	/* every code survives the trip through an error envelope */
	for (int code = CL_EINVAL; code >= CL_ERR_MIN; code--) {
		json_t *e = rpc_error_new(M_PUT, code, "detail 'x'");
		char *s = json_dumps(e, JSON_COMPACT);

		assert_non_null(s);
		assert_int_equal(resp(M_PUT, s, &err), code);
		assert_int_equal(err.code, code);
		assert_string_equal(err.message, "detail 'x'");
		free(s);
		json_decref(e);
	}
}

static void
test_response_err_code_ok(void **state)
{
	static const char body[] = "{\"result\":\"err\",\"response\":\"put\","
	    "\"error\":{\"code\":\"ok\",\"message\":\"gotcha\"}}";
	struct cl_error err;
	json_t *obj = NULL;
	int rc;

	/*
	 * A hostile or broken server answers "err" with code "ok": that
	 * is still a failure, never success with no response object.
	 */
	cl_error_clear(&err);
	rc = rpc_parse_response(M_PUT, body, sizeof(body) - 1, &obj, &err);
	if (rc == 0)
		fail_msg("an 'err' envelope with code 'ok' returned success "
		    "(out_resp %p, err.code %d)", (void *)obj, err.code);
	assert_true(rc < 0);
	assert_null(obj);
	assert_int_equal(err.code, rc);
}

static void
test_response_malformed(void **state)
{
	static const char *const bad[] = {
		/* envelope */
		"{\"result\":\"ok\",\"response\":\"get\",\"id\":1}",
		"{\"result\":\"ok\",\"response\":\"PUT\",\"id\":1}",
		"{\"result\":\"ok\",\"id\":1}",
		"{\"result\":\"ok\",\"response\":5,\"id\":1}",
		"{\"response\":\"put\",\"id\":1}",
		"{\"result\":\"yes\",\"response\":\"put\",\"id\":1}",
		"{\"result\":true,\"response\":\"put\",\"id\":1}",
		"{\"result\":\"OK\",\"response\":\"put\",\"id\":1}",
		/* schema */
		"{\"result\":\"ok\",\"response\":\"put\"}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":\"1\"}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":0}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1001}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"extra\":2}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"note\":"
		    "\"12345678901234567\"}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"request\":"
		    "\"put\"}",
		"{\"result\":\"ok\",\"response\":\"alpha\",\"x\":1}",
		/* not JSON, not an object, duplicates, NUL */
		"", "{", "[]", "\"ok\"",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"id\":2}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"note\":"
		    "\"a\\u0000\"}",
	};
	struct cl_error err;

	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		const struct rpc_method *m = strstr(bad[i], "alpha") ?
		    &methods[0] : M_PUT;
		int rc = resp(m, bad[i], &err);

		if (rc != CL_EPROTO)
			fail_msg("%s\n  gave %d (%s), want protocol_error", bad[i],
			    rc, err.message);
	}
	assert_int_equal(resp(M_PUT, "{\"result\":\"ok\",\"response\":\"get\","
	    "\"id\":1}", &err), CL_EPROTO);
	assert_string_equal(err.message, "malformed response to 'put'");
	assert_int_equal(resp(M_PUT, "{\"result\":\"ok\",\"response\":\"put\"}",
	    &err), CL_EPROTO);
	assert_non_null(strstr(err.message, "response 'put': missing field 'id'"));
}

static void
test_response_error_code_consistent(void **state)
{
	static const char *const bad[] = {
		"{",
		"[]",
		"{\"result\":\"ok\",\"response\":\"put\"}",
		"{\"result\":\"ok\",\"response\":\"put\",\"id\":1,\"extra\":2}",
	};
	struct buf wrong = BUF_INIT;
	struct cl_error err;

	/*
	 * The return value and err.code must agree: callers print err,
	 * and a server's malformed answer must not read as the caller's
	 * own "invalid_argument" or "bad_json".
	 */
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		int rc = resp(M_PUT, bad[i], &err);

		if (err.code != rc)
			buf_addf(&wrong, "\n  %s: returned %s, err.code %s (%s)",
			    bad[i], cl_err_str(rc), cl_err_str(err.code),
			    err.message);
	}
	if (wrong.len > 0) {
		print_error("return value and err.code disagree:%s\n", wrong.p);
		buf_release(&wrong);
		fail();
	}
}

/* --- building envelopes --- */

static void
test_request_new_and_ok(void **state)
{
	struct cl_error err;
	json_t *r = rpc_request_new(M_PUT), *obj;
	char *s;

	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "request")),
	    "put");
	assert_int_equal(json_object_size(r), 1);
	/* a built request parses back once its fields are added */
	json_object_set_new(r, "name", json_string("nm"));
	s = json_dumps(r, JSON_COMPACT);
	expect_req_ok(s);
	free(s);
	json_decref(r);

	obj = json_pack("{s:i}", "id", 9);
	rpc_make_ok(obj, M_PUT);
	assert_string_equal(json_string_value(json_object_get(obj, "result")),
	    "ok");
	assert_string_equal(json_string_value(json_object_get(obj, "response")),
	    "put");
	s = json_dumps(obj, JSON_COMPACT);
	assert_int_equal(resp(M_PUT, s, &err), 0);
	free(s);
	json_decref(obj);
}

static void
test_error_new(void **state)
{
	json_t *e, *inner;
	char *s;

	e = rpc_error_new(NULL, CL_EBADJSON, "bad body");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "result")),
	    "err");
	assert_null(json_object_get(e, "response"));
	inner = json_object_get(e, "error");
	assert_true(json_is_object(inner));
	assert_string_equal(json_string_value(json_object_get(inner, "code")),
	    "bad_json");
	assert_string_equal(json_string_value(json_object_get(inner,
	    "message")), "bad body");
	json_decref(e);

	e = rpc_error_new(M_PUT, CL_EBUSY, "full");
	assert_string_equal(json_string_value(json_object_get(e, "response")),
	    "put");
	json_decref(e);

	/* a code outside the table travels as "internal" */
	e = rpc_error_new(M_PUT, 12345, "odd");
	inner = json_object_get(e, "error");
	assert_string_equal(json_string_value(json_object_get(inner, "code")),
	    "internal");
	json_decref(e);

	/* no message at all */
	e = rpc_error_new(M_PUT, CL_EIO, NULL);
	assert_non_null(e);
	s = json_dumps(e, JSON_COMPACT);
	assert_non_null(s);
	free(s);
	json_decref(e);
}

static void
test_error_new_bad_utf8(void **state)
{
	static const char *const msgs[] = { "bad \xff byte", "\xc3",
	    "trunc \xe2\x82", "\xed\xa0\x80 surrogate", "\xc0\xaf overlong" };

	for (size_t i = 0; i < CL_ARRAY_SIZE(msgs); i++) {
		json_t *e = rpc_error_new(M_PUT, CL_EINVAL, msgs[i]), *back;
		json_error_t jerr;
		char *s;

		assert_non_null(e);
		s = json_dumps(e, JSON_COMPACT);
		assert_non_null(s);
		back = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
		if (back == NULL)
			fail_msg("error envelope for message %zu is not JSON: %s",
			    i, jerr.text);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(back, "error"), "code")), "invalid_argument");
		assert_true(json_is_string(json_object_get(json_object_get(back,
		    "error"), "message")));
		assert_string_equal(json_string_value(json_object_get(back,
		    "response")), "put");
		json_decref(back);
		free(s);
		json_decref(e);
	}
}

/* --- rpc_encode --- */

static void
test_encode(void **state)
{
	struct buf b = BUF_INIT;
	json_t *obj = json_pack("{s:s, s:i, s:[i,i]}", "request", "put",
	    "count", 3, "tags", 1, 2), *back;
	size_t blen, off;
	json_error_t jerr;

	buf_adds(&b, "prefix");
	assert_int_equal(rpc_encode(&b, obj, CL_FRAME_MAX_DEFAULT), 0);
	assert_int_equal(rpc_encode(&b, obj, CL_FRAME_MAX_DEFAULT), 0);
	assert_memory_equal(b.p, "prefix", 6);
	assert_int_equal(b.p[b.len], '\0');
	/* two frames, each header matching its body, each body the object */
	off = 6;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(frame_peek((uint8_t *)b.p + off, b.len - off,
		    CL_FRAME_MAX_DEFAULT, &blen), FRAME_READY);
		back = json_loadb(b.p + off + CL_FRAME_HDR_LEN, blen, 0, &jerr);
		assert_non_null(back);
		assert_true(json_equal(back, obj));
		json_decref(back);
		/* compact: no spaces or newlines */
		assert_null(memchr(b.p + off + CL_FRAME_HDR_LEN, ' ', blen));
		assert_null(memchr(b.p + off + CL_FRAME_HDR_LEN, '\n', blen));
		off += CL_FRAME_HDR_LEN + blen;
	}
	assert_int_equal(off, b.len);
	buf_release(&b);
	json_decref(obj);
}

static void
test_encode_big(void **state)
{
	struct buf b = BUF_INIT;
	char *big = malloc(300000);
	json_t *obj;
	size_t blen;

	assert_non_null(big);
	memset(big, 'b', 299999);
	big[299999] = '\0';
	obj = json_pack("{s:s}", "message", big);
	assert_int_equal(rpc_encode(&b, obj, CL_FRAME_MAX_DEFAULT), 0);
	assert_int_equal(frame_peek((uint8_t *)b.p, b.len, CL_FRAME_MAX_DEFAULT,
	    &blen), FRAME_READY);
	assert_int_equal(blen, 299999 + strlen("{\"message\":\"\"}"));
	assert_int_equal(b.len, CL_FRAME_HDR_LEN + blen);
	assert_int_equal((uint8_t)b.p[1], (blen >> 16) & 0xff);
	buf_release(&b);
	json_decref(obj);
	free(big);
}

static void
test_encode_too_big(void **state)
{
	struct buf b = BUF_INIT;
	json_t *obj = json_pack("{s:s}", "k", "01234567");	/* 16 bytes */
	size_t cap;

	/* the limit is inclusive */
	assert_int_equal(rpc_encode(&b, obj, 16), 0);
	assert_int_equal(b.len, CL_FRAME_HDR_LEN + 16);
	assert_memory_equal(b.p, "\0\0\0\x10{\"k\":\"01234567\"}", 20);

	/* one over: refused, buffer exactly as before */
	buf_clear(&b);
	buf_adds(&b, "keep");
	cap = b.cap;
	assert_int_equal(rpc_encode(&b, obj, 15), CL_ETOOBIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.p, "keep");
	assert_int_equal(b.cap >= cap, 1);

	/* on an empty buffer too */
	buf_release(&b);
	assert_int_equal(rpc_encode(&b, obj, 1), CL_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	/* and it still works afterwards */
	assert_int_equal(rpc_encode(&b, obj, 16), 0);
	assert_int_equal(b.len, 20);
	buf_release(&b);
	json_decref(obj);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_request_valid),
		cmocka_unit_test(test_request_bad_json),
		cmocka_unit_test(test_request_not_object),
		cmocka_unit_test(test_request_envelope),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_duplicates),
		cmocka_unit_test(test_request_depth),
		cmocka_unit_test(test_request_nul),
		cmocka_unit_test(test_request_no_error_object),
		cmocka_unit_test(test_response_ok),
		cmocka_unit_test(test_response_err),
		cmocka_unit_test(test_response_err_code_ok),
		cmocka_unit_test(test_response_malformed),
		cmocka_unit_test(test_response_error_code_consistent),
		cmocka_unit_test(test_request_new_and_ok),
		cmocka_unit_test(test_error_new),
		cmocka_unit_test(test_error_new_bad_utf8),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_big),
		cmocka_unit_test(test_encode_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
