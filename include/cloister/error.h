/*
 * Error codes of the Cloister client library and wire protocol.
 *
 * Functions return 0 on success and a negative enum cl_err on failure.
 * Each code has a stable string form (cl_err_str) that is what travels in
 * the "code" field of an error frame; the strings never change meaning.
 */
#ifndef CLOISTER_ERROR_H
#define CLOISTER_ERROR_H

enum cl_err {
	CL_OK = 0,
	CL_EINVAL = -1,		/* "invalid_argument": bad field, value out of range */
	CL_ENOMEM = -2,		/* "out_of_memory" */
	CL_EIO = -3,		/* "io_error": a read/write/syscall failed */
	CL_EPROTO = -4,		/* "protocol_error": malformed frame or message */
	CL_ETOOBIG = -5,	/* "too_large": over a configured limit */
	CL_ENOTFOUND = -6,	/* "not_found" */
	CL_ETIMEDOUT = -7,	/* "timeout" */
	CL_ECONN = -8,		/* "connection_failed": connect refused, closed */
	CL_ETLS = -9,		/* "tls_error": handshake or certificate failure */
	CL_EDENIED = -10,	/* "permission_denied" */
	CL_EINTERNAL = -11,	/* "internal": a bug on the other side */
	CL_ECONFIG = -12,	/* "bad_config" */
	CL_EBADJSON = -13,	/* "bad_json": not JSON, or not an object */
	CL_EUNKNOWN_REQ = -14,	/* "unknown_request" */
	CL_EBUSY = -15,		/* "busy": queue full, retry later */
	CL_EEXIST = -16,	/* "already_exists" */
	CL_EAUTH = -17,		/* "unauthenticated" */
	CL_ESTATE = -18,	/* "bad_state": not allowed in the current state */
};

#define CL_ERR_MIN	CL_ESTATE

#endif
