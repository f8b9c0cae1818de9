/*
 * Unit tests for lib/workpool: the bounded pool that runs slow request
 * handlers.  Checks that every submitted job runs exactly once, that
 * jobs really run in parallel (four jobs meeting at a barrier that only
 * opens when all four are running at once), that a full queue answers
 * CL_EBUSY instead of growing, that one thread runs jobs in FIFO order,
 * and that workpool_free waits for queued and running jobs.  Waits are
 * bounded so a broken pool fails the test instead of hanging it.
 */
#include "compat.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "workpool.h"

#define WAIT_MS	10000	/* upper bound on any wait in these tests */

/* A gate jobs block on until the test opens it, with bounded waits. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int arrived;		/* jobs that reached the gate */
	int need;		/* barrier: open when this many arrived */
	bool open;
	int timed_out;		/* jobs that gave up waiting */
};

static void
gate_init(struct gate *g, int need)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->arrived = 0;
	g->need = need;
	g->open = false;
	g->timed_out = 0;
}

static void
gate_destroy(struct gate *g)
{
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
}

static struct timespec
deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Arrive, then wait until the gate opens (or WAIT_MS passes). */
static void
gate_pass(struct gate *g)
{
	struct timespec dl = deadline(WAIT_MS);

	pthread_mutex_lock(&g->lock);
	g->arrived++;
	if (g->need > 0 && g->arrived >= g->need)
		g->open = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open) {
		if (pthread_cond_timedwait(&g->cond, &g->lock, &dl) != 0 &&
		    !g->open) {
			g->timed_out++;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Wait until n jobs have arrived; false on timeout. */
static bool
gate_wait_arrived(struct gate *g, int n)
{
	struct timespec dl = deadline(WAIT_MS);
	bool ok = true;

	pthread_mutex_lock(&g->lock);
	while (g->arrived < n && ok)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &dl) != 0)
			ok = g->arrived >= n;
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* --- every job runs exactly once --- */

#define NJOBS 20000

static atomic_int total_runs;
static atomic_int run_count[NJOBS];

static void
count_job(void *arg)
{
	int i = *(int *)arg;

	atomic_fetch_add(&run_count[i], 1);
	atomic_fetch_add(&total_runs, 1);
}

static void
test_all_jobs_run_once(void **state)
{
	static int idx[NJOBS];
	struct workpool *wp = workpool_new(4, NJOBS, "test-count");

	assert_non_null(wp);
	atomic_store(&total_runs, 0);
	for (int i = 0; i < NJOBS; i++) {
		idx[i] = i;
		atomic_store(&run_count[i], 0);
	}
	for (int i = 0; i < NJOBS; i++)
		assert_int_equal(workpool_submit(wp, count_job, &idx[i]), 0);
	workpool_free(wp);	/* waits for all of them */
	assert_int_equal(atomic_load(&total_runs), NJOBS);
	for (int i = 0; i < NJOBS; i++)
		assert_int_equal(atomic_load(&run_count[i]), 1);
}

static void
test_small_queue_reused(void **state)
{
	static int idx[NJOBS];
	struct workpool *wp = workpool_new(3, 7, NULL);
	int accepted = 0;

	/* a ring of 7 slots wraps around many times */
	assert_non_null(wp);
	atomic_store(&total_runs, 0);
	for (int i = 0; i < 5000; i++) {
		idx[i] = i;
		atomic_store(&run_count[i], 0);
	}
	for (int i = 0; i < 5000; i++) {
		int rc;

		while ((rc = workpool_submit(wp, count_job, &idx[i])) == CL_EBUSY)
			sched_yield();
		assert_int_equal(rc, 0);
		accepted++;
	}
	workpool_free(wp);
	assert_int_equal(accepted, 5000);
	assert_int_equal(atomic_load(&total_runs), 5000);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(atomic_load(&run_count[i]), 1);
}

/* --- concurrency --- */

static void
barrier_job(void *arg)
{
	gate_pass(arg);
}

static void
test_concurrency(void **state)
{
	struct workpool *wp = workpool_new(4, 16, "test-conc");
	struct gate g;

	/* the gate opens only once all four jobs are inside it at once */
	assert_non_null(wp);
	gate_init(&g, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(workpool_submit(wp, barrier_job, &g), 0);
	workpool_free(wp);
	assert_int_equal(g.arrived, 4);
	assert_int_equal(g.timed_out, 0);
	gate_destroy(&g);
}

/* --- the queue bound --- */

static void
blocker_job(void *arg)
{
	gate_pass(arg);
}

static void
test_queue_full_is_busy(void **state)
{
	enum { QMAX = 5 };
	struct workpool *wp = workpool_new(1, QMAX, "test-busy");
	struct gate g;
	int rc;

	assert_non_null(wp);
	gate_init(&g, 0);
	atomic_store(&total_runs, 0);
	/* the one thread is now stuck in the blocker, its slot freed */
	assert_int_equal(workpool_submit(wp, blocker_job, &g), 0);
	assert_true(gate_wait_arrived(&g, 1));
	{
		static int idx[QMAX + 1];

		for (int i = 0; i < QMAX; i++) {
			idx[i] = i;
			atomic_store(&run_count[i], 0);
			assert_int_equal(workpool_submit(wp, count_job, &idx[i]),
			    0);
		}
		idx[QMAX] = QMAX;
		rc = workpool_submit(wp, count_job, &idx[QMAX]);
		assert_int_equal(rc, CL_EBUSY);
		/* still busy on a second try: nothing was taken off */
		rc = workpool_submit(wp, count_job, &idx[QMAX]);
		assert_int_equal(rc, CL_EBUSY);
		assert_int_equal(atomic_load(&total_runs), 0);
		gate_open(&g);
		workpool_free(wp);
		assert_int_equal(atomic_load(&total_runs), QMAX);
		for (int i = 0; i < QMAX; i++)
			assert_int_equal(atomic_load(&run_count[i]), 1);
	}
	assert_int_equal(g.timed_out, 0);
	gate_destroy(&g);
}

static void
test_queue_frees_up(void **state)
{
	struct workpool *wp = workpool_new(1, 1, "test-one");
	struct gate g;
	static int idx[3] = { 0, 1, 2 };

	/* with a queue of one: busy when full, accepted again once drained */
	assert_non_null(wp);
	gate_init(&g, 0);
	atomic_store(&total_runs, 0);
	for (int i = 0; i < 3; i++)
		atomic_store(&run_count[i], 0);
	assert_int_equal(workpool_submit(wp, blocker_job, &g), 0);
	assert_true(gate_wait_arrived(&g, 1));
	assert_int_equal(workpool_submit(wp, count_job, &idx[0]), 0);
	assert_int_equal(workpool_submit(wp, count_job, &idx[1]), CL_EBUSY);
	gate_open(&g);
	/* wait for the queued job to run, then the slot is free again */
	for (int i = 0; i < WAIT_MS && atomic_load(&total_runs) < 1; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&total_runs), 1);
	assert_int_equal(workpool_submit(wp, count_job, &idx[2]), 0);
	workpool_free(wp);
	assert_int_equal(atomic_load(&total_runs), 2);
	assert_int_equal(atomic_load(&run_count[0]), 1);
	assert_int_equal(atomic_load(&run_count[1]), 0);
	assert_int_equal(atomic_load(&run_count[2]), 1);
	gate_destroy(&g);
}

/* --- order and shutdown --- */

static int order[100];
static atomic_int order_n;

static void
order_job(void *arg)
{
	int n = atomic_fetch_add(&order_n, 1);

	order[n] = *(int *)arg;
}

static void
test_fifo_one_thread(void **state)
{
	struct workpool *wp = workpool_new(1, 100, "test-fifo");
	struct gate g;
	static int idx[100];

	assert_non_null(wp);
	gate_init(&g, 0);
	atomic_store(&order_n, 0);
	/* hold the thread so all 99 are queued before any runs */
	assert_int_equal(workpool_submit(wp, blocker_job, &g), 0);
	assert_true(gate_wait_arrived(&g, 1));
	for (int i = 0; i < 99; i++) {
		idx[i] = i;
		assert_int_equal(workpool_submit(wp, order_job, &idx[i]), 0);
	}
	gate_open(&g);
	workpool_free(wp);
	assert_int_equal(atomic_load(&order_n), 99);
	for (int i = 0; i < 99; i++)
		assert_int_equal(order[i], i);
	gate_destroy(&g);
}

static atomic_int slow_done;

static void
slow_job(void *arg)
{
	usleep(20000);
	atomic_fetch_add(&slow_done, 1);
}

static void
test_free_waits_for_queued(void **state)
{
	struct workpool *wp = workpool_new(2, 64, "test-free");

	assert_non_null(wp);
	atomic_store(&slow_done, 0);
	/* 20 jobs of 20 ms on 2 threads: about 200 ms still queued at free */
	for (int i = 0; i < 20; i++)
		assert_int_equal(workpool_submit(wp, slow_job, NULL), 0);
	workpool_free(wp);
	assert_int_equal(atomic_load(&slow_done), 20);

	workpool_free(NULL);	/* allowed */
}

static void
test_free_idle_and_long_name(void **state)
{
	struct workpool *wp;

	/* a pool that never ran anything shuts down promptly */
	wp = workpool_new(8, 1, "a-name-much-longer-than-fifteen-chars");
	assert_non_null(wp);
	workpool_free(wp);
	wp = workpool_new(CL_WORKERS_MAX, CL_WORK_QUEUE_MAX, "test-max");
	assert_non_null(wp);
	atomic_store(&slow_done, 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(workpool_submit(wp, slow_job, NULL), 0);
	workpool_free(wp);
	assert_int_equal(atomic_load(&slow_done), 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_jobs_run_once),
		cmocka_unit_test(test_small_queue_reused),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_queue_full_is_busy),
		cmocka_unit_test(test_queue_frees_up),
		cmocka_unit_test(test_fifo_one_thread),
		cmocka_unit_test(test_free_waits_for_queued),
		cmocka_unit_test(test_free_idle_and_long_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
