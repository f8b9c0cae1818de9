/*
 * cloister data|function|task|audit: the platform calls, through the
 * frontend, as the logged-in user.
 *
 *   cloister NOUN VERB [--FIELD VALUE]... [--json]
 *   cloister NOUN help            the verbs
 *   cloister NOUN VERB --help     the fields of one call
 *   cloister audit verify         walk the whole audit chain and check it
 *   cloister task wait --task-id ID [--max-wait SECONDS]
 *                                 wait until the task ends; print it
 *
 * The verbs are a table mapping each to a frontend request; their options
 * are that request's fields (underscores written as dashes), typed and
 * documented by the schema, so the command line never drifts from the
 * protocol.  A value for an object, array or "any" field is JSON, or
 * @FILE to read it from a file; an int is a number; a bool true or false.
 * A string field NAME may come from a file with --NAME-file PATH (a
 * function's --payload-file is the code itself, sent base64-encoded).
 * The answer is printed as JSON.
 */
#include "compat.h"

#include "audit.h"
#include "cli.h"
#include "client.h"
#include "crypto.h"
#include "frontend_schema.h"
#include "secret.h"

struct verb {
	const char *noun;
	const char *verb;
	const char *method;
};

static const struct verb verbs[] = {
	{ "data", "register-input", "register_input_file" },
	{ "data", "register-output", "register_output_file" },
	{ "data", "register-fusion-output", "register_fusion_output" },
	{ "data", "input-from-output", "register_input_from_output" },
	{ "data", "get-input", "get_input_file" },
	{ "data", "get-output", "get_output_file" },
	{ "data", "update-input", "update_input_file" },
	{ "data", "update-output", "update_output_file" },
	{ "function", "register", "register_function" },
	{ "function", "get", "get_function" },
	{ "function", "update", "update_function" },
	{ "function", "delete", "delete_function" },
	{ "function", "disable", "disable_function" },
	{ "function", "list", "list_functions" },
	{ "function", "usage", "get_function_usage_stats" },
	{ "task", "create", "create_task" },
	{ "task", "assign", "assign_data" },
	{ "task", "approve", "approve_task" },
	{ "task", "invoke", "invoke_task" },
	{ "task", "get", "get_task" },
	{ "task", "cancel", "cancel_task" },
	{ "audit", "query", "query_audit_logs" },
	{ "audit", "chain", "audit_chain" },
};

static const char *
type_word(enum rpc_type t)
{
	switch (t) {
	case RPC_T_STRING: return "TEXT";
	case RPC_T_INT: return "N";
	case RPC_T_NUMBER: return "NUMBER";
	case RPC_T_BOOL: return "true|false";
	case RPC_T_OBJECT: return "JSON-OBJECT|@FILE";
	case RPC_T_ARRAY: return "JSON-ARRAY|@FILE";
	case RPC_T_ANY: return "JSON|@FILE";
	}
	return "?";
}

static bool
is_credential(const char *name)
{
	return strcmp(name, "user") == 0 || strcmp(name, "token") == 0;
}

static void
print_verbs(FILE *fp, const char *noun)
{
	fprintf(fp, "usage: cloister %s VERB [--FIELD VALUE]... [--json]\n\n"
	    "verbs:\n", noun);
	for (size_t i = 0; i < CL_ARRAY_SIZE(verbs); i++) {
		const struct rpc_method *m;

		if (strcmp(verbs[i].noun, noun) != 0)
			continue;
		m = rpc_find(&frontend_service, verbs[i].method);
		fprintf(fp, "  %-24s %s\n", verbs[i].verb, m ? m->doc :
		    "(not offered by this platform's frontend)");
	}
	if (strcmp(noun, "audit") == 0)
		fprintf(fp, "  %-24s %s\n", "verify", "Walk the whole chain and "
		    "check every link and every hash you may read.");
	if (strcmp(noun, "task") == 0)
		fprintf(fp, "  %-24s %s\n", "wait", "Wait until a task is "
		    "finished, failed or canceled (--task-id ID [--max-wait S]).");
	fprintf(fp, "\n'cloister %s VERB --help' lists a verb's fields.\n", noun);
}

static void
print_fields(FILE *fp, const char *noun, const struct verb *v,
    const struct rpc_method *m)
{
	fprintf(fp, "usage: cloister %s %s [--FIELD VALUE]...\n\n%s\n\n", noun,
	    v->verb, m->doc ? m->doc : "");
	for (size_t i = 0; i < m->nreq; i++) {
		const struct rpc_field *f = &m->req[i];
		char opt[80];

		if (is_credential(f->name))
			continue;
		snprintf(opt, sizeof(opt), "--%s", f->name);
		for (char *c = opt; *c; c++)
			if (*c == '_')
				*c = '-';
		fprintf(fp, "  %-26s %-18s %s%s\n", opt, type_word(f->type),
		    (f->flags & RPC_F_REQUIRED) ? "(required) " : "",
		    f->doc ? f->doc : "");
	}
	fprintf(fp, "\nA string field may be read from a file: --FIELD-file PATH "
	    "(--payload-file: the code as is; it is sent base64-encoded).\n"
	    "Common: --dir DIR, --user ID (act as a logged-in user), "
	    "--timeout MS.\n");
}

/* Convert one option's text to the field's JSON type. */
static json_t *
field_value(const struct rpc_field *f, const char *text)
{
	struct buf file = BUF_INIT;
	json_t *v = NULL;
	char *end;

	switch (f->type) {
	case RPC_T_STRING:
		return json_string(text);
	case RPC_T_INT: {
		long long n;

		errno = 0;
		n = strtoll(text, &end, 10);
		if (errno != 0 || *end != '\0' || end == text)
			return NULL;
		return json_integer(n);
	}
	case RPC_T_BOOL:
		if (strcmp(text, "true") == 0)
			return json_true();
		if (strcmp(text, "false") == 0)
			return json_false();
		return NULL;
	default:
		break;
	}
	if (text[0] == '@') {
		struct cl_error err;

		cl_error_clear(&err);
		if (crypto_read_file(text + 1, 32u << 20, &file, &err) != 0) {
			cli_error("%s", err.message);
			return NULL;
		}
		text = file.p;
	}
	v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	buf_release(&file);
	return v;
}

/*
 * --NAME-file PATH: string field NAME read from a file, which may be far
 * larger than a command-line argument can be.  A function's payload is
 * code (a Python script, a WebAssembly module): the file holds it as is,
 * and it is sent base64-encoded, as the protocol wants.
 */
#define FILE_VALUE_MAX	(24u << 20)

static const struct rpc_field *
file_field(const struct rpc_method *m, const char *name)
{
	size_t n = strlen(name);

	if (n <= 5 || strcmp(name + n - 5, "_file") != 0)
		return NULL;
	for (size_t k = 0; k < m->nreq; k++)
		if (m->req[k].type == RPC_T_STRING &&
		    strlen(m->req[k].name) == n - 5 &&
		    strncmp(m->req[k].name, name, n - 5) == 0 &&
		    !is_credential(m->req[k].name))
			return &m->req[k];
	return NULL;
}

static json_t *
file_value(const struct rpc_field *f, const char *path)
{
	struct buf file = BUF_INIT, b64 = BUF_INIT;
	struct cl_error err;
	json_t *v = NULL;

	cl_error_clear(&err);
	if (crypto_read_file(path, FILE_VALUE_MAX, &file, &err) != 0) {
		cli_error("--%s-file: %s", f->name, err.message);
		goto out;
	}
	if (strcmp(f->name, "payload") == 0) {
		crypto_b64_encode(&b64, (const uint8_t *)file.p, file.len);
		v = json_stringn(b64.p, b64.len);
	} else if ((v = json_stringn(file.p, file.len)) == NULL)
		cli_error("--%s-file: '%s' is not UTF-8 text", f->name, path);
out:
	buf_release(&file);
	buf_release(&b64);
	return v;
}

/*
 * cloister audit verify: fetch the whole chain, page by page, and check
 * every link (and every hash of the entries this user may read).
 */
static int
audit_verify(int argc, char **argv)
{
	const struct rpc_method *m = rpc_find(&frontend_service, "audit_chain");
	struct cli_net net = { 0 };
	json_t *all = json_array();
	struct cli_conn c;
	struct cl_error err;
	int64_t after = 0;
	size_t full = 0, i;
	bool more = true;
	json_t *e;
	int rc = 1;

	for (int k = 2; k < argc; k++) {
		int r = cli_net_option(&net, argc, argv, &k);

		if (r <= 0) {
			fputs("usage: cloister audit verify [--dir DIR] [--user ID]\n",
			    stderr);
			json_decref(all);
			return 2;
		}
	}
	if (m == NULL) {
		cli_error("this platform's frontend offers no audit chain");
		json_decref(all);
		return 1;
	}
	if (cli_connect(&c, &net, "frontend", &frontend_service) != 0) {
		json_decref(all);
		return 1;
	}
	while (more) {
		json_t *req = json_pack("{s:I, s:i}", "after", (json_int_t)after,
		    "limit", 1000), *resp = NULL, *page;

		if (cli_attach_login(&net, req) != 0 ||
		    cli_call(&c, m, req, &resp, "audit chain") != 0) {
			json_decref(req);
			goto out;
		}
		json_decref(req);
		page = json_object_get(resp, "entries");
		more = json_is_true(json_object_get(resp, "more"));
		json_array_foreach(page, i, e) {
			json_array_append(all, e);
			after = json_integer_value(json_object_get(e, "seq"));
		}
		if (json_array_size(page) == 0)
			more = false;
		json_decref(resp);
	}
	json_array_foreach(all, i, e)
		full += json_object_get(e, "user") != NULL;
	cl_error_clear(&err);
	if (audit_check_chain(all, "0000000000000000000000000000000000000000"
	    "000000000000000000000000", &err) != 0) {
		cli_error("the audit log does NOT verify: %s", err.message);
		goto out;
	}
	printf("audit log intact: %zu entries, every link checked; %zu read in "
	    "full and their hashes recomputed\n", json_array_size(all), full);
	rc = 0;
out:
	json_decref(all);
	cli_disconnect(&c);
	return rc;
}

static int
platform(const char *noun, int argc, char **argv)
{
	struct cli_net net = { 0 };
	const struct verb *v = NULL;
	const struct rpc_method *m;
	json_t *req, *resp = NULL;
	bool as_json = false, help = false;
	struct cli_conn c;
	int rc;

	if (argc < 2 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		print_verbs(argc < 2 ? stderr : stdout, noun);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].noun, noun) == 0 &&
		    strcmp(verbs[i].verb, argv[1]) == 0)
			v = &verbs[i];
	if (v == NULL) {
		cli_error("unknown '%s' verb '%s' (see 'cloister %s help')", noun,
		    argv[1], noun);
		return 2;
	}
	if ((m = rpc_find(&frontend_service, v->method)) == NULL) {
		cli_error("'%s %s' is not offered by this platform's frontend", noun,
		    v->verb);
		return 1;
	}
	req = json_object();
	for (int i = 2; i < argc; i++) {
		const struct rpc_field *f = NULL;
		char name[80];
		int r = cli_net_option(&net, argc, argv, &i);
		json_t *val;

		if (r < 0)
			goto usage;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0) {
			help = true;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc)
			goto usage;
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		for (char *ch = name; *ch; ch++)
			if (*ch == '-')
				*ch = '_';
		for (size_t k = 0; k < m->nreq; k++)
			if (strcmp(m->req[k].name, name) == 0 &&
			    !is_credential(name))
				f = &m->req[k];
		if (f == NULL && (f = file_field(m, name)) != NULL) {
			if ((val = file_value(f, argv[++i])) == NULL) {
				json_decref(req);
				return 1;
			}
			json_object_set_new(req, f->name, val);
			continue;
		}
		if (f == NULL) {
			cli_error("'%s %s' has no option '%s'", noun, v->verb, argv[i]);
			goto usage;
		}
		if ((val = field_value(f, argv[++i])) == NULL) {
			cli_error("option '--%s' needs %s, not '%.80s'", argv[i - 1] + 2,
			    type_word(f->type), argv[i]);
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, f->name, val);
	}
	if (help) {
		print_fields(stdout, noun, v, m);
		json_decref(req);
		return 0;
	}
	for (size_t k = 0; k < m->nreq; k++) {
		if ((m->req[k].flags & RPC_F_REQUIRED) && !is_credential(m->req[k].name) &&
		    json_object_get(req, m->req[k].name) == NULL) {
			cli_error("'%s %s' needs --%s", noun, v->verb, m->req[k].name);
			goto usage;
		}
	}
	if (cli_attach_login(&net, req) != 0 ||
	    cli_connect(&c, &net, "frontend", &frontend_service) != 0) {
		json_decref(req);
		return 1;
	}
	rc = cli_call(&c, m, req, &resp, v->verb);
	if (rc == 0) {
		char *text;

		json_object_del(resp, "result");
		json_object_del(resp, "response");
		text = json_dumps(resp, as_json ? JSON_COMPACT : JSON_INDENT(2));
		printf("%s\n", json_object_size(resp) == 0 ? "done" : text);
		free(text);
	}
	json_decref(req);
	json_decref(resp);
	cli_disconnect(&c);
	return rc == 0 ? 0 : 1;
usage:
	json_decref(req);
	print_fields(stderr, noun, v, m);
	return 2;
}

/*
 * cloister task wait: the library's cl_client_wait_task (lib/client.h) as
 * the logged-in user, then the task printed.  Exit status: 0 finished,
 * 1 failed or canceled (the reason on stderr) or an error, 3 still
 * running at the deadline.
 */
static int
task_wait(int argc, char **argv)
{
	struct cli_net net = { 0 };
	struct cl_client_config cfg = { 0 };
	struct cl_client *c = NULL;
	struct buf token = BUF_INIT;
	struct cl_error err;
	const char *tid = NULL;
	char user[256];
	int64_t max_s = 600;
	json_t *task = NULL;
	bool as_json = false;
	int rc = 1, r;

	for (int i = 2; i < argc; i++) {
		char *end;

		if ((r = cli_net_option(&net, argc, argv, &i)) < 0)
			goto usage;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--task-id") == 0 && i + 1 < argc)
			tid = argv[++i];
		else if (strcmp(argv[i], "--max-wait") == 0 && i + 1 < argc) {
			errno = 0;
			max_s = strtoll(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i] ||
			    max_s < 0 || max_s > 7 * 24 * 3600) {
				cli_error("--max-wait needs seconds (0 to 604800), "
				    "not '%.40s'", argv[i]);
				return 2;
			}
		} else
			goto usage;
	}
	if (tid == NULL)
		goto usage;
	if ((cfg.dir = cli_dir(&net)) == NULL ||
	    cred_get(cfg.dir, net.user, user, sizeof(user), &token) != 0)
		goto out;
	cfg.frontend_addr = net.addr;
	cfg.timeout_ms = net.timeout_ms;
	cl_error_clear(&err);
	if ((c = cl_client_open(&cfg, &err)) == NULL ||
	    cl_client_use_token(c, user, token.p, &err) != 0) {
		cli_error("%s", err.message);
		goto out;
	}
	r = cl_client_wait_task(c, tid, max_s * 1000, &task, &err);
	if (r != 0)
		cli_error("%s", err.message);
	if (r == CL_EAUTH)
		fprintf(stderr, "(log in again with 'cloister login ID')\n");
	if (task != NULL) {
		char *text = json_dumps(task, as_json ? JSON_COMPACT :
		    JSON_INDENT(2));

		printf("%s\n", text);
		free(text);
	}
	rc = r == 0 ? 0 : r == CL_ETIMEDOUT ? 3 : 1;
out:
	json_decref(task);
	cl_client_close(c);
	secret_wipe(token.p, token.len);
	buf_release(&token);
	return rc;
usage:
	fputs("usage: cloister task wait --task-id ID [--max-wait SECONDS] "
	    "[--json]\n", stderr);
	return 2;
}

int
cmd_data(int argc, char **argv)
{
	return platform("data", argc, argv);
}

int
cmd_function(int argc, char **argv)
{
	return platform("function", argc, argv);
}

int
cmd_task(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "wait") == 0)
		return task_wait(argc, argv);
	return platform("task", argc, argv);
}

int
cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc, argv);
	return platform("audit", argc, argv);
}
