/*
 * Logging: formatting of text and JSON lines, level filtering, fatal exits.
 */
#include "compat.h"

#include <stdatomic.h>
#include <time.h>

#include "log.h"

static char log_service[32] = "cloister";
static char log_process[32] = "main";
static atomic_int log_level = LOG_LVL_INFO;
static atomic_int log_format = LOG_FMT_TEXT;

static const char *const level_names[] = {
	[LOG_LVL_FATAL] = "fatal",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void
log_init(const char *service, const char *process, enum log_level level,
    enum log_format format)
{
	if (service != NULL)
		snprintf(log_service, sizeof(log_service), "%s", service);
	if (process != NULL)
		snprintf(log_process, sizeof(log_process), "%s", process);
	log_level = level;
	log_format = format;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_format(enum log_format format)
{
	log_format = format;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 1; i < CL_ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
		    (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Append s to out[pos..cap) so that it cannot break the line format: in
 * text, control characters become \n, \t, \r or \xHH (a peer's newline
 * cannot forge a log line); in JSON, the string is escaped and invalid
 * UTF-8 becomes U+FFFD.  Never cuts a sequence in half.  Returns the new
 * length; leaves room for the line's closing characters.
 */
static size_t
log_escape(char *out, size_t pos, size_t cap, const char *str, bool json)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	while (*s != '\0' && pos + 8 < cap) {
		size_t n = json ? utf8_len(s) : 1;

		if (*s < 0x20 || *s == 0x7f || (json && (*s == '"' || *s == '\\'))) {
			out[pos++] = '\\';
			if (*s == '\n' || *s == '\t' || *s == '\r') {
				out[pos++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
			} else if (*s == '"' || *s == '\\') {
				out[pos++] = (char)*s;
			} else if (json) {
				memcpy(out + pos, "u00", 3);
				pos += 3;
				out[pos++] = hex[*s >> 4];
				out[pos++] = hex[*s & 15];
			} else {
				out[pos++] = 'x';
				out[pos++] = hex[*s >> 4];
				out[pos++] = hex[*s & 15];
			}
			s++;
		} else if (n == 0) {
			memcpy(out + pos, "\\ufffd", 6);
			pos += 6;
			s++;
		} else {
			memcpy(out + pos, s, n);
			pos += n;
			s += n;
		}
	}
	return pos;
}

static void
log_write(const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static CL_PRINTF(3, 0) void
log_vemit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[2048], line[4608], ts[64];
	struct timespec now;
	struct tm tm;
	size_t pos;
	int n;

	if ((int)level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000) % 1000);

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (errnum != 0) {
		char ebuf[128];
		const char *es = strerror_r(errnum, ebuf, sizeof(ebuf));

		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", es);
	}

	if (log_format == LOG_FMT_JSON) {
		pos = (size_t)snprintf(line, sizeof(line),
		    "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", ts,
		    level_names[level]);
		pos = log_escape(line, pos, sizeof(line), log_service, true);
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
		    "\",\"process\":\"");
		pos = log_escape(line, pos, sizeof(line), log_process, true);
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
		    "\",\"msg\":\"");
		pos = log_escape(line, pos, sizeof(line), msg, true);
		line[pos++] = '"';
		line[pos++] = '}';
		line[pos++] = '\n';
	} else {
		pos = (size_t)snprintf(line, sizeof(line), "%s %s %s[%s]: ", ts,
		    level_names[level], log_service, log_process);
		pos = log_escape(line, pos, sizeof(line), msg, false);
		line[pos++] = '\n';
	}
	log_write(line, pos);
}

void
log_emit(enum log_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, errnum, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_FATAL, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_FATAL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_signal_safe(const char *msg)
{
	log_write(msg, strlen(msg));
	log_write("\n", 1);
}
