/*
 * The error object every layer fills on failure.
 *
 * A struct cl_error is owned by the caller (usually on its stack) and
 * passed down; the failing layer records a code, a message and, for
 * configuration errors, the file and line.  Messages follow one style:
 * lowercase, no final period, what failed first, the subject in single
 * quotes ("cannot open 'x': No such file or directory").
 *
 * BUG() is for broken invariants only: it aborts.  Environmental, peer and
 * user errors are return values carrying a cl_error.
 */
#ifndef CL_ERR_H
#define CL_ERR_H

#include "cloister/error.h"
#include "cl_limits.h"

struct cl_error {
	enum cl_err code;
	char message[CL_ERR_MSG_MAX];
	char file[128];		/* config errors: the file, else "" */
	int line;		/* config errors: 1-based line, else 0 */
};

/* Reset to "no error". */
void cl_error_clear(struct cl_error *err) CL_NONNULL(1);

/*
 * Record an error and return its code, so a failing function can end with
 * "return cl_error_set(err, CL_EINVAL, ...);".  err may be NULL, in which
 * case only the code is returned.  Never overwrites an error already set
 * (the innermost failure is the most precise).
 */
int cl_error_set(struct cl_error *err, enum cl_err code, const char *fmt, ...)
	CL_PRINTF(3, 4);

/* As cl_error_set, and attaches file:line (configuration errors). */
int cl_error_set_at(struct cl_error *err, enum cl_err code, const char *file,
    int line, const char *fmt, ...) CL_PRINTF(5, 6);

/* Stable machine-facing string for a code ("invalid_argument", ...). */
const char *cl_err_str(int code);

/* Inverse of cl_err_str; unknown strings map to CL_EINTERNAL. */
enum cl_err cl_err_from_str(const char *s);

CL_NORETURN void cl_bug(const char *file, int line, const char *fmt, ...)
	CL_PRINTF(3, 4);
#define BUG(...) cl_bug(__FILE__, __LINE__, __VA_ARGS__)

#endif
