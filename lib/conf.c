/*
 * Configuration file parser and option registry.
 */
#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <fcntl.h>

#include "buf.h"
#include "conf.h"
#include "xalloc.h"

static const struct conf_option *
conf_find(const struct conf_option *opts, size_t nopts, const char *name)
{
	for (size_t i = 0; i < nopts; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

static int
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A number with a unit suffix; units[] pairs a suffix with a multiplier. */
static int
parse_scaled(const char *s, const char *const *suffix, const int64_t *mult,
    size_t nunits, int64_t *out)
{
	char num[32];
	size_t n = 0;

	while (s[n] != '\0' && (isdigit((unsigned char)s[n]) || (n == 0 && s[n] == '-')))
		n++;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_int(num, out) != 0)
		return -1;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(s + n, suffix[i]) == 0) {
			if (*out > INT64_MAX / mult[i] || *out < INT64_MIN / mult[i])
				return -1;
			*out *= mult[i];
			return 0;
		}
	}
	return -1;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < CL_ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
conf_addr_split(const char *addr, char *host, size_t hostlen, uint16_t *out_port)
{
	const char *colon, *h = addr;
	size_t hl;
	int64_t port;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)))
			return -1;
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_')
			return -1;
	}
	if (parse_int(colon + 1, &port) != 0 || port < 0 || port > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*out_port = (uint16_t)port;
	return 0;
}

int
conf_set(const struct conf_option *opts, size_t nopts, void *out,
    const char *name, const char *value, const char *file, int line,
    struct cl_error *err)
{
	const struct conf_table t = { opts, nopts, out };

	return conf_set_tables(&t, 1, name, value, file, line, err);
}

/* The table and option named name; NULL when none. */
static const struct conf_option *
tables_find(const struct conf_table *t, size_t nt, const char *name,
    size_t *out_table)
{
	for (size_t i = 0; i < nt; i++) {
		const struct conf_option *o = conf_find(t[i].opts, t[i].nopts, name);

		if (o != NULL) {
			*out_table = i;
			return o;
		}
	}
	return NULL;
}

int
conf_set_tables(const struct conf_table *t, size_t nt, const char *name,
    const char *value, const char *file, int line, struct cl_error *err)
{
	static const char *const dur_sfx[] = { "", "ms", "s", "m", "h" };
	static const int64_t dur_mul[] = { 1, 1, 1000, 60000, 3600000 };
	static const char *const size_sfx[] = { "", "k", "K", "m", "M", "g", "G" };
	static const int64_t size_mul[] = { 1, 1 << 10, 1 << 10, 1 << 20,
	    1 << 20, 1 << 30, 1 << 30 };
	size_t ti = 0;
	const struct conf_option *o = tables_find(t, nt, name, &ti);
	char *field;
	int64_t v = 0;
	int rc;

	if (o == NULL)
		return cl_error_set_at(err, CL_ECONFIG, file, line,
		    "unknown option '%s'", name);
	field = (char *)t[ti].out + o->offset;

	switch (o->type) {
	case CONF_STRING:
	case CONF_PATH:
	case CONF_ADDR: {
		char **sp = (char **)(void *)field;

		if (o->type == CONF_PATH && value[0] == '\0')
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "option '%s' needs a path", name);
		if (o->type == CONF_ADDR) {
			char host[256];
			uint16_t port;

			if (conf_addr_split(value, host, sizeof(host), &port) != 0)
				return cl_error_set_at(err, CL_ECONFIG, file,
				    line, "option '%s': '%s' is not HOST:PORT",
				    name, value);
		}
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case CONF_BOOL:
		if (parse_bool(value, (bool *)(void *)field) != 0)
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "option '%s': '%s' is not a boolean (true or false)",
			    name, value);
		return 0;
	case CONF_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++) {
			if (strcmp(o->choices[i], value) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		{
			struct buf b = BUF_INIT;

			for (int i = 0; o->choices[i] != NULL; i++)
				buf_addf(&b, "%s%s", i ? ", " : "", o->choices[i]);
			rc = cl_error_set_at(err, CL_ECONFIG, file, line,
			    "option '%s': '%s' is not one of: %s", name, value,
			    b.p);
			buf_release(&b);
			return rc;
		}
	case CONF_INT:
		rc = parse_int(value, &v);
		break;
	case CONF_DURATION:
		rc = parse_scaled(value, dur_sfx, dur_mul, CL_ARRAY_SIZE(dur_sfx), &v);
		break;
	case CONF_SIZE:
		rc = parse_scaled(value, size_sfx, size_mul, CL_ARRAY_SIZE(size_sfx), &v);
		break;
	default:
		BUG("option '%s' has unknown type %d", name, (int)o->type);
	}
	if (rc != 0)
		return cl_error_set_at(err, CL_ECONFIG, file, line,
		    "option '%s': '%s' is not a valid %s", name, value,
		    o->type == CONF_INT ? "integer" :
		    o->type == CONF_DURATION ? "duration (e.g. 500ms, 10s, 5m)" :
		    "size (e.g. 4096, 64k, 16M)");
	if (v < o->min || v > o->max)
		return cl_error_set_at(err, CL_ECONFIG, file, line,
		    "option '%s': %s is out of range [%" PRId64 ", %" PRId64 "]",
		    name, value, o->min, o->max);
	*(int64_t *)(void *)field = v;
	return 0;
}

/*
 * Parse one line into key and value, in place.  Returns 0 with *key NULL
 * for blank and comment lines.
 */
static int
conf_parse_line(char *s, char **key, char **value, char **section,
    const char *file, int line, struct cl_error *err)
{
	char *eq, *k, *v, *end;

	*key = NULL;
	*section = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (close == NULL || close == s + 1)
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "bad section header");
		*close = '\0';
		for (char *c = s + 1; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
				return cl_error_set_at(err, CL_ECONFIG, file,
				    line, "bad character in section name");
		for (end = close + 1; isspace((unsigned char)*end); end++)
			;
		if (*end != '\0' && *end != '#')
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "unexpected text after section header");
		*section = s + 1;
		return 0;
	}
	eq = strchr(s, '=');
	if (eq == NULL)
		return cl_error_set_at(err, CL_ECONFIG, file, line,
		    "expected 'name = value'");
	k = s;
	end = eq;
	while (end > k && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (*k == '\0')
		return cl_error_set_at(err, CL_ECONFIG, file, line,
		    "missing option name before '='");
	for (char *c = k; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "bad character in option name '%s'", k);

	v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	if (*v == '"') {
		char *close = strchr(v + 1, '"');

		if (close == NULL)
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "unterminated quoted value for '%s'", k);
		*close = '\0';
		end = close + 1;
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' && *end != '#')
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "unexpected text after quoted value for '%s'", k);
		v++;
	} else {
		char *hash = strchr(v, '#');

		if (hash != NULL)
			*hash = '\0';
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
	}
	for (char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "control character in value of '%s'", k);
	*key = k;
	*value = v;
	return 0;
}

static int
conf_read_file(const char *path, struct buf *out, bool *out_private,
    struct cl_error *err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cl_error_set_at(err, CL_ECONFIG, path, 0,
		    "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cl_error_set_at(err, CL_ECONFIG, path, 0,
		    "'%s' is not a regular file", path);
	}
	if (st.st_size > CL_CONF_FILE_MAX) {
		close(fd);
		return cl_error_set_at(err, CL_ECONFIG, path, 0,
		    "'%s' is larger than %d bytes", path, CL_CONF_FILE_MAX);
	}
	*out_private = (st.st_mode & 077) == 0;
	for (;;) {
		ssize_t n;

		buf_grow(out, 4096);
		n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return cl_error_set_at(err, CL_ECONFIG, path, 0,
			    "cannot read '%s': %s", path, strerror(e));
		}
		if (n == 0)
			break;
		buf_setlen(out, out->len + (size_t)n);
		if (out->len > CL_CONF_FILE_MAX) {
			close(fd);
			return cl_error_set_at(err, CL_ECONFIG, path, 0,
			    "'%s' is larger than %d bytes", path,
			    CL_CONF_FILE_MAX);
		}
	}
	close(fd);
	return 0;
}

/*
 * Walk text (read from file): call visit for every name = value line
 * that applies to section (before the first header, or under [section]).
 * Other lines are syntax-checked only.
 */
typedef int (*conf_visit_fn)(void *arg, char *key, char *value, int line,
    struct cl_error *err);

static int
conf_walk(struct buf *text, const char *file, const char *section,
    conf_visit_fn visit, void *arg, struct cl_error *err)
{
	char *p = text->p, *end = text->p + text->len;
	bool applies = true;
	int line = 0, rc;

	if ((p = memchr(text->p, '\0', text->len)) != NULL) {
		for (char *q = text->p; q < p; q++)
			line += *q == '\n';
		return cl_error_set_at(err, CL_ECONFIG, file, line + 1,
		    "'%s' contains a NUL byte: not a text file", file);
	}
	p = text->p;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *key, *value, *sec;

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		line++;
		if ((size_t)(nl - p) > CL_CONF_LINE_MAX)
			return cl_error_set_at(err, CL_ECONFIG, file, line,
			    "line longer than %d bytes", CL_CONF_LINE_MAX);
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if ((rc = conf_parse_line(p, &key, &value, &sec, file, line, err)) != 0)
			return rc;
		p = nl + 1;
		if (sec != NULL)
			applies = section != NULL && strcmp(sec, section) == 0;
		else if (key != NULL && applies &&
		    (rc = visit(arg, key, value, line, err)) != 0)
			return rc;
	}
	return 0;
}

struct load_state {
	const struct conf_table *t;
	size_t nt;
	const char *file;
	bool is_private;
	bool *seen[8];		/* per table, per option */
};

static int
load_visit(void *arg, char *key, char *value, int line, struct cl_error *err)
{
	struct load_state *st = arg;
	size_t ti = 0;
	const struct conf_option *o = tables_find(st->t, st->nt, key, &ti);
	int rc;

	if (o != NULL && st->seen[ti][o - st->t[ti].opts])
		return cl_error_set_at(err, CL_ECONFIG, st->file, line,
		    "option '%s' is set twice", key);
	if (o != NULL && (o->flags & CONF_SECRET) && !st->is_private)
		return cl_error_set_at(err, CL_ECONFIG, st->file, line,
		    "'%s' holds secret option '%s' but is readable by others "
		    "(chmod 600)", st->file, key);
	if ((rc = conf_set_tables(st->t, st->nt, key, value, st->file, line,
	    err)) != 0)
		return rc;
	st->seen[ti][o - st->t[ti].opts] = true;
	return 0;
}

struct lookup_state {
	const char *name;
	char *out;
	size_t outlen;
	bool found;
};

static int
lookup_visit(void *arg, char *key, char *value, int line, struct cl_error *err)
{
	struct lookup_state *st = arg;

	if (strcmp(key, st->name) == 0) {
		if (strlen(value) >= st->outlen)
			return cl_error_set_at(err, CL_ETOOBIG, NULL, line,
			    "value of '%s' is longer than %zu bytes", key,
			    st->outlen - 1);
		snprintf(st->out, st->outlen, "%s", value);
		st->found = true;
	}
	return 0;
}

int
conf_lookup(const char *path, const char *section, const char *name, char *out,
    size_t outlen, struct cl_error *err)
{
	struct lookup_state st = { name, out, outlen, false };
	struct buf text = BUF_INIT;
	bool is_private;
	int rc;

	if ((rc = conf_read_file(path, &text, &is_private, err)) == 0 &&
	    (rc = conf_walk(&text, path, section, lookup_visit, &st, err)) == 0 &&
	    !st.found)
		rc = cl_error_set(err, CL_ENOTFOUND, "'%s' sets no '%s'%s%s%s",
		    path, name, section ? " in section [" : "",
		    section ? section : "", section ? "]" : "");
	buf_release(&text);
	return rc;
}

int
conf_load(const struct conf_option *opts, size_t nopts, void *out,
    const char *path, struct cl_error *err)
{
	return conf_load_section(opts, nopts, out, path, NULL, err);
}

int
conf_load_section(const struct conf_option *opts, size_t nopts, void *out,
    const char *path, const char *section, struct cl_error *err)
{
	const struct conf_table t = { opts, nopts, out };

	return conf_load_tables(&t, 1, path, section, true, err);
}

int
conf_load_tables(const struct conf_table *t, size_t nt, const char *path,
    const char *section, bool check_required, struct cl_error *err)
{
	struct load_state st = { t, nt, path, false, { NULL } };
	struct buf text = BUF_INIT;
	int rc = 0;

	if (nt > CL_ARRAY_SIZE(st.seen))
		BUG("too many option tables");
	for (size_t k = 0; k < nt; k++) {
		for (size_t i = 0; i < t[k].nopts; i++) {
			if (t[k].opts[i].def == NULL)
				continue;
			if (conf_set_tables(t, nt, t[k].opts[i].name,
			    t[k].opts[i].def, "(default)", 0, err) != 0)
				BUG("default of option '%s' is invalid",
				    t[k].opts[i].name);
		}
		st.seen[k] = xcalloc(t[k].nopts ? t[k].nopts : 1, sizeof(bool));
	}
	if (path != NULL) {
		if ((rc = conf_read_file(path, &text, &st.is_private, err)) != 0)
			goto out;
		if ((rc = conf_walk(&text, path, section, load_visit, &st, err)) != 0)
			goto out;
	}
	for (size_t k = 0; check_required && k < nt; k++) {
		for (size_t i = 0; i < t[k].nopts; i++) {
			if ((t[k].opts[i].flags & CONF_REQUIRED) && !st.seen[k][i]) {
				if (path == NULL)
					rc = cl_error_set(err, CL_ECONFIG,
					    "required option '%s' is not set (no "
					    "configuration file given)",
					    t[k].opts[i].name);
				else
					rc = cl_error_set_at(err, CL_ECONFIG, path,
					    0, "required option '%s' is not set",
					    t[k].opts[i].name);
				goto out;
			}
		}
	}
out:
	for (size_t k = 0; k < nt; k++)
		free(st.seen[k]);
	buf_release(&text);
	return rc;
}

void
conf_release(const struct conf_option *opts, size_t nopts, void *out)
{
	for (size_t i = 0; i < nopts; i++) {
		char **sp = (char **)(void *)((char *)out + opts[i].offset);

		switch (opts[i].type) {
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR:
			free(*sp);
			*sp = NULL;
			break;
		default:
			break;
		}
	}
}

void
conf_show(const struct conf_option *opts, size_t nopts, const void *in, FILE *fp)
{
	for (size_t i = 0; i < nopts; i++) {
		const struct conf_option *o = &opts[i];
		const char *field = (const char *)in + o->offset;

		fprintf(fp, "%s = ", o->name);
		if (o->flags & CONF_SECRET) {
			fprintf(fp, "(secret)\n");
			continue;
		}
		switch (o->type) {
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR: {
			const char *s = *(char *const *)(const void *)field;

			fprintf(fp, "\"%s\"\n", s ? s : "");
			break;
		}
		case CONF_BOOL:
			fprintf(fp, "%s\n", *(const bool *)(const void *)field ?
			    "true" : "false");
			break;
		case CONF_ENUM:
			fprintf(fp, "%s\n",
			    o->choices[*(const int *)(const void *)field]);
			break;
		case CONF_DURATION:
			fprintf(fp, "%" PRId64 "ms\n",
			    *(const int64_t *)(const void *)field);
			break;
		default:
			fprintf(fp, "%" PRId64 "\n",
			    *(const int64_t *)(const void *)field);
			break;
		}
	}
}
