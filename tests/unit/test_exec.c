/*
 * Unit tests for lib/exec: the sandboxed child every function runs in.
 * The test links the test programs' registry (tests/lib/testfns.h): the
 * shipped builtins and test-only ones that misbehave on purpose: loop
 * forever, allocate without bound, open a file or a socket, crash,
 * abort, overrun the wall clock, write past the output limit.  Each run
 * must end in the documented reason, and after each the test process
 * must be intact and have no child left (waitpid(-1) answers ECHILD).
 * A run is canceled from another thread, and stops within 200 ms.
 *
 * Under AddressSanitizer RLIMIT_AS does not bind (ASan reserves its heap
 * up front): the memory-limit case is then stopped by the parent's watch
 * of the child's resident memory, with the same reason.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>

#include <cmocka.h>

#include "builtin.h"
#include "exec.h"
#include "testfns.h"

/* --- helpers --- */

static const struct exec_limits default_limits = {
	.cpu_ms = 5000, .wall_ms = 10000,
	.memory_bytes = 256 * 1024 * 1024, .output_bytes = 1024 * 1024,
};

static void
init_req(struct exec_request *req, const char *name, const json_t *args)
{
	memset(req, 0, sizeof(*req));
	req->executor_type = "builtin";
	req->function_name = name;
	req->arguments = args;
	req->limits = default_limits;
}

/* No child may be left behind, reaped or not. */
static void
assert_no_child(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
run(const struct exec_request *req, struct exec_result *res)
{
	struct cl_error err;

	cl_error_clear(&err);
	memset(res, 0x55, sizeof(*res));
	assert_int_equal(exec_run(req, res, &err), 0);
	assert_no_child();
}

static int
memfd_with(const char *text)
{
	int fd = memfd_create("test", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void
assert_failed(const struct exec_result *res, const char *reason)
{
	if (res->ok || strcmp(res->reason, reason) != 0)
		fail_msg("reason '%s' (ok %d), expected '%s'", res->reason,
		    res->ok, reason);
}

/* --- tests --- */

static void
test_echo(void **state)
{
	json_t *args = json_pack("{s:s}", "message", "Hello, Cloister!");
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "builtin-echo", args);
	run(&req, &res);
	assert_true(res.ok);
	assert_string_equal(res.summary, "Hello, Cloister!");
	json_decref(args);
}

static void
test_echo_bad_argument(void **state)
{
	json_t *args = json_pack("{s:i}", "message", 3);
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "builtin-echo", args);
	run(&req, &res);
	assert_failed(&res, "argument 'message' must be a string");
	json_decref(args);
}

static void
test_refused_before_fork(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	struct cl_error err;

	init_req(&req, "no-such-function", args);
	cl_error_clear(&err);
	assert_int_equal(exec_run(&req, &res, &err), CL_ENOTFOUND);
	assert_non_null(strstr(err.message, "no-such-function"));
	init_req(&req, "builtin-echo", args);
	req.executor_type = "python";
	cl_error_clear(&err);
	assert_int_equal(exec_run(&req, &res, &err), CL_EINVAL);
	init_req(&req, "builtin-echo", args);
	req.limits.wall_ms = 0;
	cl_error_clear(&err);
	assert_int_equal(exec_run(&req, &res, &err), CL_EINVAL);
	assert_no_child();
	json_decref(args);
}

static void
test_function_error(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "t-fail", args);
	run(&req, &res);
	assert_failed(&res, "argument 'x' is wrong");
	json_decref(args);
}

static int64_t
children_cpu_ms(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0);
	return (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
	    (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Stopped by the parent's watch near 300 ms of CPU time, not by
 * RLIMIT_CPU, which counts whole seconds.
 */
static void
test_cpu_limit(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	int64_t before, used;

	init_req(&req, "t-loop", args);
	req.limits.cpu_ms = 300;
	req.limits.wall_ms = 20000;
	before = children_cpu_ms();
	run(&req, &res);
	used = children_cpu_ms() - before;
	assert_failed(&res, "killed by the CPU time limit (300 ms)");
	if (used < 300 || used >= 800)
		fail_msg("the child used %" PRId64 " ms of CPU time", used);
	json_decref(args);
}

struct canceler {
	atomic_bool flag;
	int64_t delay_ms;
	int64_t at;		/* when it was set (monotonic ms) */
};

static void *
cancel_later(void *arg)
{
	struct canceler *c = arg;
	struct timespec ts = { c->delay_ms / 1000,
	    (c->delay_ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	c->at = mono_ms();
	atomic_store(&c->flag, true);
	return NULL;
}

/* A run canceled from another thread stops at once. */
static void
test_cancel(void **state)
{
	json_t *args = json_object();
	struct canceler c = { .delay_ms = 150 };
	struct exec_request req;
	struct exec_result res;
	pthread_t t;
	int64_t late;

	atomic_init(&c.flag, false);
	init_req(&req, "t-loop", args);
	req.limits.cpu_ms = 60000;
	req.limits.wall_ms = 60000;
	req.cancel = &c.flag;
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
	run(&req, &res);
	late = mono_ms() - c.at;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_failed(&res, "canceled");
	if (late >= 200)
		fail_msg("the run ended %" PRId64 " ms after the cancel", late);

	/* set before the run: nothing is started */
	init_req(&req, "builtin-echo", args);
	req.cancel = &c.flag;
	run(&req, &res);
	assert_failed(&res, "canceled");
	/* a flag that is never set changes nothing */
	atomic_store(&c.flag, false);
	json_object_set_new(args, "message", json_string("still here"));
	run(&req, &res);
	assert_true(res.ok);
	assert_string_equal(res.summary, "still here");
	json_decref(args);
}

static void
test_memory_limit(void **state)
{
	json_t *args;
	struct exec_request req;
	struct exec_result res;

	args = json_object();
	init_req(&req, "t-alloc", args);
	req.limits.memory_bytes = 64 * 1024 * 1024;
	run(&req, &res);
	assert_failed(&res, "out of memory (limit 67108864 bytes)");
	json_decref(args);
}

static void
test_sandbox_open(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	char want[128];

	init_req(&req, "t-open", args);
	run(&req, &res);
	snprintf(want, sizeof(want),
	    "killed by the sandbox (system call %d not allowed)",
	    (int)SYS_openat);
	assert_failed(&res, want);
	json_decref(args);
}

static void
test_sandbox_socket(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	char want[128];

	init_req(&req, "t-socket", args);
	run(&req, &res);
	snprintf(want, sizeof(want),
	    "killed by the sandbox (system call %d not allowed)",
	    (int)SYS_socket);
	assert_failed(&res, want);
	json_decref(args);
}

static void
test_sandbox_fork(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	char want[128];

	init_req(&req, "t-fork", args);
	run(&req, &res);
	snprintf(want, sizeof(want),
	    "killed by the sandbox (system call %d not allowed)",
	    (int)SYS_clone);
	assert_failed(&res, want);
	json_decref(args);
}

static void
test_crash(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "t-crash", args);
	run(&req, &res);
	assert_failed(&res, "crashed (signal 11)");
	init_req(&req, "t-abort", args);
	run(&req, &res);
	assert_failed(&res, "crashed (signal 6)");
	json_decref(args);
}

static void
test_wall_timeout(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	struct timespec a, b;
	int64_t ms;

	init_req(&req, "t-busy", args);
	req.limits.cpu_ms = 60000;
	req.limits.wall_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &a);
	run(&req, &res);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_failed(&res, "timed out after 300 ms");
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 300);
	assert_true(ms < 5000);
	json_decref(args);
}

static void
test_summary_too_long(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	char want[64];

	init_req(&req, "t-bigsummary", args);
	run(&req, &res);
	snprintf(want, sizeof(want), "summary longer than %d bytes",
	    EXEC_SUMMARY_MAX - 1);
	assert_failed(&res, want);
	json_decref(args);
}

/*
 * The child holds exactly its log pipe, answer pipe, input and output;
 * the input is read-only, the output write-only, and the caller's
 * offsets do not move.
 */
static void
test_descriptors(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	struct exec_file in, out;
	char data[32];
	int spare, want_rdonly_errno = EBADF;
	ssize_t n;

	spare = open("/dev/null", O_RDONLY);	/* must not be inherited */
	assert_true(spare >= 0);
	in.name = "in";
	in.fd = memfd_with("input-bytes");
	out.name = "out";
	out.fd = memfd_create("out", 0);
	assert_true(out.fd >= 0);
	init_req(&req, "t-probe", args);
	req.inputs = &in;
	req.ninputs = 1;
	req.outputs = &out;
	req.noutputs = 1;
	run(&req, &res);
	if (!res.ok)
		fail_msg("probe failed: %s", res.reason);
	snprintf(data, sizeof(data), "write-input=%d", want_rdonly_errno);
	assert_non_null(strstr(res.summary, "2,3,4,5, in=4 out=5 missing=-1"));
	assert_non_null(strstr(res.summary, data));
	assert_non_null(strstr(res.summary, "read-output=9"));
	assert_non_null(strstr(res.summary, "data=input-bytes"));
	assert_int_equal(lseek(in.fd, 0, SEEK_CUR), 0);
	n = pread(out.fd, data, sizeof(data), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(data, "written", 7);
	close(in.fd);
	close(out.fd);
	close(spare);
	json_decref(args);
}

static void
test_output_limit(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;
	struct exec_file out;
	struct stat st;

	out.name = "out";
	out.fd = memfd_create("out", 0);
	assert_true(out.fd >= 0);
	init_req(&req, "t-bigwrite", args);
	req.outputs = &out;
	req.noutputs = 1;
	req.limits.output_bytes = 65536;
	run(&req, &res);
	assert_failed(&res, "output over the limit (65536 bytes)");
	assert_int_equal(fstat(out.fd, &st), 0);
	assert_true(st.st_size <= 65536);
	close(out.fd);
	json_decref(args);
}

/* Many runs in a row: no descriptor leaks in the caller. */
static void
test_no_fd_leak(void **state)
{
	json_t *args = json_pack("{s:s}", "message", "x");
	struct exec_request req;
	struct exec_result res;
	int before, after, i;

	before = open("/dev/null", O_RDONLY);
	close(before);
	init_req(&req, "builtin-echo", args);
	for (i = 0; i < 20; i++) {
		run(&req, &res);
		assert_true(res.ok);
	}
	init_req(&req, "t-crash", args);
	run(&req, &res);
	assert_false(res.ok);
	after = open("/dev/null", O_RDONLY);
	close(after);
	assert_int_equal(before, after);
	json_decref(args);
}

static void
test_bad_answers(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "t-noanswer", args);
	run(&req, &res);
	assert_failed(&res, "no answer (exit status 3)");
	init_req(&req, "t-garbage", args);
	run(&req, &res);
	assert_failed(&res, "malformed answer");
	init_req(&req, "t-answerflood", args);
	run(&req, &res);
	assert_failed(&res, "malformed answer");
	init_req(&req, "t-logflood", args);
	run(&req, &res);
	assert_true(res.ok);
	assert_string_equal(res.summary, "logged");
	json_decref(args);
}

#define NTHREAD	4
#define NRUN	10

static void *
thread_runs(void *arg)
{
	json_t *args = json_pack("{s:s}", "message", (const char *)arg);
	struct exec_request req;
	struct exec_result res;
	struct cl_error err;
	intptr_t bad = 0;
	int i;

	init_req(&req, "builtin-echo", args);
	for (i = 0; i < NRUN; i++) {
		cl_error_clear(&err);
		if (exec_run(&req, &res, &err) != 0 || !res.ok ||
		    strcmp(res.summary, (const char *)arg) != 0)
			bad++;
	}
	json_decref(args);
	return (void *)bad;
}

/* Runs from several threads at once each get their own answer. */
static void
test_threads(void **state)
{
	static const char *const msg[NTHREAD] = { "a", "bb", "ccc", "dddd" };
	pthread_t t[NTHREAD];
	void *bad;
	int i;

	for (i = 0; i < NTHREAD; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_runs,
		    (void *)(uintptr_t)msg[i]), 0);
	for (i = 0; i < NTHREAD; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
	assert_no_child();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_echo_bad_argument),
		cmocka_unit_test(test_refused_before_fork),
		cmocka_unit_test(test_function_error),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_sandbox_open),
		cmocka_unit_test(test_sandbox_socket),
		cmocka_unit_test(test_sandbox_fork),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_wall_timeout),
		cmocka_unit_test(test_summary_too_long),
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
