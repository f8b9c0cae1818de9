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
#define EXE_URL_MAX		4096	/* management's limit on a url */
#define EXE_REASON_MAX		1024

/*
 * The service's name (its identity in the enclave info); the test worker
 * (tests/CMakeLists.txt) is built as "execution-testfns".
 */
#ifndef EXE_SERVICE_NAME
#define EXE_SERVICE_NAME	"execution"
#endif

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
	int64_t input_bytes;	/* an input's encrypted file, at most */
	int64_t connect_ms;	/* http(s): connecting, TLS included */
	int64_t transfer_ms;	/* http(s): a whole request */
	char *https_ca_file;	/* NULL = the system's CA store */
	char *allowed_hosts;	/* http(s) hosts a url may name; NULL = any */
};

/* One task slot: what the heartbeat loop renews, and what it learnt. */
struct exe_slot {
	bool busy;
	char task_id[EXE_ID_MAX];
	char lease_id[EXE_ID_MAX];
	bool canceled;		/* the task was canceled: do not report */
	bool lost;		/* the lease is no longer ours */
	atomic_bool cancel;	/* set with either: stops the function's run */
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

/* exec_url.c */

#define EXE_URL_SHOWN	200	/* a URL's bytes a reason shows */

/* True for an http:// or https:// url (any case). */
bool exe_is_http_url(const char *url) CL_NONNULL(1);
/*
 * The local path of a file:///path url inside root (NULL: file:// urls
 * are refused); NULL, with "WHAT 'NAME': why" added to reason, for any
 * other url, a path outside root, or one with "." or ".." components.
 */
const char *exe_file_url_path(const char *what, const char *name,
    const char *url, const char *root, struct buf *reason)
	CL_NONNULL(1, 2, 3, 5);
/*
 * url as a reason or log line may show it: without the "user:password@"
 * of its authority, a query or fragment cut to "?...", at most
 * EXE_URL_SHOWN bytes.  Returns out.
 */
const char *exe_url_shown(const char *url, char out[EXE_URL_SHOWN + 1])
	CL_NONNULL(1, 2);
/*
 * True when host is in list (comma-separated, spaces around entries
 * ignored, case-insensitive); "*.example.org" matches every subdomain of
 * example.org, not example.org itself, and never an IP address.
 */
bool exe_host_listed(const char *host, const char *list) CL_NONNULL(1, 2);

/*
 * exec_fetch.c (root: the file_root option, may be NULL).  URLs are
 * file:///path (inside root), http:// or https:// (libcurl, under the
 * limits and CA options exe_fetch_init was given).
 */

/*
 * Once, before any thread fetches: check the https options (the CA file
 * must hold PEM certificates) and initialise libcurl.  opts is borrowed
 * until exe_fetch_fini.  Not thread-safe; fills err (CL_ECONFIG).
 */
int exe_fetch_init(const struct exe_opts *opts, struct cl_error *err)
    CL_NONNULL(1) CL_WUR;
/* Once, after every thread that fetched has ended. */
void exe_fetch_fini(void);

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
 * out_path gets what exe_unstore_output needs to undo it (the local path
 * written, or the http(s) URL put), or "" when nothing was stored; an
 * http(s) URL that does not fit in pathlen is refused before the upload.
 */
int exe_store_output(const char *name, const json_t *spec, const char *root,
    int plain_fd, char out_cmac[2 * 32 + 1], char *out_path, size_t pathlen,
    struct buf *reason) CL_NONNULL(1, 2, 5, 6, 8) CL_WUR;
/*
 * Remove an output exe_store_output stored (the task failed after it):
 * unlink the file, or send the URL an HTTP DELETE, best effort (a
 * failure is logged).
 */
void exe_unstore_output(const char *path) CL_NONNULL(1);
/* A fresh anonymous read-write file; -1 with reason on failure. */
int exe_anon_file(const char *name, struct buf *reason) CL_NONNULL(1, 2);

#endif
