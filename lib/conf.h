/*
 * Runtime configuration: one registry table of options, one parser.
 *
 * The file format is line-based:
 *
 *   # comment
 *   log_level = debug               # before any section: every program
 *   [echo]                          # from here: only the program 'echo'
 *   listen = 127.0.0.1:7000
 *   banner = "text with spaces"     # quotes allow spaces and '#'
 *
 * One file can so configure a whole deployment.  A program applies the
 * lines before the first section and those of its own section; it checks
 * the syntax of every line but leaves other sections' names to their
 * programs.
 * A program describes its options in a table of struct conf_option (name,
 * type, bounds, default, flags, doc) that writes into a struct of its own
 * through offsetof.  The same table drives parsing, validation, defaults,
 * `config show` and the annotated example.  Every error names the file,
 * the line and the reason.  Unknown keys and repeated keys are errors.  A
 * file that sets a CONF_SECRET option must not be readable by group or
 * others.
 */
#ifndef CL_CONF_H
#define CL_CONF_H

#include "err.h"

enum conf_type {
	CONF_STRING,	/* char *, owned by the config struct */
	CONF_PATH,	/* char *, must be non-empty */
	CONF_INT,	/* int64_t within [min, max] */
	CONF_BOOL,	/* bool: true/false/yes/no/on/off/1/0 */
	CONF_ENUM,	/* int: index into choices */
	CONF_DURATION,	/* int64_t milliseconds: "250ms", "10s", "5m", "1h", bare = ms */
	CONF_SIZE,	/* int64_t bytes: "512", "64k", "16M", "1G" */
	CONF_ADDR,	/* char *, "host:port" or "[v6]:port", port 0-65535 */
};

enum conf_flags {
	CONF_SECRET = 1 << 0,	/* value never shown; file must be private */
	CONF_REQUIRED = 1 << 1,	/* must be set (a default does not count) */
};

struct conf_option {
	const char *name;
	enum conf_type type;
	size_t offset;			/* where the value lives in the struct */
	int64_t min, max;		/* INT, DURATION, SIZE */
	const char *def;		/* default, as text; NULL = none */
	const char *const *choices;	/* ENUM: NULL-terminated */
	unsigned flags;
	const char *doc;
};

/*
 * Apply every default, then the file at path (which may be NULL for
 * defaults only).  On failure err names file:line and the reason, and the
 * struct may be partly filled: release it with conf_release.
 */
int conf_load(const struct conf_option *opts, size_t nopts, void *out,
    const char *path, struct cl_error *err) CL_NONNULL(1, 3) CL_WUR;

/* As conf_load, applying also the lines of [section]. */
int conf_load_section(const struct conf_option *opts, size_t nopts, void *out,
    const char *path, const char *section, struct cl_error *err)
	CL_NONNULL(1, 3) CL_WUR;

/*
 * Read the raw value of name in section of the file at path (section
 * NULL = before any section) into out, without an option table: for
 * programs that need another program's setting (its address).  CL_ENOTFOUND
 * when absent.
 */
int conf_lookup(const char *path, const char *section, const char *name,
    char *out, size_t outlen, struct cl_error *err) CL_NONNULL(1, 3, 4) CL_WUR;

/*
 * Set one option from text, as if read at file:line (file may be NULL for
 * a command-line override).  Used by conf_load and by "-o key=value".
 */
int conf_set(const struct conf_option *opts, size_t nopts, void *out,
    const char *name, const char *value, const char *file, int line,
    struct cl_error *err) CL_NONNULL(1, 3, 4, 5) CL_WUR;

/*
 * Several tables read from one file section, each writing its own struct:
 * every service's shared options plus the service's own.
 */
struct conf_table {
	const struct conf_option *opts;
	size_t nopts;
	void *out;
};

/*
 * Apply every table's defaults, then the file's global lines and [section]
 * (path may be NULL).  Names are looked up across all tables.  When
 * check_required, a CONF_REQUIRED option the file did not set is an error.
 */
int conf_load_tables(const struct conf_table *t, size_t nt, const char *path,
    const char *section, bool check_required, struct cl_error *err)
	CL_NONNULL(1) CL_WUR;
int conf_set_tables(const struct conf_table *t, size_t nt, const char *name,
    const char *value, const char *file, int line, struct cl_error *err)
	CL_NONNULL(1, 3, 4) CL_WUR;

/* Free the strings the table owns in out. */
void conf_release(const struct conf_option *opts, size_t nopts, void *out)
	CL_NONNULL(1, 3);

/* Print "name = value" lines, secrets shown as "(secret)". */
void conf_show(const struct conf_option *opts, size_t nopts, const void *in,
    FILE *fp) CL_NONNULL(1, 3, 4);

/*
 * Split "host:port" / "[v6]:port" into host (without brackets) and port.
 * host must have room for hostlen bytes.
 */
int conf_addr_split(const char *addr, char *host, size_t hostlen,
    uint16_t *out_port) CL_NONNULL(1, 2, 4) CL_WUR;

#endif
