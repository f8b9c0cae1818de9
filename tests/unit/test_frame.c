/*
 * Unit tests for lib/frame: the 4-byte big-endian length prefix of every
 * message.  frame_peek is the first code to see bytes from a network
 * peer, so every status is checked at its edges: header round trips,
 * each short header and short body (FRAME_INCOMPLETE), a zero length
 * (FRAME_EMPTY), and the maximum and one over it (FRAME_READY and
 * FRAME_TOO_BIG), with the reported length in each case.
 */
#include "compat.h"

#include <setjmp.h>

#include <cmocka.h>

#include "frame.h"

static const size_t lens[] = {
	1, 2, 255, 256, 257, 65535, 65536, 1u << 24, (1u << 24) + 1,
	CL_FRAME_MAX_DEFAULT, CL_FRAME_MAX_CEILING, UINT32_MAX - 1, UINT32_MAX,
};

static void
test_header_bytes(void **state)
{
	uint8_t h[CL_FRAME_HDR_LEN];

	assert_int_equal(CL_FRAME_HDR_LEN, 4);
	frame_put_header(h, 0x01020304);
	assert_memory_equal(h, "\x01\x02\x03\x04", 4);
	frame_put_header(h, 1);
	assert_memory_equal(h, "\x00\x00\x00\x01", 4);
	frame_put_header(h, 255);
	assert_memory_equal(h, "\x00\x00\x00\xff", 4);
	frame_put_header(h, 256);
	assert_memory_equal(h, "\x00\x00\x01\x00", 4);
	frame_put_header(h, 65535);
	assert_memory_equal(h, "\x00\x00\xff\xff", 4);
	frame_put_header(h, 1u << 24);
	assert_memory_equal(h, "\x01\x00\x00\x00", 4);
	frame_put_header(h, UINT32_MAX);
	assert_memory_equal(h, "\xff\xff\xff\xff", 4);
	frame_put_header(h, 0);
	assert_memory_equal(h, "\x00\x00\x00\x00", 4);
}

static void
test_round_trip(void **state)
{
	size_t biggest = CL_FRAME_MAX_CEILING;
	/* calloc'd pages stay untouched past the header: cheap */
	uint8_t *p = calloc(1, CL_FRAME_HDR_LEN + biggest);

	assert_non_null(p);
	for (size_t i = 0; i < CL_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i], got = 12345;

		frame_put_header(p, len);
		/* with no limit, the header alone tells the length */
		assert_int_equal(frame_peek(p, CL_FRAME_HDR_LEN, SIZE_MAX, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, len);
		if (len > biggest)
			continue;
		got = 0;
		assert_int_equal(frame_peek(p, CL_FRAME_HDR_LEN + len, biggest,
		    &got), FRAME_READY);
		assert_int_equal(got, len);
		/* one byte more in the stream (the next frame) changes nothing */
		if (len < biggest) {
			got = 0;
			assert_int_equal(frame_peek(p, CL_FRAME_HDR_LEN + len + 1,
			    biggest, &got), FRAME_READY);
			assert_int_equal(got, len);
		}
		/* one byte short of the body */
		got = 0;
		assert_int_equal(frame_peek(p, CL_FRAME_HDR_LEN + len - 1,
		    biggest, &got), FRAME_INCOMPLETE);
		assert_int_equal(got, len);
	}
	free(p);
}

static void
test_incomplete_header(void **state)
{
	uint8_t h[CL_FRAME_HDR_LEN];

	frame_put_header(h, 10);
	for (size_t avail = 0; avail < CL_FRAME_HDR_LEN; avail++) {
		size_t got = 999;

		assert_int_equal(frame_peek(h, avail, 1000, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, 0);
	}
	/* even a header announcing a huge or zero length needs all 4 bytes */
	frame_put_header(h, UINT32_MAX);
	for (size_t avail = 0; avail < CL_FRAME_HDR_LEN; avail++) {
		size_t got = 999;

		assert_int_equal(frame_peek(h, avail, 1000, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, 0);
	}
	frame_put_header(h, 0);
	for (size_t avail = 0; avail < CL_FRAME_HDR_LEN; avail++) {
		size_t got = 999;

		assert_int_equal(frame_peek(h, avail, 1000, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, 0);
	}
}

static void
test_partial_body(void **state)
{
	uint8_t p[CL_FRAME_HDR_LEN + 300];

	memset(p, 'x', sizeof(p));
	frame_put_header(p, 300);
	for (size_t avail = CL_FRAME_HDR_LEN; avail < sizeof(p); avail++) {
		size_t got = 0;

		assert_int_equal(frame_peek(p, avail, 1000, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, 300);
	}
	{
		size_t got = 0;

		assert_int_equal(frame_peek(p, sizeof(p), 1000, &got),
		    FRAME_READY);
		assert_int_equal(got, 300);
	}
}

static void
test_empty(void **state)
{
	uint8_t p[CL_FRAME_HDR_LEN + 8] = { 0 };
	size_t got = 999;

	frame_put_header(p, 0);
	assert_int_equal(frame_peek(p, CL_FRAME_HDR_LEN, 1000, &got),
	    FRAME_EMPTY);
	assert_int_equal(got, 0);
	got = 999;
	assert_int_equal(frame_peek(p, sizeof(p), 1000, &got), FRAME_EMPTY);
	assert_int_equal(got, 0);
	got = 999;
	assert_int_equal(frame_peek(p, sizeof(p), 0, &got), FRAME_EMPTY);
	assert_int_equal(got, 0);
}

static void
test_too_big(void **state)
{
	static const size_t maxes[] = { 1, 255, CL_FRAME_MAX_FLOOR,
	    CL_FRAME_MAX_UNAUTH, CL_FRAME_MAX_DEFAULT, CL_FRAME_MAX_CEILING,
	    UINT32_MAX - 1 };
	uint8_t h[CL_FRAME_HDR_LEN];

	/*
	 * frame_peek reads the header only; avail below describes bodies
	 * the test does not hold (up to 4 GiB), which is safe here.
	 */
	for (size_t i = 0; i < CL_ARRAY_SIZE(maxes); i++) {
		size_t max = maxes[i], got;

		/* exactly max with the whole body present: READY */
		frame_put_header(h, max);
		got = 0;
		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN + max, max, &got),
		    FRAME_READY);
		assert_int_equal(got, max);
		/* exactly max, body still coming: INCOMPLETE, not TOO_BIG */
		got = 0;
		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN, max, &got),
		    FRAME_INCOMPLETE);
		assert_int_equal(got, max);
		/* one over: refused from the header alone */
		frame_put_header(h, max + 1);
		got = 0;
		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN, max, &got),
		    FRAME_TOO_BIG);
		assert_int_equal(got, max + 1);
		got = 0;
		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN + max + 1, max,
		    &got), FRAME_TOO_BIG);
		assert_int_equal(got, max + 1);
		/* the largest header is over every limit below it */
		frame_put_header(h, UINT32_MAX);
		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN, max, &got),
		    FRAME_TOO_BIG);
		assert_int_equal(got, UINT32_MAX);
	}
	/* max of zero: every non-empty frame is too big */
	frame_put_header(h, 1);
	{
		size_t got = 0;

		assert_int_equal(frame_peek(h, CL_FRAME_HDR_LEN + 1, 0, &got),
		    FRAME_TOO_BIG);
		assert_int_equal(got, 1);
	}
}

static void
test_stream_of_frames(void **state)
{
	uint8_t s[64];
	size_t off = 0, got;

	/* three frames back to back, walked the way a reader does */
	frame_put_header(s, 3);
	memcpy(s + 4, "abc", 3);
	frame_put_header(s + 7, 1);
	s[11] = 'd';
	frame_put_header(s + 12, 2);
	memcpy(s + 16, "ef", 2);

	assert_int_equal(frame_peek(s + off, 18 - off, 100, &got), FRAME_READY);
	assert_int_equal(got, 3);
	assert_memory_equal(s + off + CL_FRAME_HDR_LEN, "abc", 3);
	off += CL_FRAME_HDR_LEN + got;
	assert_int_equal(frame_peek(s + off, 18 - off, 100, &got), FRAME_READY);
	assert_int_equal(got, 1);
	assert_int_equal(s[off + CL_FRAME_HDR_LEN], 'd');
	off += CL_FRAME_HDR_LEN + got;
	assert_int_equal(frame_peek(s + off, 18 - off, 100, &got), FRAME_READY);
	assert_int_equal(got, 2);
	off += CL_FRAME_HDR_LEN + got;
	assert_int_equal(off, 18);
	assert_int_equal(frame_peek(s + off, 0, 100, &got), FRAME_INCOMPLETE);
	assert_int_equal(got, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_incomplete_header),
		cmocka_unit_test(test_partial_body),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_stream_of_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
