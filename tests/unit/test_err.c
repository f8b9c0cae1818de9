/*
 * Unit tests for lib/err: the caller-owned error object (first error
 * wins, file:line for configuration errors, bounded messages), the
 * stable machine-facing strings of include/cloister/error.h, which
 * travel on the wire and must never change, and BUG(), which must abort
 * with the location in the message.
 */
#include "compat.h"

#include <sys/wait.h>

#include <ctype.h>
#include <setjmp.h>
#include <signal.h>

#include <cmocka.h>

#include "err.h"

/* Every code of error.h with its wire string, pinned. */
static const struct {
	enum cl_err code;
	const char *str;
} codes[] = {
	{ CL_OK, "ok" },
	{ CL_EINVAL, "invalid_argument" },
	{ CL_ENOMEM, "out_of_memory" },
	{ CL_EIO, "io_error" },
	{ CL_EPROTO, "protocol_error" },
	{ CL_ETOOBIG, "too_large" },
	{ CL_ENOTFOUND, "not_found" },
	{ CL_ETIMEDOUT, "timeout" },
	{ CL_ECONN, "connection_failed" },
	{ CL_ETLS, "tls_error" },
	{ CL_EDENIED, "permission_denied" },
	{ CL_EINTERNAL, "internal" },
	{ CL_ECONFIG, "bad_config" },
	{ CL_EBADJSON, "bad_json" },
	{ CL_EUNKNOWN_REQ, "unknown_request" },
	{ CL_EBUSY, "busy" },
	{ CL_EEXIST, "already_exists" },
	{ CL_EAUTH, "unauthenticated" },
	{ CL_ESTATE, "bad_state" },
};

static void
test_clear(void **state)
{
	struct cl_error err;

	memset(&err, 0x5a, sizeof(err));
	cl_error_clear(&err);
	assert_int_equal(err.code, CL_OK);
	assert_string_equal(err.message, "");
	assert_string_equal(err.file, "");
	assert_int_equal(err.line, 0);
}

static void
test_set(void **state)
{
	struct cl_error err;

	cl_error_clear(&err);
	assert_int_equal(cl_error_set(&err, CL_EINVAL, "bad '%s' (%d)", "x", 7),
	    CL_EINVAL);
	assert_int_equal(err.code, CL_EINVAL);
	assert_string_equal(err.message, "bad 'x' (7)");
	assert_string_equal(err.file, "");
	assert_int_equal(err.line, 0);

	/* a NULL error object only passes the code through */
	assert_int_equal(cl_error_set(NULL, CL_EIO, "ignored %d", 1), CL_EIO);
	assert_int_equal(cl_error_set_at(NULL, CL_ECONFIG, "f", 3, "x"),
	    CL_ECONFIG);
}

static void
test_set_keeps_first(void **state)
{
	struct cl_error err;

	cl_error_clear(&err);
	cl_error_set(&err, CL_EINVAL, "inner failure");
	/* an outer layer adds its own error: returns its code, keeps ours */
	assert_int_equal(cl_error_set(&err, CL_EIO, "outer failure"), CL_EIO);
	assert_int_equal(err.code, CL_EINVAL);
	assert_string_equal(err.message, "inner failure");
	assert_int_equal(cl_error_set_at(&err, CL_ECONFIG, "other.conf", 9,
	    "outer with location"), CL_ECONFIG);
	assert_int_equal(err.code, CL_EINVAL);
	assert_string_equal(err.message, "inner failure");
	assert_string_equal(err.file, "");
	assert_int_equal(err.line, 0);

	/* cleared, it records again */
	cl_error_clear(&err);
	cl_error_set(&err, CL_ETIMEDOUT, "second round");
	assert_int_equal(err.code, CL_ETIMEDOUT);
	assert_string_equal(err.message, "second round");
}

static void
test_set_at(void **state)
{
	struct cl_error err;

	cl_error_clear(&err);
	assert_int_equal(cl_error_set_at(&err, CL_ECONFIG, "/etc/x.conf", 42,
	    "unknown option '%s'", "foo"), CL_ECONFIG);
	assert_int_equal(err.code, CL_ECONFIG);
	assert_string_equal(err.file, "/etc/x.conf");
	assert_int_equal(err.line, 42);
	assert_string_equal(err.message, "unknown option 'foo'");

	/* first error wins: location of the first one stays too */
	cl_error_set_at(&err, CL_EINVAL, "/etc/y.conf", 7, "later");
	assert_string_equal(err.file, "/etc/x.conf");
	assert_int_equal(err.line, 42);
	assert_int_equal(err.code, CL_ECONFIG);

	/* NULL file is allowed and leaves the file empty */
	cl_error_clear(&err);
	cl_error_set_at(&err, CL_ECONFIG, NULL, 5, "no file");
	assert_string_equal(err.file, "");
	assert_int_equal(err.line, 5);
	assert_string_equal(err.message, "no file");
}

static void
test_truncation(void **state)
{
	struct cl_error err;
	char longmsg[CL_ERR_MSG_MAX * 4], longfile[1000];

	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	memset(longfile, 'f', sizeof(longfile) - 1);
	longfile[sizeof(longfile) - 1] = '\0';

	cl_error_clear(&err);
	cl_error_set_at(&err, CL_ECONFIG, longfile, 1, "%s", longmsg);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
	assert_int_equal(strlen(err.file), sizeof(err.file) - 1);
	assert_memory_equal(err.message, longmsg, sizeof(err.message) - 1);
	assert_memory_equal(err.file, longfile, sizeof(err.file) - 1);
	assert_int_equal(err.line, 1);
}

static void
test_str_round_trip(void **state)
{
	/* the table above covers every code from CL_OK to CL_ERR_MIN */
	assert_int_equal(CL_ARRAY_SIZE(codes), 1 - CL_ERR_MIN);
	for (size_t i = 0; i < CL_ARRAY_SIZE(codes); i++) {
		const char *s = cl_err_str(codes[i].code);

		assert_int_equal(codes[i].code, -(int)i);
		assert_non_null(s);
		assert_string_equal(s, codes[i].str);
		assert_int_equal(cl_err_from_str(s), codes[i].code);
		/* machine-facing strings: lowercase letters and '_' only */
		for (const char *c = s; *c; c++)
			assert_true(islower((unsigned char)*c) || *c == '_');
		/* and each is unique */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, codes[j].str);
	}
}

static void
test_str_unknown(void **state)
{
	static const int bad_codes[] = { 1, 2, 1000, INT_MAX, CL_ERR_MIN - 1,
	    CL_ERR_MIN - 100, INT_MIN, INT_MIN + 1 };
	static const char *const bad_strs[] = { "", "nope", "INVALID_ARGUMENT",
	    "invalid_argument ", " busy", "busy\n", "internal_", "o" };

	for (size_t i = 0; i < CL_ARRAY_SIZE(bad_codes); i++)
		assert_string_equal(cl_err_str(bad_codes[i]), "internal");
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad_strs); i++)
		assert_int_equal(cl_err_from_str(bad_strs[i]), CL_EINTERNAL);
}

static void
bug_child(int fd)
{
	dup2(fd, STDERR_FILENO);
	BUG("broken invariant %d", 17);
}

static void
test_bug_aborts(void **state)
{
	char out[1024];
	size_t len = 0;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		signal(SIGABRT, SIG_DFL);
		bug_child(pfd[1]);
		_exit(0);	/* NOTREACHED */
	}
	close(pfd[1]);
	while (len < sizeof(out) - 1 &&
	    (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "BUG at "));
	assert_non_null(strstr(out, "test_err.c:"));
	assert_non_null(strstr(out, "broken invariant 17"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_keeps_first),
		cmocka_unit_test(test_set_at),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_str_round_trip),
		cmocka_unit_test(test_str_unknown),
		cmocka_unit_test(test_bug_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
