/*
 * Error objects, stable error strings and BUG().
 */
#include "compat.h"

#include "err.h"
#include "log.h"

static const char *const err_names[] = {
	[0] = "ok",
	[-CL_EINVAL] = "invalid_argument",
	[-CL_ENOMEM] = "out_of_memory",
	[-CL_EIO] = "io_error",
	[-CL_EPROTO] = "protocol_error",
	[-CL_ETOOBIG] = "too_large",
	[-CL_ENOTFOUND] = "not_found",
	[-CL_ETIMEDOUT] = "timeout",
	[-CL_ECONN] = "connection_failed",
	[-CL_ETLS] = "tls_error",
	[-CL_EDENIED] = "permission_denied",
	[-CL_EINTERNAL] = "internal",
	[-CL_ECONFIG] = "bad_config",
	[-CL_EBADJSON] = "bad_json",
	[-CL_EUNKNOWN_REQ] = "unknown_request",
	[-CL_EBUSY] = "busy",
	[-CL_EEXIST] = "already_exists",
	[-CL_EAUTH] = "unauthenticated",
	[-CL_ESTATE] = "bad_state",
};

void
cl_error_clear(struct cl_error *err)
{
	err->code = CL_OK;
	err->message[0] = '\0';
	err->file[0] = '\0';
	err->line = 0;
}

static CL_PRINTF(5, 0) int
error_vset(struct cl_error *err, enum cl_err code, const char *file, int line,
    const char *fmt, va_list ap)
{
	if (err == NULL || err->code != CL_OK)
		return code;
	err->code = code;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	if (file != NULL)
		snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	return code;
}

int
cl_error_set(struct cl_error *err, enum cl_err code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_vset(err, code, NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int
cl_error_set_at(struct cl_error *err, enum cl_err code, const char *file,
    int line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_vset(err, code, file, line, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
cl_err_str(int code)
{
	if (code > 0 || code < CL_ERR_MIN || err_names[-code] == NULL)
		return "internal";
	return err_names[-code];
}

enum cl_err
cl_err_from_str(const char *s)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(err_names); i++)
		if (err_names[i] != NULL && strcmp(err_names[i], s) == 0)
			return -(int)i;
	return CL_EINTERNAL;
}

void
cl_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_FATAL, 0, "BUG at %s:%d: %s", file, line, msg);
	abort();
}
