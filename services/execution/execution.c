/*
 * The execution service: the platform's workers.  It serves nothing (no
 * endpoint of its own); it calls the scheduler (docs/scheduler.md).
 *
 * Each of `capacity` runner threads pulls a staged task under a lease
 * (pull_task), fetches and checks and decrypts its inputs (exec_fetch.c),
 * runs the function in a sandboxed child (exec_run, lib/exec.h) on
 * plaintext anonymous files, encrypts and uploads each output under its
 * owners' key, and reports the outcome (update_task_result): ok with the
 * summary and each output's cmac, or failed with the reason.  One more
 * thread renews every lease held, every heartbeat_interval; a lease
 * reported canceled or lost sets its slot's cancel flag, which stops the
 * function's child within EXEC_WATCH_MS, and its outcome is dropped (the
 * scheduler would refuse it).
 *
 * A task runs under the worker's limits (cpu_limit, memory_limit,
 * wall_limit, output_limit), lowered by the task's own limits
 * {cpu_time, memory} when it has them: a task never raises them.
 *
 * An idle runner asks again after 2 ms, then twice as long each time up
 * to poll_interval; after a task, at once.
 */
#include "compat.h"

#include <signal.h>
#include <time.h>

#include "execution.h"
#include "log.h"
#include "scheduler_schema.h"
#include "svc.h"

static struct exe exe = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

#define O(f) offsetof(struct exe_opts, f)
static const struct conf_option exe_options[] = {
	{ "scheduler_addr", CONF_ADDR, O(scheduler_addr), 0, 0, NULL, NULL,
	  CONF_REQUIRED, "the scheduler's internal endpoint" },
	{ "worker_id", CONF_STRING, O(worker_id), 0, 0, NULL, NULL, 0,
	  "this worker's name for the scheduler (default: hostname-pid)" },
	{ "file_root", CONF_PATH, O(file_root), 0, 0, NULL, NULL, 0,
	  "the directory file:// urls of inputs and outputs must lie in "
	  "(unset: file:// urls are refused)" },
	{ "capacity", CONF_INT, O(capacity), 1, EXE_CAPACITY_MAX, "2", NULL,
	  0, "tasks run at once" },
	{ "poll_interval", CONF_DURATION, O(poll_ms), 10, 60 * 1000, "500ms",
	  NULL, 0, "the longest an idle runner waits before asking again "
	  "(it starts at 2 ms and doubles)" },
	{ "heartbeat_interval", CONF_DURATION, O(heartbeat_ms), 10,
	  60 * 1000, "2s", NULL, 0,
	  "how often leases are renewed (well below the lease time)" },
	{ "cpu_limit", CONF_DURATION, O(cpu_ms), 10, 24 * 3600 * 1000, "60s",
	  NULL, 0, "CPU time a task may use" },
	{ "wall_limit", CONF_DURATION, O(wall_ms), 10, 24 * 3600 * 1000,
	  "5m", NULL, 0, "elapsed time a task may take" },
	{ "memory_limit", CONF_SIZE, O(memory_bytes), 16 << 20,
	  (int64_t)64 << 30, "1G", NULL, 0, "address space of a task" },
	{ "output_limit", CONF_SIZE, O(output_bytes), 0, (int64_t)64 << 30,
	  "1G", NULL, 0, "bytes a task may write to each output" },
	{ "input_limit", CONF_SIZE, O(input_bytes), 0, (int64_t)64 << 30,
	  "1G", NULL, 0, "bytes an input's encrypted file may have" },
	{ "connect_timeout", CONF_DURATION, O(connect_ms), 10, 10 * 60 * 1000,
	  "10s", NULL, 0, "http(s): time to connect to a server, TLS "
	  "included" },
	{ "transfer_timeout", CONF_DURATION, O(transfer_ms), 10,
	  24 * 3600 * 1000, "5m", NULL, 0,
	  "http(s): time one request may take, from start to end" },
	{ "https_ca_file", CONF_PATH, O(https_ca_file), 0, 0, NULL, NULL, 0,
	  "PEM file of the CA certificates https servers are checked "
	  "against, instead of the system's (unset: the system's)" },
	{ "allowed_hosts", CONF_STRING, O(allowed_hosts), 0, 0, NULL, NULL, 0,
	  "http(s): the hosts urls may name, comma-separated; '*.example.org' "
	  "names its subdomains (unset: any host)" },
};
#undef O

/* Wait up to ms, or until stop; true when stopping. */
static bool
exe_wait(int64_t ms)
{
	struct timespec ts;
	int64_t at;
	bool stop;

	pthread_mutex_lock(&exe.mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	at = (int64_t)ts.tv_nsec + ms * 1000000;
	ts.tv_sec += at / 1000000000;
	ts.tv_nsec = at % 1000000000;
	while (!exe.stop && pthread_cond_timedwait(&exe.cv, &exe.mu, &ts) == 0)
		;
	stop = exe.stop;
	pthread_mutex_unlock(&exe.mu);
	return stop;
}

static bool
exe_stopping(void)
{
	bool stop;

	pthread_mutex_lock(&exe.mu);
	stop = exe.stop;
	pthread_mutex_unlock(&exe.mu);
	return stop;
}

/*
 * Running one task
 */

struct task_files {
	struct exec_file in[EXE_FILES_MAX], out[EXE_FILES_MAX];
	size_t nin, nout;
	char written[EXE_FILES_MAX][EXE_URL_MAX + 1];	/* stored, to undo */
	size_t nwritten;
};

static void
task_files_release(struct task_files *f, bool undo)
{
	for (size_t i = 0; i < f->nin; i++)
		close(f->in[i].fd);
	for (size_t i = 0; i < f->nout; i++)
		close(f->out[i].fd);
	if (undo)
		for (size_t i = 0; i < f->nwritten; i++)
			exe_unstore_output(f->written[i]);
}

/*
 * The limits of a run: the worker's, each lowered by the task's own
 * (limits {cpu_time (ms), memory (bytes)}, both optional; management
 * checked their ranges).  -1 with reason when they are malformed.
 */
static int
task_limits(const json_t *task, struct exec_limits *out, struct buf *reason)
{
	const json_t *limits = json_object_get(task, "limits"), *v;
	const char *k;

	out->cpu_ms = exe.opts.cpu_ms;
	out->wall_ms = exe.opts.wall_ms;
	out->memory_bytes = exe.opts.memory_bytes;
	out->output_bytes = exe.opts.output_bytes;
	if (limits == NULL)
		return 0;
	if (!json_is_object(limits))
		goto bad;
	json_object_foreach((json_t *)limits, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			goto bad;
		if (strcmp(k, "cpu_time") == 0)
			out->cpu_ms = CL_MIN(out->cpu_ms, json_integer_value(v));
		else if (strcmp(k, "memory") == 0)
			out->memory_bytes = CL_MIN(out->memory_bytes,
			    json_integer_value(v));
		else
			goto bad;
	}
	return 0;
bad:
	buf_adds(reason, "the staged task's limits are malformed");
	return -1;
}

/*
 * Run task in slot; the outcome to report ({ok: ...} or {failed: ...}).
 */
static json_t *
run_task(struct exe_slot *slot, const json_t *task)
{
	struct exec_request req = { 0 };
	struct exec_result res;
	struct task_files f = { .nin = 0 };
	struct buf reason = BUF_INIT;
	struct cl_error err;
	const json_t *inputs, *outputs, *spec;
	json_t *cmacs = NULL, *outcome = NULL, *s;
	const char *name;
	bool undo = true;

	req.executor_type = json_string_value(json_object_get(task,
	    "executor_type"));
	req.function_name = json_string_value(json_object_get(task,
	    "function_name"));
	req.arguments = json_object_get(task, "function_arguments");
	inputs = json_object_get(task, "input_data");
	outputs = json_object_get(task, "output_data");
	if (req.executor_type == NULL || req.function_name == NULL) {
		buf_adds(&reason, "the staged task names no executor or "
		    "function");
		goto done;
	}
	if (task_limits(task, &req.limits, &reason) != 0)
		goto done;
	if (json_object_size(inputs) > EXE_FILES_MAX ||
	    json_object_size(outputs) > EXE_FILES_MAX) {
		buf_addf(&reason, "a task has at most %d inputs and %d outputs",
		    EXE_FILES_MAX, EXE_FILES_MAX);
		goto done;
	}
	json_object_foreach((json_t *)inputs, name, spec) {
		int fd;

		if (exe_fetch_input(name, spec, exe.opts.file_root, &fd,
		    &reason) != 0)
			goto done;
		f.in[f.nin].name = name;
		f.in[f.nin++].fd = fd;
	}
	json_object_foreach((json_t *)outputs, name, spec) {
		int fd;

		if ((fd = exe_anon_file(name, &reason)) < 0)
			goto done;
		f.out[f.nout].name = name;
		f.out[f.nout++].fd = fd;
	}
	req.inputs = f.in;
	req.ninputs = f.nin;
	req.outputs = f.out;
	req.noutputs = f.nout;
	req.cancel = &slot->cancel;
	cl_error_clear(&err);
	memset(&res, 0, sizeof(res));
	if (exec_run(&req, &res, &err) != 0) {
		buf_addf(&reason, "cannot run the function: %s", err.message);
		goto done;
	}
	if (!res.ok) {
		buf_adds(&reason, res.reason[0] ? res.reason :
		    "the function failed");
		goto done;
	}
	cmacs = json_object();
	for (size_t i = 0; i < f.nout; i++) {
		char cmac[2 * 32 + 1];

		spec = json_object_get(outputs, f.out[i].name);
		if (exe_store_output(f.out[i].name, spec, exe.opts.file_root,
		    f.out[i].fd, cmac, f.written[f.nwritten],
		    sizeof(f.written[0]), &reason) != 0)
			goto done;
		f.nwritten++;
		json_object_set_new(cmacs, f.out[i].name, json_string(cmac));
	}
	if ((s = json_string(res.summary)) == NULL) {
		buf_adds(&reason, "the function's summary is not UTF-8 text");
		goto done;
	}
	outcome = json_pack("{s:{s:o, s:O}}", "ok", "summary", s, "outputs",
	    cmacs);
	undo = false;
done:
	json_decref(cmacs);
	task_files_release(&f, undo);
	if (outcome == NULL) {
		if (reason.len == 0)
			buf_adds(&reason, "the task failed");
		s = json_stringn(reason.p, reason.len);
		if (s == NULL)
			s = json_string("the task failed (its reason is not "
			    "UTF-8 text)");
		outcome = json_pack("{s:{s:o}}", "failed", "reason", s);
	}
	buf_release(&reason);
	return outcome;
}

/*
 * The runner threads
 */

static void
report(struct exe_slot *slot, json_t *outcome)
{
	struct cl_error err;
	json_t *req, *resp = NULL;
	bool drop;

	pthread_mutex_lock(&exe.mu);
	drop = slot->canceled || slot->lost;
	pthread_mutex_unlock(&exe.mu);
	if (drop) {
		log_info("task '%s': %s; its outcome is dropped", slot->task_id,
		    slot->canceled ? "canceled" : "lease lost");
		json_decref(outcome);
		return;
	}
	req = json_pack("{s:s, s:{s:s, s:s}, s:o}", "worker_id", exe.worker_id,
	    "lease", "task_id", slot->task_id, "lease_id", slot->lease_id,
	    "outcome", outcome);
	cl_error_clear(&err);
	if (rpc_client_call(exe.sched, &scheduler_service.methods[
	    SCHEDULER_UPDATE_TASK_RESULT], req, &resp, &err) != 0)
		log_warnx("task '%s': the scheduler refused its outcome: %s",
		    slot->task_id, err.message);
	else
		log_info("task '%s': %s", slot->task_id, json_string_value(
		    json_object_get(resp, "status")));
	json_decref(req);
	json_decref(resp);
}

/* An idle runner's first wait; it doubles up to poll_interval. */
#define EXE_IDLE_MIN_MS	2

static void *
runner_main(void *arg)
{
	struct exe_slot *slot = arg;
	struct cl_error err;
	json_t *req, *resp;
	const char *tid, *lid;
	int64_t idle_ms = 0;	/* the wait after the next empty answer */

	while (!exe_stopping()) {
		resp = NULL;
		req = json_pack("{s:s, s:I}", "worker_id", exe.worker_id,
		    "capacity", (json_int_t)exe.opts.capacity);
		cl_error_clear(&err);
		if (rpc_client_call(exe.sched, &scheduler_service.methods[
		    SCHEDULER_PULL_TASK], req, &resp, &err) != 0) {
			log_warnx("pull_task: %s", err.message);
			json_decref(req);
			if (exe_wait(exe.opts.poll_ms))
				break;
			continue;
		}
		json_decref(req);
		tid = json_string_value(json_object_get(json_object_get(resp,
		    "lease"), "task_id"));
		lid = json_string_value(json_object_get(json_object_get(resp,
		    "lease"), "lease_id"));
		if (!json_is_true(json_object_get(resp, "available")) ||
		    tid == NULL || lid == NULL || strlen(tid) >= EXE_ID_MAX ||
		    strlen(lid) >= EXE_ID_MAX) {
			json_decref(resp);
			idle_ms = CL_MIN(CL_MAX(idle_ms * 2, EXE_IDLE_MIN_MS),
			    exe.opts.poll_ms);
			if (exe_wait(idle_ms))
				break;
			continue;
		}
		idle_ms = 0;
		pthread_mutex_lock(&exe.mu);
		snprintf(slot->task_id, sizeof(slot->task_id), "%s", tid);
		snprintf(slot->lease_id, sizeof(slot->lease_id), "%s", lid);
		slot->canceled = slot->lost = false;
		atomic_store(&slot->cancel, false);
		slot->busy = true;
		pthread_mutex_unlock(&exe.mu);
		log_info("task '%s': running (attempt %lld)", slot->task_id,
		    (long long)json_integer_value(json_object_get(
		    json_object_get(resp, "task"), "attempt")));
		report(slot, run_task(slot, json_object_get(resp, "task")));
		json_decref(resp);
		pthread_mutex_lock(&exe.mu);
		slot->busy = false;
		pthread_mutex_unlock(&exe.mu);
	}
	return NULL;
}

/* Mark the slots whose task id is listed in arr (an array of strings). */
static void
mark(const json_t *arr, bool canceled)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *tid = json_string_value(v);

		for (int64_t j = 0; tid != NULL && j < exe.opts.capacity; j++) {
			struct exe_slot *slot = &exe.slot[j];

			if (!slot->busy || strcmp(slot->task_id, tid) != 0)
				continue;
			if (canceled && !slot->canceled)
				log_info("task '%s': canceled", tid);
			else if (!canceled && !slot->lost)
				log_warnx("task '%s': lease lost", tid);
			if (canceled)
				slot->canceled = true;
			else
				slot->lost = true;
			/* stop the function: its outcome would be refused */
			atomic_store(&slot->cancel, true);
		}
	}
}

static void *
heartbeat_main(void *arg)
{
	struct cl_error err;
	json_t *leases, *req, *resp;

	(void)arg;
	while (!exe_wait(exe.opts.heartbeat_ms)) {
		leases = json_array();
		pthread_mutex_lock(&exe.mu);
		for (int64_t j = 0; j < exe.opts.capacity; j++)
			if (exe.slot[j].busy && !exe.slot[j].canceled &&
			    !exe.slot[j].lost)
				json_array_append_new(leases,
				    json_pack("{s:s, s:s}", "task_id",
				    exe.slot[j].task_id, "lease_id",
				    exe.slot[j].lease_id));
		pthread_mutex_unlock(&exe.mu);
		if (json_array_size(leases) == 0) {
			json_decref(leases);
			continue;
		}
		req = json_pack("{s:s, s:o}", "worker_id", exe.worker_id,
		    "leases", leases);
		resp = NULL;
		cl_error_clear(&err);
		if (rpc_client_call(exe.sched, &scheduler_service.methods[
		    SCHEDULER_HEARTBEAT], req, &resp, &err) != 0) {
			log_warnx("heartbeat: %s", err.message);
		} else {
			/*
			 * A slot may have moved on to another task since the
			 * list was made; marking by task id is still right,
			 * as the scheduler answers for that task.
			 */
			pthread_mutex_lock(&exe.mu);
			mark(json_object_get(resp, "canceled"), true);
			mark(json_object_get(resp, "lost"), false);
			pthread_mutex_unlock(&exe.mu);
		}
		json_decref(req);
		json_decref(resp);
	}
	return NULL;
}

/*
 * Start and stop
 */

static int
exe_check_worker_id(const char *id, struct cl_error *err)
{
	if (id[0] == '\0' || strlen(id) > EXE_WORKER_MAX)
		return cl_error_set(err, CL_ECONFIG, "worker_id must be 1 "
		    "to %d bytes", EXE_WORKER_MAX);
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/' || *p == 0x7f)
			return cl_error_set(err, CL_ECONFIG, "worker_id "
			    "'%s' may not hold spaces, '/' or control "
			    "characters", id);
	return 0;
}

static void
exe_fini(struct svc *s)
{
	(void)s;
	pthread_mutex_lock(&exe.mu);
	exe.stop = true;
	pthread_cond_broadcast(&exe.cv);
	pthread_mutex_unlock(&exe.mu);
	for (size_t i = 0; i < exe.nthreads; i++)
		pthread_join(exe.thread[i], NULL);
	exe.nthreads = 0;
	exe_fetch_fini();
}

static int
exe_init(struct svc *s, struct cl_error *err)
{
	sigset_t mask, old;
	char host[64];
	int rc;

	if (exe.opts.worker_id != NULL) {
		snprintf(exe.worker_id, sizeof(exe.worker_id), "%s",
		    exe.opts.worker_id);
		if (strlen(exe.opts.worker_id) > EXE_WORKER_MAX)
			exe.worker_id[0] = '\0';
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == '/' ||
			    *p == 0x7f)
				*p = '_';
		snprintf(exe.worker_id, sizeof(exe.worker_id), "%s-%ld", host,
		    (long)getpid());
	}
	if ((rc = exe_check_worker_id(exe.worker_id, err)) != 0)
		return rc;
	exe.sched = svc_peer_client(s, "scheduler", exe.opts.scheduler_addr,
	    &scheduler_service, err);
	if (exe.sched == NULL)
		return err->code;
	if ((rc = exe_fetch_init(&exe.opts, err)) != 0)
		return rc;
	if (svc_check_only(s))
		return 0;

	/* svc_main waits for the stop signals: keep them off our threads */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	for (int64_t j = 0; j <= exe.opts.capacity; j++) {
		bool runner = j < exe.opts.capacity;

		rc = pthread_create(&exe.thread[j], NULL, runner ? runner_main :
		    heartbeat_main, runner ? &exe.slot[j] : NULL);
		if (rc != 0)
			break;
		exe.nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		exe_fini(s);
		return cl_error_set(err, CL_EINTERNAL, "cannot start a worker "
		    "thread: %s", strerror(rc));
	}
	log_info("worker '%s': %lld tasks at once", exe.worker_id,
	    (long long)exe.opts.capacity);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct svc_desc desc = {
		.name = EXE_SERVICE_NAME,
		.app = &exe,
		.opts = exe_options,
		.nopts = CL_ARRAY_SIZE(exe_options),
		.opts_out = &exe.opts,
		.init = exe_init,
		.fini = exe_fini,
	};

	return svc_main(&desc, argc, argv);
}
