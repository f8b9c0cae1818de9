/*
 * Frames: a 4-byte big-endian length, then that many bytes of body (one
 * JSON object).  The length is checked against the maximum before anyone
 * allocates for the body.  A zero length is a malformed frame.
 */
#ifndef CL_FRAME_H
#define CL_FRAME_H

#include "cl_limits.h"

enum frame_status {
	FRAME_INCOMPLETE = 0,	/* need more bytes (header or body) */
	FRAME_READY = 1,	/* a whole frame is available */
	FRAME_TOO_BIG = 2,	/* announced length over the maximum */
	FRAME_EMPTY = 3,	/* announced length is zero */
};

/* Write the header for a body of len bytes (len <= UINT32_MAX). */
void frame_put_header(uint8_t out[CL_FRAME_HDR_LEN], size_t len);

/*
 * Look at the first avail bytes of a stream.  On FRAME_READY,
 * *out_body_len is the body length and the frame occupies
 * CL_FRAME_HDR_LEN + *out_body_len bytes.  On FRAME_INCOMPLETE and
 * FRAME_TOO_BIG, *out_body_len is the announced length when the header is
 * complete, else 0.
 */
enum frame_status frame_peek(const uint8_t *p, size_t avail, size_t max,
    size_t *out_body_len) CL_NONNULL(4);

#endif
