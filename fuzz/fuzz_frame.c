/*
 * Fuzz harness for the frame layer (lib/frame.c): the input is a byte
 * stream from a network peer, delivered in chunks, and fed through
 * frame_peek the way lib/server.c's conn_process does: accumulate, peek,
 * consume every whole frame, drop empty frames, stop on FRAME_TOO_BIG.
 *
 * Input layout:
 *   byte 0   chunking: bits 0-2 pick the largest chunk (1, 2, 3, 7, 64,
 *            512, 4096 bytes, or everything at once), bits 3-7 seed the
 *            generator that picks each chunk's size up to that largest
 *   byte 1   frame maximum: bits 0-1 pick 4096, 1024, 16 or 1 bytes
 *   rest     the stream
 *
 * Invariants checked (violation = __builtin_trap):
 *   - every status agrees with the announced length: READY implies the
 *     header and len <= max body bytes are there and len >= 1, TOO_BIG
 *     implies len > max, EMPTY implies len == 0, INCOMPLETE implies fewer
 *     than 4 + len bytes (or fewer than 4 and len reported as 0);
 *   - frame_peek reads no more than avail bytes (ASan: it gets an exact
 *     copy), and gives the same answer from the 4-byte header alone, as
 *     conn_process calls it;
 *   - the sequence of frames, empty frames, the TOO_BIG stop and the
 *     bytes left over do not depend on how the stream was chunked: they
 *     match a one-pass model of the framing rules written here;
 *   - frame_put_header writes back the header of every READY frame.
 */
#include "compat.h"

#include "buf.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

enum ev_kind { EV_FRAME, EV_EMPTY, EV_TOO_BIG };

struct ev {
	enum ev_kind kind;
	size_t off;	/* stream offset of the header */
	size_t len;	/* announced body length */
};

static size_t
be32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
}

/*
 * The framing rules, written independently of frame_peek: the events of
 * the whole stream and the bytes left unconsumed at its end.
 */
static size_t
model(const uint8_t *s, size_t n, size_t max, struct ev *out,
    size_t *out_leftover)
{
	size_t off = 0, nev = 0;

	*out_leftover = 0;
	while (n - off >= CL_FRAME_HDR_LEN) {
		size_t len = be32(s + off);

		if (len == 0) {
			out[nev++] = (struct ev){ EV_EMPTY, off, 0 };
			off += CL_FRAME_HDR_LEN;
			continue;
		}
		if (len > max) {
			out[nev++] = (struct ev){ EV_TOO_BIG, off, len };
			return nev;
		}
		if (n - off - CL_FRAME_HDR_LEN < len)
			break;
		out[nev++] = (struct ev){ EV_FRAME, off, len };
		off += CL_FRAME_HDR_LEN + len;
	}
	*out_leftover = n - off;
	return nev;
}

/* frame_peek on an exact heap copy, so any read past avail is caught. */
static enum frame_status
peek_exact(const char *p, size_t avail, size_t max, size_t *out_len)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	enum frame_status st;

	CHECK(copy != NULL);
	memcpy(copy, p, avail);
	st = frame_peek(copy, avail, max, out_len);
	free(copy);
	return st;
}

/* Check one frame_peek answer against the bytes it looked at. */
static void
check_status(enum frame_status st, const uint8_t *p, size_t avail,
    size_t max, size_t blen)
{
	size_t len;

	if (avail < CL_FRAME_HDR_LEN) {
		CHECK(st == FRAME_INCOMPLETE && blen == 0);
		return;
	}
	len = be32(p);
	CHECK(blen == len);
	switch (st) {
	case FRAME_READY:
		CHECK(len >= 1 && len <= max);
		CHECK(avail >= CL_FRAME_HDR_LEN + len);
		break;
	case FRAME_INCOMPLETE:
		CHECK(len >= 1 && len <= max);
		CHECK(avail < CL_FRAME_HDR_LEN + len);
		break;
	case FRAME_TOO_BIG:
		CHECK(len > max);
		break;
	case FRAME_EMPTY:
		CHECK(len == 0);
		break;
	default:
		__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunk_max[] = { 1, 2, 3, 7, 64, 512, 4096, SIZE_MAX };
	static const size_t frame_max[] = { 4096, CL_FRAME_MAX_FLOOR, 16, 1 };
	struct buf acc = BUF_INIT;
	struct ev *ev;
	const uint8_t *s;
	size_t n, max, cmax, nev, next = 0, leftover, consumed = 0, fed = 0;
	uint32_t rng;
	bool stopped = false;

	if (size < 2)
		return 0;
	cmax = chunk_max[data[0] & 7];
	rng = (uint32_t)(data[0] >> 3) * 2654435761u + 1;
	max = frame_max[data[1] & 3];
	s = data + 2;
	n = size - 2;

	/* Each event takes at least 4 stream bytes; one more for TOO_BIG. */
	ev = calloc(n / CL_FRAME_HDR_LEN + 1, sizeof(*ev));
	CHECK(ev != NULL);
	nev = model(s, n, max, ev, &leftover);

	while (fed < n && !stopped) {
		size_t chunk;

		rng = rng * 1103515245u + 12345u;
		chunk = cmax == SIZE_MAX ? n - fed : 1 + (rng >> 8) % cmax;
		if (chunk > n - fed)
			chunk = n - fed;
		buf_add(&acc, s + fed, chunk);
		fed += chunk;

		/* conn_process, minus the handler */
		for (;;) {
			size_t avail = acc.len, blen, hlen;
			enum frame_status st, hst;
			uint8_t hdr4[CL_FRAME_HDR_LEN];

			st = peek_exact(acc.p, avail, max, &blen);
			check_status(st, (const uint8_t *)acc.p, avail, max, blen);
			if (avail < CL_FRAME_HDR_LEN)
				break;
			/* the server peeks at a 4-byte copy of the header */
			memcpy(hdr4, acc.p, sizeof(hdr4));
			hst = frame_peek(hdr4, avail, max, &hlen);
			CHECK(hst == st && hlen == blen);

			if (st == FRAME_INCOMPLETE)
				break;
			CHECK(next < nev && ev[next].off == consumed);
			if (st == FRAME_EMPTY) {
				CHECK(ev[next].kind == EV_EMPTY);
				next++;
				buf_consume(&acc, CL_FRAME_HDR_LEN);
				consumed += CL_FRAME_HDR_LEN;
				continue;
			}
			if (st == FRAME_TOO_BIG) {
				CHECK(ev[next].kind == EV_TOO_BIG &&
				    ev[next].len == blen);
				next++;
				stopped = true;
				break;
			}
			/* FRAME_READY */
			{
				uint8_t hdr[CL_FRAME_HDR_LEN];

				CHECK(ev[next].kind == EV_FRAME &&
				    ev[next].len == blen);
				CHECK(memcmp(acc.p + CL_FRAME_HDR_LEN,
				    s + consumed + CL_FRAME_HDR_LEN, blen) == 0);
				frame_put_header(hdr, blen);
				CHECK(memcmp(hdr, acc.p, CL_FRAME_HDR_LEN) == 0);
			}
			next++;
			buf_consume(&acc, CL_FRAME_HDR_LEN + blen);
			consumed += CL_FRAME_HDR_LEN + blen;
		}
	}

	/* Chunking changed nothing: same events, same bytes left over. */
	CHECK(next == nev);
	if (!stopped) {
		CHECK(fed == n);
		CHECK(acc.len == leftover && consumed + leftover == n);
	}
	buf_release(&acc);
	free(ev);
	return 0;
}
