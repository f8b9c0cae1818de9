/*
 * Fuzz harness for request decoding (lib/rpc.c): the input is one frame
 * body from a network peer, parsed against the echo service's schema as
 * the server does in conn_handle_frame.
 *
 * Invariants checked (violation = __builtin_trap; leaks are reported by
 * LeakSanitizer):
 *   - on success: a method and an object come back, the object still
 *     validates, and re-encoding it with rpc_encode and parsing that
 *     frame again gives the same method and an equal object (json_equal);
 *   - on failure: no object, the return code is one rpc.h documents and
 *     is the code recorded in the error, the method is known exactly when
 *     the code is CL_EINVAL;
 *   - the error reply the server would build from that error encodes
 *     within the smallest frame limit (or, like encode_reply, falls back
 *     to a short too_large error that does) and a client reading it with
 *     rpc_parse_response gets the code that was sent.
 */
#include "compat.h"

#include "buf.h"
#include "echo_schema.h"
#include "frame.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* Decode one encoded frame in b: its body must be exactly the rest. */
static const char *
frame_body(const struct buf *b, size_t *out_len)
{
	CHECK(frame_peek((const uint8_t *)b->p, b->len, CL_FRAME_MAX_CEILING,
	    out_len) == FRAME_READY);
	CHECK(CL_FRAME_HDR_LEN + *out_len == b->len);
	return b->p + CL_FRAME_HDR_LEN;
}

/* The error frame conn_send_error would send, read back by a client. */
static void
check_error_reply(const struct rpc_method *m, const struct cl_error *err)
{
	struct cl_error back;
	struct buf b = BUF_INIT;
	json_t *e, *resp;
	const char *body;
	size_t len;
	int rc, code = err->code;

	/* as lib/server.c's encode_reply: too long, send a short one instead */
	e = rpc_error_new(m, code, err->message);
	CHECK(e != NULL);
	if (rpc_encode(&b, e, CL_FRAME_MAX_FLOOR) != 0) {
		CHECK(b.len == 0);
		json_decref(e);
		code = CL_ETOOBIG;
		e = rpc_error_new(m, code, "response exceeds the frame limit");
		CHECK(rpc_encode(&b, e, CL_FRAME_MAX_FLOOR) == 0);
	}
	json_decref(e);
	body = frame_body(&b, &len);
	if (m != NULL) {
		cl_error_clear(&back);
		rc = rpc_parse_response(m, body, len, &resp, &back);
		CHECK(rc == code && resp == NULL && back.code == rc);
	}
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rpc_method *m, *m2;
	struct cl_error err;
	struct buf b = BUF_INIT;
	json_t *req, *req2;
	const char *body;
	size_t len;
	int rc;

	cl_error_clear(&err);
	rc = rpc_parse_request(&echo_service, data, size, &m, &req, &err);
	if (rc != 0) {
		CHECK(req == NULL);
		CHECK(rc == CL_EBADJSON || rc == CL_EPROTO ||
		    rc == CL_EUNKNOWN_REQ || rc == CL_EINVAL);
		CHECK(err.code == rc && err.message[0] != '\0');
		CHECK((m != NULL) == (rc == CL_EINVAL));
		check_error_reply(m, &err);
		return 0;
	}
	CHECK(m != NULL && req != NULL && json_is_object(req));
	CHECK(err.code == CL_OK);
	CHECK(m >= echo_service.methods &&
	    m < echo_service.methods + echo_service.nmethods);
	CHECK(strcmp(json_string_value(json_object_get(req, "request")),
	    m->name) == 0);
	{
		static const char *const reserved[] = { "request", NULL };

		CHECK(rpc_validate(m->req, m->nreq, req, reserved, "again",
		    &err) == 0);
	}

	/* Round trip: what we would forward must decode to the same thing. */
	CHECK(rpc_encode(&b, req, CL_FRAME_MAX_CEILING) == 0);
	body = frame_body(&b, &len);
	rc = rpc_parse_request(&echo_service, body, len, &m2, &req2, &err);
	CHECK(rc == 0 && m2 == m && req2 != NULL);
	CHECK(json_equal(req, req2));

	json_decref(req2);
	json_decref(req);
	buf_release(&b);
	return 0;
}
