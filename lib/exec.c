/*
 * exec_run: one function run in a fresh sandboxed child (see exec.h).
 *
 * The child gets a fixed descriptor layout, set up before the sandbox
 * closes:
 *   2   a pipe to the parent for log lines (fatal messages such as the
 *       allocator's "out of memory" tell the parent why it died)
 *   3   the answer pipe: one record, written once (see answer_put)
 *   4.. the inputs, then the outputs, in request order; each reopened
 *       through /proc/self/fd read-only or write-only when /proc allows
 *       it, so a function cannot write its inputs and does not move the
 *       caller's file offsets.
 * Everything else is closed.  Then rlimits, PR_SET_NO_NEW_PRIVS,
 * PR_SET_DUMPABLE=0 and a seccomp allowlist; a forbidden system call
 * traps to a SIGSYS handler that reports the call's number on the answer
 * pipe and exits (the process cannot survive it: rt_sigaction is not
 * allowed, so the handler cannot be replaced, and a blocked SIGSYS is
 * forced by the kernel).
 *
 * The parent reads both pipes with bounds until both close, then waits
 * for the child, all under the wall-clock limit, waking at least every
 * EXEC_WATCH_MS to look at the caller's cancel flag, the child's CPU
 * clock and its resident set (/proc/<pid>/statm); on the limit, a
 * cancellation, CPU time or memory over the limit, or a malformed answer
 * it kills the child with SIGKILL.  The child is always reaped before
 * exec_run returns.  The child asks for SIGKILL when the thread that
 * forked it dies (PR_SET_PDEATHSIG), which is the thread waiting in
 * exec_run.
 *
 * The caller must not reap children it did not start (waitpid(-1) in a
 * SIGCHLD handler) nor set SIGCHLD to SIG_IGN: either would steal the
 * child's status.  Forking a multi-threaded process is safe here because
 * the child only uses malloc (which glibc makes fork-safe), jansson on
 * already-parsed values and the builtin's own code.
 *
 * Memory limit: RLIMIT_AS counts the address space the child inherits
 * from the caller (thread stacks, arenas), so the limit set is what the
 * child already maps plus memory_bytes.  Under AddressSanitizer the
 * allocator reserves its whole heap up front, so the limit does not bind
 * there; the parent's watch then stops a child whose resident set grows
 * past the caller's own (at the fork) plus memory_bytes, a tick late.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <time.h>

#include "buf.h"
#include "builtin.h"
#include "builtin_int.h"
#include "exec.h"

/* Descriptors in the child. */
#define CHILD_LOG_FD	2
#define CHILD_ANSWER_FD	3
#define CHILD_FILE_FD	4

/* Most files a run may have (inputs plus outputs). */
#define EXEC_FILES_MAX	256
/* Log text kept from the child, for diagnosis. */
#define EXEC_LOG_KEEP	2048

/*
 * The answer record: magic "CLA1", kind (1 byte), 3 reserved, code
 * (int32, little endian), text length (uint32, little endian), then the
 * text (no NUL).
 */
#define ANSWER_MAGIC	"CLA1"
#define ANSWER_HDR	16
#define ANSWER_MAX	(ANSWER_HDR + EXEC_SUMMARY_MAX)

enum answer_kind {
	ANSWER_OK = 1,		/* text: the summary */
	ANSWER_FAIL = 2,	/* code: cl_err; text: the reason */
	ANSWER_SANDBOX = 3,	/* code: the system call number */
	ANSWER_SETUP = 4,	/* text: which setup step failed */
};

/* Why the parent stopped a child before it ended by itself. */
enum stop_why {
	STOP_NONE,
	STOP_TIMEOUT,		/* the wall-clock limit */
	STOP_MALFORMED,		/* an oversized answer, or it cannot be watched */
	STOP_CANCELED,		/* the caller's cancel flag */
	STOP_CPU,		/* CPU time over the limit, seen by the parent */
	STOP_MEMORY,		/* resident memory over the limit, seen likewise */
};

/* The answer descriptor in the child; for the SIGSYS handler. */
static volatile int child_answer_fd = -1;

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * Write one answer record.  Async-signal-safe (no allocation): used by
 * the SIGSYS handler too.
 */
static void
answer_put(enum answer_kind kind, int32_t code, const char *text,
    size_t len)
{
	unsigned char rec[ANSWER_MAX];
	size_t off = 0, total;

	if (len > EXEC_SUMMARY_MAX - 1)
		len = EXEC_SUMMARY_MAX - 1;
	memcpy(rec, ANSWER_MAGIC, 4);
	rec[4] = (unsigned char)kind;
	rec[5] = rec[6] = rec[7] = 0;
	put_u32(rec + 8, (uint32_t)code);
	put_u32(rec + 12, (uint32_t)len);
	if (len > 0)
		memcpy(rec + ANSWER_HDR, text, len);
	total = ANSWER_HDR + len;
	while (off < total) {
		ssize_t n = write(child_answer_fd, rec + off, total - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/*
 * Leave the child at once: no atexit handlers, and not even _exit(),
 * which sanitizers intercept to run a leak check that forks a tracer.
 */
static CL_NORETURN void
child_exit(int status)
{
	for (;;)
		(void)syscall(SYS_exit_group, status);
}

static void
sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)uctx;
	answer_put(ANSWER_SANDBOX, info->si_syscall, NULL, 0);
	child_exit(125);
}

static CL_NORETURN void
child_setup_failed(const char *step)
{
	char msg[160];
	int len;

	len = snprintf(msg, sizeof(msg), "sandbox setup failed: %s: %s",
	    step, strerror(errno));
	answer_put(ANSWER_SETUP, 0, msg, len > 0 ? (size_t)len : 0);
	child_exit(126);
}

/*
 * Field i of the statm file open at fd (0: address space, 1: resident
 * set), in bytes, read afresh; 0 when unknown.
 */
static uint64_t
statm_field(int fd, int i)
{
	char text[128], *p = text;
	ssize_t n;

	n = pread(fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	while (i-- > 0 && (p = strchr(p, ' ')) != NULL)
		p++;
	if (p == NULL)
		return 0;
	return strtoull(p, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Field i of the statm file at path; 0 when unknown. */
static uint64_t
statm_bytes(const char *path, int i)
{
	uint64_t v;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	v = statm_field(fd, i);
	close(fd);
	return v;
}

/*
 * A new description of fd opened read-only or write-only; a duplicate
 * when /proc is not there.  Never returns a descriptor below lowest.
 */
static int
child_reopen(int fd, int flags, int lowest)
{
	char path[64];
	int nfd, hi;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_CLOEXEC);
	if (nfd < 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, lowest);
	if (nfd < 0)
		child_setup_failed("reopen a file");
	if (nfd >= lowest)
		return nfd;
	hi = fcntl(nfd, F_DUPFD_CLOEXEC, lowest);
	if (hi < 0)
		child_setup_failed("move a file");
	close(nfd);
	return hi;
}

static void
child_limit(int resource, uint64_t soft, uint64_t hard, const char *name)
{
	struct rlimit rl;

	rl.rlim_cur = (rlim_t)soft;
	rl.rlim_max = (rlim_t)hard;
	if (setrlimit(resource, &rl) < 0)
		child_setup_failed(name);
}

static void
child_seccomp(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
		SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
		SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(madvise), SCMP_SYS(exit), SCMP_SYS(exit_group),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
		/* sanitizer runtimes query it on the way out; harmless */
		SCMP_SYS(sigaltstack),
	};
	/* spelled out: libseccomp's SCMP_A* leave a field implicit */
	const struct scmp_arg_cmp no_exec = {
		.arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC,
		.datum_b = 0,
	};
	const struct scmp_arg_cmp self = {
		.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)getpid(),
		.datum_b = 0,
	};
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL) {
		errno = ENOMEM;
		child_setup_failed("seccomp_init");
	}
	for (i = 0; i < CL_ARRAY_SIZE(allowed) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* memory may be mapped, never executable */
	if (rc == 0)
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap),
		    1, &no_exec);
	if (rc == 0)
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(mprotect), 1, &no_exec);
	/* abort() signals itself, and only itself */
	if (rc == 0)
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(tgkill), 1, &self);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		child_setup_failed("seccomp");
	}
}

static CL_NORETURN void
child_main(const struct exec_request *req, const struct builtin *fn,
    int log_fd, int answer_fd, pid_t parent)
{
	struct exec_file file[EXEC_FILES_MAX];
	struct builtin_runtime rt;
	struct cl_error err;
	struct buf summary = BUF_INIT;
	struct sigaction sa;
	size_t nfile = req->ninputs + req->noutputs, i;
	int src[EXEC_FILES_MAX + 2], lowest, sig, rc;
	uint64_t cpu_s, vsize;
	sigset_t all;

	child_answer_fd = answer_fd;

	/* the caller's handlers and mask are not the function's */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		child_setup_failed("sigaction");
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		child_setup_failed("sigprocmask");
	/* die with the caller's thread; it may be gone already */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_setup_failed("PR_SET_PDEATHSIG");
	if (getppid() != parent)
		child_exit(127);

	vsize = statm_bytes("/proc/self/statm", 0);

	/*
	 * Move every kept descriptor above the final layout, then down into
	 * place: no source can be overwritten before it is moved.
	 */
	lowest = CHILD_FILE_FD + (int)nfile;
	src[0] = fcntl(log_fd, F_DUPFD_CLOEXEC, lowest);
	src[1] = fcntl(answer_fd, F_DUPFD_CLOEXEC, lowest);
	if (src[0] < 0 || src[1] < 0)
		child_setup_failed("move the pipes");
	child_answer_fd = src[1];
	for (i = 0; i < req->ninputs; i++)
		src[2 + i] = child_reopen(req->inputs[i].fd, O_RDONLY,
		    lowest);
	for (i = 0; i < req->noutputs; i++)
		src[2 + req->ninputs + i] = child_reopen(req->outputs[i].fd,
		    O_WRONLY, lowest);
	for (i = 0; i < nfile + 2; i++) {
		int to = i == 0 ? CHILD_LOG_FD : CHILD_ANSWER_FD + (int)i - 1;

		if (dup2(src[i], to) < 0)
			child_setup_failed("dup2");
		if (i == 1)
			child_answer_fd = CHILD_ANSWER_FD;
	}
	(void)close(STDIN_FILENO);
	(void)close(STDOUT_FILENO);
	if (close_range((unsigned)lowest, ~0U, 0) < 0) {
		struct rlimit rl;
		int fd, top = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
			top = (int)rl.rlim_cur;
		for (fd = lowest; fd < top; fd++)
			(void)close(fd);
	}
	for (i = 0; i < req->ninputs; i++) {
		file[i].name = req->inputs[i].name;
		file[i].fd = CHILD_FILE_FD + (int)i;
	}
	for (i = 0; i < req->noutputs; i++) {
		file[req->ninputs + i].name = req->outputs[i].name;
		file[req->ninputs + i].fd = CHILD_FILE_FD +
		    (int)(req->ninputs + i);
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_setup_failed("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_setup_failed("PR_SET_DUMPABLE");
	cpu_s = ((uint64_t)req->limits.cpu_ms + 999) / 1000;
	child_limit(RLIMIT_CPU, cpu_s, cpu_s + 1, "RLIMIT_CPU");
	child_limit(RLIMIT_FSIZE, (uint64_t)req->limits.output_bytes,
	    (uint64_t)req->limits.output_bytes, "RLIMIT_FSIZE");
	child_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
	child_limit(RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
	/*
	 * The filter is built under the memory limit too, which is fine:
	 * libseccomp needs a few kilobytes.
	 */
	child_limit(RLIMIT_AS, vsize + (uint64_t)req->limits.memory_bytes,
	    vsize + (uint64_t)req->limits.memory_bytes, "RLIMIT_AS");
	/*
	 * glibc reads /etc/localtime on the first gmtime_r or localtime_r
	 * (log lines have timestamps): read it now, while open is allowed.
	 */
	tzset();
	child_seccomp();

	rt.arguments = req->arguments;
	rt.inputs = file;
	rt.ninputs = req->ninputs;
	rt.outputs = file + req->ninputs;
	rt.noutputs = req->noutputs;
	cl_error_clear(&err);
	rc = fn->run(&rt, &summary, &err);
	if (rc < 0) {
		if (err.message[0] == '\0')
			cl_error_set(&err, rc, "function failed: %s",
			    cl_err_str(rc));
		answer_put(ANSWER_FAIL, rc, err.message, strlen(err.message));
	} else if (summary.len >= EXEC_SUMMARY_MAX) {
		char msg[80];
		int len = snprintf(msg, sizeof(msg),
		    "summary longer than %d bytes", EXEC_SUMMARY_MAX - 1);

		answer_put(ANSWER_FAIL, CL_ETOOBIG, msg, (size_t)len);
	} else {
		answer_put(ANSWER_OK, 0, summary.p, summary.len);
	}
	child_exit(0);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read what is there from fd into b.  More than keep bytes: when drop,
 * keep the last keep bytes (a fatal message comes last), else set *over.
 * Returns 1 at end of file (or on over), 0 otherwise.
 */
static int
drain(int fd, struct buf *b, size_t keep, bool drop, bool *over)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : 1;
		if (n == 0)
			return 1;
		if (b->len + (size_t)n > keep && !drop) {
			*over = true;
			return 1;
		}
		buf_add(b, chunk, (size_t)n);
		if (b->len > keep)
			buf_consume(b, b->len - keep);
	}
}

static void
set_reason(struct exec_result *out, const char *fmt, ...) CL_PRINTF(2, 3);

static void
set_reason(struct exec_result *out, const char *fmt, ...)
{
	va_list ap;

	out->ok = false;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/*
 * Turn the collected evidence into out.  why: what made the parent kill
 * the child, if it did.
 */
static void
classify(const struct exec_request *req, struct exec_result *out,
    const struct buf *answer, enum stop_why why, int status,
    const struct rusage *ru, const struct buf *log)
{
	bool malformed = why == STOP_MALFORMED;
	const unsigned char *rec = (const unsigned char *)answer->p;
	int64_t cpu_used_ms;
	uint32_t len = 0;
	int kind = 0;
	int32_t code = 0;

	out->ok = false;
	out->summary[0] = '\0';
	out->reason[0] = '\0';
	if (!malformed && answer->len > 0) {
		if (answer->len < ANSWER_HDR ||
		    memcmp(rec, ANSWER_MAGIC, 4) != 0)
			malformed = true;
		else {
			kind = rec[4];
			code = (int32_t)get_u32(rec + 8);
			len = get_u32(rec + 12);
			if (len > EXEC_SUMMARY_MAX - 1 ||
			    answer->len != ANSWER_HDR + len ||
			    kind < ANSWER_OK || kind > ANSWER_SETUP)
				malformed = true;
		}
	}
	cpu_used_ms = (int64_t)ru->ru_utime.tv_sec * 1000 +
	    ru->ru_utime.tv_usec / 1000 + (int64_t)ru->ru_stime.tv_sec * 1000 +
	    ru->ru_stime.tv_usec / 1000;

	switch (why) {
	case STOP_TIMEOUT:
		set_reason(out, "timed out after %" PRId64 " ms",
		    req->limits.wall_ms);
		return;
	case STOP_MALFORMED:
		set_reason(out, "malformed answer");
		return;
	case STOP_CANCELED:
		set_reason(out, "canceled");
		return;
	case STOP_CPU:
		set_reason(out, "killed by the CPU time limit (%" PRId64
		    " ms)", req->limits.cpu_ms);
		return;
	case STOP_MEMORY:
		set_reason(out, "out of memory (limit %" PRId64 " bytes)",
		    req->limits.memory_bytes);
		return;
	case STOP_NONE:
		break;
	}
	if (!malformed && kind == ANSWER_SANDBOX) {
		set_reason(out, "killed by the sandbox (system call %d not "
		    "allowed)", (int)code);
		return;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGSYS)
			set_reason(out, "killed by the sandbox (system call "
			    "not allowed)");
		else if (sig == SIGXCPU || (sig == SIGKILL &&
		    cpu_used_ms >= req->limits.cpu_ms))
			set_reason(out, "killed by the CPU time limit (%"
			    PRId64 " ms)", req->limits.cpu_ms);
		else if (sig == SIGXFSZ)
			set_reason(out, "output over the limit (%" PRId64
			    " bytes)", req->limits.output_bytes);
		else if (memmem(log->p, log->len, "out of memory", 13) != NULL)
			set_reason(out, "out of memory (limit %" PRId64
			    " bytes)", req->limits.memory_bytes);
		else
			set_reason(out, "crashed (signal %d)", sig);
		return;
	}
	if (malformed) {
		set_reason(out, "malformed answer");
		return;
	}
	if (answer->len == 0) {
		set_reason(out, "no answer (exit status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return;
	}
	switch (kind) {
	case ANSWER_OK:
		out->ok = true;
		memcpy(out->summary, rec + ANSWER_HDR, len);
		out->summary[len] = '\0';
		break;
	case ANSWER_FAIL:
		if (code == CL_ENOMEM)
			set_reason(out, "out of memory (limit %" PRId64
			    " bytes): %.*s", req->limits.memory_bytes,
			    (int)CL_MIN(len, 256u),
			    (const char *)rec + ANSWER_HDR);
		else
			set_reason(out, "%.*s", (int)len,
			    (const char *)rec + ANSWER_HDR);
		break;
	default:
		set_reason(out, "%.*s", (int)len,
		    (const char *)rec + ANSWER_HDR);
		break;
	}
}

static bool
canceled(const struct exec_request *req)
{
	return req->cancel != NULL && atomic_load(req->cancel);
}

/* What the parent watches of a running child. */
struct watch {
	bool have_clock;
	clockid_t cpu_clock;	/* the child's process CPU clock */
	uint64_t rss_max;	/* resident bytes it may reach; 0 = unwatched */
	int statm_fd;		/* its /proc/<pid>/statm, or -1 */
};

static void
watch_init(struct watch *w, const struct exec_request *req, pid_t pid,
    uint64_t rss_base)
{
	char path[48];

	w->have_clock = clock_getcpuclockid(pid, &w->cpu_clock) == 0;
	w->rss_max = rss_base > 0 ? rss_base +
	    (uint64_t)req->limits.memory_bytes : 0;
	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	w->statm_fd = w->rss_max > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

/* Whether to stop the child now, and why. */
static enum stop_why
watch_check(const struct watch *w, const struct exec_request *req)
{
	struct timespec ts;

	if (canceled(req))
		return STOP_CANCELED;
	if (w->have_clock && clock_gettime(w->cpu_clock, &ts) == 0 &&
	    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >=
	    req->limits.cpu_ms)
		return STOP_CPU;
	if (w->statm_fd >= 0 && statm_field(w->statm_fd, 1) > w->rss_max)
		return STOP_MEMORY;
	return STOP_NONE;
}

int
exec_run(const struct exec_request *req, struct exec_result *out,
    struct cl_error *err)
{
	const struct builtin *fn;
	struct buf answer = BUF_INIT, log = BUF_INIT;
	struct rusage ru;
	struct watch watch;
	int answer_pipe[2], log_pipe[2];
	bool answer_eof = false, log_eof = false, over = false, dummy = false;
	enum stop_why why = STOP_NONE;
	int64_t deadline, next_watch;
	uint64_t rss_base;
	int status = 0;
	pid_t pid, parent, w;

	out->ok = false;
	out->summary[0] = '\0';
	out->reason[0] = '\0';
	if (req->executor_type == NULL ||
	    strcmp(req->executor_type, "builtin") != 0)
		return cl_error_set(err, CL_EINVAL,
		    "executor '%s' is not supported",
		    req->executor_type ? req->executor_type : "");
	if (req->function_name == NULL ||
	    (fn = builtin_find(req->function_name)) == NULL)
		return cl_error_set(err, CL_ENOTFOUND,
		    "no builtin function '%s'",
		    req->function_name ? req->function_name : "");
	if (req->ninputs + req->noutputs > EXEC_FILES_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "more than %d files", EXEC_FILES_MAX);
	if (req->limits.cpu_ms <= 0 || req->limits.wall_ms <= 0 ||
	    req->limits.memory_bytes <= 0 || req->limits.output_bytes <= 0)
		return cl_error_set(err, CL_EINVAL,
		    "every limit must be positive");
	if (canceled(req)) {
		set_reason(out, "canceled");
		return 0;
	}

	if (pipe2(answer_pipe, O_CLOEXEC) < 0)
		return cl_error_set(err, CL_EIO, "cannot make a pipe: %s",
		    strerror(errno));
	if (pipe2(log_pipe, O_CLOEXEC) < 0) {
		int e = errno;

		close(answer_pipe[0]);
		close(answer_pipe[1]);
		return cl_error_set(err, CL_EIO, "cannot make a pipe: %s",
		    strerror(e));
	}
	deadline = now_ms() + req->limits.wall_ms;
	rss_base = statm_bytes("/proc/self/statm", 1);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(answer_pipe[0]);
		close(answer_pipe[1]);
		close(log_pipe[0]);
		close(log_pipe[1]);
		return cl_error_set(err, CL_EIO, "cannot fork: %s",
		    strerror(e));
	}
	if (pid == 0) {
		close(answer_pipe[0]);
		close(log_pipe[0]);
		child_main(req, fn, log_pipe[1], answer_pipe[1], parent);
	}
	close(answer_pipe[1]);
	close(log_pipe[1]);
	(void)fcntl(answer_pipe[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(log_pipe[0], F_SETFL, O_NONBLOCK);
	watch_init(&watch, req, pid, rss_base);
	next_watch = now_ms() + EXEC_WATCH_MS;

	/*
	 * Read both pipes until they close, the deadline, a bad answer, or
	 * the watch says stop.
	 */
	while (!answer_eof || !log_eof) {
		struct pollfd pfd[2];
		int64_t now = now_ms(), left = deadline - now;
		nfds_t n = 0;
		int rc;

		/* past it, not at it: now_ms() truncates */
		if (left < 0) {
			why = STOP_TIMEOUT;
			break;
		}
		if (now >= next_watch) {
			if ((why = watch_check(&watch, req)) != STOP_NONE)
				break;
			next_watch = now + EXEC_WATCH_MS;
		}
		if (!answer_eof) {
			pfd[n].fd = answer_pipe[0];
			pfd[n++].events = POLLIN;
		}
		if (!log_eof) {
			pfd[n].fd = log_pipe[0];
			pfd[n++].events = POLLIN;
		}
		rc = poll(pfd, n, (int)CL_MIN(left + 1, next_watch - now + 1));
		if (rc < 0 && errno != EINTR) {
			why = STOP_MALFORMED;	/* cannot watch it: stop it */
			break;
		}
		if (!answer_eof && drain(answer_pipe[0], &answer, ANSWER_MAX,
		    false, &over))
			answer_eof = true;
		if (over) {
			why = STOP_MALFORMED;
			break;
		}
		if (!log_eof && drain(log_pipe[0], &log, EXEC_LOG_KEEP, true,
		    &dummy))
			log_eof = true;
	}
	if (why != STOP_NONE)
		(void)kill(pid, SIGKILL);
	/* wait for it to exit, still under the deadline and the watch */
	for (;;) {
		w = wait4(pid, &status, why != STOP_NONE ? 0 : WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* someone else reaped it: nothing left to kill */
			memset(&ru, 0, sizeof(ru));
			status = 0;
			break;
		}
		if (why != STOP_NONE)
			continue;
		if (now_ms() > deadline)
			why = STOP_TIMEOUT;
		else if (canceled(req))
			why = STOP_CANCELED;
		if (why != STOP_NONE) {
			(void)kill(pid, SIGKILL);
			continue;
		}
		{
			struct timespec ts = { 0, 1000000 };

			(void)nanosleep(&ts, NULL);
		}
	}
	close(answer_pipe[0]);
	close(log_pipe[0]);
	if (watch.statm_fd >= 0)
		close(watch.statm_fd);
	classify(req, out, &answer, why, status, &ru, &log);
	buf_release(&answer);
	buf_release(&log);
	return 0;
}
