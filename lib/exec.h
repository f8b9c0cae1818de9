/*
 * Running one function on plaintext files, in a sandboxed child process.
 *
 * Function code never runs in a service's address space (ARCHITECTURE
 * section 3): exec_run forks a fresh child for every run, which
 *   - keeps only the descriptors it is handed (inputs read-only, outputs
 *     write-only) and a pipe for its answer, closing every other one;
 *   - sets rlimits (CPU time, address space, file size, no core, few
 *     processes), PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE=0;
 *   - installs a seccomp allowlist (libseccomp): read/write/lseek/fstat on
 *     its descriptors, memory management, exit; no open, no socket, no
 *     exec, no fork — a violation kills it;
 *   - then calls the function (builtins: builtins/builtin.h).
 * The parent reads the answer (bounded), enforces the wall-clock limit,
 * and kills the child on any limit.  Every EXEC_WATCH_MS it also looks at
 * the running child: the caller's cancel flag, the CPU time used (so a
 * limit in milliseconds holds to the tick; RLIMIT_CPU, in whole seconds,
 * stays as the kernel's backstop) and its resident memory (a backstop for
 * when RLIMIT_AS cannot bind, as under AddressSanitizer).  The child dies
 * with the thread that started it (PR_SET_PDEATHSIG), so a worker killed
 * mid-run leaves no function running.  A crash, a signal, a limit, a
 * cancellation or a malformed answer is a failed run with its reason; the
 * caller's process is never at risk.
 */
#ifndef CL_EXEC_H
#define CL_EXEC_H

#include <stdatomic.h>

#include <jansson.h>

#include "err.h"

#define EXEC_SUMMARY_MAX	4096
#define EXEC_REASON_MAX		512
#define EXEC_WATCH_MS		20	/* how often a running child is looked at */

struct exec_file {
	const char *name;	/* the function's input or output name */
	int fd;			/* borrowed; inputs seekable, at offset 0 */
};

struct exec_limits {
	int64_t cpu_ms;		/* CPU time */
	int64_t wall_ms;	/* elapsed time */
	int64_t memory_bytes;	/* address space */
	int64_t output_bytes;	/* per output file */
};

struct exec_request {
	const char *executor_type;	/* "builtin" (python, wasm: later) */
	const char *function_name;	/* e.g. "builtin-echo" */
	const json_t *arguments;	/* borrowed; the task's arguments */
	const struct exec_file *inputs;
	size_t ninputs;
	const struct exec_file *outputs;
	size_t noutputs;
	struct exec_limits limits;
	/*
	 * Borrowed, may be NULL: another thread sets it to stop the run.
	 * Looked at before the fork and every EXEC_WATCH_MS after it; once
	 * seen set, the child is killed (SIGKILL) and reaped, and the run
	 * fails with the reason "canceled".
	 */
	const atomic_bool *cancel;
};

struct exec_result {
	bool ok;
	char summary[EXEC_SUMMARY_MAX];	/* ok: the function's summary */
	char reason[EXEC_REASON_MAX];	/* !ok: why it failed */
};

/*
 * Run req in a sandboxed child and wait for it.  Returns 0 when the run
 * happened (whether the function succeeded or failed: see out->ok), or a
 * negative cl_err when it could not be started (err says why).
 */
int exec_run(const struct exec_request *req, struct exec_result *out,
    struct cl_error *err) CL_NONNULL(1, 2) CL_WUR;

#endif
