/*
 * builtin-private-join-and-compute (the anchor's, inventory section 6):
 * num_user parties each supply input_data<i>, lines of
 * "identity : amount"; for the identities present in every party's
 * input, the sum of their amounts is written to every output_data<i> as
 * "identity, total" lines.  Every party gets the identical file.
 *
 * Inputs are hostile: lines, line length, input size and the number of
 * parties are bounded, and a malformed line is refused with the input's
 * name and the line number (the anchor skipped such lines silently; a
 * bank's typo should fail the task rather than quietly drop a customer).
 * Blank lines are skipped.  An identity given twice by one party is
 * refused.  Output lines are sorted by identity (the anchor's order was a
 * hash map's, i.e. unspecified).
 */
#include "compat.h"

#include <ctype.h>

#include "builtin.h"
#include "xalloc.h"

/* Stops a task from asking for an absurd number of files. */
#define PJC_PARTIES_MAX		64
/* Longest line, newline excluded. */
#define PJC_LINE_MAX		1024
/* Most lines in one input. */
#define PJC_LINES_MAX		(1u << 20)
/* Largest input read. */
#define PJC_INPUT_MAX		(64u * 1024 * 1024)

struct pjc_entry {
	char *id;		/* owned */
	uint64_t amount;
};

struct pjc_party {
	struct pjc_entry *entry;	/* owned, sorted by id */
	size_t n;
};

static void
party_release(struct pjc_party *party)
{
	size_t i;

	for (i = 0; i < party->n; i++)
		free(party->entry[i].id);
	free(party->entry);
	party->entry = NULL;
	party->n = 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct pjc_entry *x = a, *y = b;

	return strcmp(x->id, y->id);
}

static int
read_all(int fd, const char *name, struct buf *out, struct cl_error *err)
{
	for (;;) {
		ssize_t n;

		if (out->len >= PJC_INPUT_MAX)
			return cl_error_set(err, CL_ETOOBIG,
			    "input '%s' is larger than %u bytes", name,
			    PJC_INPUT_MAX);
		buf_grow(out, 65536);
		n = read(fd, out->p + out->len,
		    CL_MIN(out->cap - out->len - 1,
		    (size_t)PJC_INPUT_MAX + 1 - out->len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, CL_EIO,
			    "cannot read input '%s': %s", name,
			    strerror(errno));
		if (n == 0)
			return 0;
		buf_setlen(out, out->len + (size_t)n);
	}
}

/* Parse one line (NUL-terminated, no newline) into *e. */
static int
parse_line(char *line, const char *name, size_t lineno, struct pjc_entry *e,
    struct cl_error *err)
{
	char *colon, *id, *idend, *amt, *end;
	unsigned long long v;
	char *p;

	colon = strchr(line, ':');
	if (colon == NULL)
		return cl_error_set(err, CL_EINVAL,
		    "input '%s' line %zu: expected 'identity : amount'",
		    name, lineno);
	id = line;
	while (id < colon && isspace((unsigned char)*id))
		id++;
	idend = colon;
	while (idend > id && isspace((unsigned char)idend[-1]))
		idend--;
	if (idend == id)
		return cl_error_set(err, CL_EINVAL,
		    "input '%s' line %zu: empty identity", name, lineno);
	for (p = id; p < idend; p++)
		if (iscntrl((unsigned char)*p) || *p == ',')
			return cl_error_set(err, CL_EINVAL,
			    "input '%s' line %zu: identity has a comma or a "
			    "control character", name, lineno);
	amt = colon + 1;
	while (isspace((unsigned char)*amt))
		amt++;
	if (!isdigit((unsigned char)*amt))
		return cl_error_set(err, CL_EINVAL,
		    "input '%s' line %zu: amount is not a number", name,
		    lineno);
	errno = 0;
	v = strtoull(amt, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return cl_error_set(err, CL_EINVAL,
		    "input '%s' line %zu: amount is not a number", name,
		    lineno);
	if (errno == ERANGE || v > UINT32_MAX)
		return cl_error_set(err, CL_EINVAL,
		    "input '%s' line %zu: amount is larger than %" PRIu32,
		    name, lineno, UINT32_MAX);
	e->id = xstrndup(id, (size_t)(idend - id));
	e->amount = v;
	return 0;
}

static int
parse_party(int fd, const char *name, struct pjc_party *party,
    struct cl_error *err)
{
	struct buf data = BUF_INIT;
	size_t cap = 0, lineno = 0, i;
	char *p, *end;
	int rc;

	if ((rc = read_all(fd, name, &data, err)) < 0)
		goto out;
	p = data.p;
	end = data.p + data.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl != NULL ? nl : end;
		char *q;

		lineno++;
		if (lineno > PJC_LINES_MAX) {
			rc = cl_error_set(err, CL_ETOOBIG,
			    "input '%s' has more than %u lines", name,
			    PJC_LINES_MAX);
			goto out;
		}
		if (le > p && le[-1] == '\r')
			le--;
		if ((size_t)(le - p) > PJC_LINE_MAX) {
			rc = cl_error_set(err, CL_ETOOBIG,
			    "input '%s' line %zu: longer than %d bytes", name,
			    lineno, PJC_LINE_MAX);
			goto out;
		}
		if (memchr(p, '\0', (size_t)(le - p)) != NULL) {
			rc = cl_error_set(err, CL_EINVAL,
			    "input '%s' line %zu: contains a NUL byte", name,
			    lineno);
			goto out;
		}
		*le = '\0';
		for (q = p; *q != '\0' && isspace((unsigned char)*q); q++)
			;
		if (*q != '\0') {
			if (party->n == cap) {
				cap = cap ? cap * 2 : 64;
				party->entry = xrealloc(party->entry,
				    cap * sizeof(*party->entry));
			}
			rc = parse_line(p, name, lineno,
			    &party->entry[party->n], err);
			if (rc < 0)
				goto out;
			party->n++;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (party->n > 0)
		qsort(party->entry, party->n, sizeof(*party->entry),
		    entry_cmp);
	for (i = 1; i < party->n; i++)
		if (strcmp(party->entry[i - 1].id, party->entry[i].id) == 0) {
			rc = cl_error_set(err, CL_EINVAL,
			    "input '%s': identity '%.64s' appears twice", name,
			    party->entry[i].id);
			goto out;
		}
	rc = 0;
out:
	buf_release(&data);
	return rc;
}

/*
 * Keep in acc the identities also in other, adding their amounts.  Both
 * sorted; acc stays sorted.
 */
static void
intersect(struct pjc_party *acc, const struct pjc_party *other)
{
	size_t i = 0, j = 0, k = 0;

	while (i < acc->n) {
		int c = j < other->n ?
		    strcmp(acc->entry[i].id, other->entry[j].id) : -1;

		if (c < 0) {
			free(acc->entry[i].id);
			i++;
		} else if (c > 0) {
			j++;
		} else {
			acc->entry[k].id = acc->entry[i].id;
			acc->entry[k].amount = acc->entry[i].amount +
			    other->entry[j].amount;
			k++;
			i++;
			j++;
		}
	}
	acc->n = k;
}

static int
write_all(int fd, const char *name, const char *p, size_t len,
    struct cl_error *err)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, CL_EIO,
			    "cannot write output '%s': %s", name,
			    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
pjc_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	struct pjc_party acc = { NULL, 0 }, other = { NULL, 0 };
	struct buf out = BUF_INIT;
	const json_t *num;
	json_int_t nparty;
	char name[32];
	int i, fd, rc;
	size_t k;

	num = json_object_get(rt_arguments(rt), "num_user");
	if (!json_is_integer(num))
		return cl_error_set(err, CL_EINVAL,
		    "argument 'num_user' must be an integer");
	nparty = json_integer_value(num);
	if (nparty < 2)
		return cl_error_set(err, CL_EINVAL,
		    "argument 'num_user': at least two parties are required");
	if (nparty > PJC_PARTIES_MAX)
		return cl_error_set(err, CL_EINVAL,
		    "argument 'num_user': at most %d parties",
		    PJC_PARTIES_MAX);
	/* every file must be there before anything is read or written */
	for (i = 0; i < (int)nparty; i++) {
		snprintf(name, sizeof(name), "input_data%d", i);
		if (rt_open_input(rt, name) < 0)
			return cl_error_set(err, CL_EINVAL,
			    "input '%s' is missing", name);
		snprintf(name, sizeof(name), "output_data%d", i);
		if (rt_create_output(rt, name) < 0)
			return cl_error_set(err, CL_EINVAL,
			    "output '%s' is missing", name);
	}
	for (i = 0; i < (int)nparty; i++) {
		snprintf(name, sizeof(name), "input_data%d", i);
		fd = rt_open_input(rt, name);
		rc = parse_party(fd, name, i == 0 ? &acc : &other, err);
		if (rc < 0)
			goto out;
		if (i > 0) {
			intersect(&acc, &other);
			party_release(&other);
		}
	}
	for (k = 0; k < acc.n; k++)
		buf_addf(&out, "%s, %" PRIu64 "\n", acc.entry[k].id,
		    acc.entry[k].amount);
	for (i = 0; i < (int)nparty; i++) {
		snprintf(name, sizeof(name), "output_data%d", i);
		fd = rt_create_output(rt, name);
		if ((rc = write_all(fd, name, out.p, out.len, err)) < 0)
			goto out;
	}
	buf_addf(summary, "%d users join the task in total.", (int)nparty);
	rc = 0;
out:
	party_release(&acc);
	party_release(&other);
	buf_release(&out);
	return rc;
}

static const char *const pjc_arguments[] = { "num_user", NULL };

const struct builtin builtin_private_join = {
	.name = "builtin-private-join-and-compute",
	.run = pjc_run,
	.doc = "sums, for the identities every party lists, their amounts; "
	    "inputs input_data0..N-1 of 'identity : amount' lines, outputs "
	    "output_data0..N-1 of 'identity, total' lines",
	.arguments = pjc_arguments,
	.inputs = NULL,
	.outputs = NULL,
};
