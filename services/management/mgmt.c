/*
 * The management service: functions, input and output files, tasks and
 * their approvals, and the audit log of the platform core
 * (docs/platform.md).
 *
 * Endpoint: internal only.  Its callers are the frontend, which
 * authenticates users and attaches caller_id, caller_role and
 * caller_attribute to every request, and the integration-test driver;
 * those fields are believed only because mutual attestation proves who
 * the peer is.  Peers: storage (every record) and access_control (every
 * decision), both internal and attested.
 *
 * Serving a call: check the caller's fields; run the call's attempt
 * (read the facts, ask access control, change storage with one
 * compare-and-set transaction), again from the start when a concurrent
 * change won the race; record the outcome in the audit log (every change,
 * every denial, every failure); answer.  Storage answers only once its
 * write is durable, so nothing is acknowledged before it is kept.
 *
 * Processes: one (main, I/O threads, workers).  Every call waits on
 * storage, so none is marked inline.
 */
#include "compat.h"

#include <time.h>

#include <openssl/rand.h>

#include "access_control_schema.h"
#include "log.h"
#include "management_schema.h"
#include "mgmt.h"
#include "storage_client.h"
#include "storage_schema.h"
#include "xalloc.h"

static struct mgmt mgmt;

#define O(f) offsetof(struct mgmt_opts, f)
static const struct conf_option mgmt_options[] = {
	{ "storage_addr", CONF_ADDR, O(storage_addr), 0, 0, NULL, NULL,
	  CONF_REQUIRED, "the storage service's internal endpoint" },
	{ "access_control_addr", CONF_ADDR, O(access_control_addr), 0, 0, NULL,
	  NULL, CONF_REQUIRED,
	  "the access_control service's internal endpoint" },
	{ "function_payload_max", CONF_SIZE, O(payload_max), 1,
	  MGMT_PAYLOAD_MAX, "16M", NULL, 0,
	  "largest function payload accepted, in decoded bytes" },
};
#undef O

/* The peers whose caller_* fields are believed: the frontend, and the
 * test driver and task benchmark, which act as the frontend would. */
static const char *const trusted_peers[] = { "frontend", "itest", "bench-task" };

static const char *const roles[] = { "PlatformAdmin", "FunctionOwner",
	"DataOwnerManager", "DataOwner" };

enum call_flags {
	CALL_CHANGES = 1 << 0,	/* record an "ok" outcome too */
};

/* Every request: the attempt that serves it and how its outcome is kept. */
static const struct {
	call_fn fn;
	unsigned flags;
} calls[MANAGEMENT_NMETHODS] = {
	[MANAGEMENT_REGISTER_INPUT_FILE] = { data_register_input,
	    CALL_CHANGES },
	[MANAGEMENT_REGISTER_OUTPUT_FILE] = { data_register_output,
	    CALL_CHANGES },
	[MANAGEMENT_REGISTER_FUSION_OUTPUT] = { data_register_fusion,
	    CALL_CHANGES },
	[MANAGEMENT_REGISTER_INPUT_FROM_OUTPUT] = { data_input_from_output,
	    CALL_CHANGES },
	[MANAGEMENT_GET_INPUT_FILE] = { data_get, 0 },
	[MANAGEMENT_GET_OUTPUT_FILE] = { data_get, 0 },
	[MANAGEMENT_UPDATE_INPUT_FILE] = { data_update, CALL_CHANGES },
	[MANAGEMENT_UPDATE_OUTPUT_FILE] = { data_update, CALL_CHANGES },
	[MANAGEMENT_REGISTER_FUNCTION] = { function_register, CALL_CHANGES },
	[MANAGEMENT_UPDATE_FUNCTION] = { function_update, CALL_CHANGES },
	[MANAGEMENT_GET_FUNCTION] = { function_get, 0 },
	[MANAGEMENT_DELETE_FUNCTION] = { function_delete, CALL_CHANGES },
	[MANAGEMENT_DISABLE_FUNCTION] = { function_disable, CALL_CHANGES },
	[MANAGEMENT_LIST_FUNCTIONS] = { function_list, 0 },
	[MANAGEMENT_GET_FUNCTION_USAGE_STATS] = { function_usage, 0 },
	[MANAGEMENT_CREATE_TASK] = { task_create, CALL_CHANGES },
	[MANAGEMENT_GET_TASK] = { task_get, 0 },
	[MANAGEMENT_ASSIGN_DATA] = { task_assign, CALL_CHANGES },
	[MANAGEMENT_APPROVE_TASK] = { task_approve, CALL_CHANGES },
	[MANAGEMENT_INVOKE_TASK] = { task_invoke, CALL_CHANGES },
	[MANAGEMENT_CANCEL_TASK] = { task_cancel, CALL_CHANGES },
	[MANAGEMENT_QUERY_AUDIT_LOGS] = { mgmt_audit_query, 0 },
	[MANAGEMENT_AUDIT_CHAIN] = { mgmt_audit_chain, 0 },
};

/*
 * Helpers of every call
 */

int64_t
mgmt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
mgmt_str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field));
}

void
mgmt_object(struct call *c, const char *id)
{
	snprintf(c->object, sizeof(c->object), "%s", id);
}

void
mgmt_new_id(char out[MGMT_ID_MAX + 1], const char *kind)
{
	uint8_t r[16];
	char hex[33];

	if (RAND_bytes(r, sizeof(r)) != 1)
		BUG("RAND_bytes failed");
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);	/* version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(out, MGMT_ID_MAX + 1, "%s-%.8s-%.4s-%.4s-%.4s-%.12s", kind,
	    hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int
mgmt_check_id(const char *id, const char *kind, const char *field,
    struct cl_error *err)
{
	size_t k = strlen(kind);
	const char *u;

	if (id == NULL || strncmp(id, kind, k) != 0 || id[k] != '-')
		goto bad;
	u = id + k + 1;
	if (strlen(u) != 36)
		goto bad;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : (u[i] == '\0' ||
		    strchr("0123456789abcdef", u[i]) == NULL))
			goto bad;
	}
	return 0;
bad:
	return cl_error_set(err, CL_EINVAL, "'%s' must be an id of the form "
	    "'%s-<uuid>', not '%.80s'", field, kind, id ? id : "");
}

int
mgmt_check_user(const json_t *v, const char *what, struct cl_error *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (s == NULL || len == 0 || len > MGMT_USER_MAX || strlen(s) != len)
		return cl_error_set(err, CL_EINVAL, "%s must be a user id (1 "
		    "to %d bytes)", what, MGMT_USER_MAX);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/' || *p == 0x7f)
			return cl_error_set(err, CL_EINVAL, "%s: '%.128s' is "
			    "not a user id (no spaces, '/' or control "
			    "characters)", what, s);
	return 0;
}

static int
cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	    json_string_value(*(json_t *const *)b));
}

int
mgmt_user_set(const json_t *arr, size_t max, const char *what, json_t **out,
    struct cl_error *err)
{
	size_t n = json_array_size(arr);
	json_t **v, *set;
	int rc;

	*out = NULL;
	if (!json_is_array(arr) || n == 0 || n > max)
		return cl_error_set(err, CL_EINVAL, "%s must be an array of 1 "
		    "to %zu user ids", what, max);
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = json_array_get(arr, i);
		if ((rc = mgmt_check_user(v[i], what, err)) != 0) {
			free(v);
			return rc;
		}
	}
	qsort(v, n, sizeof(*v), cmp_json_str);
	set = json_array();
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !json_equal(v[i], v[i - 1]))
			json_array_append(set, v[i]);
	free(v);
	*out = set;
	return 0;
}

bool
mgmt_has(const json_t *arr, const char *s)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *e = json_string_value(json_array_get(arr, i));

		if (e != NULL && strcmp(e, s) == 0)
			return true;
	}
	return false;
}

void
mgmt_set_add(json_t *arr, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		int d = strcmp(json_string_value(json_array_get(arr, i)), s);

		if (d == 0)
			return;
		if (d > 0)
			break;
	}
	json_array_insert_new(arr, i, json_string(s));
}

int
mgmt_check_text(const char *s, const char *what, struct cl_error *err)
{
	for (const char *p = s; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cl_error_set(err, CL_EINVAL, "%s may not "
			    "contain control characters", what);
	return 0;
}

int
mgmt_b64_check(const char *s, size_t len, const char *what,
    struct cl_error *err)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0;

	if (len % 4 != 0)
		goto bad;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			goto bad;
	return 0;
bad:
	return cl_error_set(err, CL_EINVAL, "%s must be base64 (standard "
	    "alphabet, padded, no spaces)", what);
}

size_t
mgmt_b64_size(const char *s, size_t len)
{
	size_t pad = (len > 0 && s[len - 1] == '=') + (len > 1 &&
	    s[len - 2] == '=');

	return len / 4 * 3 - pad;
}

bool
mgmt_is_admin(const struct call *c)
{
	return strcmp(c->who.role, "PlatformAdmin") == 0;
}

void
mgmt_key(char *out, size_t len, const char *table, const char *id)
{
	snprintf(out, len, "%s/%s", table, id);
}

int
mgmt_authorize(struct call *c, const char *action, json_t *facts,
    struct cl_error *err)
{
	char reason[ACL_REASON_MAX];
	struct cl_error e;
	bool allowed = false;
	int rc;

	cl_error_clear(&e);
	rc = acl_authorize(c->m->acl, action, &c->who, facts, &allowed, reason,
	    &e);
	json_decref(facts);
	if (rc != 0) {
		log_warnx("%s: no access decision for '%s': %s", c->action,
		    action, e.message);
		return cl_error_set(err, CL_EINTERNAL, "no access decision for "
		    "'%s': %s", action, e.message);
	}
	if (!allowed)
		return cl_error_set(err, CL_EDENIED, "%s", reason);
	return 0;
}

int
mgmt_get(struct call *c, const char *table, const char *id, const char *what,
    json_t **out, struct cl_error *err)
{
	char key[MGMT_ID_MAX + 32];
	struct cl_error e;
	int rc;

	mgmt_key(key, sizeof(key), table, id);
	cl_error_clear(&e);
	rc = storage_get(c->m->storage, key, out, &e);
	if (rc == CL_ENOTFOUND)
		return cl_error_set(err, rc, "no %s '%s'", what, id);
	if (rc != 0)
		return cl_error_set(err, rc, "storage: %s", e.message);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cl_error_set(err, CL_EINTERNAL, "the record of %s '%s' "
		    "is not an object", what, id);
	}
	return 0;
}

int
mgmt_apply(struct call *c, json_t *ops, struct cl_error *err)
{
	struct cl_error e;
	int rc;

	cl_error_clear(&e);
	rc = storage_apply(c->m->storage, ops, &e);
	json_decref(ops);
	if (rc == CL_ESTATE)
		return MGMT_RETRY;
	if (rc != 0)
		return cl_error_set(err, rc, "storage: %s", e.message);
	return 0;
}

void
mgmt_backoff(int attempt)
{
	unsigned r = 0;
	unsigned cap = 100u << CL_MIN(attempt, 6);	/* microseconds */

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)attempt * 2654435761u;
	usleep((useconds_t)(r % cap));
}

int
mgmt_bad_state(struct call *c, const char *what, const char *state,
    const char *need, struct cl_error *err)
{
	return cl_error_set(err, CL_ESTATE, "%s is '%s': %s needs %s", what,
	    state, c->action, need);
}

/*
 * Serving a call
 */

static bool
trusted_peer(const char *name)
{
	for (size_t i = 0; name != NULL &&
	    i < CL_ARRAY_SIZE(trusted_peers); i++)
		if (strcmp(name, trusted_peers[i]) == 0)
			return true;
	return false;
}

static int
mgmt_serve(struct rpc_ctx *ctx, const json_t *req, json_t *resp,
    struct cl_error *err)
{
	const struct rpc_method *m = ctx->method;
	struct call c = { .m = ctx->app, .action = m->name };
	const char *role = mgmt_str(req, "caller_role");
	bool known_role = false;
	int rc, attempt = 0;

	if (!trusted_peer(ctx->peer_name))
		return cl_error_set(err, CL_EDENIED, "management believes the "
		    "caller_* fields of the frontend only, not of '%s'",
		    ctx->peer_name ? ctx->peer_name : "an unattested peer");
	c.who.user = mgmt_str(req, "caller_id");
	c.who.role = role;
	c.who.attribute = mgmt_str(req, "caller_attribute");
	for (size_t i = 0; i < CL_ARRAY_SIZE(roles); i++)
		known_role |= strcmp(role, roles[i]) == 0;
	if (!known_role)
		rc = cl_error_set(err, CL_EINVAL, "unknown caller_role '%.32s'",
		    role);
	else
		rc = mgmt_check_user(json_object_get(req, "caller_id"),
		    "caller_id", err);
	while (rc == 0) {
		rc = calls[m->id].fn(&c, req, resp, err);
		if (rc != MGMT_RETRY)
			break;
		json_object_clear(resp);
		cl_error_clear(err);
		if (++attempt < MGMT_ATTEMPTS) {
			mgmt_backoff(attempt);
			rc = 0;
			continue;
		}
		log_warnx("%s: %d attempts lost to concurrent changes of '%s'",
		    m->name, attempt, c.object);
		rc = cl_error_set(err, CL_EBUSY, "'%s' changed %d times while "
		    "this call tried to change it: try again", c.object,
		    attempt);
	}
	if (rc == MGMT_RETRY || rc > 0)
		BUG("'%s' returned %d", m->name, rc);
	if (rc == 0 && (calls[m->id].flags & CALL_CHANGES))
		mgmt_audit_record(&c, "ok");
	else if (rc == CL_EDENIED)
		mgmt_audit_record(&c, "denied");
	else if (rc != 0)
		mgmt_audit_record(&c, "failed");
	return rc;
}

static rpc_handler_fn mgmt_handlers[MANAGEMENT_NMETHODS];

static int
mgmt_init(struct svc *s, struct cl_error *err)
{
	mgmt.storage = svc_peer_client(s, "storage", mgmt.opts.storage_addr,
	    &storage_service, err);
	if (mgmt.storage == NULL)
		return err->code;
	mgmt.acl = svc_peer_client(s, "access_control",
	    mgmt.opts.access_control_addr, &access_control_service, err);
	if (mgmt.acl == NULL)
		return err->code;
	return 0;
}

int
main(int argc, char **argv)
{
	for (size_t i = 0; i < MANAGEMENT_NMETHODS; i++) {
		if (calls[i].fn == NULL)
			BUG("request '%s' has no handler",
			    management_service.methods[i].name);
		mgmt_handlers[i] = mgmt_serve;
	}

	const struct svc_desc desc = {
		.name = "management",
		.internal = { .service = &management_service,
		    .handlers = mgmt_handlers },
		.app = &mgmt,
		.opts = mgmt_options,
		.nopts = CL_ARRAY_SIZE(mgmt_options),
		.opts_out = &mgmt.opts,
		.init = mgmt_init,
	};

	return svc_main(&desc, argc, argv);
}
