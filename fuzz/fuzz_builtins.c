/*
 * Fuzz harness for the builtins' input parsers (builtins/), called
 * directly, without the sandbox: what a party's plaintext file makes a
 * builtin do.  Today: builtin-private-join-and-compute's
 * "identity : amount" lines.
 *
 * Input layout: the parties' files separated by NUL bytes (1 to 4
 * parties; num_user is their count); each becomes an input descriptor
 * (memfd) and each party gets an output descriptor.
 *
 * Invariants checked (violation = __builtin_trap):
 *   - a refusal sets a message; a success sets a summary;
 *   - on success every output holds the same bytes, and each line of it
 *     is "identity, total".
 */
#include "compat.h"

#include <sys/mman.h>

#include "buf.h"
#include "builtin.h"
#include "builtin_int.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)
#define PARTIES_MAX	4

extern const struct builtin builtin_private_join;

static int
memfd_with(const void *p, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(len == 0 || write(fd, p, len) == (ssize_t)len);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static void
read_back(int fd, struct buf *out)
{
	char chunk[4096];
	ssize_t n;

	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)n);
	CHECK(n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const in_names[PARTIES_MAX] = { "input_data0",
	    "input_data1", "input_data2", "input_data3" };
	static const char *const out_names[PARTIES_MAX] = { "output_data0",
	    "output_data1", "output_data2", "output_data3" };
	struct exec_file in[PARTIES_MAX], out[PARTIES_MAX];
	struct builtin_runtime rt;
	struct buf summary = BUF_INIT, first = BUF_INIT;
	struct cl_error err;
	const uint8_t *p = data, *end = data + size;
	size_t n = 0;
	json_t *args;
	int rc;

	while (n < PARTIES_MAX) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		const uint8_t *stop = z != NULL ? z : end;

		in[n].name = in_names[n];
		in[n].fd = memfd_with(p, (size_t)(stop - p));
		out[n].name = out_names[n];
		out[n].fd = memfd_with(NULL, 0);
		n++;
		if (z == NULL)
			break;
		p = z + 1;
	}
	args = json_pack("{s:I}", "num_user", (json_int_t)n);
	rt = (struct builtin_runtime){ .arguments = args, .inputs = in,
	    .ninputs = n, .outputs = out, .noutputs = n };
	cl_error_clear(&err);
	rc = builtin_private_join.run(&rt, &summary, &err);
	if (rc != 0) {
		CHECK(err.message[0] != '\0');
	} else {
		CHECK(summary.len > 0);
		read_back(out[0].fd, &first);
		for (size_t i = 1; i < n; i++) {
			struct buf other = BUF_INIT;

			read_back(out[i].fd, &other);
			CHECK(other.len == first.len && (first.len == 0 ||
			    memcmp(other.p, first.p, first.len) == 0));
			buf_release(&other);
		}
		/* every line: "identity, total" */
		for (size_t i = 0; i < first.len;) {
			const char *nl = memchr(first.p + i, '\n',
			    first.len - i);

			CHECK(nl != NULL);
			CHECK(memmem(first.p + i, (size_t)(nl - first.p) - i,
			    ", ", 2) != NULL);
			i = (size_t)(nl - first.p) + 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		close(in[i].fd);
		close(out[i].fd);
	}
	buf_release(&summary);
	buf_release(&first);
	json_decref(args);
	return 0;
}
