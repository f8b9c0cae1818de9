/*
 * Frame header encoding and decoding.
 */
#include "compat.h"

#include "err.h"
#include "frame.h"

void
frame_put_header(uint8_t out[CL_FRAME_HDR_LEN], size_t len)
{
	if (len > UINT32_MAX)
		BUG("frame of %zu bytes", len);
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

enum frame_status
frame_peek(const uint8_t *p, size_t avail, size_t max, size_t *out_body_len)
{
	size_t len;

	*out_body_len = 0;
	if (avail < CL_FRAME_HDR_LEN)
		return FRAME_INCOMPLETE;
	len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
	*out_body_len = len;
	if (len == 0)
		return FRAME_EMPTY;
	if (len > max)
		return FRAME_TOO_BIG;
	if (avail - CL_FRAME_HDR_LEN < len)
		return FRAME_INCOMPLETE;
	return FRAME_READY;
}
