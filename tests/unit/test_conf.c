/*
 * Unit tests for lib/conf: the option registry and the configuration
 * file parser.  A local option table covers every conf_type with bounds;
 * each test writes a temporary file (mkstemp), loads it and checks the
 * values, or checks that the error names the right file, line and
 * reason.  The file is untrusted input: NUL bytes, overlong lines and
 * files, and secret options in files others can read are all refused.
 */
#include "compat.h"

#include <sys/stat.h>

#include <setjmp.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"

struct tconf {
	char *name;
	char *path;
	int64_t count;
	int64_t offset;
	bool flag;
	int mode;
	int64_t timeout;
	int64_t limit;
	char *listen;
	char *token;
	char *banner;
};

static const char *const modes[] = { "fast", "safe", "paranoid", NULL };

#define OPT(n, t, min, max, def, ch, fl) \
	{ #n, t, offsetof(struct tconf, n), min, max, def, ch, fl, "doc" }

static const struct conf_option opts[] = {
	OPT(name, CONF_STRING, 0, 0, "anon", NULL, 0),
	OPT(path, CONF_PATH, 0, 0, "/var/lib/x", NULL, 0),
	OPT(count, CONF_INT, 1, 100, "10", NULL, 0),
	OPT(offset, CONF_INT, -50, 50, "-5", NULL, 0),
	OPT(flag, CONF_BOOL, 0, 0, "false", NULL, 0),
	OPT(mode, CONF_ENUM, 0, 0, "safe", modes, 0),
	OPT(timeout, CONF_DURATION, 10, 3600000, "10s", NULL, 0),
	OPT(limit, CONF_SIZE, 1024, 1LL << 30, "16M", NULL, 0),
	OPT(listen, CONF_ADDR, 0, 0, "127.0.0.1:7000", NULL, 0),
	OPT(token, CONF_STRING, 0, 0, NULL, NULL, CONF_SECRET),
	OPT(banner, CONF_STRING, 0, 0, NULL, NULL, 0),
};
#define NOPTS	CL_ARRAY_SIZE(opts)

/* A second table with a required option (that also has a default). */
struct rconf {
	char *listen;
	int64_t count;
};

static const struct conf_option ropts[] = {
	{ "listen", CONF_ADDR, offsetof(struct rconf, listen), 0, 0,
	    "127.0.0.1:1", NULL, CONF_REQUIRED, "doc" },
	{ "count", CONF_INT, offsetof(struct rconf, count), 0, 10, NULL, NULL,
	    0, "doc" },
};

static char path[64];	/* the last file written */

/* Write len bytes to a fresh temporary file with the given mode. */
static const char *
write_file(const void *text, size_t len, mode_t mode)
{
	const char *p = text;
	int fd;

	snprintf(path, sizeof(path), "/tmp/cl-test-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
	return path;
}

/* Load text written to a 0600 file into c (zeroed first). */
static int
load_mode(const char *text, mode_t mode, struct tconf *c, struct cl_error *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	cl_error_clear(err);
	write_file(text, strlen(text), mode);
	rc = conf_load(opts, NOPTS, c, path, err);
	unlink(path);
	return rc;
}

static int
load(const char *text, struct tconf *c, struct cl_error *err)
{
	return load_mode(text, 0600, c, err);
}

/* Load len bytes (may hold NULs); on failure check file, line, reason. */
static void
expect_error_bin(const char *text, size_t len, int line, const char *reason)
{
	struct cl_error err;
	struct tconf c;
	int rc;

	memset(&c, 0, sizeof(c));
	cl_error_clear(&err);
	write_file(text, len, 0600);
	rc = conf_load(opts, NOPTS, &c, path, &err);
	unlink(path);
	conf_release(opts, NOPTS, &c);
	if (rc == 0)
		fail_msg("accepted, want error '%s' at line %d", reason, line);
	assert_int_equal(rc, CL_ECONFIG);
	assert_int_equal(err.code, CL_ECONFIG);
	assert_string_equal(err.file, path);
	if (err.line != line || strstr(err.message, reason) == NULL)
		fail_msg("got %s:%d: %s\nwant line %d, reason containing '%s'",
		    err.file, err.line, err.message, line, reason);
}

static void
expect_error(const char *text, int line, const char *reason)
{
	expect_error_bin(text, strlen(text), line, reason);
}

/* --- values --- */

static void
test_defaults(void **state)
{
	struct cl_error err;
	struct tconf c = { 0 };

	cl_error_clear(&err);
	assert_int_equal(conf_load(opts, NOPTS, &c, NULL, &err), 0);
	assert_int_equal(err.code, CL_OK);
	assert_string_equal(c.name, "anon");
	assert_string_equal(c.path, "/var/lib/x");
	assert_int_equal(c.count, 10);
	assert_int_equal(c.offset, -5);
	assert_false(c.flag);
	assert_int_equal(c.mode, 1);
	assert_int_equal(c.timeout, 10000);
	assert_int_equal(c.limit, 16 << 20);
	assert_string_equal(c.listen, "127.0.0.1:7000");
	assert_null(c.token);
	assert_null(c.banner);
	conf_release(opts, NOPTS, &c);
	assert_null(c.name);
	assert_null(c.listen);

	/* an empty file: defaults only */
	assert_int_equal(load("", &c, &err), 0);
	assert_int_equal(c.count, 10);
	assert_string_equal(c.name, "anon");
	conf_release(opts, NOPTS, &c);
}

static void
test_all_types(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load(
	    "name = alice\n"
	    "path = /srv/data\n"
	    "count = 100\n"
	    "offset = -50\n"
	    "flag = yes\n"
	    "mode = paranoid\n"
	    "timeout = 5m\n"
	    "limit = 64k\n"
	    "listen = [::1]:8443\n"
	    "token = s3cr3t\n"
	    "banner = hello\n", &c, &err), 0);
	assert_string_equal(c.name, "alice");
	assert_string_equal(c.path, "/srv/data");
	assert_int_equal(c.count, 100);
	assert_int_equal(c.offset, -50);
	assert_true(c.flag);
	assert_int_equal(c.mode, 2);
	assert_int_equal(c.timeout, 300000);
	assert_int_equal(c.limit, 65536);
	assert_string_equal(c.listen, "[::1]:8443");
	assert_string_equal(c.token, "s3cr3t");
	assert_string_equal(c.banner, "hello");
	conf_release(opts, NOPTS, &c);
	assert_null(c.token);
	assert_null(c.banner);
}

static void
test_comments_and_blanks(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load(
	    "# a comment\n"
	    "\n"
	    "   \n"
	    "\t\t\n"
	    "   # indented comment = not an option\n"
	    "name=bob\n"
	    "  count   =\t42   # trailing comment\n"
	    "\tbanner = a=b\n"
	    "mode = fast#comment right after\n"
	    "path = /x/y", &c, &err), 0);	/* no final newline */
	assert_string_equal(c.name, "bob");
	assert_int_equal(c.count, 42);
	assert_string_equal(c.banner, "a=b");
	assert_int_equal(c.mode, 0);
	assert_string_equal(c.path, "/x/y");
	conf_release(opts, NOPTS, &c);
}

static void
test_quoted(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load(
	    "banner = \"text with spaces # and a hash\"   # real comment\n"
	    "name = \"  padded  \"\n"
	    "path = \"/with space/dir\"\n", &c, &err), 0);
	assert_string_equal(c.banner, "text with spaces # and a hash");
	assert_string_equal(c.name, "  padded  ");
	assert_string_equal(c.path, "/with space/dir");
	conf_release(opts, NOPTS, &c);

	assert_int_equal(load("banner = \"\"\n", &c, &err), 0);
	assert_string_equal(c.banner, "");
	conf_release(opts, NOPTS, &c);

	/* quoted numbers are still numbers */
	assert_int_equal(load("count = \"7\"\ntimeout=\"2s\"\n", &c, &err), 0);
	assert_int_equal(c.count, 7);
	assert_int_equal(c.timeout, 2000);
	conf_release(opts, NOPTS, &c);
}

static void
test_crlf(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load(
	    "# windows file\r\n"
	    "\r\n"
	    "name = carol\r\n"
	    "banner = \"quoted\"\r\n"
	    "count = 3   \r\n"
	    "flag = on\r\n", &c, &err), 0);
	assert_string_equal(c.name, "carol");
	assert_string_equal(c.banner, "quoted");
	assert_int_equal(c.count, 3);
	assert_true(c.flag);
	conf_release(opts, NOPTS, &c);

	/* line numbers count CRLF lines too */
	expect_error("a_comment = no\r\n", 1, "unknown option 'a_comment'");
	expect_error("# x\r\n\r\nname = d\r\ncount = x\r\n", 4,
	    "'x' is not a valid integer");
}

static void
test_ints(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} ok[] = {
		{ "1", 1 }, { "100", 100 }, { "050", 50 }, { "99", 99 },
	};
	struct cl_error err;
	struct tconf c = { 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(ok); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "count", ok[i].text, NULL, 0,
		    &err) != 0)
			fail_msg("integer '%s' refused: %s", ok[i].text,
			    err.message);
		assert_int_equal(c.count, ok[i].want);
	}
	cl_error_clear(&err);
	assert_int_equal(conf_set(opts, NOPTS, &c, "count", "77", NULL, 0,
	    &err), 0);
	assert_int_equal(c.count, 77);
	assert_int_equal(conf_set(opts, NOPTS, &c, "offset", "-50", NULL, 0,
	    &err), 0);
	assert_int_equal(c.offset, -50);
	assert_int_equal(conf_set(opts, NOPTS, &c, "offset", "50", NULL, 0,
	    &err), 0);
	assert_int_equal(c.offset, 50);
	assert_int_equal(conf_set(opts, NOPTS, &c, "offset", "0", NULL, 0,
	    &err), 0);
	assert_int_equal(c.offset, 0);

	expect_error("count = 12abc\n", 1, "option 'count': '12abc' is not a "
	    "valid integer");
	expect_error("\ncount =\n", 2, "'' is not a valid integer");
	expect_error("count = 0x10\n", 1, "not a valid integer");
	expect_error("count = 1e3\n", 1, "not a valid integer");
	expect_error("count = 1.5\n", 1, "not a valid integer");
	expect_error("count = 99999999999999999999\n", 1, "not a valid integer");
	expect_error("count = \"4 2\"\n", 1, "not a valid integer");
	expect_error("count = 0\n", 1, "option 'count': 0 is out of range "
	    "[1, 100]");
	expect_error("name = x\ncount = 101\n", 2, "101 is out of range [1, 100]");
	expect_error("offset = -51\n", 1, "-51 is out of range [-50, 50]");
	expect_error("offset = 51\n", 1, "51 is out of range [-50, 50]");
	expect_error("count = -9223372036854775808\n", 1, "out of range");
	conf_release(opts, NOPTS, &c);
}

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} ok[] = {
		{ "250ms", 250 }, { "10s", 10000 }, { "5m", 300000 },
		{ "1h", 3600000 }, { "1000", 1000 }, { "10", 10 }, { "10ms", 10 },
		{ "60m", 3600000 },
	};
	static const char *const bad[] = { "10x", "10 s", "s", "ms", "1.5s",
	    "-", "10sec", "10S", "10H", "1d", "10ms ", "s10", "++1",
	    "9223372036854775807h", "99999999999999999999", "0x10" };
	struct cl_error err;
	struct tconf c = { 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(ok); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "timeout", ok[i].text, "f", 1,
		    &err) != 0)
			fail_msg("duration '%s' refused: %s", ok[i].text,
			    err.message);
		assert_int_equal(c.timeout, ok[i].want);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		cl_error_clear(&err);
		c.timeout = 4242;
		if (conf_set(opts, NOPTS, &c, "timeout", bad[i], "f", 1, &err) == 0)
			fail_msg("duration '%s' accepted as %" PRId64, bad[i],
			    c.timeout);
		assert_int_equal(err.code, CL_ECONFIG);
		assert_non_null(strstr(err.message, "is not a valid duration"));
		assert_int_equal(c.timeout, 4242);	/* untouched */
	}
	expect_error("\n\ntimeout = 10y\n", 3, "option 'timeout': '10y' is not "
	    "a valid duration");
	expect_error("timeout = 9ms\n", 1, "9ms is out of range [10, 3600000]");
	expect_error("timeout = 2h\n", 1, "2h is out of range");
	expect_error("timeout = -1s\n", 1, "out of range");
	conf_release(opts, NOPTS, &c);
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} ok[] = {
		{ "1024", 1024 }, { "64k", 65536 }, { "64K", 65536 },
		{ "16M", 16 << 20 }, { "16m", 16 << 20 }, { "1G", 1 << 30 },
		{ "1g", 1 << 30 }, { "1k", 1024 },
	};
	static const char *const bad[] = { "5T", "1.5M", "k", "16MB", "16 M",
	    "16Mi", "M16", "", "0x400", "9223372036854775807G", "1kk" };
	struct cl_error err;
	struct tconf c = { 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(ok); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "limit", ok[i].text, "f", 1,
		    &err) != 0)
			fail_msg("size '%s' refused: %s", ok[i].text, err.message);
		assert_int_equal(c.limit, ok[i].want);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "limit", bad[i], "f", 1, &err) == 0)
			fail_msg("size '%s' accepted as %" PRId64, bad[i], c.limit);
		assert_non_null(strstr(err.message, "is not a valid size"));
	}
	expect_error("limit = 5T\n", 1, "option 'limit': '5T' is not a valid "
	    "size");
	expect_error("limit = 1023\n", 1, "1023 is out of range [1024, "
	    "1073741824]");
	expect_error("limit = 2G\n", 1, "2G is out of range");
	conf_release(opts, NOPTS, &c);
}

static void
test_bools(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	static const char *const bad[] = { "maybe", "", "2", "truee", "y",
	    "n", "-1", "enable" };
	struct cl_error err;
	struct tconf c = { 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(yes); i++) {
		c.flag = false;
		cl_error_clear(&err);
		assert_int_equal(conf_set(opts, NOPTS, &c, "flag", yes[i], NULL,
		    0, &err), 0);
		assert_true(c.flag);
		cl_error_clear(&err);
		assert_int_equal(conf_set(opts, NOPTS, &c, "flag", no[i], NULL,
		    0, &err), 0);
		assert_false(c.flag);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "flag", bad[i], NULL, 0, &err) == 0)
			fail_msg("boolean '%s' accepted", bad[i]);
		assert_non_null(strstr(err.message, "is not a boolean"));
	}
	expect_error("flag = maybe\n", 1, "option 'flag': 'maybe' is not a "
	    "boolean (true or false)");
}

static void
test_enums(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load("mode = fast\n", &c, &err), 0);
	assert_int_equal(c.mode, 0);
	conf_release(opts, NOPTS, &c);
	expect_error("mode = turbo\n", 1, "option 'mode': 'turbo' is not one "
	    "of: fast, safe, paranoid");
	expect_error("mode = FAST\n", 1, "is not one of: fast, safe, paranoid");
	expect_error("mode =\n", 1, "'' is not one of: fast, safe, paranoid");
}

static void
test_addresses(void **state)
{
	static const char *const good[] = { "127.0.0.1:80", "[::1]:443",
	    "localhost:0", "host-name.example:65535", "[fe80::1]:1",
	    "under_score:9" };
	struct cl_error err;
	struct tconf c = { 0 };

	for (size_t i = 0; i < CL_ARRAY_SIZE(good); i++) {
		cl_error_clear(&err);
		if (conf_set(opts, NOPTS, &c, "listen", good[i], NULL, 0,
		    &err) != 0)
			fail_msg("address '%s' refused: %s", good[i], err.message);
		assert_string_equal(c.listen, good[i]);
	}
	conf_release(opts, NOPTS, &c);
	expect_error("listen = localhost\n", 1, "option 'listen': 'localhost' "
	    "is not HOST:PORT");
	expect_error("listen = localhost:70000\n", 1, "'localhost:70000' is not "
	    "HOST:PORT");
	expect_error("listen = [::1]\n", 1, "'[::1]' is not HOST:PORT");
	expect_error("listen = ::1:80\n", 1, "is not HOST:PORT");
	expect_error("listen = :80\n", 1, "is not HOST:PORT");
	expect_error("listen = host:\n", 1, "is not HOST:PORT");
	expect_error("listen = \"ho st:80\"\n", 1, "is not HOST:PORT");
}

/* --- errors: file, line, reason --- */

static void
test_syntax_errors(void **state)
{
	expect_error("name = a\n\nbogus = 1\n", 3, "unknown option 'bogus'");
	expect_error("name = a\ncount = 2\n# c\n\ncount = 3\n", 5,
	    "option 'count' is set twice");
	expect_error("name = a\njust some words\n", 2, "expected 'name = value'");
	expect_error("# c\n= value\n", 2, "missing option name before '='");
	expect_error("bad name = x\n", 1, "bad character in option name");
	expect_error("name = \"unterminated\n", 1,
	    "unterminated quoted value for 'name'");
	expect_error("\n\n\nbanner = \"abc\" junk\n", 4,
	    "unexpected text after quoted value for 'banner'");
	expect_error("banner = a\x01" "b\n", 1,
	    "control character in value of 'banner'");
	expect_error("path =\n", 1, "option 'path' needs a path");
	expect_error("path = \"\"\n", 1, "option 'path' needs a path");
}

static void
test_first_error_wins(void **state)
{
	/* several bad lines: the first one is reported */
	expect_error("count = 5\nbogus = 1\ncount = 6\nflag = maybe\n", 2,
	    "unknown option 'bogus'");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "name = a\nbanner = x\0y\ncount = 3\n";

	expect_error_bin(text, sizeof(text) - 1, 2, "NUL byte");
}

static void
test_long_line(void **state)
{
	struct buf b = BUF_INIT;
	struct cl_error err;
	struct tconf c;

	/* exactly CL_CONF_LINE_MAX bytes (without the newline) is fine */
	buf_adds(&b, "banner = ");
	while (b.len < CL_CONF_LINE_MAX)
		buf_addch(&b, 'x');
	buf_addch(&b, '\n');
	assert_int_equal(load(b.p, &c, &err), 0);
	assert_int_equal(strlen(c.banner), CL_CONF_LINE_MAX - 9);
	conf_release(opts, NOPTS, &c);

	/* one more byte, on line 3 */
	buf_clear(&b);
	buf_adds(&b, "# one\nname = x\nbanner = ");
	while (b.len < 15 + CL_CONF_LINE_MAX + 1)
		buf_addch(&b, 'y');
	buf_adds(&b, "\ncount = 2\n");
	expect_error(b.p, 3, "line longer than");

	/* a long comment line counts too, and so does a final unterminated one */
	buf_clear(&b);
	buf_adds(&b, "#");
	while (b.len < CL_CONF_LINE_MAX + 1)
		buf_addch(&b, '#');
	expect_error(b.p, 1, "line longer than");
	buf_release(&b);
}

static void
test_big_file(void **state)
{
	struct buf b = BUF_INIT;
	struct cl_error err;
	struct tconf c;

	/* exactly CL_CONF_FILE_MAX bytes of comments is accepted */
	while (b.len + 100 <= CL_CONF_FILE_MAX) {
		buf_addch(&b, '#');
		for (int i = 0; i < 98; i++)
			buf_addch(&b, 'c');
		buf_addch(&b, '\n');
	}
	while (b.len < CL_CONF_FILE_MAX - 1)
		buf_addch(&b, ' ');
	buf_addch(&b, '\n');
	assert_int_equal(b.len, CL_CONF_FILE_MAX);
	assert_int_equal(load(b.p, &c, &err), 0);
	conf_release(opts, NOPTS, &c);

	buf_addch(&b, '\n');
	expect_error(b.p, 0, "is larger than");
	buf_release(&b);
}

static void
test_missing_file(void **state)
{
	struct cl_error err;
	struct tconf c = { 0 };

	cl_error_clear(&err);
	assert_int_equal(conf_load(opts, NOPTS, &c, "/nonexistent/dir/x.conf",
	    &err), CL_ECONFIG);
	assert_int_equal(err.code, CL_ECONFIG);
	assert_string_equal(err.file, "/nonexistent/dir/x.conf");
	assert_int_equal(err.line, 0);
	assert_string_equal(err.message, "cannot open '/nonexistent/dir/x.conf':"
	    " No such file or directory");
	conf_release(opts, NOPTS, &c);

	/* a directory is not a configuration file */
	cl_error_clear(&err);
	assert_int_equal(conf_load(opts, NOPTS, &c, "/tmp", &err), CL_ECONFIG);
	assert_string_equal(err.file, "/tmp");
	assert_non_null(strstr(err.message, "not a regular file"));
	conf_release(opts, NOPTS, &c);
}

/* --- secrets and required options --- */

static void
test_secret_mode(void **state)
{
	static const char text[] = "name = a\n# the key\ntoken = hunter2\n";
	static const mode_t refused[] = { 0644, 0640, 0604, 0660, 0606 };
	static const mode_t accepted[] = { 0600, 0400 };
	struct cl_error err;
	struct tconf c;

	for (size_t i = 0; i < CL_ARRAY_SIZE(refused); i++) {
		assert_int_equal(load_mode(text, refused[i], &c, &err),
		    CL_ECONFIG);
		assert_string_equal(err.file, path);
		assert_int_equal(err.line, 3);
		assert_non_null(strstr(err.message, "holds secret option 'token'"));
		assert_non_null(strstr(err.message, "readable by others"));
		/* never echo the secret */
		assert_null(strstr(err.message, "hunter2"));
		assert_null(c.token);
		conf_release(opts, NOPTS, &c);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(accepted); i++) {
		assert_int_equal(load_mode(text, accepted[i], &c, &err), 0);
		assert_string_equal(c.token, "hunter2");
		conf_release(opts, NOPTS, &c);
	}
	/* a readable file without secrets is fine */
	assert_int_equal(load_mode("name = a\n", 0644, &c, &err), 0);
	conf_release(opts, NOPTS, &c);
}

static void
test_required(void **state)
{
	struct cl_error err;
	struct rconf r = { 0 };
	int rc;

	/* the default does not count: the option must be set */
	cl_error_clear(&err);
	write_file("count = 3\n", 10, 0600);
	rc = conf_load(ropts, CL_ARRAY_SIZE(ropts), &r, path, &err);
	unlink(path);
	assert_int_equal(rc, CL_ECONFIG);
	assert_string_equal(err.file, path);
	assert_non_null(strstr(err.message, "required option 'listen' is not set"));
	conf_release(ropts, CL_ARRAY_SIZE(ropts), &r);

	cl_error_clear(&err);
	assert_int_equal(conf_load(ropts, CL_ARRAY_SIZE(ropts), &r, NULL, &err),
	    CL_ECONFIG);
	assert_non_null(strstr(err.message, "required option 'listen' is not set"));
	conf_release(ropts, CL_ARRAY_SIZE(ropts), &r);

	cl_error_clear(&err);
	write_file("listen = 10.0.0.1:99\n", 21, 0600);
	rc = conf_load(ropts, CL_ARRAY_SIZE(ropts), &r, path, &err);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_string_equal(r.listen, "10.0.0.1:99");
	conf_release(ropts, CL_ARRAY_SIZE(ropts), &r);
}

/* --- conf_set, conf_show, conf_addr_split --- */

static void
test_set_override(void **state)
{
	struct cl_error err;
	struct tconf c;

	assert_int_equal(load("count = 5\nname = file\n", &c, &err), 0);
	/* "-o key=value" after the file */
	cl_error_clear(&err);
	assert_int_equal(conf_set(opts, NOPTS, &c, "count", "6", NULL, 0, &err), 0);
	assert_int_equal(conf_set(opts, NOPTS, &c, "name", "cli", NULL, 0, &err),
	    0);
	assert_int_equal(c.count, 6);
	assert_string_equal(c.name, "cli");
	assert_int_equal(conf_set(opts, NOPTS, &c, "nope", "1", NULL, 0, &err),
	    CL_ECONFIG);
	assert_string_equal(err.message, "unknown option 'nope'");
	assert_string_equal(err.file, "");
	assert_int_equal(err.line, 0);
	cl_error_clear(&err);
	assert_int_equal(conf_set(opts, NOPTS, &c, "count", "500", "x.conf", 9,
	    &err), CL_ECONFIG);
	assert_string_equal(err.file, "x.conf");
	assert_int_equal(err.line, 9);
	assert_int_equal(c.count, 6);	/* unchanged on error */
	conf_release(opts, NOPTS, &c);
}

static void
test_show(void **state)
{
	struct cl_error err;
	struct tconf c;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_int_equal(load("token = hunter2\nflag = on\nlimit = 2M\n"
	    "banner = \"a b\"\n", &c, &err), 0);
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	conf_show(opts, NOPTS, &c, fp);
	fclose(fp);
	assert_null(strstr(text, "hunter2"));
	assert_non_null(strstr(text, "token = (secret)\n"));
	assert_non_null(strstr(text, "name = \"anon\"\n"));
	assert_non_null(strstr(text, "path = \"/var/lib/x\"\n"));
	assert_non_null(strstr(text, "count = 10\n"));
	assert_non_null(strstr(text, "offset = -5\n"));
	assert_non_null(strstr(text, "flag = true\n"));
	assert_non_null(strstr(text, "mode = safe\n"));
	assert_non_null(strstr(text, "timeout = 10000ms\n"));
	assert_non_null(strstr(text, "limit = 2097152\n"));
	assert_non_null(strstr(text, "listen = \"127.0.0.1:7000\"\n"));
	assert_non_null(strstr(text, "banner = \"a b\"\n"));
	/* one line per option, in table order */
	{
		size_t lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		assert_int_equal(lines, NOPTS);
		assert_true(strncmp(text, "name = ", 7) == 0);
	}
	free(text);
	conf_release(opts, NOPTS, &c);

	/* a secret that is unset shows the same way */
	memset(&c, 0, sizeof(c));
	text = NULL;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	cl_error_clear(&err);
	assert_int_equal(conf_load(opts, NOPTS, &c, NULL, &err), 0);
	conf_show(opts, NOPTS, &c, fp);
	fclose(fp);
	assert_non_null(strstr(text, "token = (secret)\n"));
	assert_non_null(strstr(text, "banner = \"\"\n"));
	free(text);
	conf_release(opts, NOPTS, &c);
}

static void
test_addr_split(void **state)
{
	static const struct {
		const char *addr, *host;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1:7000", "127.0.0.1", 7000 },
		{ "0.0.0.0:0", "0.0.0.0", 0 },
		{ "[::1]:443", "::1", 443 },
		{ "[::]:65535", "::", 65535 },
		{ "[2001:db8::42]:8080", "2001:db8::42", 8080 },
		{ "localhost:1", "localhost", 1 },
		{ "svc-1.example.org:22", "svc-1.example.org", 22 },
	};
	static const char *const bad[] = {
		"localhost", "localhost:", ":80", "host:70000", "host:65536",
		"host:-1", "host:80x", "host: 80", "[::1]", "[::1]:", "[::1]80",
		"[::1", "::1:80", "[]:80", "", ":", "ho st:80", "host/x:80",
		"host:80:90", "[::1]:80:90", "h\n:80", "[::1]:99999999999999999999",
	};
	char host[64];
	uint16_t port;

	for (size_t i = 0; i < CL_ARRAY_SIZE(good); i++) {
		port = 1234;
		memset(host, 'Z', sizeof(host));
		if (conf_addr_split(good[i].addr, host, sizeof(host), &port) != 0)
			fail_msg("'%s' refused", good[i].addr);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		if (conf_addr_split(bad[i], host, sizeof(host), &port) == 0)
			fail_msg("'%s' accepted as '%s' port %u", bad[i], host,
			    (unsigned)port);
	}

	/* the host buffer bound: exactly fits, then one byte short */
	assert_int_equal(conf_addr_split("abcd:1", host, 5, &port), 0);
	assert_string_equal(host, "abcd");
	assert_int_equal(conf_addr_split("abcde:1", host, 5, &port), -1);
	assert_int_equal(conf_addr_split("[::1]:1", host, 4, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(conf_addr_split("[::12]:1", host, 4, &port), -1);
}

/* --- sections and conf_lookup --- */

static int
load_section(const char *text, mode_t mode, const char *section,
    struct tconf *c, struct cl_error *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	cl_error_clear(err);
	write_file(text, strlen(text), mode);
	rc = conf_load_section(opts, NOPTS, c, path, section, err);
	unlink(path);
	return rc;
}

static void
test_sections(void **state)
{
	static const char text[] =
	    "name = global\n"
	    "[echo]\n"
	    "count = 5\n"
	    "[other]   # another program's options\n"
	    "count = 99\n"
	    "not_ours = 1\n"
	    "[echo]\n"
	    "flag = on\n";
	struct cl_error err;
	struct tconf c;

	/* [echo] sees the global lines and its own */
	assert_int_equal(load_section(text, 0600, "echo", &c, &err), 0);
	assert_string_equal(c.name, "global");
	assert_int_equal(c.count, 5);
	assert_true(c.flag);
	conf_release(opts, NOPTS, &c);

	/* no section: global lines only; other sections' names not checked */
	assert_int_equal(load_section(text, 0600, NULL, &c, &err), 0);
	assert_string_equal(c.name, "global");
	assert_int_equal(c.count, 10);
	assert_false(c.flag);
	conf_release(opts, NOPTS, &c);
	assert_int_equal(load(text, &c, &err), 0);
	assert_int_equal(c.count, 10);
	conf_release(opts, NOPTS, &c);

	/* another section: its values are not applied, nor checked */
	assert_int_equal(load_section(text, 0600, "third", &c, &err), 0);
	assert_int_equal(c.count, 10);
	conf_release(opts, NOPTS, &c);

	/* errors inside our section carry the right line */
	assert_int_equal(load_section("[echo]\n\ncount = 500\n", 0600, "echo",
	    &c, &err), CL_ECONFIG);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.file, path);
	assert_non_null(strstr(err.message, "out of range"));
	conf_release(opts, NOPTS, &c);

	/* a secret in our section needs a private file */
	assert_int_equal(load_section("[echo]\ntoken = t\n", 0644, "echo", &c,
	    &err), CL_ECONFIG);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, "secret option 'token'"));
	conf_release(opts, NOPTS, &c);
}

static void
test_section_syntax(void **state)
{
	/* every line is syntax-checked, whichever section it is in */
	expect_error("[other]\njust words\n", 2, "expected 'name = value'");
	expect_error("name = a\n[]\n", 2, "bad section header");
	expect_error("[echo\n", 1, "bad section header");
	expect_error("\n[ec ho]\n", 2, "bad character in section name");
	expect_error("[e.cho]\n", 1, "bad character in section name");
	expect_error("[echo] x = 1\n", 1, "unexpected text after section header");
	expect_error("[echo]  # fine\n[other]\nname = \"open\n", 3,
	    "unterminated quoted value");
}

static void
test_lookup(void **state)
{
	static const char text[] =
	    "listen = 1.2.3.4:5\n"
	    "[echo]\n"
	    "listen = \"127.0.0.1:7000\"   # quoted\n"
	    "[auth]\n"
	    "count = 1\n";
	struct cl_error err;
	char out[64];

	write_file(text, strlen(text), 0600);
	cl_error_clear(&err);
	assert_int_equal(conf_lookup(path, "echo", "listen", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "127.0.0.1:7000");
	assert_int_equal(conf_lookup(path, NULL, "listen", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "1.2.3.4:5");
	assert_int_equal(conf_lookup(path, "auth", "count", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "1");
	/* a section without its own value sees the global one, as it loads */
	assert_int_equal(conf_lookup(path, "auth", "listen", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "1.2.3.4:5");
	cl_error_clear(&err);
	assert_int_equal(conf_lookup(path, "echo", "nope", out, sizeof(out),
	    &err), CL_ENOTFOUND);
	assert_non_null(strstr(err.message, "'nope'"));
	cl_error_clear(&err);
	assert_int_equal(conf_lookup(path, "nosuch", "count", out, sizeof(out),
	    &err), CL_ENOTFOUND);
	cl_error_clear(&err);
	assert_int_equal(conf_lookup(path, NULL, "count", out, sizeof(out),
	    &err), CL_ENOTFOUND);

	unlink(path);

	cl_error_clear(&err);
	assert_int_equal(conf_lookup("/nonexistent/x.conf", NULL, "listen", out,
	    sizeof(out), &err), CL_ECONFIG);
	assert_non_null(strstr(err.message, "cannot open"));
}

static void
test_lookup_truncation(void **state)
{
	struct cl_error err;
	char out[64];
	int rc;

	/*
	 * A value that does not fit must not come back cut short as a
	 * success: "127.0.0" would be taken for an address.
	 */
	write_file("[echo]\nlisten = 127.0.0.1:7000\n", 30, 0600);
	cl_error_clear(&err);
	memset(out, 0, sizeof(out));
	rc = conf_lookup(path, "echo", "listen", out, 8, &err);
	unlink(path);
	if (rc == 0)
		fail_msg("conf_lookup returned the truncated value '%s' as "
		    "success", out);
	/* exactly fitting is fine */
	write_file("[echo]\nlisten = 1.2.3:4\n", 24, 0600);
	cl_error_clear(&err);
	rc = conf_lookup(path, "echo", "listen", out, 8, &err);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "1.2.3:4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_big_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_secret_mode),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_set_override),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_addr_split),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_section_syntax),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_lookup_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
