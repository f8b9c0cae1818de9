/*
 * The one log module.
 *
 * Every line is tagged with a UTC timestamp, the level, the service name
 * and the process name:  "2026-11-23T18:04:52.123Z info echo[main]: ..."
 * or, with LOG_FMT_JSON, one JSON object per line.  Lines go to stderr in
 * one write(2) each, so concurrent threads never interleave mid-line.
 *
 * Levels: fatal > warn > info > debug.  log_debug checks the level before
 * formatting.  log_warn appends strerror(errno); log_warnx does not.
 * fatal/fatalx log and exit(1): for startup problems only.
 */
#ifndef CL_LOG_H
#define CL_LOG_H

enum log_level {
	LOG_LVL_FATAL = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

enum log_format {
	LOG_FMT_TEXT = 0,
	LOG_FMT_JSON = 1,
};

/* Set the tags and options; callable again (e.g. after config is read). */
void log_init(const char *service, const char *process, enum log_level level,
    enum log_format format);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_format(enum log_format format);

/* Parse "debug"/"info"/"warn"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out) CL_WUR;

void log_emit(enum log_level level, int errnum, const char *fmt, ...)
	CL_PRINTF(3, 4);

#define log_debug(...) do { \
	if (log_get_level() >= LOG_LVL_DEBUG) \
		log_emit(LOG_LVL_DEBUG, 0, __VA_ARGS__); \
} while (0)
#define log_info(...)	log_emit(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_warnx(...)	log_emit(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_warn(...)	log_emit(LOG_LVL_WARN, errno, __VA_ARGS__)

CL_NORETURN void fatal(const char *fmt, ...) CL_PRINTF(1, 2);
CL_NORETURN void fatalx(const char *fmt, ...) CL_PRINTF(1, 2);

/*
 * Async-signal-safe: writes a fixed message to stderr without
 * formatting, locking or allocating.  For signal handlers.
 */
void log_signal_safe(const char *msg);

#endif
