/*
 * Fuzz harness for sealed records (lib/store.c): the input is what a
 * hostile disk or database could hand back for a key or a queue item.
 * It goes straight into the backend (mem) beneath the sealing layer, and
 * is read back through store_get and store_dequeue.
 *
 * Invariants: never crash or leak; a record this harness did not seal is
 * never accepted (without the key, forging AES-GCM is out of reach: any
 * success traps), and every refusal is CL_EDENIED or CL_EPROTO with a
 * message.  The first input byte chooses key or queue.
 */
#include "compat.h"

#include "store.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static struct store *st;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = { 1, 2, 3 }, id[8] = { 9 };
	const struct store_backend *be;
	struct buf out = BUF_INIT;
	struct cl_error err;
	void *priv;
	uint64_t qid;
	int rc;

	if (st == NULL) {
		cl_error_clear(&err);
		st = store_open("mem", "", key, id, &err);
		CHECK(st != NULL);
	}
	if (size < 1 || size > STORE_RECORD_MAX)
		return 0;
	be = store_backend_of(st, &priv);
	cl_error_clear(&err);
	if ((data[0] & 1) == 0) {
		CHECK(be->put(priv, "k", 1, data + 1, size - 1, &err) == 0);
		rc = store_get(st, "k", 1, &out, &err);
	} else {
		CHECK(be->enqueue(priv, "q", data + 1, size - 1, &qid, &err) == 0);
		rc = store_dequeue(st, "q", &out, &qid, &err);
	}
	CHECK(rc != 0);
	CHECK((rc == CL_EDENIED || rc == CL_EPROTO) && err.message[0] != '\0');
	buf_release(&out);
	return 0;
}
