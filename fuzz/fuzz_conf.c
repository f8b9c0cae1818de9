/*
 * Fuzz harness for the configuration parser (lib/conf.c).  The input is
 * used three ways:
 *
 *   1. as a configuration file: written to a memfd and loaded through
 *      "/proc/self/fd/N" with conf_load, with a table that has an option
 *      of every conf_type (and the secret and required flags), once with
 *      the file private (0600, required options enforced) and once
 *      readable by others (0644, so secret options must be refused), then
 *      with the real service table svc_conf_options;
 *   2. as a "-o NAME=VALUE" override: split at the first '=' and given to
 *      conf_set, which sees values a file cannot carry ('#', control
 *      characters);
 *   3. as an address for conf_addr_split, with host buffers of several
 *      exact sizes so ASan sees any write past hostlen.
 *
 * Invariants checked (violation = __builtin_trap; leaks are reported by
 * LeakSanitizer): every loaded value is within its option's bounds,
 * enums index their choices, paths are non-empty, addresses split,
 * required options are set, values read from a file hold no control
 * character but tab, a secret option is never accepted from a file
 * others can read; a failure is CL_ECONFIG naming the file and a line
 * that exists; conf_release leaves no string behind; conf_addr_split
 * returns a host that is the literal text before the port, bounded by
 * hostlen, and the same answer for every hostlen that fits.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include "conf.h"
#include "svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

struct fz_conf {
	char *name;
	char *state_dir;
	char *listen;
	char *peer;
	char *token;
	int64_t workers;
	int64_t offset;
	bool verbose;
	int mode;
	int64_t timeout_ms;
	int64_t any_ms;
	int64_t max_frame;
	int64_t any_size;
};

static const char *const mode_choices[] = { "text", "json", "binary", NULL };

/* Every conf_type, with and without defaults, narrow and full ranges. */
#define O(f) offsetof(struct fz_conf, f)
static const struct conf_option fz_options[] = {
	{ "name", CONF_STRING, O(name), 0, 0, "cloister", NULL, 0, "a string" },
	{ "state_dir", CONF_PATH, O(state_dir), 0, 0, NULL, NULL, 0, "a path" },
	{ "listen", CONF_ADDR, O(listen), 0, 0, "127.0.0.1:0", NULL, 0,
	  "an address" },
	{ "peer", CONF_ADDR, O(peer), 0, 0, NULL, NULL, 0, "an address" },
	{ "token", CONF_STRING, O(token), 0, 0, NULL, NULL, CONF_SECRET,
	  "a secret" },
	{ "workers", CONF_INT, O(workers), 0, 256, "4", NULL, 0, "an int" },
	{ "offset", CONF_INT, O(offset), -1000, 1000, NULL, NULL, 0,
	  "a signed int" },
	{ "verbose", CONF_BOOL, O(verbose), 0, 0, "false", NULL, 0, "a bool" },
	{ "mode", CONF_ENUM, O(mode), 0, 0, "text", mode_choices, 0, "an enum" },
	{ "timeout", CONF_DURATION, O(timeout_ms), 1, 3600000, "10s", NULL, 0,
	  "a duration" },
	{ "any_duration", CONF_DURATION, O(any_ms), INT64_MIN, INT64_MAX, NULL,
	  NULL, 0, "a duration, any value" },
	{ "max_frame", CONF_SIZE, O(max_frame), 1024, 64 << 20, "16M", NULL, 0,
	  "a size" },
	{ "any_size", CONF_SIZE, O(any_size), INT64_MIN, INT64_MAX, NULL, NULL,
	  0, "a size, any value" },
};
#undef O
#define FZ_NOPTS CL_ARRAY_SIZE(fz_options)

/* The same table with the path and the secret required. */
static struct conf_option fz_strict[FZ_NOPTS];

static int memfd = -1;
static char memfd_path[64];
static char secret_refusal[96];	/* how conf_parse_text starts that error */
static FILE *devnull;

static void
setup(void)
{
	memcpy(fz_strict, fz_options, sizeof(fz_strict));
	for (size_t i = 0; i < FZ_NOPTS; i++)
		if (strcmp(fz_strict[i].name, "state_dir") == 0 ||
		    strcmp(fz_strict[i].name, "token") == 0)
			fz_strict[i].flags |= CONF_REQUIRED;
	memfd = memfd_create("fuzz_conf", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	snprintf(secret_refusal, sizeof(secret_refusal),
	    "'%s' holds secret option '", memfd_path);
	devnull = fopen("/dev/null", "w");
	CHECK(devnull != NULL);
}

static void
write_file(const uint8_t *data, size_t size, mode_t mode)
{
	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	CHECK(fchmod(memfd, mode) == 0);
}

static size_t
count_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return n;
}

/* Check every field of a successfully loaded struct against its option. */
static void
check_values(const struct conf_option *opts, size_t nopts, const void *conf,
    bool from_file)
{
	for (size_t i = 0; i < nopts; i++) {
		const struct conf_option *o = &opts[i];
		const char *field = (const char *)conf + o->offset;

		switch (o->type) {
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR: {
			const char *s = *(char *const *)(const void *)field;
			char host[256];
			uint16_t port;

			if (s == NULL) {
				CHECK(!(o->flags & CONF_REQUIRED));
				break;
			}
			if (o->type == CONF_PATH)
				CHECK(s[0] != '\0');
			if (o->type == CONF_ADDR)
				CHECK(conf_addr_split(s, host, sizeof(host),
				    &port) == 0);
			if (from_file)
				for (const char *c = s; *c; c++)
					CHECK((unsigned char)*c >= 0x20 ||
					    *c == '\t');
			break;
		}
		case CONF_INT:
		case CONF_DURATION:
		case CONF_SIZE: {
			int64_t v = *(const int64_t *)(const void *)field;

			CHECK(v >= o->min && v <= o->max);
			break;
		}
		case CONF_ENUM: {
			int v = *(const int *)(const void *)field, n = 0;

			while (o->choices[n] != NULL)
				n++;
			CHECK(v >= 0 && v < n);
			break;
		}
		case CONF_BOOL: {
			unsigned char v;

			memcpy(&v, field, 1);
			CHECK(v == 0 || v == 1);
			break;
		}
		default:
			__builtin_trap();
		}
	}
}

static void
check_released(const struct conf_option *opts, size_t nopts, const void *conf)
{
	for (size_t i = 0; i < nopts; i++) {
		const char *field = (const char *)conf + opts[i].offset;

		if (opts[i].type == CONF_STRING || opts[i].type == CONF_PATH ||
		    opts[i].type == CONF_ADDR)
			CHECK(*(char *const *)(const void *)field == NULL);
	}
}

/*
 * Could the text set a secret option of opts?  (An over-approximation:
 * the option's name appears somewhere.)
 */
static bool
may_set_secret(const struct conf_option *opts, size_t nopts,
    const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < nopts; i++) {
		size_t n = strlen(opts[i].name);

		if (!(opts[i].flags & CONF_SECRET))
			continue;
		for (size_t j = 0; j + n <= size; j++)
			if (memcmp(data + j, opts[i].name, n) == 0)
				return true;
	}
	return false;
}

static void
load(const struct conf_option *opts, size_t nopts, void *conf,
    size_t conf_size, const uint8_t *data, size_t size, bool private)
{
	struct cl_error err;
	int rc;

	memset(conf, 0, conf_size);
	cl_error_clear(&err);
	rc = conf_load(opts, nopts, conf, memfd_path, &err);
	if (rc == 0) {
		CHECK(err.code == CL_OK);
		check_values(opts, nopts, conf, true);
		/* a public file setting a secret is always refused */
		for (size_t i = 0; i < nopts && !private; i++)
			if ((opts[i].flags & CONF_SECRET) && opts[i].def == NULL)
				CHECK(*(char **)(void *)((char *)conf +
				    opts[i].offset) == NULL);
		conf_show(opts, nopts, conf, devnull);
	} else {
		CHECK(rc == CL_ECONFIG && err.code == rc);
		CHECK(err.message[0] != '\0');
		CHECK(strcmp(err.file, memfd_path) == 0);
		CHECK(err.line >= 0 && (size_t)err.line <= count_lines(data, size));
		/* a private file is never refused for being public */
		if (private || !may_set_secret(opts, nopts, data, size))
			CHECK(strncmp(err.message, secret_refusal,
			    strlen(secret_refusal)) != 0);
	}
	conf_release(opts, nopts, conf);
	check_released(opts, nopts, conf);
}

/* The "-o NAME=VALUE" path: conf_set on top of the defaults. */
static void
override(const char *s)
{
	struct fz_conf conf = { 0 };
	struct cl_error err;
	const char *eq = strchr(s, '=');
	char name[64];
	int rc;

	if (eq == NULL || (size_t)(eq - s) >= sizeof(name))
		return;
	memcpy(name, s, (size_t)(eq - s));
	name[eq - s] = '\0';
	cl_error_clear(&err);
	CHECK(conf_load(fz_options, FZ_NOPTS, &conf, NULL, &err) == 0);
	rc = conf_set(fz_options, FZ_NOPTS, &conf, name, eq + 1,
	    "(command line)", 0, &err);
	if (rc == 0)
		check_values(fz_options, FZ_NOPTS, &conf, false);
	else
		CHECK(rc == CL_ECONFIG && err.code == rc &&
		    err.message[0] != '\0');
	conf_release(fz_options, FZ_NOPTS, &conf);
	check_released(fz_options, FZ_NOPTS, &conf);
}

/* conf_addr_split into a host buffer of exactly hostlen bytes. */
static int
split(const char *addr, size_t hostlen, char **out_host, uint16_t *out_port)
{
	char *host = malloc(hostlen);
	size_t hl, at;
	int rc;

	CHECK(host != NULL);
	*out_port = 0;
	rc = conf_addr_split(addr, host, hostlen, out_port);
	if (rc != 0) {
		CHECK(rc == -1);
		free(host);
		*out_host = NULL;
		return rc;
	}
	hl = strnlen(host, hostlen);
	CHECK(hl >= 1 && hl < hostlen);
	/* the host is the text before the port, brackets removed */
	at = addr[0] == '[' ? 1 : 0;
	CHECK(memcmp(addr + at, host, hl) == 0);
	CHECK(at ? addr[1 + hl] == ']' && addr[2 + hl] == ':' :
	    addr[hl] == ':');
	{
		const char *p = addr + at + hl + at + 1;
		char *end;
		long long v;

		errno = 0;
		v = strtoll(p, &end, 10);
		CHECK(errno == 0 && *end == '\0' && v == *out_port);
	}
	*out_host = host;
	return 0;
}

/*
 * The answer for the largest buffer is the reference: a smaller buffer
 * gives the same host and port when the host fits, else fails.
 */
static void
addr_split(const char *addr)
{
	static const size_t hostlen[] = { 4096, 256, 64, 8, 2, 1 };
	char *ref, *host;
	uint16_t ref_port, port;

	if (split(addr, hostlen[0], &ref, &ref_port) != 0) {
		for (size_t i = 1; i < CL_ARRAY_SIZE(hostlen); i++)
			CHECK(split(addr, hostlen[i], &host, &port) != 0);
		return;
	}
	for (size_t i = 1; i < CL_ARRAY_SIZE(hostlen); i++) {
		if (split(addr, hostlen[i], &host, &port) != 0) {
			CHECK(strlen(ref) >= hostlen[i]);
			continue;
		}
		CHECK(strcmp(host, ref) == 0 && port == ref_port);
		free(host);
	}
	free(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_conf fz;
	struct svc_conf svc;
	char *s;

	if (memfd < 0)
		setup();

	write_file(data, size, 0600);
	load(fz_strict, FZ_NOPTS, &fz, sizeof(fz), data, size, true);
	load(svc_conf_options, svc_conf_noptions, &svc, sizeof(svc), data,
	    size, true);
	write_file(data, size, 0644);
	load(fz_options, FZ_NOPTS, &fz, sizeof(fz), data, size, false);

	s = malloc(size + 1);
	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	override(s);
	addr_split(s);
	free(s);
	return 0;
}
