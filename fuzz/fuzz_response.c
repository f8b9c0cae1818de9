/*
 * Fuzz harness for response decoding (lib/rpc.c): the input is one frame
 * body from a server, parsed by the client side (rpc_client.c) as the
 * answer to each of the echo service's methods in turn.
 *
 * Invariants checked (violation = __builtin_trap; leaks are reported by
 * LeakSanitizer):
 *   - rpc_parse_response returns 0 exactly when it hands back an object,
 *     and that object is an "ok" envelope naming the method whose fields
 *     still validate against the method's response schema; callers such
 *     as rpc_client_call rely on "0 means *out_resp is set";
 *   - on failure the code is a valid negative enum cl_err and is the one
 *     recorded in the error;
 *   - an accepted response survives rpc_encode and a second parse
 *     unchanged (json_equal).
 */
#include "compat.h"

#include "buf.h"
#include "echo_schema.h"
#include "frame.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static void
check_ok(const struct rpc_method *m, json_t *resp)
{
	static const char *const reserved[] = { "result", "response", NULL };
	struct cl_error err;
	struct buf b = BUF_INIT;
	json_t *again;
	size_t len;

	CHECK(json_is_object(resp));
	CHECK(strcmp(json_string_value(json_object_get(resp, "result")),
	    "ok") == 0);
	CHECK(strcmp(json_string_value(json_object_get(resp, "response")),
	    m->name) == 0);
	cl_error_clear(&err);
	CHECK(rpc_validate(m->resp, m->nresp, resp, reserved, "again",
	    &err) == 0);

	CHECK(rpc_encode(&b, resp, CL_FRAME_MAX_CEILING) == 0);
	CHECK(frame_peek((const uint8_t *)b.p, b.len, CL_FRAME_MAX_CEILING,
	    &len) == FRAME_READY && CL_FRAME_HDR_LEN + len == b.len);
	CHECK(rpc_parse_response(m, b.p + CL_FRAME_HDR_LEN, len, &again,
	    &err) == 0);
	CHECK(again != NULL && json_equal(resp, again));
	json_decref(again);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < echo_service.nmethods; i++) {
		const struct rpc_method *m = &echo_service.methods[i];
		struct cl_error err;
		json_t *resp = NULL;
		int rc;

		cl_error_clear(&err);
		rc = rpc_parse_response(m, data, size, &resp, &err);
		if (rc == 0) {
			/* success must come with the response object */
			CHECK(resp != NULL);
			CHECK(err.code == CL_OK);
			check_ok(m, resp);
			json_decref(resp);
			continue;
		}
		CHECK(resp == NULL);
		CHECK(rc < 0 && rc >= CL_ERR_MIN);
		CHECK(err.code == rc);
	}
	return 0;
}
