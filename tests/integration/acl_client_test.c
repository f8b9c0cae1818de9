/*
 * acl_client_test: lib/acl_client.h against a real access_control
 * service, as an attested peer of its own ("acl-client-test" in the test
 * deployment, admitted by access_control's inbound list).
 *
 *   acl_client_test
 *
 * Checks that a yes is a yes with its reason, a no is a no with its
 * reason, and that everything else (a malformed question, a caller the
 * service refuses to decide about, a service that is gone) is an error
 * that leaves the answer at "refused": the client fails closed.
 */
#include "compat.h"

#include "access_control_schema.h"
#include "acl_client.h"
#include "harness.h"

#define ANY_ERROR	1	/* want_rc: any error (no cl_err is positive) */

static struct svc_proc proc = { .pid = -1 };

static CL_NORETURN CL_PRINTF(1, 2) void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	harness_stop(&proc);
	exit(1);
}

/*
 * Ask, and check the outcome: rc, allowed, and a reason holding want
 * (every answer and every error has a reason).
 */
static void
ask(struct rpc_client *cl, const char *action, const struct acl_subject *who,
    const char *facts_json, int want_rc, bool want_allowed, const char *want)
{
	char reason[ACL_REASON_MAX];
	json_t *facts = json_loads(facts_json, 0, NULL);
	struct cl_error err;
	bool allowed = !want_allowed;
	int rc;

	if (facts == NULL)
		fail("bad facts %s", facts_json);
	memset(reason, 'x', sizeof(reason) - 1);	/* must be overwritten */
	reason[sizeof(reason) - 1] = '\0';
	cl_error_clear(&err);
	rc = acl_authorize(cl, action, who, facts, &allowed, reason, &err);
	json_decref(facts);
	if ((want_rc == ANY_ERROR ? rc >= 0 : rc != want_rc) ||
	    allowed != want_allowed || strstr(reason, want) == NULL ||
	    strlen(reason) == 0)
		fail("%s by '%s': rc %d (want %d), %s (want %s), reason '%.255s' "
		    "(want '%s'), error '%s'", action,
		    who->user != NULL ? who->user : "(null)", rc, want_rc,
		    allowed ? "allowed" : "refused",
		    want_allowed ? "allowed" : "refused", reason, want,
		    err.message);
	printf("ok: %s by %s: %s\n", action,
	    who->user != NULL ? who->user : "(null)", reason);
}

int
main(void)
{
	static const struct acl_subject olga = { "olga", "DataOwner", "lab-a" };
	static const struct acl_subject pete = { "pete", "DataOwner", NULL };
	static const struct acl_subject root = { "root", "PlatformAdmin", "" };
	static const struct acl_subject nobody = { NULL, "DataOwner", "" };
	struct rpc_client_config cc = { .service = &access_control_service,
	    .timeout_ms = 5000 };
	struct rpc_client *cl;
	struct cl_error err;
	SSL_CTX *ctx;

	cl_error_clear(&err);
	if (harness_start(&proc, "access_control", NULL, NULL, 15000, &err) != 0)
		fail("%s", err.message);
	ctx = harness_client_ctx("access_control", access_control_service.alpn,
	    true);
	cc.addr = proc.internal_addr;
	cc.tls = ctx;
	if ((cl = rpc_client_new(&cc, &err)) == NULL)
		fail("client: %s", err.message);

	ask(cl, "get_input_file", &olga, "{\"owners\":[\"olga\"]}", 0, true,
	    "'olga' is an owner of the file");
	ask(cl, "get_input_file", &root, "{\"owners\":[\"olga\"]}", 0, false,
	    "not PlatformAdmin");
	/* no attribute (NULL) is the empty attribute: it matches nothing */
	ask(cl, "create_task", &pete, "{\"function\":{\"owner\":\"fred\","
	    "\"public\":false,\"allowlist\":[\"lab-b\"],\"disabled\":false}}", 0,
	    false, "neither 'pete' nor their attribute");
	ask(cl, "create_task", &olga, "{\"function\":{\"owner\":\"fred\","
	    "\"public\":false,\"allowlist\":[\"lab-a\"],\"disabled\":false}}", 0,
	    true, "attribute 'lab-a'");
	/* errors: refused, with why */
	ask(cl, "drop_table", &olga, "{}", CL_EINVAL, false,
	    "no decision: unknown action 'drop_table'");
	ask(cl, "get_input_file", &olga, "{}", CL_EINVAL, false,
	    "missing fact 'owners'");
	ask(cl, "get_input_file", &olga, "[]", CL_EINVAL, false,
	    "field 'object' must be an object");
	ask(cl, "get_input_file", &nobody, "{\"owners\":[\"olga\"]}", CL_EINVAL,
	    false, "field 'user'");
	/*
	 * the service gone: an error (connection refused, or a handshake
	 * failure should another program have taken the port), still refused
	 */
	if (harness_stop(&proc) != 0)
		fail("access_control did not exit cleanly");
	ask(cl, "get_input_file", &olga, "{\"owners\":[\"olga\"]}", ANY_ERROR,
	    false, "no decision");

	rpc_client_free(cl);
	SSL_CTX_free(ctx);
	printf("PASS\n");
	return 0;
}
