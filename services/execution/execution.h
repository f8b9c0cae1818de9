/*
 * The execution service's private header: options, the worker state its
 * threads share, and what exec_fetch.c (getting inputs in, putting
 * outputs out) offers execution.c (the loops and the task runner).
 */
#ifndef CL_EXECUTION_H
#define CL_EXECUTION_H

#include <pthread.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "exec.h"
#include "rpc_client.h"

#define EXE_CAPACITY_MAX	64
#define EXE_WORKER_MAX		128	/* the scheduler's limit */
#define EXE_ID_MAX		80	/* task and lease ids */
#define EXE_FILES_MAX		16	/* inputs (or outputs) */
#define EXE_REASON_MAX		1024

struct exe_opts {
	char *scheduler_addr;
	char *worker_id;	/* NULL = hostname-pid */
	char *file_root;	/* where file:// urls may point; NULL = none */
	int64_t capacity;
	int64_t poll_ms;
	int64_t heartbeat_ms;
	int64_t cpu_ms;
	int64_t wall_ms;
	int64_t memory_bytes;
	int64_t output_bytes;
};

/* One task slot: what the heartbeat loop renews, and what it learnt. */
struct exe_slot {
	bool busy;
	char task_id[EXE_ID_MAX];
	char lease_id[EXE_ID_MAX];
	bool canceled;		/* the task was canceled: do not report */
	bool lost;		/* the lease is no longer ours */
};

struct exe {
	struct exe_opts opts;
	char worker_id[EXE_WORKER_MAX + 1];
	struct rpc_client *sched;	/* the scheduler's internal endpoint */

	pthread_mutex_t mu;
	pthread_cond_t cv;		/* stop, or a slot changed */
	bool stop;
	struct exe_slot slot[EXE_CAPACITY_MAX];
	/* the runners, then the heartbeat thread */
	pthread_t thread[EXE_CAPACITY_MAX + 1];
	size_t nthreads;
};

/* exec_fetch.c (root: the file_root option, may be NULL) */

/*
 * Input name described by spec ({data_id, url, cmac, crypto_info}): get
 * its ciphertext, check its checksum against the registered cmac, and
 * decrypt it into a fresh anonymous file (*out_fd, at offset 0).  On
 * failure reason says why, naming the input, and -1 is returned.
 */
int exe_fetch_input(const char *name, const json_t *spec, const char *root,
    int *out_fd, struct buf *reason) CL_NONNULL(1, 2, 4, 5) CL_WUR;
/*
 * Output name described by spec ({data_id, url, crypto_info}): encrypt
 * the plaintext in plain_fd under its owners' key and upload it, never
 * over an existing file; out_cmac gets the checksum in lowercase hex.
 * out_path gets the local path written (for exe_unstore_output), or "".
 */
int exe_store_output(const char *name, const json_t *spec, const char *root,
    int plain_fd, char out_cmac[2 * 32 + 1], char *out_path, size_t pathlen,
    struct buf *reason) CL_NONNULL(1, 2, 5, 6, 8) CL_WUR;
/* Remove an output exe_store_output wrote (the task failed after it). */
void exe_unstore_output(const char *path) CL_NONNULL(1);
/* A fresh anonymous read-write file; -1 with reason on failure. */
int exe_anon_file(const char *name, struct buf *reason) CL_NONNULL(1, 2);

#endif
