/*
 * Unit tests for lib/secret: guarded, locked memory for keys and
 * passwords.  Checks that allocations of awkward sizes are zeroed and
 * usable end to end, are locked and excluded from core dumps, sit
 * between inaccessible guard pages, and that an overrun of a single byte
 * past the end, or a write into the header before the start, kills the
 * process (both in a forked child, whose death the parent inspects).
 * Also the constant-time comparison and the wipe.
 */
#include "compat.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>

#include <cmocka.h>

#include "buf.h"
#include "secret.h"

static const size_t sizes[] = { 0, 1, 15, 16, 17, 4095, 4096, 4097, 100000 };

/* ASan turns mlock into a no-op, so locking cannot be observed there. */
#if defined(__SANITIZE_ADDRESS__)
#define MLOCK_WORKS	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLOCK_WORKS	0
#endif
#endif
#ifndef MLOCK_WORKS
#define MLOCK_WORKS	1
#endif

/*
 * The soft RLIMIT_MEMLOCK, raised to the hard one when possible so that
 * the larger sizes fit on hosts with a small default.
 */
static rlim_t
memlock_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return RLIM_INFINITY;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_MEMLOCK, &rl);
		(void)getrlimit(RLIMIT_MEMLOCK, &rl);
	}
	return rl.rlim_cur;
}

/* Allocate, or skip the test when the host's lock limit is too small. */
static unsigned char *
alloc_or_skip(size_t len)
{
	unsigned char *p = secret_alloc(len);
	rlim_t lim;

	if (p != NULL)
		return p;
	lim = memlock_limit();
	if (lim != RLIM_INFINITY && lim < len + 3 * 4096 * 2) {
		print_message("RLIMIT_MEMLOCK %llu too small for %zu bytes\n",
		    (unsigned long long)lim, len);
		skip();
	}
	fail_msg("secret_alloc(%zu) failed with RLIMIT_MEMLOCK %llu", len,
	    (unsigned long long)lim);
	return NULL;
}

/*
 * The /proc/self/smaps entry of the mapping holding addr: its
 * permissions ("rw-p") and VmFlags line.  Returns false when not found.
 */
static bool
smaps_entry(const void *addr, char perms[5], char vmflags[512])
{
	uintptr_t a = (uintptr_t)addr;
	bool in = false, found = false;
	char line[512];
	FILE *fp;

	vmflags[0] = '\0';
	fp = fopen("/proc/self/smaps", "r");
	if (fp == NULL)
		return false;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long lo, hi;
		char pm[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pm) == 3 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = a >= lo && a < hi;
			if (in) {
				memcpy(perms, pm, 5);
				found = true;
			}
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(vmflags, 512, "%s", line + 8);
		}
	}
	fclose(fp);
	return found;
}

static void
test_alloc_sizes(void **state)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		size_t len = sizes[i];
		unsigned char *p = alloc_or_skip(len);

		for (size_t j = 0; j < len; j++)
			assert_int_equal(p[j], 0);
		/* writable and readable end to end */
		for (size_t j = 0; j < len; j++)
			p[j] = (unsigned char)(j * 31 + len);
		for (size_t j = 0; j < len; j++)
			assert_int_equal(p[j], (unsigned char)(j * 31 + len));
		secret_free(p);
	}
}

static void
test_alloc_many_distinct(void **state)
{
	unsigned char *p[CL_ARRAY_SIZE(sizes)];

	/* live at the same time, filled with distinct bytes: no overlap */
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		p[i] = alloc_or_skip(sizes[i]);
		memset(p[i], (int)i + 1, sizes[i]);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			assert_int_equal(p[i][j], i + 1);
		for (size_t k = 0; k < i; k++)
			assert_ptr_not_equal(p[i], p[k]);
	}
	/* freed in a different order from allocation */
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i += 2)
		secret_free(p[i]);
	for (size_t i = 1; i < CL_ARRAY_SIZE(sizes); i += 2)
		secret_free(p[i]);
	/* and reused */
	for (int round = 0; round < 50; round++) {
		unsigned char *q = alloc_or_skip(4096);

		for (size_t j = 0; j < 4096; j++)
			assert_int_equal(q[j], 0);
		memset(q, 0xff, 4096);
		secret_free(q);
	}
}

static void
test_alloc_refuses_huge(void **state)
{
	assert_null(secret_alloc(SIZE_MAX));
	assert_null(secret_alloc(SIZE_MAX / 2 + 1));
	assert_null(secret_alloc(SIZE_MAX - 4096));
	secret_free(NULL);	/* allowed */
}

static void
test_locked_and_guarded(void **state)
{
	static const size_t lens[] = { 1, 16, 4096, 100000 };
	char perms[5], flags[512];

	for (size_t i = 0; i < CL_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i];
		unsigned char *p = alloc_or_skip(len);
		uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
		unsigned char *after = (unsigned char *)(((uintptr_t)(p + len) +
		    ps - 1) & ~(ps - 1));
		unsigned char *before = (unsigned char *)(((uintptr_t)p &
		    ~(ps - 1)) - ps);

		/* the pages holding the data are locked and not dumped */
		assert_true(smaps_entry(p, perms, flags));
		assert_memory_equal(perms, "rw", 2);
		if ((MLOCK_WORKS && strstr(flags, " lo") == NULL) ||
		    strstr(flags, " dd") == NULL)
			fail_msg("secret pages of %zu bytes have VmFlags '%s', "
			    "want 'lo' (locked) and 'dd' (no dump)", len, flags);
		/* the page after the data is a guard */
		assert_true(smaps_entry(after, perms, flags));
		assert_string_equal(perms, "---p");
		/* and so is one page before the data (the header page or below) */
		if (len <= 4096 - 64) {
			assert_true(smaps_entry(before, perms, flags));
			assert_string_equal(perms, "---p");
		}
		secret_free(p);
	}
}

/* Child side of the death tests. */
static size_t child_len;
static int child_offset;

static void
child_overrun(void)
{
	volatile unsigned char *p = secret_alloc(child_len);

	if (p == NULL)
		_exit(3);
	p[(ptrdiff_t)child_len + child_offset] = 0x41;
	_exit(0);
}

static void
child_corrupt_header(void)
{
	unsigned char *p = secret_alloc(child_len);

	if (p == NULL)
		_exit(3);
	p[-1] ^= 0x01;	/* just before the data: the header's canary */
	secret_free(p);
	_exit(0);
}

static int
run_child(void (*fn)(void))
{
	int status, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka and ASan catch SIGSEGV; we want the plain death */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
describe(char *out, size_t outlen, int st)
{
	if (WIFSIGNALED(st))
		snprintf(out, outlen, "killed by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		snprintf(out, outlen, "secret_alloc failed");
	else if (WIFEXITED(st))
		snprintf(out, outlen, "exited %d (the write went unnoticed)",
		    WEXITSTATUS(st));
	else
		snprintf(out, outlen, "status %#x", st);
}

static void
test_overrun_one_byte_crashes(void **state)
{
	struct buf bad = BUF_INIT;
	char how[64];

	(void)memlock_limit();
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		int st;

		child_len = sizes[i];
		child_offset = 0;	/* p[len]: the first byte past the end */
		st = run_child(child_overrun);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
			describe(how, sizeof(how), st);
			buf_addf(&bad, "\n  len %zu: write to p[len] %s",
			    sizes[i], how);
		}
	}
	if (bad.len > 0) {
		print_error("a one-byte overrun must hit the guard page:%s\n",
		    bad.p);
		buf_release(&bad);
		fail();
	}
	buf_release(&bad);
}

static void
test_overrun_far_crashes(void **state)
{
	struct buf bad = BUF_INIT;
	char how[64];

	/* 16 bytes past the end is past any alignment padding */
	for (size_t i = 0; i < CL_ARRAY_SIZE(sizes); i++) {
		int st;

		child_len = sizes[i];
		child_offset = 16;
		st = run_child(child_overrun);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
			describe(how, sizeof(how), st);
			buf_addf(&bad, "\n  len %zu: write to p[len + 16] %s",
			    sizes[i], how);
		}
	}
	if (bad.len > 0) {
		print_error("an overrun must hit the guard page:%s\n", bad.p);
		buf_release(&bad);
		fail();
	}
	buf_release(&bad);
}

static void
test_header_corruption_aborts(void **state)
{
	static const size_t lens[] = { 1, 16, 4096 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(lens); i++) {
		int st;

		child_len = lens[i];
		st = run_child(child_corrupt_header);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGABRT);
	}
}

static void
test_eq(void **state)
{
	unsigned char a[4097], b[4097];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)(i * 13);
	assert_true(secret_eq(a, b, sizeof(a)));
	assert_true(secret_eq(a, a, sizeof(a)));
	assert_true(secret_eq(a, b, 0));
	assert_true(secret_eq(a, b, 1));

	/* differs only in the last byte, only in the first, by one bit */
	b[sizeof(b) - 1] ^= 0x80;
	assert_false(secret_eq(a, b, sizeof(a)));
	assert_true(secret_eq(a, b, sizeof(a) - 1));
	b[sizeof(b) - 1] ^= 0x80;
	b[0] ^= 0x01;
	assert_false(secret_eq(a, b, sizeof(a)));
	assert_false(secret_eq(a, b, 1));
	b[0] ^= 0x01;
	assert_true(secret_eq(a, b, sizeof(a)));

	/* every length of 1..64 with the difference in the last byte */
	for (size_t len = 1; len <= 64; len++) {
		b[len - 1] ^= 0x10;
		assert_false(secret_eq(a, b, len));
		assert_true(secret_eq(a, b, len - 1));
		b[len - 1] ^= 0x10;
		assert_true(secret_eq(a, b, len));
	}

	/* completely different contents */
	memset(b, 0, sizeof(b));
	memset(a, 0xff, sizeof(a));
	assert_false(secret_eq(a, b, sizeof(a)));
}

static void
test_eq_secret_memory(void **state)
{
	unsigned char *a = alloc_or_skip(32), *b = alloc_or_skip(32);

	assert_true(secret_eq(a, b, 32));
	a[31] = 1;
	assert_false(secret_eq(a, b, 32));
	b[31] = 1;
	assert_true(secret_eq(a, b, 32));
	secret_free(a);
	secret_free(b);
}

static void
test_wipe(void **state)
{
	unsigned char key[100];
	unsigned char *p;

	memset(key, 0xaa, sizeof(key));
	secret_wipe(key + 10, 50);
	for (size_t i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], i >= 10 && i < 60 ? 0 : 0xaa);
	secret_wipe(key, sizeof(key));
	for (size_t i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], 0);

	memset(key, 0x55, sizeof(key));
	secret_wipe(key, 0);	/* nothing */
	for (size_t i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], 0x55);
	secret_wipe(NULL, 0);
	secret_wipe(NULL, 16);	/* NULL is tolerated */

	p = alloc_or_skip(4097);
	memset(p, 0x77, 4097);
	secret_wipe(p, 4097);
	for (size_t i = 0; i < 4097; i++)
		assert_int_equal(p[i], 0);
	secret_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_sizes),
		cmocka_unit_test(test_alloc_many_distinct),
		cmocka_unit_test(test_alloc_refuses_huge),
		cmocka_unit_test(test_locked_and_guarded),
		cmocka_unit_test(test_overrun_one_byte_crashes),
		cmocka_unit_test(test_overrun_far_crashes),
		cmocka_unit_test(test_header_corruption_aborts),
		cmocka_unit_test(test_eq),
		cmocka_unit_test(test_eq_secret_memory),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
