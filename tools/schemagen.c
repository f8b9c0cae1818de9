/*
 * schemagen: turn schema/<service>.json into C tables.
 *
 *   schemagen SCHEMA.json OUT.c OUT.h
 *
 * A schema may "import" the requests of another service's schema (the
 * frontend forwards them): each imported request keeps its name, doc and
 * response; its request fields lose those named "caller_*" (the frontend
 * attaches them) and gain the caller's "user" and "token"; its
 * "upstream" is the imported service.
 *
 *   "import": [ { "schema": "management.json", "upstream": "management",
 *                 "only": ["say"] } ]          ("only" is optional)
 *
 * The generated files describe the service as a const struct rpc_service
 * (see lib/rpc.h) with its methods sorted by name, and an enum of method
 * ids.  They are build outputs, marked do-not-edit.  The generator is
 * strict: an unknown key, a bad type or a missing bound stops the build
 * with the schema file and the reason.
 */
#include "compat.h"

#include <ctype.h>

#include <jansson.h>

static const char *schema_path;

static CL_NORETURN CL_PRINTF(1, 2) void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "schemagen: %s: ", schema_path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
check_ident(const char *s, const char *what)
{
	if (!islower((unsigned char)s[0]))
		die("%s '%s' must start with a lowercase letter", what, s);
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			die("%s '%s' may use only a-z, 0-9 and '_'", what, s);
}

static void
check_keys(json_t *obj, const char *const *allowed, const char *where)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, k) == 0)
				break;
		if (*a == NULL)
			die("%s: unknown key '%s'", where, k);
	}
}

/* C string literal of s. */
static void
put_str(FILE *fp, const char *s)
{
	if (s == NULL) {
		fputs("NULL", fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\%03o", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
upper(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

static void
put_fields(FILE *fp, const char *svc, const char *method, const char *dir,
    json_t *fields)
{
	static const char *const fkeys[] = { "type", "required", "secret",
	    "min", "max", "doc", NULL };
	static const char *const types[] = { "string", "int", "number", "bool",
	    "object", "array", "any", NULL };
	static const char *const ctypes[] = { "RPC_T_STRING", "RPC_T_INT",
	    "RPC_T_NUMBER", "RPC_T_BOOL", "RPC_T_OBJECT", "RPC_T_ARRAY",
	    "RPC_T_ANY" };
	const char *name;
	json_t *f;
	char where[256];

	if (json_object_size(fields) == 0)
		return;
	fprintf(fp, "static const struct rpc_field %s_%s_%s[] = {\n", svc,
	    method, dir);
	json_object_foreach(fields, name, f) {
		const char *type;
		long long min, max;
		int t;

		snprintf(where, sizeof(where), "%s.%s.%s", method, dir, name);
		check_ident(name, "field");
		if (strcmp(name, "request") == 0 || strcmp(name, "response") == 0 ||
		    strcmp(name, "result") == 0 || strcmp(name, "error") == 0)
			die("%s: field name '%s' is reserved", where, name);
		if (!json_is_object(f))
			die("%s: must be an object", where);
		check_keys(f, fkeys, where);
		type = json_string_value(json_object_get(f, "type"));
		if (type == NULL)
			die("%s: missing 'type'", where);
		for (t = 0; types[t] && strcmp(types[t], type) != 0; t++)
			;
		if (types[t] == NULL)
			die("%s: unknown type '%s'", where, type);
		min = json_integer_value(json_object_get(f, "min"));
		max = json_object_get(f, "max") ? json_integer_value(
		    json_object_get(f, "max")) : -1;
		if (max < 0) {
			if (strcmp(type, "string") == 0 || strcmp(type, "array") == 0 ||
			    strcmp(type, "object") == 0 || strcmp(type, "int") == 0)
				die("%s: type '%s' needs a 'max' bound", where, type);
			max = 0;
		}
		if (min > max && max != 0)
			die("%s: min > max", where);
		fprintf(fp, "\t{ ");
		put_str(fp, name);
		fprintf(fp, ", %s, %s%s%s, %lldLL, %lldLL, ", ctypes[t],
		    json_is_true(json_object_get(f, "required")) ? "RPC_F_REQUIRED" : "0",
		    json_is_true(json_object_get(f, "secret")) ? " | RPC_F_SECRET" : "",
		    "", min, max);
		put_str(fp, json_string_value(json_object_get(f, "doc")));
		fprintf(fp, " },\n");
	}
	fprintf(fp, "};\n\n");
}

/* Copy the requests of each imported schema into reqs (see the top). */
static void
do_imports(json_t *imports, json_t *reqs, const char *self)
{
	static const char *const i_keys[] = { "schema", "upstream", "only", NULL };
	char dir[1024], path[2048];
	const char *slash = strrchr(self, '/');
	size_t i;
	json_t *imp;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - self) : 1,
	    slash ? self : ".");
	if (!json_is_array(imports))
		die("'import' must be an array");
	json_array_foreach(imports, i, imp) {
		const char *file = json_string_value(json_object_get(imp, "schema"));
		const char *up = json_string_value(json_object_get(imp, "upstream"));
		json_t *only = json_object_get(imp, "only"), *other, *oreqs, *m;
		json_error_t jerr;
		const char *name;

		check_keys(imp, i_keys, "import");
		if (file == NULL || up == NULL || strchr(file, '/') != NULL)
			die("an import needs 'schema' (a file beside this one) and "
			    "'upstream'");
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if ((other = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
			die("import '%s': line %d: %s", path, jerr.line, jerr.text);
		oreqs = json_object_get(other, "requests");
		json_object_foreach(oreqs, name, m) {
			json_t *copy, *rq, *f;
			const char *fname;
			void *tmp;
			bool wanted = only == NULL;
			size_t k;
			json_t *o;

			json_array_foreach(only, k, o)
				wanted |= json_is_string(o) &&
				    strcmp(json_string_value(o), name) == 0;
			if (!wanted)
				continue;
			if (json_object_get(reqs, name) != NULL)
				die("imported request '%s' is already defined", name);
			copy = json_deep_copy(m);
			json_object_del(copy, "inline");
			json_object_set_new(copy, "upstream", json_string(up));
			rq = json_object_get(copy, "request");
			if (rq == NULL) {
				rq = json_object();
				json_object_set_new(copy, "request", rq);
			}
			json_object_foreach_safe(rq, tmp, fname, f)
				if (strncmp(fname, "caller_", 7) == 0)
					json_object_del(rq, fname);
			json_object_set_new(rq, "user", json_pack("{s:s, s:b, s:i, s:i}",
			    "type", "string", "required", 1, "min", 1, "max", 128));
			json_object_set_new(rq, "token", json_pack("{s:s, s:b, s:b, "
			    "s:i, s:i}", "type", "string", "required", 1, "secret", 1,
			    "min", 1, "max", 1024));
			json_object_set_new(reqs, name, copy);
		}
		json_decref(other);
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(int argc, char **argv)
{
	static const char *const top_keys[] = { "service", "version", "doc",
	    "requests", "import", NULL };
	static const char *const m_keys[] = { "doc", "inline", "upstream",
	    "request", "response", NULL };
	json_error_t jerr;
	json_t *root, *reqs, *m;
	const char *svc, *name;
	const char **names;
	size_t n = 0, i;
	long long version;
	char usvc[64], uname[128];
	FILE *c, *h;

	if (argc != 4) {
		fprintf(stderr, "usage: schemagen SCHEMA.json OUT.c OUT.h\n");
		return 2;
	}
	schema_path = argv[1];
	root = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		die("line %d: %s", jerr.line, jerr.text);
	check_keys(root, top_keys, "top level");
	svc = json_string_value(json_object_get(root, "service"));
	version = json_integer_value(json_object_get(root, "version"));
	reqs = json_object_get(root, "requests");
	if (svc == NULL || version < 1 || !json_is_object(reqs))
		die("needs 'service', 'version' >= 1 and 'requests'");
	check_ident(svc, "service");
	upper(usvc, sizeof(usvc), svc);

	if (json_object_get(root, "import") != NULL)
		do_imports(json_object_get(root, "import"), reqs, argv[1]);
	names = calloc(json_object_size(reqs) + 1, sizeof(*names));
	json_object_foreach(reqs, name, m) {
		check_ident(name, "request");
		if (strlen(name) > 64)
			die("request name '%s' is too long", name);
		if (!json_is_object(m))
			die("request '%s' must be an object", name);
		check_keys(m, m_keys, name);
		names[n++] = name;
	}
	qsort(names, n, sizeof(*names), cmp_names);

	if ((c = fopen(argv[2], "w")) == NULL || (h = fopen(argv[3], "w")) == NULL)
		die("cannot write outputs: %s", strerror(errno));

	fprintf(h, "/* Generated by tools/schemagen from %s: do not edit. */\n",
	    argv[1]);
	fprintf(h, "#ifndef %s_SCHEMA_H\n#define %s_SCHEMA_H\n\n", usvc, usvc);
	fprintf(h, "#include \"rpc.h\"\n\n");
	fprintf(h, "#define %s_PROTOCOL_VERSION %lld\n\n", usvc, version);
	fprintf(h, "enum %s_method {\n", svc);
	for (i = 0; i < n; i++) {
		upper(uname, sizeof(uname), names[i]);
		fprintf(h, "\t%s_%s = %zu,\n", usvc, uname, i);
	}
	fprintf(h, "\t%s_NMETHODS = %zu\n};\n\n", usvc, n);
	fprintf(h, "extern const struct rpc_service %s_service;\n\n#endif\n", svc);

	fprintf(c, "/* Generated by tools/schemagen from %s: do not edit. */\n",
	    argv[1]);
	fprintf(c, "#include \"compat.h\"\n\n#include \"%s_schema.h\"\n\n", svc);
	for (i = 0; i < n; i++) {
		m = json_object_get(reqs, names[i]);
		put_fields(c, svc, names[i], "req", json_object_get(m, "request"));
		put_fields(c, svc, names[i], "resp", json_object_get(m, "response"));
	}
	fprintf(c, "static const struct rpc_method %s_methods[] = {\n", svc);
	for (i = 0; i < n; i++) {
		json_t *rq, *rs;

		m = json_object_get(reqs, names[i]);
		rq = json_object_get(m, "request");
		rs = json_object_get(m, "response");
		fprintf(c, "\t{ ");
		put_str(c, names[i]);
		fprintf(c, ", %zu, %s, ", i, json_is_true(json_object_get(m,
		    "inline")) ? "RPC_M_INLINE" : "0");
		put_str(c, json_string_value(json_object_get(m, "upstream")));
		fprintf(c, ", ");
		put_str(c, json_string_value(json_object_get(m, "doc")));
		if (json_object_size(rq))
			fprintf(c, ",\n\t  %s_%s_req, %zu", svc, names[i],
			    json_object_size(rq));
		else
			fprintf(c, ",\n\t  NULL, 0");
		if (json_object_size(rs))
			fprintf(c, ", %s_%s_resp, %zu },\n", svc, names[i],
			    json_object_size(rs));
		else
			fprintf(c, ", NULL, 0 },\n");
	}
	fprintf(c, "};\n\n");
	fprintf(c, "const struct rpc_service %s_service = {\n\t", svc);
	put_str(c, svc);
	fprintf(c, ", %lld, \"cloister-%s/%lld\", %s_methods, %zu\n};\n", version,
	    svc, version, svc, n);
	if (fclose(c) != 0 || fclose(h) != 0)
		die("cannot write outputs: %s", strerror(errno));
	free(names);
	json_decref(root);
	return 0;
}
