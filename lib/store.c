/*
 * The sealed store's front: checks every argument against the limits in
 * store.h, seals every value before a backend sees it and opens every
 * record a backend returns (record layout in store_int.h), then hands the
 * call to the backend chosen by name at open.
 *
 * Sealing is randomized (a fresh nonce per record), so the same value
 * sealed twice gives different bytes.  STORE_CHECK_EQ therefore cannot
 * pass the caller's plaintext down: store_apply reads the current record,
 * opens it, compares plaintexts, and gives the backend the sealed bytes it
 * read as the operand.  A change between that read and the backend's
 * transaction makes the backend's exact comparison fail, as it should.
 *
 * Limits of the scheme, stated once: sealing proves a record was written
 * by a holder of the key under that name; it does not prove the record is
 * the latest one (a backend can serve an older record of the same key,
 * a rollback), nor does it bind a queue item to its position in the queue.
 * Random 96-bit nonces keep GCM safe for about 2^32 records per key.
 */
#include "compat.h"

#include <openssl/rand.h>

#include "aead.h"
#include "secret.h"
#include "store_int.h"
#include "xalloc.h"

struct store {
	const struct store_backend *be;
	void *priv;
	uint8_t *key;			/* secret memory, AEAD key */
	uint8_t key_id[8];
};

#define SEAL_AD_PREFIX		"cloister-store-v1"	/* its NUL included */
#define SEAL_AD_MAX		(sizeof(SEAL_AD_PREFIX) + 1 + STORE_KEY_MAX)
#define SEAL_KIND_KEY		'k'
#define SEAL_KIND_QUEUE		'q'
#define NAME_SHOWN_MAX		48	/* bytes of a name quoted in messages */

#if STORE_QUEUE_NAME_MAX > STORE_KEY_MAX
#error "associated data is sized for keys, the longer names"
#endif

static const struct store_backend *const backends[] = {
	&store_backend_lmdb,
	&store_backend_pg,
	&store_backend_mem,
};

/*
 * name as printable text for messages: printable ASCII as is, other bytes
 * (and quotes, backslashes) as \xNN, cut after NAME_SHOWN_MAX bytes.
 */
#define SHOWN_SIZE	(4 * NAME_SHOWN_MAX + sizeof("..."))

static const char *
show_name(char out[SHOWN_SIZE], const void *name, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = name;
	size_t o = 0;

	for (size_t i = 0; i < len && i < NAME_SHOWN_MAX; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' &&
		    p[i] != '\\') {
			out[o++] = (char)p[i];
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	if (len > NAME_SHOWN_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static size_t
seal_ad(uint8_t ad[SEAL_AD_MAX], char kind, const void *name, size_t nlen)
{
	memcpy(ad, SEAL_AD_PREFIX, sizeof(SEAL_AD_PREFIX));
	ad[sizeof(SEAL_AD_PREFIX)] = (uint8_t)kind;
	memcpy(ad + sizeof(SEAL_AD_PREFIX) + 1, name, nlen);
	return sizeof(SEAL_AD_PREFIX) + 1 + nlen;
}

/* Seal val (vlen <= STORE_VALUE_MAX) for name into out (cleared first). */
static int
seal(struct store *s, char kind, const void *name, size_t nlen,
    const void *val, size_t vlen, struct buf *out, struct cl_error *err)
{
	uint8_t ad[SEAL_AD_MAX], *p;
	size_t adlen = seal_ad(ad, kind, name, nlen);
	int rc;

	buf_clear(out);
	buf_grow(out, vlen + STORE_SEAL_OVERHEAD);
	p = (uint8_t *)out->p;
	p[0] = STORE_SEAL_VERSION;
	memcpy(p + 1, s->key_id, sizeof(s->key_id));
	if (RAND_bytes(p + 9, AEAD_AES256GCM_NONCEBYTES) != 1)
		return cl_error_set(err, CL_EINTERNAL,
		    "cannot seal: no random nonce");
	rc = aead_aes256gcm_encrypt(p + STORE_SEAL_HDR, val, vlen, ad, adlen,
	    p + 9, s->key);
	if (rc != 0)
		return cl_error_set(err, rc, "cannot seal: encryption failed");
	buf_setlen(out, vlen + STORE_SEAL_OVERHEAD);
	return 0;
}

/*
 * Open record rec (sealed for name) into out (cleared first; left empty on
 * failure).  Refusals are CL_EDENIED with the reason.
 */
static int
unseal(struct store *s, char kind, const void *name, size_t nlen,
    const uint8_t *rec, size_t rlen, struct buf *out, struct cl_error *err)
{
	uint8_t ad[SEAL_AD_MAX];
	char shown[SHOWN_SIZE];
	const char *what = kind == SEAL_KIND_KEY ? "value of key" :
	    "item of queue";
	size_t adlen, mlen;
	int rc;

	buf_clear(out);
	if (rlen < STORE_SEAL_OVERHEAD)
		return cl_error_set(err, CL_EDENIED,
		    "cannot open %s '%s': record too short (%zu bytes)", what,
		    show_name(shown, name, nlen), rlen);
	if (rec[0] != STORE_SEAL_VERSION)
		return cl_error_set(err, CL_EDENIED,
		    "cannot open %s '%s': unknown record version %u", what,
		    show_name(shown, name, nlen), rec[0]);
	if (memcmp(rec + 1, s->key_id, sizeof(s->key_id)) != 0)
		return cl_error_set(err, CL_EDENIED,
		    "cannot open %s '%s': sealed under another key", what,
		    show_name(shown, name, nlen));
	mlen = rlen - STORE_SEAL_OVERHEAD;
	if (mlen > STORE_VALUE_MAX)
		return cl_error_set(err, CL_EDENIED,
		    "cannot open %s '%s': record too large (%zu bytes)", what,
		    show_name(shown, name, nlen), rlen);
	adlen = seal_ad(ad, kind, name, nlen);
	buf_grow(out, mlen);
	rc = aead_aes256gcm_decrypt((uint8_t *)out->p, rec + STORE_SEAL_HDR,
	    rlen - STORE_SEAL_HDR, ad, adlen, rec + 9, s->key);
	if (rc == CL_EDENIED)
		return cl_error_set(err, CL_EDENIED,
		    "cannot open %s '%s': altered or moved", what,
		    show_name(shown, name, nlen));
	if (rc != 0)
		return cl_error_set(err, rc, "cannot open %s '%s': decryption "
		    "failed", what, show_name(shown, name, nlen));
	buf_setlen(out, mlen);
	return 0;
}

/* --- argument checks --- */

static int
check_key(const void *key, size_t klen, struct cl_error *err)
{
	if (klen == 0 || key == NULL)
		return cl_error_set(err, CL_EINVAL, "store key is empty");
	if (klen > STORE_KEY_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "store key too long (%zu bytes, at most %d)", klen,
		    STORE_KEY_MAX);
	return 0;
}

static int
check_value(const void *val, size_t vlen, struct cl_error *err)
{
	if (val == NULL && vlen > 0)
		return cl_error_set(err, CL_EINVAL, "store value is NULL");
	if (vlen > STORE_VALUE_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "store value too large (%zu bytes, at most %u)", vlen,
		    STORE_VALUE_MAX);
	return 0;
}

static int
check_queue(const char *queue, size_t *out_len, struct cl_error *err)
{
	size_t n = strnlen(queue, STORE_QUEUE_NAME_MAX + 1);

	if (n == 0)
		return cl_error_set(err, CL_EINVAL, "queue name is empty");
	if (n > STORE_QUEUE_NAME_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "queue name too long (at most %d bytes)",
		    STORE_QUEUE_NAME_MAX);
	*out_len = n;
	return 0;
}

/* --- open and close --- */

struct store *
store_open(const char *backend, const char *location, const uint8_t key[32],
    const uint8_t key_id[8], struct cl_error *err)
{
	const struct store_backend *be = NULL;
	struct store *s;
	int rc;

	for (size_t i = 0; i < CL_ARRAY_SIZE(backends); i++)
		if (strcmp(backends[i]->name, backend) == 0)
			be = backends[i];
	if (be == NULL) {
		cl_error_set(err, CL_EINVAL, "unknown store backend '%s'",
		    backend);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->be = be;
	if ((s->key = secret_alloc(AEAD_AES256GCM_KEYBYTES)) == NULL) {
		cl_error_set(err, CL_ENOMEM,
		    "cannot allocate secret memory for the store key");
		free(s);
		return NULL;
	}
	memcpy(s->key, key, AEAD_AES256GCM_KEYBYTES);
	memcpy(s->key_id, key_id, sizeof(s->key_id));
	if ((rc = be->open(location, &s->priv, err)) != 0) {
		cl_error_set(err, rc, "cannot open %s store", be->name);
		secret_free(s->key);
		free(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->be->close(s->priv);
	secret_free(s->key);
	free(s);
}

const struct store_backend *
store_backend_of(struct store *s, void **out_priv)
{
	*out_priv = s->priv;
	return s->be;
}

/* --- keys --- */

int
store_get(struct store *s, const void *key, size_t klen, struct buf *out,
    struct cl_error *err)
{
	struct buf rec = BUF_INIT;
	int rc;

	buf_clear(out);
	if ((rc = check_key(key, klen, err)) != 0)
		return rc;
	if ((rc = s->be->get(s->priv, key, klen, &rec, err)) == 0)
		rc = unseal(s, SEAL_KIND_KEY, key, klen, (uint8_t *)rec.p,
		    rec.len, out, err);
	buf_release(&rec);
	return rc;
}

int
store_put(struct store *s, const void *key, size_t klen, const void *val,
    size_t vlen, struct cl_error *err)
{
	struct buf rec = BUF_INIT;
	int rc;

	if ((rc = check_key(key, klen, err)) != 0 ||
	    (rc = check_value(val, vlen, err)) != 0)
		return rc;
	if ((rc = seal(s, SEAL_KIND_KEY, key, klen, val, vlen, &rec, err)) ==
	    0)
		rc = s->be->put(s->priv, key, klen, rec.p, rec.len, err);
	buf_release(&rec);
	return rc;
}

int
store_del(struct store *s, const void *key, size_t klen, struct cl_error *err)
{
	int rc;

	if ((rc = check_key(key, klen, err)) != 0)
		return rc;
	return s->be->del(s->priv, key, klen, err);
}

/*
 * The CHECK_EQ op at index i: read and open the current record, compare
 * with the expected value, and keep the sealed bytes in rec for the
 * backend.
 */
static int
pre_check(struct store *s, const struct store_op *op, size_t i,
    struct buf *rec, size_t *out_failed, struct cl_error *err)
{
	struct buf cur = BUF_INIT;
	char shown[SHOWN_SIZE];
	int rc;

	rc = s->be->get(s->priv, op->key, op->klen, rec, err);
	if (rc == CL_ENOTFOUND) {
		if (err != NULL)
			cl_error_clear(err);
		rc = CL_ESTATE;
	} else if (rc == 0) {
		rc = unseal(s, SEAL_KIND_KEY, op->key, op->klen,
		    (uint8_t *)rec->p, rec->len, &cur, err);
		if (rc != 0)
			goto done;
		if (cur.len != op->vlen ||
		    (op->vlen > 0 && memcmp(cur.p, op->val, op->vlen) != 0))
			rc = CL_ESTATE;
	}
	if (rc == CL_ESTATE) {
		if (out_failed != NULL)
			*out_failed = i;
		cl_error_set(err, CL_ESTATE, "check %zu failed: key '%s' does "
		    "not hold the expected value", i,
		    show_name(shown, op->key, op->klen));
	}
done:
	buf_release(&cur);
	return rc;
}

int
store_apply(struct store *s, const struct store_op *ops, size_t n,
    size_t *out_failed, struct cl_error *err)
{
	struct store_op sops[STORE_APPLY_MAX];
	struct buf rec[STORE_APPLY_MAX];
	size_t i;
	int rc = 0;

	if (n > STORE_APPLY_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "too many operations in one transaction (%zu, at most %d)",
		    n, STORE_APPLY_MAX);
	for (i = 0; i < n; i++) {
		if ((rc = check_key(ops[i].key, ops[i].klen, err)) != 0)
			return rc;
		switch (ops[i].type) {
		case STORE_CHECK_EQ:
		case STORE_PUT:
			if ((rc = check_value(ops[i].val, ops[i].vlen, err)) !=
			    0)
				return rc;
			break;
		case STORE_CHECK_ABSENT:
		case STORE_DEL:
			break;
		default:
			return cl_error_set(err, CL_EINVAL,
			    "unknown store operation %d", (int)ops[i].type);
		}
	}
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		buf_init(&rec[i], 0);
	for (i = 0; i < n && rc == 0; i++) {
		sops[i] = ops[i];
		if (ops[i].type == STORE_CHECK_EQ)
			rc = pre_check(s, &ops[i], i, &rec[i], out_failed, err);
		else if (ops[i].type == STORE_PUT)
			rc = seal(s, SEAL_KIND_KEY, ops[i].key, ops[i].klen,
			    ops[i].val, ops[i].vlen, &rec[i], err);
		else
			continue;
		sops[i].val = rec[i].p;
		sops[i].vlen = rec[i].len;
	}
	if (rc == 0)
		rc = s->be->apply(s->priv, sops, n, out_failed, err);
	for (i = 0; i < n; i++)
		buf_release(&rec[i]);
	return rc;
}

/* --- listing --- */

struct list_ctx {
	struct store *s;
	store_list_fn fn;
	void *arg;
	struct buf val;
	int rc;
	struct cl_error *err;
};

static int
list_open(void *arg, const void *key, size_t klen, const void *rec,
    size_t rlen)
{
	struct list_ctx *c = arg;

	c->rc = unseal(c->s, SEAL_KIND_KEY, key, klen, rec, rlen, &c->val,
	    c->err);
	if (c->rc != 0)
		return 1;
	return c->fn(c->arg, key, klen, c->val.p, c->val.len);
}

int
store_list(struct store *s, const void *prefix, size_t plen,
    const void *after, size_t alen, size_t limit, store_list_fn fn, void *arg,
    bool *out_more, struct cl_error *err)
{
	struct list_ctx c = { s, fn, arg, BUF_INIT, 0, err };
	bool more = false;
	int rc;

	if (out_more != NULL)
		*out_more = false;
	if ((prefix == NULL && plen > 0) || (after == NULL && alen > 0))
		return cl_error_set(err, CL_EINVAL, "store list: NULL bound");
	if (plen > STORE_KEY_MAX || alen > STORE_KEY_MAX)
		return cl_error_set(err, CL_ETOOBIG,
		    "store list: bound too long (at most %d bytes)",
		    STORE_KEY_MAX);
	if (limit == 0 || limit > STORE_LIST_MAX)
		return cl_error_set(err, CL_EINVAL,
		    "store list: limit %zu out of range (1..%d)", limit,
		    STORE_LIST_MAX);
	rc = s->be->list(s->priv, prefix, plen, after, alen, limit, list_open,
	    &c, &more, err);
	if (rc == 0 && c.rc != 0)
		rc = c.rc;
	if (rc == 0 && out_more != NULL)
		*out_more = more;
	buf_release(&c.val);
	return rc;
}

/* --- queues --- */

int
store_enqueue(struct store *s, const char *queue, const void *val,
    size_t vlen, uint64_t *out_id, struct cl_error *err)
{
	struct buf rec = BUF_INIT;
	size_t qlen;
	int rc;

	if ((rc = check_queue(queue, &qlen, err)) != 0 ||
	    (rc = check_value(val, vlen, err)) != 0)
		return rc;
	if ((rc = seal(s, SEAL_KIND_QUEUE, queue, qlen, val, vlen, &rec,
	    err)) == 0)
		rc = s->be->enqueue(s->priv, queue, rec.p, rec.len, out_id,
		    err);
	buf_release(&rec);
	return rc;
}

int
store_dequeue(struct store *s, const char *queue, struct buf *out,
    uint64_t *out_id, struct cl_error *err)
{
	struct buf rec = BUF_INIT;
	size_t qlen;
	int rc;

	buf_clear(out);
	if ((rc = check_queue(queue, &qlen, err)) != 0)
		return rc;
	if ((rc = s->be->dequeue(s->priv, queue, &rec, out_id, err)) == 0)
		rc = unseal(s, SEAL_KIND_QUEUE, queue, qlen, (uint8_t *)rec.p,
		    rec.len, out, err);
	buf_release(&rec);
	return rc;
}

int
store_queue_length(struct store *s, const char *queue, uint64_t *out_n,
    struct cl_error *err)
{
	size_t qlen;
	int rc;

	if ((rc = check_queue(queue, &qlen, err)) != 0)
		return rc;
	return s->be->queue_length(s->priv, queue, out_n, err);
}
