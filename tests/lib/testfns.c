/*
 * Test functions: builtins that misbehave on purpose, and the registry
 * of the test programs that link them (see testfns.h).
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <time.h>

#include "exec.h"
#include "testfns.h"
#include "xalloc.h"

extern const struct builtin builtin_echo;
extern const struct builtin builtin_private_join;


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
 * message, which comes last.  Allocates in 64 KiB steps: glibc takes
 * them from its heap (brk), which RLIMIT_AS stops; AddressSanitizer from
 * the region it reserved at start, which RLIMIT_AS does not see, so the
 * parent's watch of the resident set stops it.  (A larger ASan
 * allocation is an mmap that RLIMIT_AS refuses, and ASan's own report of
 * it then trips the sandbox: not the case under test.)  Bounded, so that
 * a build where no limit binds keeps the machine's memory.
 */
#define ALLOC_STEP	(64 * 1024)

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
	for (i = 0; i < 4 * 16384; i++) {
		char *p = xmalloc(ALLOC_STEP);

		memset(p, 1, ALLOC_STEP);
	}
	return cl_error_set(err, CL_EINVAL, "allocated 4 GiB without reaching "
	    "a memory limit");
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

/* Busy for arguments.ms of wall-clock time (sleeping is not allowed). */
static int
slow_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	const json_t *v = json_object_get(rt_arguments(rt), "ms");
	struct timespec ts;
	int64_t ms = 2000, start, now;
	volatile uint64_t n = 0;

	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 60000))
		return cl_error_set(err, CL_EINVAL, "argument 'ms' must be an "
		    "integer from 0 to 60000");
	if (v != NULL)
		ms = json_integer_value(v);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	do {
		for (int i = 0; i < 100000; i++)
			n++;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	} while (now - start < ms);
	buf_addf(summary, "busy for %" PRId64 " ms", ms);
	return 0;
}

#define TB(n, f) { .name = n, .run = f, .doc = "test" }
const struct builtin testfns[] = {
	TB("t-loop", loop_run), TB("t-alloc", alloc_run),
	TB("t-open", open_run), TB("t-socket", socket_run),
	TB("t-fork", fork_run), TB("t-crash", crash_run),
	TB("t-abort", abort_run), TB("t-busy", busy_run),
	TB("t-fail", fail_run), TB("t-bigsummary", bigsummary_run),
	TB("t-probe", probe_run), TB("t-bigwrite", bigwrite_run),
	TB("t-noanswer", noanswer_run), TB("t-garbage", garbage_run),
	TB("t-answerflood", answerflood_run), TB("t-logflood", logflood_run),
	TB("t-slow", slow_run),
};
#undef TB
const size_t ntestfns = sizeof(testfns) / sizeof(testfns[0]);
_Static_assert(sizeof(testfns) / sizeof(testfns[0]) == 17,
    "list every test function in builtin_all below");

/* The registry of test programs, in place of builtins/registry.c. */
const struct builtin *const builtin_all[] = {
	&builtin_echo, &builtin_private_join,
	&testfns[0], &testfns[1], &testfns[2], &testfns[3], &testfns[4],
	&testfns[5], &testfns[6], &testfns[7], &testfns[8], &testfns[9],
	&testfns[10], &testfns[11], &testfns[12], &testfns[13], &testfns[14],
	&testfns[15], &testfns[16], NULL,
};
