/*
 * Unit tests for lib/exec: the sandboxed child every function runs in.
 * The test links its own registry (below) of builtin-echo and test-only
 * builtins that misbehave on purpose: loop forever, allocate without
 * bound, open a file or a socket, crash, abort, overrun the wall clock,
 * write past the output limit.  Each run must end in the documented
 * reason, and after each the test process must be intact and have no
 * child left (waitpid(-1) answers ECHILD).
 *
 * Under AddressSanitizer the memory-limit case is skipped: ASan reserves
 * its heap up front, so RLIMIT_AS does not stop its allocations.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/socket.h>
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
#include "xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

extern const struct builtin builtin_echo;

/* --- test-only builtins --- */

static int
loop_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	volatile uint64_t n = 0;

	for (;;)
		n++;
	return 0;
}

/*
 * Logs 16 KiB first: the parent must still see the allocator's fatal
 * message, which comes last.
 */
static int
alloc_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	char line[64];
	int i;

	memset(line, 'n', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 256; i++)
		if (write(STDERR_FILENO, line, sizeof(line)) < 0)
			break;
	for (;;) {
		char *p = xmalloc(1024 * 1024);

		memset(p, 1, 1024 * 1024);
	}
	return 0;
}

static int
open_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	int fd = open("/etc/hostname", O_RDONLY);

	buf_addf(summary, "opened %d", fd);
	return 0;
}

static int
socket_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	buf_addf(summary, "socket %d", fd);
	return 0;
}

static int
fork_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	buf_addf(summary, "forked %d", (int)pid);
	return 0;
}

static int
crash_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	/* a real fault that no sanitizer intercepts: a PROT_NONE page */
	volatile char *p = mmap(NULL, 4096, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return cl_error_set(err, CL_EIO, "mmap failed");
	p[0] = 1;
	return 0;
}

static int
abort_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	abort();
}

static int
busy_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	volatile uint64_t n = 0;

	for (;;)
		n++;
	return 0;
}

static int
fail_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	return cl_error_set(err, CL_EINVAL, "argument 'x' is wrong");
}

static int
bigsummary_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	size_t i;

	for (i = 0; i < EXEC_SUMMARY_MAX + 10; i++)
		buf_addch(summary, 'a');
	return 0;
}

/*
 * Reports what it sees: which descriptors are open among 0..255, what
 * writing its input does, and the input's first bytes.
 */
static int
probe_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	struct stat st;
	char data[16];
	ssize_t n;
	int fd, in, out;

	for (fd = 0; fd < 256; fd++)
		if (fstat(fd, &st) == 0)
			buf_addf(summary, "%d,", fd);
	in = rt_open_input(rt, "in");
	out = rt_create_output(rt, "out");
	buf_addf(summary, " in=%d out=%d missing=%d", in, out,
	    rt_open_input(rt, "nope"));
	n = write(in, "x", 1);
	buf_addf(summary, " write-input=%d", n < 0 ? errno : 0);
	n = read(out, data, 1);
	buf_addf(summary, " read-output=%d", n < 0 ? errno : 0);
	n = read(in, data, sizeof(data) - 1);
	if (n < 0)
		return cl_error_set(err, CL_EIO, "read failed");
	data[n] = '\0';
	buf_addf(summary, " data=%s", data);
	if (write(out, "written", 7) != 7)
		return cl_error_set(err, CL_EIO, "write failed");
	return 0;
}

static int
bigwrite_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	char block[4096];
	int fd = rt_create_output(rt, "out"), i;

	memset(block, 'b', sizeof(block));
	for (i = 0; i < 1024; i++)
		if (write(fd, block, sizeof(block)) < 0)
			return cl_error_set(err, CL_EIO, "write: %s",
			    strerror(errno));
	return 0;
}

/* Exits without answering (a raw exit: sanitizers intercept _exit). */
static int
noanswer_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	for (;;)
		(void)syscall(SYS_exit_group, 3);
	return 0;
}

/* Writes garbage on the answer pipe (descriptor 3), then answers. */
static int
garbage_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	if (write(3, "junk", 4) != 4)
		return cl_error_set(err, CL_EIO, "write failed");
	buf_adds(summary, "fine");
	return 0;
}

/* Floods the answer pipe far past any answer's size. */
static int
answerflood_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	char block[4096];

	memset(block, 'z', sizeof(block));
	for (;;)
		if (write(3, block, sizeof(block)) < 0)
			break;
	return 0;
}

/* Writes 1 MiB of log lines, then answers: the parent must drain them. */
static int
logflood_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	char block[4096];
	int i;

	memset(block, 'l', sizeof(block));
	block[sizeof(block) - 1] = '\n';
	for (i = 0; i < 256; i++)
		if (write(STDERR_FILENO, block, sizeof(block)) < 0)
			return cl_error_set(err, CL_EIO, "write failed");
	buf_adds(summary, "logged");
	return 0;
}

#define TB(n, f) { .name = n, .run = f, .doc = "test" }
static const struct builtin tb[] = {
	TB("t-loop", loop_run), TB("t-alloc", alloc_run),
	TB("t-open", open_run), TB("t-socket", socket_run),
	TB("t-fork", fork_run), TB("t-crash", crash_run),
	TB("t-abort", abort_run), TB("t-busy", busy_run),
	TB("t-fail", fail_run), TB("t-bigsummary", bigsummary_run),
	TB("t-probe", probe_run), TB("t-bigwrite", bigwrite_run),
	TB("t-noanswer", noanswer_run), TB("t-garbage", garbage_run),
	TB("t-answerflood", answerflood_run), TB("t-logflood", logflood_run),
};

/* The test's registry, in place of builtins/registry.c. */
const struct builtin *const builtin_all[] = {
	&builtin_echo, &tb[0], &tb[1], &tb[2], &tb[3], &tb[4], &tb[5],
	&tb[6], &tb[7], &tb[8], &tb[9], &tb[10], &tb[11], &tb[12], &tb[13],
	&tb[14], &tb[15], NULL,
};

const struct builtin *
builtin_find(const char *name)
{
	size_t i;

	for (i = 0; builtin_all[i] != NULL; i++)
		if (strcmp(builtin_all[i]->name, name) == 0)
			return builtin_all[i];
	return NULL;
}

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

static void
test_cpu_limit(void **state)
{
	json_t *args = json_object();
	struct exec_request req;
	struct exec_result res;

	init_req(&req, "t-loop", args);
	req.limits.cpu_ms = 300;
	req.limits.wall_ms = 20000;
	run(&req, &res);
	assert_failed(&res, "killed by the CPU limit");
	json_decref(args);
}

static void
test_memory_limit(void **state)
{
	json_t *args;
	struct exec_request req;
	struct exec_result res;

	if (UNDER_ASAN)
		skip();
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
