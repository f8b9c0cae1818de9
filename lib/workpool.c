/*
 * Worker pool: a mutex-protected ring of jobs and a condition variable.
 */
#include "compat.h"

#include <pthread.h>

#include "err.h"
#include "log.h"
#include "workpool.h"
#include "xalloc.h"

struct job {
	workpool_fn fn;
	void *arg;
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *ring;
	size_t cap, head, count;
	bool stopping;
	pthread_t *threads;
	unsigned nthreads;
	char name[16];
};

static void *
worker_main(void *arg)
{
	struct workpool *wp = arg;

	pthread_setname_np(pthread_self(), wp->name);
	pthread_mutex_lock(&wp->lock);
	for (;;) {
		struct job j;

		while (wp->count == 0 && !wp->stopping)
			pthread_cond_wait(&wp->cond, &wp->lock);
		if (wp->count == 0)
			break;
		j = wp->ring[wp->head];
		wp->head = (wp->head + 1) % wp->cap;
		wp->count--;
		pthread_mutex_unlock(&wp->lock);
		j.fn(j.arg);
		pthread_mutex_lock(&wp->lock);
	}
	pthread_mutex_unlock(&wp->lock);
	return NULL;
}

struct workpool *
workpool_new(unsigned nthreads, size_t queue_max, const char *name)
{
	struct workpool *wp = xcalloc(1, sizeof(*wp));

	if (nthreads == 0 || queue_max == 0)
		BUG("workpool needs threads and a queue");
	pthread_mutex_init(&wp->lock, NULL);
	pthread_cond_init(&wp->cond, NULL);
	wp->cap = queue_max;
	wp->ring = xcalloc(queue_max, sizeof(*wp->ring));
	wp->threads = xcalloc(nthreads, sizeof(*wp->threads));
	snprintf(wp->name, sizeof(wp->name), "%s", name ? name : "worker");
	for (unsigned i = 0; i < nthreads; i++) {
		int e = pthread_create(&wp->threads[i], NULL, worker_main, wp);

		if (e != 0) {
			errno = e;
			log_warn("cannot start worker thread");
			break;
		}
		wp->nthreads++;
	}
	if (wp->nthreads == 0) {
		workpool_free(wp);
		return NULL;
	}
	return wp;
}

int
workpool_submit(struct workpool *wp, workpool_fn fn, void *arg)
{
	pthread_mutex_lock(&wp->lock);
	if (wp->count == wp->cap || wp->stopping) {
		pthread_mutex_unlock(&wp->lock);
		return CL_EBUSY;
	}
	wp->ring[(wp->head + wp->count) % wp->cap] = (struct job){ fn, arg };
	wp->count++;
	pthread_cond_signal(&wp->cond);
	pthread_mutex_unlock(&wp->lock);
	return 0;
}

void
workpool_free(struct workpool *wp)
{
	if (wp == NULL)
		return;
	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	pthread_cond_broadcast(&wp->cond);
	pthread_mutex_unlock(&wp->lock);
	for (unsigned i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	pthread_mutex_destroy(&wp->lock);
	pthread_cond_destroy(&wp->cond);
	free(wp->ring);
	free(wp->threads);
	free(wp);
}
