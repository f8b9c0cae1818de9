/*
 * What the benchmark clients (bench_echo, bench_storage) share: the clock,
 * CPU time of a process and of this one, latency quantiles, and reading
 * numbers from the environment and the command line.  Results are
 * printed as "key value" lines that bench/run.sh turns into tables.
 *
 * Errors in the arguments or the environment print a message prefixed
 * with the program's name and exit with status 2.
 */
#ifndef CL_BENCH_UTIL_H
#define CL_BENCH_UTIL_H

#include "attrs.h"
#include "rpc_client.h"

/* Monotonic nanoseconds. */
int64_t bench_now_ns(void);

/*
 * The number in environment variable name, def when unset or empty;
 * exits when it is not a number in [min, max].
 */
double bench_env_double(const char *name, double def, double min, double max)
	CL_NONNULL(1);

/* A process id on the command line (exits when it is not one). */
pid_t bench_parse_pid(const char *s) CL_NONNULL(1);

/*
 * CPU time (user + system, all threads) used so far by process pid, in
 * nanoseconds, from /proc/PID/stat; -1 when it cannot be read.  The
 * resolution is one clock tick (10 ms), ample over a run of seconds.
 */
int64_t bench_proc_cpu_ns(pid_t pid);

/* CPU time (user + system, all threads) of this process, in nanoseconds. */
int64_t bench_self_cpu_ns(void);

/*
 * Prints <key>_srv_cpu_us (when srv0 and srv1 are known) and
 * <key>_cli_cpu_us: CPU time per operation over n operations.
 */
void bench_print_cpu(const char *key, int64_t srv0, int64_t srv1,
    int64_t cli0, int64_t cli1, size_t n) CL_NONNULL(1);

/* Every call a benchmark makes gives up after this long. */
#define BENCH_CALL_TIMEOUT_MS	10000

/*
 * A client of svc at addr over tls keeping one idle connection, calls
 * timing out after BENCH_CALL_TIMEOUT_MS; prints "PROG: why" and exits
 * on failure.
 */
struct rpc_client *bench_client_new(const char *prog, const char *addr,
    SSL_CTX *tls, const struct rpc_service *svc) CL_NONNULL(1, 2, 3, 4);

/* qsort comparison of uint32_t. */
int bench_cmp_u32(const void *a, const void *b) CL_NONNULL(1, 2);

/* The p-quantile (0 < p <= 1) of sorted v[0..n-1] (ns), in microseconds. */
double bench_quantile_us(const uint32_t *v, size_t n, double p);

#endif
