/*
 * The memory store backend, for tests and benchmarks: nothing survives
 * store_close.  One mutex guards everything.  Keys live in an array
 * sorted by key (memcmp order, a prefix first), found by binary search,
 * so listing is a walk from a found position; inserting moves the tail
 * of the array, fine at the sizes tests and benchmarks use.  Each queue
 * is a singly linked FIFO with its own id counter.
 *
 * store_list copies the entries of a page under the lock and calls the
 * callback after releasing it, so the callback may use the store.
 */
#include "compat.h"

#include <pthread.h>

#include "store_int.h"
#include "xalloc.h"

struct mem_entry {
	uint8_t *key;
	size_t klen;
	uint8_t *val;
	size_t vlen;
};

struct mem_item {
	struct mem_item *next;
	uint64_t id;
	uint8_t *val;
	size_t vlen;
};

struct mem_queue {
	struct mem_queue *next;
	char *name;
	uint64_t next_id;
	uint64_t n;
	struct mem_item *head, *tail;
};

struct mem {
	pthread_mutex_t lock;
	struct mem_entry *entry;	/* sorted by key */
	size_t n, cap;
	struct mem_queue *queues;
};

static uint8_t *
dup_bytes(const void *p, size_t len)
{
	uint8_t *d = xmalloc(len > 0 ? len : 1);

	if (len > 0)
		memcpy(d, p, len);
	return d;
}

static int
key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = alen > 0 && blen > 0 ? memcmp(a, b, CL_MIN(alen, blen)) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * Index of the first entry not below key (or above it, when strictly),
 * and whether it equals key.
 */
static size_t
mem_search(struct mem *m, const void *key, size_t klen, bool strictly,
    bool *out_found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(m->entry[mid].key, m->entry[mid].klen, key,
		    klen);

		if (c < 0 || (strictly && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (out_found != NULL)
		*out_found = lo < m->n && key_cmp(m->entry[lo].key,
		    m->entry[lo].klen, key, klen) == 0;
	return lo;
}

static int
mem_open(const char *location, void **out_priv, struct cl_error *err)
{
	struct mem *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	*out_priv = m;
	return 0;
}

static void
mem_close(void *priv)
{
	struct mem *m = priv;
	struct mem_queue *q, *qnext;
	struct mem_item *it, *inext;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->entry[i].key);
		free(m->entry[i].val);
	}
	free(m->entry);
	for (q = m->queues; q != NULL; q = qnext) {
		qnext = q->next;
		for (it = q->head; it != NULL; it = inext) {
			inext = it->next;
			free(it->val);
			free(it);
		}
		free(q->name);
		free(q);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int
mem_get(void *priv, const void *key, size_t klen, struct buf *out,
    struct cl_error *err)
{
	struct mem *m = priv;
	bool found;
	size_t i;

	buf_clear(out);
	pthread_mutex_lock(&m->lock);
	i = mem_search(m, key, klen, false, &found);
	if (found)
		buf_add(out, m->entry[i].val, m->entry[i].vlen);
	pthread_mutex_unlock(&m->lock);
	return found ? 0 : cl_error_set(err, CL_ENOTFOUND, "key not found");
}

/* Set key to val; the lock is held. */
static void
mem_put_locked(struct mem *m, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	bool found;
	size_t i = mem_search(m, key, klen, false, &found);

	if (found) {
		free(m->entry[i].val);
		m->entry[i].val = dup_bytes(val, vlen);
		m->entry[i].vlen = vlen;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap > 0 ? 2 * m->cap : 64;
		m->entry = xrealloc(m->entry, m->cap * sizeof(*m->entry));
	}
	memmove(&m->entry[i + 1], &m->entry[i],
	    (m->n - i) * sizeof(*m->entry));
	m->entry[i].key = dup_bytes(key, klen);
	m->entry[i].klen = klen;
	m->entry[i].val = dup_bytes(val, vlen);
	m->entry[i].vlen = vlen;
	m->n++;
}

/* Remove key; false when absent.  The lock is held. */
static bool
mem_del_locked(struct mem *m, const void *key, size_t klen)
{
	bool found;
	size_t i = mem_search(m, key, klen, false, &found);

	if (!found)
		return false;
	free(m->entry[i].key);
	free(m->entry[i].val);
	memmove(&m->entry[i], &m->entry[i + 1],
	    (m->n - i - 1) * sizeof(*m->entry));
	m->n--;
	return true;
}

static int
mem_put(void *priv, const void *key, size_t klen, const void *val,
    size_t vlen, struct cl_error *err)
{
	struct mem *m = priv;

	pthread_mutex_lock(&m->lock);
	mem_put_locked(m, key, klen, val, vlen);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int
mem_del(void *priv, const void *key, size_t klen, struct cl_error *err)
{
	struct mem *m = priv;
	bool found;

	pthread_mutex_lock(&m->lock);
	found = mem_del_locked(m, key, klen);
	pthread_mutex_unlock(&m->lock);
	return found ? 0 : cl_error_set(err, CL_ENOTFOUND, "key not found");
}

static int
mem_apply(void *priv, const struct store_op *ops, size_t n,
    size_t *out_failed, struct cl_error *err)
{
	struct mem *m = priv;
	size_t i, j;
	bool found;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		bool ok = true;

		if (op->type == STORE_CHECK_EQ) {
			j = mem_search(m, op->key, op->klen, false, &found);
			ok = found && m->entry[j].vlen == op->vlen &&
			    (op->vlen == 0 ||
			    memcmp(m->entry[j].val, op->val, op->vlen) == 0);
		} else if (op->type == STORE_CHECK_ABSENT) {
			(void)mem_search(m, op->key, op->klen, false, &found);
			ok = !found;
		}
		if (!ok) {
			pthread_mutex_unlock(&m->lock);
			if (out_failed != NULL)
				*out_failed = i;
			return cl_error_set(err, CL_ESTATE,
			    "check %zu of the transaction failed", i);
		}
	}
	for (i = 0; i < n; i++) {
		if (ops[i].type == STORE_PUT)
			mem_put_locked(m, ops[i].key, ops[i].klen, ops[i].val,
			    ops[i].vlen);
		else if (ops[i].type == STORE_DEL)
			(void)mem_del_locked(m, ops[i].key, ops[i].klen);
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static bool
has_prefix(const struct mem_entry *e, const void *prefix, size_t plen)
{
	return e->klen >= plen && (plen == 0 ||
	    memcmp(e->key, prefix, plen) == 0);
}

static int
mem_list(void *priv, const void *prefix, size_t plen, const void *after,
    size_t alen, size_t limit, store_list_fn fn, void *arg, bool *out_more,
    struct cl_error *err)
{
	struct mem *m = priv;
	struct mem_entry *page;
	size_t i, n = 0, start;
	bool more;

	pthread_mutex_lock(&m->lock);
	start = mem_search(m, prefix, plen, false, NULL);
	if (after != NULL)
		start = CL_MAX(start, mem_search(m, after, alen, true, NULL));
	page = xcalloc(limit, sizeof(*page));
	for (i = start; i < m->n && n < limit &&
	    has_prefix(&m->entry[i], prefix, plen); i++, n++) {
		page[n].key = dup_bytes(m->entry[i].key, m->entry[i].klen);
		page[n].klen = m->entry[i].klen;
		page[n].val = dup_bytes(m->entry[i].val, m->entry[i].vlen);
		page[n].vlen = m->entry[i].vlen;
	}
	more = i < m->n && has_prefix(&m->entry[i], prefix, plen);
	pthread_mutex_unlock(&m->lock);

	for (i = 0; i < n; i++)
		if (fn(arg, page[i].key, page[i].klen, page[i].val,
		    page[i].vlen) != 0) {
			more = i + 1 < n || more;
			break;
		}
	for (i = 0; i < n; i++) {
		free(page[i].key);
		free(page[i].val);
	}
	free(page);
	*out_more = more;
	return 0;
}

/* The queue named name; created when create is set, else NULL if absent. */
static struct mem_queue *
mem_queue(struct mem *m, const char *name, bool create)
{
	struct mem_queue *q;

	for (q = m->queues; q != NULL; q = q->next)
		if (strcmp(q->name, name) == 0)
			return q;
	if (!create)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->name = xstrdup(name);
	q->next_id = 1;
	q->next = m->queues;
	m->queues = q;
	return q;
}

static int
mem_enqueue(void *priv, const char *queue, const void *val, size_t vlen,
    uint64_t *out_id, struct cl_error *err)
{
	struct mem *m = priv;
	struct mem_item *it = xcalloc(1, sizeof(*it));
	struct mem_queue *q;
	uint64_t id;

	it->val = dup_bytes(val, vlen);
	it->vlen = vlen;
	pthread_mutex_lock(&m->lock);
	q = mem_queue(m, queue, true);
	id = it->id = q->next_id++;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	pthread_mutex_unlock(&m->lock);
	if (out_id != NULL)
		*out_id = id;
	return 0;
}

static int
mem_dequeue(void *priv, const char *queue, struct buf *out, uint64_t *out_id,
    struct cl_error *err)
{
	struct mem *m = priv;
	struct mem_queue *q;
	struct mem_item *it = NULL;

	buf_clear(out);
	pthread_mutex_lock(&m->lock);
	q = mem_queue(m, queue, false);
	if (q != NULL && (it = q->head) != NULL) {
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
	}
	pthread_mutex_unlock(&m->lock);
	if (it == NULL)
		return cl_error_set(err, CL_ENOTFOUND, "queue is empty");
	buf_add(out, it->val, it->vlen);
	if (out_id != NULL)
		*out_id = it->id;
	free(it->val);
	free(it);
	return 0;
}

static int
mem_queue_length(void *priv, const char *queue, uint64_t *out_n,
    struct cl_error *err)
{
	struct mem *m = priv;
	struct mem_queue *q;

	pthread_mutex_lock(&m->lock);
	q = mem_queue(m, queue, false);
	*out_n = q != NULL ? q->n : 0;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

const struct store_backend store_backend_mem = {
	.name = "mem",
	.open = mem_open,
	.close = mem_close,
	.get = mem_get,
	.put = mem_put,
	.del = mem_del,
	.apply = mem_apply,
	.list = mem_list,
	.enqueue = mem_enqueue,
	.dequeue = mem_dequeue,
	.queue_length = mem_queue_length,
};
