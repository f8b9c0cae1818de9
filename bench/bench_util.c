/*
 * Helpers shared by the benchmark clients: the clock, CPU time, latency
 * quantiles, numbers from the environment and the command line.  See
 * bench_util.h.
 */
#include "compat.h"

#include <sys/resource.h>

#include <time.h>

#include "bench_util.h"

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
bench_env_double(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "%s: %s='%s' is not a number in [%g, %g]\n",
		    program_invocation_short_name, name, s, min, max);
		exit(2);
	}
	return v;
}

pid_t
bench_parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "%s: bad pid '%s'\n",
		    program_invocation_short_name, s);
		exit(2);
	}
	return (pid_t)v;
}

int64_t
bench_proc_cpu_ns(pid_t pid)
{
	char path[64], line[1024], *p, *save = NULL, *tok;
	unsigned long long utime = 0, stime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int field;

	if (pid <= 0 || hz <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* The command name (field 2) may hold spaces: start after its ')'. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 14)
			utime = strtoull(tok, NULL, 10);
		else if (field == 15) {
			stime = strtoull(tok, NULL, 10);
			return (int64_t)((utime + stime) * (1000000000ull /
			    (unsigned long long)hz));
		}
	}
	return -1;
}

int64_t
bench_self_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

void
bench_print_cpu(const char *key, int64_t srv0, int64_t srv1, int64_t cli0,
    int64_t cli1, size_t n)
{
	if (n == 0)
		return;
	if (srv0 >= 0 && srv1 >= 0)
		printf("%s_srv_cpu_us %.1f\n", key,
		    (double)(srv1 - srv0) / 1e3 / (double)n);
	if (cli0 >= 0 && cli1 >= 0)
		printf("%s_cli_cpu_us %.1f\n", key,
		    (double)(cli1 - cli0) / 1e3 / (double)n);
}

int
bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

double
bench_quantile_us(const uint32_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)n + 0.999999);

	if (n == 0)
		return 0;
	i = i == 0 ? 0 : CL_MIN(i - 1, n - 1);
	return v[i] / 1e3;
}

struct rpc_client *
bench_client_new(const char *prog, const char *addr, SSL_CTX *tls,
    const struct rpc_service *svc)
{
	struct rpc_client_config cfg = {
		.addr = addr,
		.tls = tls,
		.service = svc,
		.timeout_ms = BENCH_CALL_TIMEOUT_MS,
		.max_idle = 1,
	};
	struct rpc_client *cl;
	struct cl_error err;

	cl_error_clear(&err);
	if ((cl = rpc_client_new(&cfg, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, err.message);
		exit(1);
	}
	return cl;
}
