/*
 * The platform client library (lib/client.h) against a real deployment:
 * t7102-client-library.sh runs `cloisterd up` and registers the users,
 * then this program, as a program using the library would:
 *
 *   client_test DIR PASSWORD-FILE
 *
 * where the users fo (FunctionOwner) and ann (DataOwner) have the
 * password in PASSWORD-FILE.  It checks: a missing deployment and a
 * wrong password are refused with their reasons; no call before a
 * login; an unknown request refused before anything is sent; an echo
 * task created, invoked and waited for, its result the message sent; a
 * task that fails (its file:// input is refused by the workers) waited
 * for with the failure and its reason; a wait that runs out on a task
 * never invoked; a token carried from one client to another.
 */
#include "compat.h"

#include "buf.h"
#include "client.h"
#include "crypto.h"
#include "harness.h"

#define WAIT_MS	30000

static const char *dir;
static char password[256];

static struct cl_client *
open_as(const char *user)
{
	struct cl_client_config cfg = { .dir = dir };
	struct cl_client *c;
	struct cl_error err;

	cl_error_clear(&err);
	if ((c = cl_client_open(&cfg, &err)) == NULL)
		harness_fail("cl_client_open: %s", err.message);
	if (user != NULL && cl_client_login(c, user, password, &err) != 0)
		harness_fail("login as %s: %s", user, err.message);
	return c;
}

/* Call method; its answer, or harness_fail. */
static json_t *
call(struct cl_client *c, const char *method, json_t *req)
{
	struct cl_error err;
	json_t *resp;

	cl_error_clear(&err);
	if (req == NULL)
		harness_fail("%s: cannot build the request", method);
	if (cl_client_call(c, method, req, &resp, &err) != 0)
		harness_fail("%s: %s", method, err.message);
	json_decref(req);
	return resp;
}

static char *
field(json_t *resp, const char *name)
{
	const char *v = json_string_value(json_object_get(resp, name));
	char *copy;

	if (v == NULL)
		harness_fail("no '%s' in the answer", name);
	copy = strdup(v);
	json_decref(resp);
	return copy;
}

static void
test_refusals(void)
{
	struct cl_client_config cfg = { .dir = "/nonexistent/cloister" };
	struct cl_client *c;
	struct cl_error err;
	json_t *resp = NULL, *req = json_object();

	cl_error_clear(&err);
	if ((c = cl_client_open(&cfg, &err)) != NULL || err.code == 0 ||
	    strstr(err.message, "/nonexistent/cloister") == NULL)
		harness_fail("a missing deployment: '%s'", err.message);

	c = open_as(NULL);
	cl_error_clear(&err);
	if (cl_client_call(c, "list_functions", req, &resp, &err) != CL_EAUTH)
		harness_fail("a call before login: '%s'", err.message);
	cl_error_clear(&err);
	if (cl_client_login(c, "ann", "not-the-password", &err) != CL_EAUTH)
		harness_fail("a wrong password: %d '%s'", err.code,
		    err.message);
	cl_error_clear(&err);
	if (cl_client_login(c, "ann", password, &err) != 0)
		harness_fail("login: %s", err.message);
	cl_error_clear(&err);
	if (cl_client_call(c, "drop_everything", req, &resp, &err) !=
	    CL_EUNKNOWN_REQ || resp != NULL)
		harness_fail("an unknown request: '%s'", err.message);
	json_decref(req);
	cl_client_close(c);
	printf("ok refusals\n");
}

static void
test_tasks(void)
{
	struct cl_client *fo = open_as("fo"), *ann = open_as("ann"), *again;
	struct cl_error err;
	char *echo, *join, *tid, *in_a, *in_b, *out;
	const char *tok;
	json_t *task = NULL;
	int rc;

	echo = field(call(fo, "register_function", json_pack("{s:s, s:s, "
	    "s:b, s:[{s:s}]}", "name", "builtin-echo", "executor_type",
	    "builtin", "public", 1, "arguments", "key", "message")),
	    "function_id");

	/* an echo task, end to end */
	tid = field(call(ann, "create_task", json_pack("{s:s, s:{s:s}}",
	    "function_id", echo, "function_arguments", "message",
	    "through the library")), "task_id");
	json_decref(call(ann, "invoke_task", json_pack("{s:s}", "task_id",
	    tid)));
	cl_error_clear(&err);
	if ((rc = cl_client_wait_task(ann, tid, WAIT_MS, &task, &err)) != 0)
		harness_fail("wait: %s", err.message);
	if (strcmp(json_string_value(json_object_get(json_object_get(task,
	    "task_result"), "return_value")) ?: "", "through the library") != 0)
		harness_fail("echo task: %s", json_dumps(task, 0));
	json_decref(task);
	free(tid);
	printf("ok echo task\n");

	/* a wait that runs out: a task never invoked (no files to assign or
	 * approve, so "approved" from the start) */
	tid = field(call(ann, "create_task", json_pack("{s:s, s:{s:s}}",
	    "function_id", echo, "function_arguments", "message", "x")),
	    "task_id");
	cl_error_clear(&err);
	if (cl_client_wait_task(ann, tid, 50, &task, &err) != CL_ETIMEDOUT ||
	    strstr(err.message, "still approved") == NULL ||
	    strcmp(json_string_value(json_object_get(task, "status")) ?: "",
	    "approved") != 0)
		harness_fail("wait on a task never invoked: '%s'", err.message);
	json_decref(task);
	free(tid);
	printf("ok wait runs out\n");

	/* a task that fails: the workers refuse file:// inputs here */
	join = field(call(fo, "register_function", json_pack("{s:s, s:s, s:b, "
	    "s:[{s:s}], s:[{s:s}, {s:s}], s:[{s:s}]}", "name", "builtin-"
	    "private-join-and-compute", "executor_type", "builtin", "public",
	    1, "arguments", "key", "num_user", "inputs",
	    "name", "input_data0", "name", "input_data1", "outputs", "name",
	    "output_data0")), "function_id");
	in_a = field(call(ann, "register_input_file", json_pack("{s:s, s:s, "
	    "s:{s:s, s:s, s:s}}", "url", "file:///data/a.enc", "cmac",
	    "00112233445566778899aabbccddeeff", "crypto_info", "schema",
	    "aes-gcm-128", "key", "AAAAAAAAAAAAAAAAAAAAAA==", "iv",
	    "AAAAAAAAAAAAAAAA")), "data_id");
	in_b = field(call(ann, "register_input_file", json_pack("{s:s, s:s, "
	    "s:{s:s, s:s, s:s}}", "url", "file:///data/b.enc", "cmac",
	    "00112233445566778899aabbccddeeff", "crypto_info", "schema",
	    "aes-gcm-128", "key", "AAAAAAAAAAAAAAAAAAAAAA==", "iv",
	    "AAAAAAAAAAAAAAAA")), "data_id");
	out = field(call(ann, "register_output_file", json_pack("{s:s, "
	    "s:{s:s, s:s, s:s}}", "url", "file:///data/out.enc",
	    "crypto_info", "schema", "aes-gcm-128", "key",
	    "AAAAAAAAAAAAAAAAAAAAAA==", "iv", "AAAAAAAAAAAAAAAA")), "data_id");
	tid = field(call(ann, "create_task", json_pack("{s:s, s:{s:i}, "
	    "s:{s:[s], s:[s]}, s:{s:[s]}}", "function_id", join,
	    "function_arguments", "num_user", 2, "inputs_ownership",
	    "input_data0", "ann", "input_data1", "ann", "outputs_ownership",
	    "output_data0", "ann")), "task_id");
	json_decref(call(ann, "assign_data", json_pack("{s:s, s:{s:s, s:s}, "
	    "s:{s:s}}", "task_id", tid, "inputs", "input_data0", in_a,
	    "input_data1", in_b, "outputs", "output_data0", out)));
	json_decref(call(ann, "approve_task", json_pack("{s:s}", "task_id",
	    tid)));
	json_decref(call(ann, "invoke_task", json_pack("{s:s}", "task_id",
	    tid)));
	cl_error_clear(&err);
	if (cl_client_wait_task(ann, tid, WAIT_MS, &task, &err) != CL_ESTATE ||
	    strstr(err.message, "failed: input 'input_data0': file:// urls "
	    "are disabled on this worker") == NULL ||
	    strcmp(json_string_value(json_object_get(task, "status")) ?: "",
	    "failed") != 0)
		harness_fail("a failing task: '%s'", err.message);
	json_decref(task);
	printf("ok failed task\n");

	/* a token carried to another client */
	again = open_as(NULL);
	tok = cl_client_token(ann, NULL);
	cl_error_clear(&err);
	if (tok == NULL || cl_client_use_token(again, "ann", tok, &err) != 0)
		harness_fail("use_token: %s", err.message);
	json_decref(call(again, "get_task", json_pack("{s:s}", "task_id",
	    tid)));
	if (cl_client_use_token(again, "ann", "forged", &err) != 0)
		harness_fail("use_token: %s", err.message);
	cl_error_clear(&err);
	if (cl_client_wait_task(again, tid, WAIT_MS, &task, &err) != CL_EAUTH)
		harness_fail("a forged token: '%s'", err.message);
	printf("ok token\n");

	cl_client_close(again);
	cl_client_close(fo);
	cl_client_close(ann);
	free(echo);
	free(join);
	free(tid);
	free(in_a);
	free(in_b);
	free(out);
}

int
main(int argc, char **argv)
{
	struct buf pw = BUF_INIT;
	struct cl_error err;

	if (argc != 3) {
		fputs("usage: client_test DIR PASSWORD-FILE\n", stderr);
		return 2;
	}
	dir = argv[1];
	cl_error_clear(&err);
	if (crypto_read_file(argv[2], sizeof(password) - 1, &pw, &err) != 0)
		harness_fail("%s", err.message);
	snprintf(password, sizeof(password), "%.*s", (int)strcspn(pw.p, "\n"),
	    pw.p);
	buf_release(&pw);
	test_refusals();
	test_tasks();
	printf("PASS\n");
	return 0;
}
