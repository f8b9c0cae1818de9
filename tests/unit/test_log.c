/*
 * Unit tests for lib/log: stderr is pointed at a temporary file (dup2)
 * around each call, then the captured bytes are checked: the text line
 * shape ("<UTC timestamp> <level> service[process]: message"), JSON lines
 * that a JSON parser accepts with exactly the fields ts, level, service,
 * process and msg and the message intact after escaping, level
 * filtering (including that a filtered log_debug does not evaluate its
 * arguments), strerror on log_warn, log_level_parse, one line per call
 * under concurrency, and the exits of fatal/fatalx in a forked child.
 */
#include "compat.h"

#include <sys/wait.h>

#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "log.h"

#define TS_RE \
	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static struct buf out = BUF_INIT;	/* what the last capture caught */
static json_t *line_obj;		/* the last line parsed by json_line */
static int saved_fd = -1;
static FILE *cap_fp;

/*
 * Redirect stderr into a temporary file.  No assertion may run between
 * cap_begin and cap_end: cmocka reports failures on stderr.
 */
static void
cap_begin(void)
{
	fflush(stderr);
	cap_fp = tmpfile();
	assert_non_null(cap_fp);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fileno(cap_fp), STDERR_FILENO) >= 0);
}

/* Restore stderr and load the captured bytes into out. */
static void
cap_end(void)
{
	char chunk[4096];
	ssize_t n;

	fflush(stderr);
	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	saved_fd = -1;
	buf_clear(&out);
	assert_int_equal(lseek(fileno(cap_fp), 0, SEEK_SET), 0);
	while ((n = read(fileno(cap_fp), chunk, sizeof(chunk))) > 0)
		buf_add(&out, chunk, (size_t)n);
	fclose(cap_fp);
	cap_fp = NULL;
}

/* True when s matches the extended regex re. */
static bool
matches(const char *s, const char *re)
{
	regex_t rx;
	bool ok;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

static void
assert_matches(const char *s, const char *re)
{
	if (!matches(s, re))
		fail_msg("'%s' does not match /%s/", s, re);
}

static size_t
count_char(const char *s, size_t len, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/* The UTC timestamp at the start of s is within 5 s of now. */
static void
assert_ts_now(const char *s)
{
	struct tm tm = { 0 };
	int ms;
	time_t t, now = time(NULL);

	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms), 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t < now - 5 || t > now + 5)
		fail_msg("timestamp '%.24s' is not now (UTC)", s);
	assert_in_range(ms, 0, 999);
}

static int
teardown(void **state)
{
	log_init("cloister", "main", LOG_LVL_INFO, LOG_FMT_TEXT);
	buf_release(&out);
	json_decref(line_obj);
	line_obj = NULL;
	return 0;
}

/* --- text format --- */

static void
test_text_format(void **state)
{
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	log_info("hello %d '%s'", 42, "world");
	cap_end();
	assert_matches(out.p, "^" TS_RE " info svc\\[proc\\]: hello 42 'world'\n$");
	assert_ts_now(out.p);

	cap_begin();
	log_warnx("careful");
	cap_end();
	assert_matches(out.p, "^" TS_RE " warn svc\\[proc\\]: careful\n$");

	log_init("echo", "worker", LOG_LVL_DEBUG, LOG_FMT_TEXT);
	cap_begin();
	log_debug("detail %s", "x");
	log_emit(LOG_LVL_INFO, 0, "direct");
	cap_end();
	assert_matches(out.p, "^" TS_RE " debug echo\\[worker\\]: detail x\n"
	    TS_RE " info echo\\[worker\\]: direct\n$");
}

static void
test_text_tags_truncated(void **state)
{
	char longname[100];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	log_init(longname, longname, LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	log_info("m");
	cap_end();
	/* tags are bounded (31 bytes) and the line still well formed */
	assert_matches(out.p, "^" TS_RE " info n{31}\\[n{31}\\]: m\n$");

	/* NULL tags keep the previous ones */
	log_init("a", "b", LOG_LVL_INFO, LOG_FMT_TEXT);
	log_init(NULL, NULL, LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	log_info("m");
	cap_end();
	assert_matches(out.p, "^" TS_RE " info a\\[b\\]: m\n$");
}

static void
test_text_long_message(void **state)
{
	static char big[10000];

	memset(big, 'z', 9999);
	big[9999] = '\0';
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	log_info("%s", big);
	log_info("after");
	cap_end();
	/* truncated, but still exactly one line, and the next one intact */
	assert_int_equal(count_char(out.p, out.len, '\n'), 2);
	assert_true(out.len < 9999);
	assert_matches(out.p, "^" TS_RE " info svc\\[proc\\]: z+\n" TS_RE
	    " info svc\\[proc\\]: after\n$");
}

static void
test_text_one_line_per_call(void **state)
{
	/*
	 * Messages carry peer-controlled text (request names, peer
	 * addresses).  A newline in one must not start a second,
	 * forged-looking line.
	 */
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	log_info("unknown request 'x\n2030-01-01T00:00:00.000Z fatal "
	    "svc[proc]: forged'");
	cap_end();
	if (count_char(out.p, out.len, '\n') != 1)
		fail_msg("one log call wrote %zu lines:\n%s",
		    count_char(out.p, out.len, '\n'), out.p);
	assert_matches(out.p, "^" TS_RE " info svc\\[proc\\]: unknown request");
}

/* --- levels --- */

static int evaluated;

static int
side_effect(void)
{
	evaluated++;
	return 7;
}

static void
test_level_filter(void **state)
{
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	assert_int_equal(log_get_level(), LOG_LVL_INFO);
	evaluated = 0;
	cap_begin();
	log_debug("hidden %d", side_effect());
	log_emit(LOG_LVL_DEBUG, 0, "hidden too");
	log_info("shown info");
	log_warnx("shown warn");
	cap_end();
	assert_int_equal(evaluated, 0);	/* level checked before formatting */
	assert_null(strstr(out.p, "hidden"));
	assert_non_null(strstr(out.p, "shown info"));
	assert_non_null(strstr(out.p, "shown warn"));
	assert_int_equal(count_char(out.p, out.len, '\n'), 2);

	log_set_level(LOG_LVL_WARN);
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
	cap_begin();
	log_debug("hidden");
	log_info("hidden");
	log_warnx("shown warn");
	cap_end();
	assert_null(strstr(out.p, "hidden"));
	assert_int_equal(count_char(out.p, out.len, '\n'), 1);

	log_set_level(LOG_LVL_FATAL);
	cap_begin();
	log_warnx("hidden");
	log_info("hidden");
	cap_end();
	assert_int_equal(out.len, 0);

	log_set_level(LOG_LVL_DEBUG);
	evaluated = 0;
	cap_begin();
	log_debug("shown %d", side_effect());
	log_info("shown");
	log_warnx("shown");
	cap_end();
	assert_int_equal(evaluated, 1);
	assert_int_equal(count_char(out.p, out.len, '\n'), 3);
	assert_matches(out.p, "^" TS_RE " debug svc\\[proc\\]: shown 7\n");
}

static void
test_warn_strerror(void **state)
{
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	errno = ENOENT;
	log_warn("cannot open '%s'", "/nope");
	errno = EACCES;
	log_warnx("no errno here");
	errno = 0;
	log_warn("errno zero");
	cap_end();
	assert_matches(out.p, "^" TS_RE " warn svc\\[proc\\]: cannot open "
	    "'/nope': No such file or directory\n"
	    TS_RE " warn svc\\[proc\\]: no errno here\n"
	    TS_RE " warn svc\\[proc\\]: errno zero\n$");

	cap_begin();
	log_emit(LOG_LVL_INFO, EPIPE, "explicit");
	cap_end();
	assert_matches(out.p, "^" TS_RE " info svc\\[proc\\]: explicit: "
	    "Broken pipe\n$");
}

static void
test_level_parse(void **state)
{
	static const char *const bad[] = { "", "fatal", "INFO", "Info", "info ",
	    " info", "warning", "err", "error", "trace", "3", "debugx", "deb" };
	enum log_level lv;

	assert_int_equal(log_level_parse("debug", &lv), 0);
	assert_int_equal(lv, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("info", &lv), 0);
	assert_int_equal(lv, LOG_LVL_INFO);
	assert_int_equal(log_level_parse("warn", &lv), 0);
	assert_int_equal(lv, LOG_LVL_WARN);
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		lv = LOG_LVL_WARN;
		if (log_level_parse(bad[i], &lv) != -1)
			fail_msg("log_level_parse accepted '%s'", bad[i]);
		assert_int_equal(lv, LOG_LVL_WARN);	/* untouched */
	}
}

/* --- JSON format --- */

/*
 * Parse out as exactly one JSON line and check the common fields.  The
 * object is borrowed until the next call (teardown frees the last one,
 * also when an assertion fails half-way).
 */
static json_t *
json_line(const char *level, const char *service, const char *process)
{
	json_error_t jerr;
	json_t *obj, *v;
	const char *k;

	json_decref(line_obj);
	line_obj = NULL;
	if (out.len == 0 || out.p[out.len - 1] != '\n' ||
	    count_char(out.p, out.len, '\n') != 1)
		fail_msg("not exactly one line: '%.300s'", out.p);
	obj = json_loadb(out.p, out.len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		fail_msg("log line is not valid JSON (%s at %d): %.300s", jerr.text,
		    jerr.position, out.p);
	line_obj = obj;
	assert_true(json_is_object(obj));
	assert_int_equal(json_object_size(obj), 5);
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			fail_msg("field '%s' is not a string", k);
	}
	assert_non_null(json_object_get(obj, "ts"));
	assert_matches(json_string_value(json_object_get(obj, "ts")),
	    "^" TS_RE "$");
	assert_ts_now(json_string_value(json_object_get(obj, "ts")));
	assert_string_equal(json_string_value(json_object_get(obj, "level")),
	    level);
	assert_string_equal(json_string_value(json_object_get(obj, "service")),
	    service);
	assert_string_equal(json_string_value(json_object_get(obj, "process")),
	    process);
	assert_non_null(json_string_value(json_object_get(obj, "msg")));
	return obj;
}

static void
test_json_format(void **state)
{
	json_t *obj;

	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_JSON);
	cap_begin();
	log_info("hello %d", 42);
	cap_end();
	obj = json_line("info", "svc", "proc");
	assert_string_equal(json_string_value(json_object_get(obj, "msg")),
	    "hello 42");

	cap_begin();
	errno = ECONNREFUSED;
	log_warn("connect");
	cap_end();
	obj = json_line("warn", "svc", "proc");
	assert_string_equal(json_string_value(json_object_get(obj, "msg")),
	    "connect: Connection refused");

	/* switching formats at run time */
	log_set_format(LOG_FMT_TEXT);
	cap_begin();
	log_info("plain");
	cap_end();
	assert_matches(out.p, "^" TS_RE " info svc\\[proc\\]: plain\n$");
	log_set_format(LOG_FMT_JSON);
	cap_begin();
	log_info("json again");
	cap_end();
	obj = json_line("info", "svc", "proc");
}

static void
test_json_escapes(void **state)
{
	static const char msg[] = "q\"uote b\\ack nl\nline cr\r tab\t "
	    "ctl\x01\x1f\x7f slash/ utf8 \xc3\xa9\xe2\x82\xac end";
	json_t *obj;

	log_init("s\"v\\c", "p\nr", LOG_LVL_DEBUG, LOG_FMT_JSON);
	cap_begin();
	log_debug("%s", msg);
	cap_end();
	obj = json_line("debug", "s\"v\\c", "p\nr");
	assert_string_equal(json_string_value(json_object_get(obj, "msg")), msg);
	/* no raw control character made it onto the line */
	for (size_t i = 0; i + 1 < out.len; i++)
		assert_true((unsigned char)out.p[i] >= 0x20);
}

static void
test_json_long_message(void **state)
{
	static char big[5000];
	json_t *obj;
	const char *m;

	/* escaping can triple the size: quotes and control characters */
	for (size_t i = 0; i < 4999; i++)
		big[i] = i % 3 == 0 ? '"' : i % 3 == 1 ? '\x02' : 'a';
	big[4999] = '\0';
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_JSON);
	cap_begin();
	log_info("%s", big);
	cap_end();
	obj = json_line("info", "svc", "proc");
	m = json_string_value(json_object_get(obj, "msg"));
	/* truncated to a prefix of the message, never garbled */
	assert_true(strlen(m) > 100);
	assert_true(strlen(m) < 4999);
	assert_memory_equal(m, big, strlen(m));
}

static void
test_json_invalid_utf8(void **state)
{
	json_t *obj;

	/*
	 * A message holding bytes that are not UTF-8 (a peer's garbage,
	 * a file name) must still give a line JSON parsers accept.
	 */
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_JSON);
	cap_begin();
	log_info("bad bytes '\xff\xfe\xc3' end");
	cap_end();
	obj = json_line("info", "svc", "proc");
	assert_non_null(strstr(json_string_value(json_object_get(obj, "msg")),
	    "end"));
}

static void
test_json_truncated_utf8(void **state)
{
	static char big[3000];

	/*
	 * Multi-byte characters long enough to be cut by the line limit:
	 * the cut must not split a character.
	 */
	for (size_t i = 0; i + 2 < 3000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[2998] = '\0';
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_JSON);
	for (int pad = 0; pad < 8; pad++) {
		cap_begin();
		log_info("%.*s%s", pad, "xxxxxxxx", big);
		cap_end();
		json_line("info", "svc", "proc");
	}
}

/* --- one line per call across threads --- */

#define NTHREADS	4
#define NLINES		300

static void *
log_thread(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < NLINES; i++)
		log_info("thread %d line %d %s", id, i,
		    "padding-padding-padding-padding-padding-padding");
	return NULL;
}

static void
test_threads_no_interleave(void **state)
{
	pthread_t t[NTHREADS];
	char *line, *save = NULL;
	int seen[NTHREADS] = { 0 };
	size_t n = 0;

	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	cap_begin();
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, log_thread, (void *)(intptr_t)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	cap_end();
	for (line = strtok_r(out.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		int id, num;

		assert_matches(line, "^" TS_RE " info svc\\[proc\\]: thread [0-9]+ "
		    "line [0-9]+ padding-padding-padding-padding-padding-padding$");
		assert_int_equal(sscanf(strstr(line, "thread"), "thread %d line %d",
		    &id, &num), 2);
		assert_in_range(id, 0, NTHREADS - 1);
		assert_int_equal(num, seen[id]);	/* in order per thread */
		seen[id]++;
		n++;
	}
	assert_int_equal(n, NTHREADS * NLINES);
}

/* --- signal-safe path and fatal exits --- */

static void
test_signal_safe(void **state)
{
	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_JSON);
	cap_begin();
	log_signal_safe("caught SIGTERM");
	cap_end();
	assert_string_equal(out.p, "caught SIGTERM\n");
}

/* Run fatal or fatalx in a child with stderr captured; returns the status. */
static int
run_fatal(bool with_errno)
{
	int status = -1;
	pid_t pid;

	log_init("svc", "proc", LOG_LVL_INFO, LOG_FMT_TEXT);
	fflush(NULL);	/* exit() in the child flushes inherited buffers */
	cap_begin();
	pid = fork();
	if (pid == 0) {
		if (with_errno) {
			errno = EADDRINUSE;
			fatal("cannot bind '%s'", "127.0.0.1:1");
		}
		fatalx("bad configuration");
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	cap_end();
	assert_true(pid > 0);
	return status;
}

static void
test_fatal_exits(void **state)
{
	int st;

	st = run_fatal(false);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_matches(out.p, "^" TS_RE " fatal svc\\[proc\\]: "
	    "bad configuration\n$");

	st = run_fatal(true);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_matches(out.p, "^" TS_RE " fatal svc\\[proc\\]: cannot bind "
	    "'127.0.0.1:1': Address already in use\n$");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_text_format, teardown),
		cmocka_unit_test_teardown(test_text_tags_truncated, teardown),
		cmocka_unit_test_teardown(test_text_long_message, teardown),
		cmocka_unit_test_teardown(test_text_one_line_per_call, teardown),
		cmocka_unit_test_teardown(test_level_filter, teardown),
		cmocka_unit_test_teardown(test_warn_strerror, teardown),
		cmocka_unit_test_teardown(test_level_parse, teardown),
		cmocka_unit_test_teardown(test_json_format, teardown),
		cmocka_unit_test_teardown(test_json_escapes, teardown),
		cmocka_unit_test_teardown(test_json_long_message, teardown),
		cmocka_unit_test_teardown(test_json_invalid_utf8, teardown),
		cmocka_unit_test_teardown(test_json_truncated_utf8, teardown),
		cmocka_unit_test_teardown(test_threads_no_interleave, teardown),
		cmocka_unit_test_teardown(test_signal_safe, teardown),
		cmocka_unit_test_teardown(test_fatal_exits, teardown),
	};

	/* a local zone far from UTC, so a local-time timestamp shows */
	setenv("TZ", "XST+05:30", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
