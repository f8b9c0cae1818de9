/*
 * Unit tests for lib/buf: the growable byte buffer every other module
 * builds on.  Each test checks the structural invariant of buf.h after
 * every operation (p never NULL, p[len] == '\0', len < cap once storage
 * exists, buf_empty never written), and the misuse checks that end in
 * BUG() are run in a forked child that must die with SIGABRT.
 */
#include "compat.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>

#include <cmocka.h>

#include "buf.h"

/* The invariant of buf.h, checked after every operation. */
static void
check_inv(const struct buf *b)
{
	assert_non_null(b->p);
	assert_int_equal(b->p[b->len], '\0');
	if (b->cap == 0) {
		assert_ptr_equal(b->p, buf_empty);
		assert_int_equal(b->len, 0);
	} else {
		assert_ptr_not_equal(b->p, buf_empty);
		assert_true(b->len < b->cap);
	}
	assert_int_equal(buf_empty[0], '\0');
}

/*
 * Run fn in a child with stderr silenced and default signal dispositions
 * (cmocka installs its own handlers); returns the wait status.
 */
static int
run_child(void (*fn)(void))
{
	int status, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_init_empty(void **state)
{
	struct buf b = BUF_INIT;

	check_inv(&b);
	assert_int_equal(b.cap, 0);
	assert_string_equal(b.p, "");
	buf_init(&b, 0);
	check_inv(&b);
	assert_int_equal(b.cap, 0);
	buf_release(&b);
	check_inv(&b);
}

static void
test_init_hint(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	check_inv(&b);
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 101);
	buf_release(&b);
	check_inv(&b);
	assert_int_equal(b.cap, 0);

	buf_init(&b, 1);
	check_inv(&b);
	assert_true(b.cap >= 2);
	buf_release(&b);
}

static void
test_grow(void **state)
{
	struct buf b = BUF_INIT;
	size_t cap;

	buf_adds(&b, "abc");
	buf_grow(&b, 1000);
	check_inv(&b);
	assert_true(b.cap >= 3 + 1000 + 1);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.p, "abc");
	cap = b.cap;
	buf_grow(&b, 10);	/* already room: no change */
	assert_int_equal(b.cap, cap);
	buf_grow(&b, 0);
	assert_int_equal(b.cap, cap);
	check_inv(&b);
	buf_release(&b);
}

static void
test_add(void **state)
{
	struct buf b = BUF_INIT;
	static const char bin[] = { 'x', '\0', 'y', '\0', 'z' };

	buf_add(&b, "abc", 0);	/* nothing to add: stays unallocated */
	check_inv(&b);
	assert_int_equal(b.cap, 0);
	buf_add(&b, "abc", 3);
	check_inv(&b);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.p, "abc");
	buf_add(&b, "defg", 3);
	check_inv(&b);
	assert_string_equal(b.p, "abcdef");
	buf_add(&b, bin, sizeof(bin));
	check_inv(&b);
	assert_int_equal(b.len, 6 + sizeof(bin));
	assert_memory_equal(b.p, "abcdefx\0y\0z", 11);
	buf_adds(&b, "");
	check_inv(&b);
	assert_int_equal(b.len, 11);
	buf_adds(&b, "!!");
	buf_addch(&b, '?');
	buf_addch(&b, '\0');
	check_inv(&b);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.p + 11, "!!?\0", 5);
	buf_release(&b);
	check_inv(&b);
}

static void
test_add_self_growth(void **state)
{
	struct buf b = BUF_INIT;

	/* a sequence of single bytes crosses every reallocation boundary */
	for (int i = 0; i < 5000; i++) {
		buf_addch(&b, (char)('a' + i % 26));
		check_inv(&b);
		assert_int_equal(b.len, (size_t)i + 1);
	}
	for (int i = 0; i < 5000; i++)
		assert_int_equal(b.p[i], 'a' + i % 26);
	buf_release(&b);
}

static void
test_addf_simple(void **state)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%d-%s-%c", 42, "x", 'y');
	check_inv(&b);
	assert_string_equal(b.p, "42-x-y");
	assert_int_equal(b.len, 6);
	buf_addf(&b, "%s", "");
	check_inv(&b);
	assert_string_equal(b.p, "42-x-y");
	buf_addf(&b, "[%05u]", 7u);
	check_inv(&b);
	assert_string_equal(b.p, "42-x-y[00007]");
	buf_release(&b);
}

static void
test_addf_longer_than_room(void **state)
{
	struct buf b;
	char big[3000];
	size_t cap;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	/* a fresh small buffer: output much longer than the room */
	buf_init(&b, 8);
	buf_addf(&b, "<%s>", big);
	check_inv(&b);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.p[0], '<');
	assert_int_equal(b.p[b.len - 1], '>');
	assert_int_equal(strspn(b.p + 1, "q"), sizeof(big) - 1);

	/* appending when the spare room is short by one */
	buf_clear(&b);
	cap = b.cap;
	buf_setlen(&b, 0);
	memset(b.p, 'a', cap - 2);
	buf_setlen(&b, cap - 2);	/* one byte of room plus the NUL */
	buf_addf(&b, "%s", "XYZ");
	check_inv(&b);
	assert_int_equal(b.len, cap - 2 + 3);
	assert_memory_equal(b.p + cap - 2, "XYZ", 4);
	assert_int_equal(strspn(b.p, "a"), cap - 2);

	/* a width longer than the initial 64-byte growth */
	buf_release(&b);
	buf_addf(&b, "%0700d|%-300s|", 5, "left");
	check_inv(&b);
	assert_int_equal(b.len, 700 + 1 + 300 + 1);
	assert_int_equal(b.p[699], '5');
	assert_int_equal(strspn(b.p, "0"), 699);
	assert_memory_equal(b.p + 701, "left ", 5);
	buf_release(&b);
}

static void
test_addf_boundaries(void **state)
{
	char want[512];

	/*
	 * Every combination of existing length and output length around
	 * the growth steps: catches an off-by-one in the two-pass
	 * vsnprintf (room exactly full, NUL landing past the end).
	 */
	for (size_t pre = 0; pre < 140; pre++) {
		for (size_t n = 0; n < 200; n++) {
			struct buf b = BUF_INIT;

			memset(want, 'p', pre);
			memset(want + pre, 'o', n);
			want[pre + n] = '\0';
			buf_add(&b, want, pre);
			buf_addf(&b, "%.*s", (int)n, want + pre);
			check_inv(&b);
			assert_int_equal(b.len, pre + n);
			assert_memory_equal(b.p, want, pre + n + 1);
			buf_release(&b);
		}
	}
}

static void
addf_va(struct buf *b, const char *fmt, ...) CL_PRINTF(2, 3);

static void
addf_va(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

static void
test_vaddf(void **state)
{
	struct buf b = BUF_INIT;
	char big[200];

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* the va_list is used twice when the first pass is short */
	addf_va(&b, "%s/%d/%s", big, 12345, big);
	check_inv(&b);
	assert_int_equal(b.len, 199 + 6 + 1 + 199);
	assert_memory_equal(b.p + 199, "/12345/", 7);
	assert_memory_equal(b.p + 206, big, 199);
	buf_release(&b);
}

static void
test_consume(void **state)
{
	struct buf b = BUF_INIT;

	buf_consume(&b, 0);	/* on an unallocated buffer */
	check_inv(&b);
	buf_adds(&b, "hello world");
	buf_consume(&b, 0);
	check_inv(&b);
	assert_string_equal(b.p, "hello world");
	buf_consume(&b, 6);
	check_inv(&b);
	assert_string_equal(b.p, "world");
	assert_int_equal(b.len, 5);
	buf_consume(&b, 4);
	check_inv(&b);
	assert_string_equal(b.p, "d");
	buf_consume(&b, 1);
	check_inv(&b);
	assert_string_equal(b.p, "");
	assert_int_equal(b.len, 0);
	buf_adds(&b, "again");
	check_inv(&b);
	assert_string_equal(b.p, "again");
	buf_consume(&b, b.len);
	check_inv(&b);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_consume_large(void **state)
{
	struct buf b = BUF_INIT;
	size_t total = 1 << 20;

	for (size_t i = 0; i < total; i++)
		buf_addch(&b, (char)(i % 251));
	/* consume in odd chunks, checking the remaining bytes moved down */
	for (size_t off = 0; off < total;) {
		size_t n = CL_MIN((size_t)70001, total - off);

		buf_consume(&b, n);
		off += n;
		check_inv(&b);
		assert_int_equal(b.len, total - off);
		if (b.len > 0) {
			assert_int_equal((unsigned char)b.p[0], off % 251);
			assert_int_equal((unsigned char)b.p[b.len - 1],
			    (total - 1) % 251);
		}
	}
	buf_release(&b);
}

static struct buf child_buf;

static void
consume_past_end(void)
{
	buf_adds(&child_buf, "abc");
	buf_consume(&child_buf, 4);
}

static void
consume_on_empty(void)
{
	struct buf b = BUF_INIT;

	buf_consume(&b, 1);
}

static void
setlen_past_cap(void)
{
	buf_init(&child_buf, 10);
	buf_setlen(&child_buf, child_buf.cap);	/* no room left for the NUL */
}

static void
setlen_on_unallocated(void)
{
	struct buf b = BUF_INIT;

	buf_setlen(&b, 1);
}

static void
test_misuse_is_bug(void **state)
{
	int st;

	st = run_child(consume_past_end);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	st = run_child(consume_on_empty);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	st = run_child(setlen_past_cap);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	st = run_child(setlen_on_unallocated);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void
test_setlen(void **state)
{
	struct buf b = BUF_INIT;

	buf_setlen(&b, 0);	/* allowed on an unallocated buffer */
	check_inv(&b);
	buf_grow(&b, 32);
	memcpy(b.p, "written directly", 16);
	buf_setlen(&b, 16);
	check_inv(&b);
	assert_string_equal(b.p, "written directly");
	buf_setlen(&b, 7);
	check_inv(&b);
	assert_string_equal(b.p, "written");
	buf_setlen(&b, b.cap - 1);	/* the largest legal length */
	check_inv(&b);
	assert_int_equal(b.len, b.cap - 1);
	buf_setlen(&b, 0);
	check_inv(&b);
	assert_string_equal(b.p, "");
	buf_release(&b);
}

static void
test_detach(void **state)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *p;

	buf_adds(&b, "owned");
	buf_add(&b, "\0x", 2);
	p = buf_detach(&b, &len);
	check_inv(&b);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(len, 7);
	assert_memory_equal(p, "owned\0x", 8);
	free(p);

	/* detaching an unallocated buffer still returns freeable memory */
	len = 99;
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_ptr_not_equal(p, buf_empty);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
	check_inv(&b);

	/* out_len may be NULL; the buffer is reusable afterwards */
	buf_adds(&b, "second");
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "second");
	free(p);
	buf_adds(&b, "third");
	check_inv(&b);
	assert_string_equal(b.p, "third");
	buf_release(&b);
}

static void
test_clear(void **state)
{
	struct buf b = BUF_INIT;
	size_t cap;
	char *p;

	/* on an unallocated buffer: must not write buf_empty */
	buf_clear(&b);
	check_inv(&b);
	buf_adds(&b, "some text that is long enough");
	cap = b.cap;
	p = b.p;
	buf_clear(&b);
	check_inv(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.p, p);
	assert_string_equal(b.p, "");
	buf_adds(&b, "new");
	check_inv(&b);
	assert_string_equal(b.p, "new");
	assert_ptr_equal(b.p, p);
	buf_release(&b);
}

static void
test_release(void **state)
{
	struct buf b = BUF_INIT;

	buf_release(&b);
	check_inv(&b);
	buf_adds(&b, "x");
	buf_release(&b);
	check_inv(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_ptr_equal(b.p, buf_empty);
	buf_release(&b);	/* twice is harmless */
	check_inv(&b);
	buf_addf(&b, "%s", "reuse");
	check_inv(&b);
	assert_string_equal(b.p, "reuse");
	buf_release(&b);
}

static void
test_large_appends(void **state)
{
	struct buf b = BUF_INIT;
	size_t chunk_len = 1 << 20, total = 0;
	char *chunk = malloc(chunk_len);

	assert_non_null(chunk);
	for (size_t i = 0; i < chunk_len; i++)
		chunk[i] = (char)(i * 7 + 3);
	/* 24 MiB in pieces of varying size */
	for (int i = 0; i < 24; i++) {
		size_t n = chunk_len - (size_t)i * 13;

		buf_add(&b, chunk, n);
		total += n;
		check_inv(&b);
		assert_int_equal(b.len, total);
	}
	total = 0;
	for (int i = 0; i < 24; i++) {
		size_t n = chunk_len - (size_t)i * 13;

		assert_memory_equal(b.p + total, chunk, n);
		total += n;
	}
	buf_release(&b);

	/* one addition larger than everything before it */
	buf_adds(&b, "head");
	buf_add(&b, chunk, chunk_len);
	check_inv(&b);
	assert_int_equal(b.len, 4 + chunk_len);
	assert_memory_equal(b.p + 4, chunk, chunk_len);
	buf_release(&b);
	free(chunk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_init_hint),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_self_growth),
		cmocka_unit_test(test_addf_simple),
		cmocka_unit_test(test_addf_longer_than_room),
		cmocka_unit_test(test_addf_boundaries),
		cmocka_unit_test(test_vaddf),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_consume_large),
		cmocka_unit_test(test_misuse_is_bug),
		cmocka_unit_test(test_setlen),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_large_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
