/*
 * A fixed pool of worker threads running submitted jobs in FIFO order.
 *
 * The queue is bounded: workpool_submit refuses (returns CL_EBUSY) when
 * it holds queue_max jobs, so a flood of slow requests turns into "busy"
 * errors instead of unbounded memory.  workpool_free waits for queued and
 * running jobs to finish, then joins the threads.
 */
#ifndef CL_WORKPOOL_H
#define CL_WORKPOOL_H

struct workpool;

typedef void (*workpool_fn)(void *arg);

struct workpool *workpool_new(unsigned nthreads, size_t queue_max,
    const char *name) CL_WUR;
/* arg is borrowed until fn runs; fn owns it from then on. */
int workpool_submit(struct workpool *wp, workpool_fn fn, void *arg)
	CL_NONNULL(1, 2) CL_WUR;
void workpool_free(struct workpool *wp);

#endif
