/*
 * Unit tests for the shipped builtins (builtins/), run for real through
 * exec_run in the sandbox with the registry services get: builtin-echo
 * and builtin-private-join-and-compute (three parties with a known
 * result, and malformed inputs refused with the input's name and line).
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <setjmp.h>

#include <cmocka.h>

#include "builtin.h"
#include "exec.h"

#define NPARTY_MAX	4

static const struct exec_limits limits = {
	.cpu_ms = 5000, .wall_ms = 10000,
	.memory_bytes = 256 * 1024 * 1024, .output_bytes = 1024 * 1024,
};

static int
memfd_with(const char *text)
{
	int fd = memfd_create("in", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read all of fd (from offset 0) into buf; NUL-terminated. */
static void
read_back(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
}

struct pjc {
	struct exec_file in[NPARTY_MAX], out[NPARTY_MAX];
	char name[2 * NPARTY_MAX][32];
	struct exec_result res;
};

/* Run PJC with num_user and the given party texts. */
static void
run_pjc(struct pjc *t, json_int_t num_user, const char *const *text,
    int n)
{
	json_t *args = json_pack("{s:I}", "num_user", num_user);
	struct exec_request req;
	struct cl_error err;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(t->name[i], sizeof(t->name[i]), "input_data%d", i);
		snprintf(t->name[NPARTY_MAX + i], sizeof(t->name[0]),
		    "output_data%d", i);
		t->in[i].name = t->name[i];
		t->in[i].fd = memfd_with(text[i]);
		t->out[i].name = t->name[NPARTY_MAX + i];
		t->out[i].fd = memfd_create("out", 0);
		assert_true(t->out[i].fd >= 0);
	}
	memset(&req, 0, sizeof(req));
	req.executor_type = "builtin";
	req.function_name = "builtin-private-join-and-compute";
	req.arguments = args;
	req.inputs = t->in;
	req.ninputs = (size_t)n;
	req.outputs = t->out;
	req.noutputs = (size_t)n;
	req.limits = limits;
	cl_error_clear(&err);
	assert_int_equal(exec_run(&req, &t->res, &err), 0);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	json_decref(args);
}

static void
close_pjc(struct pjc *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		close(t->in[i].fd);
		close(t->out[i].fd);
	}
}

static void
test_registry(void **state)
{
	size_t i;

	assert_non_null(builtin_find("builtin-echo"));
	assert_non_null(builtin_find("builtin-private-join-and-compute"));
	assert_null(builtin_find("builtin-nope"));
	assert_null(builtin_find(""));
	for (i = 0; builtin_all[i] != NULL; i++) {
		assert_ptr_equal(builtin_find(builtin_all[i]->name),
		    builtin_all[i]);
		assert_non_null(builtin_all[i]->run);
		assert_non_null(builtin_all[i]->doc);
	}
	assert_int_equal(i, 2);
}

static void
test_echo(void **state)
{
	json_t *args = json_pack("{s:s}", "message", "Hello, Teaclave Tests!");
	struct exec_request req;
	struct exec_result res;
	struct cl_error err;

	memset(&req, 0, sizeof(req));
	req.executor_type = "builtin";
	req.function_name = "builtin-echo";
	req.arguments = args;
	req.limits = limits;
	cl_error_clear(&err);
	assert_int_equal(exec_run(&req, &res, &err), 0);
	assert_true(res.ok);
	assert_string_equal(res.summary, "Hello, Teaclave Tests!");
	json_decref(args);
}

static void
test_pjc_three_parties(void **state)
{
	static const char *const text[] = {
		"alice : 10\nbob : 20\ncarol : 30\n",
		"bob: 5\n\ncarol :7\ndave : 1\n   \n",
		"carol : 100\r\nbob : 1\r\nerin : 3",
	};
	struct pjc t;
	char got[256];
	int i;

	run_pjc(&t, 3, text, 3);
	if (!t.res.ok)
		fail_msg("failed: %s", t.res.reason);
	assert_string_equal(t.res.summary, "3 users join the task in total.");
	for (i = 0; i < 3; i++) {
		read_back(t.out[i].fd, got, sizeof(got));
		assert_string_equal(got, "bob, 26\ncarol, 137\n");
	}
	close_pjc(&t, 3);
}

static void
test_pjc_nothing_common(void **state)
{
	static const char *const text[] = {
		"alice : 4294967295\n", "bob : 1\n",
	};
	struct pjc t;
	char got[64];

	run_pjc(&t, 2, text, 2);
	assert_true(t.res.ok);
	read_back(t.out[0].fd, got, sizeof(got));
	assert_string_equal(got, "");
	close_pjc(&t, 2);
}

static void
test_pjc_large_sum(void **state)
{
	static const char *const text[] = {
		"x : 4294967295\n", "x : 4294967295\n",
	};
	struct pjc t;
	char got[64];

	run_pjc(&t, 2, text, 2);
	assert_true(t.res.ok);
	read_back(t.out[1].fd, got, sizeof(got));
	assert_string_equal(got, "x, 8589934590\n");
	close_pjc(&t, 2);
}

struct bad_case {
	const char *party1;
	const char *reason;
};

static void
test_pjc_malformed(void **state)
{
	static const struct bad_case bad[] = {
		{ "bob : 1\ncarol 7\n",
		  "input 'input_data1' line 2: expected 'identity : amount'" },
		{ "bob : 1\n\ncarol : abc\n",
		  "input 'input_data1' line 3: amount is not a number" },
		{ "carol : -3\n",
		  "input 'input_data1' line 1: amount is not a number" },
		{ "carol : 3 4\n",
		  "input 'input_data1' line 1: amount is not a number" },
		{ "carol : 4294967296\n",
		  "input 'input_data1' line 1: amount is larger than "
		  "4294967295" },
		{ "carol : 99999999999999999999999\n",
		  "input 'input_data1' line 1: amount is larger than "
		  "4294967295" },
		{ " : 3\n", "input 'input_data1' line 1: empty identity" },
		{ "a,b : 3\n", "input 'input_data1' line 1: identity has a "
		  "comma or a control character" },
		{ "bob : 1\nbob : 2\n",
		  "input 'input_data1': identity 'bob' appears twice" },
	};
	const char *text[2];
	struct pjc t;
	size_t i;

	text[0] = "bob : 1\ncarol : 2\n";
	for (i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		text[1] = bad[i].party1;
		run_pjc(&t, 2, text, 2);
		if (t.res.ok || strcmp(t.res.reason, bad[i].reason) != 0)
			fail_msg("case %zu: got '%s', expected '%s'", i,
			    t.res.ok ? "(ok)" : t.res.reason, bad[i].reason);
		close_pjc(&t, 2);
	}
}

static void
test_pjc_long_line(void **state)
{
	char *line = malloc(2100);
	const char *text[2];
	struct pjc t;

	assert_non_null(line);
	memset(line, 'a', 2000);
	memcpy(line + 2000, " : 1\n", 6);
	text[0] = line;
	text[1] = "a : 1\n";
	run_pjc(&t, 2, text, 2);
	assert_false(t.res.ok);
	assert_string_equal(t.res.reason,
	    "input 'input_data0' line 1: longer than 1024 bytes");
	close_pjc(&t, 2);
	free(line);
}

static void
test_pjc_arguments(void **state)
{
	static const char *const text[] = { "a : 1\n", "a : 2\n" };
	struct pjc t;

	run_pjc(&t, 1, text, 1);
	assert_false(t.res.ok);
	assert_string_equal(t.res.reason,
	    "argument 'num_user': at least two parties are required");
	close_pjc(&t, 1);
	/* three parties announced, two given */
	run_pjc(&t, 3, text, 2);
	assert_false(t.res.ok);
	assert_string_equal(t.res.reason, "input 'input_data2' is missing");
	close_pjc(&t, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_pjc_three_parties),
		cmocka_unit_test(test_pjc_nothing_common),
		cmocka_unit_test(test_pjc_large_sum),
		cmocka_unit_test(test_pjc_malformed),
		cmocka_unit_test(test_pjc_long_line),
		cmocka_unit_test(test_pjc_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
