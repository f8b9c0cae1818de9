/*
 * builtin-echo: the summary is the "message" argument (the anchor's
 * builtin-echo).  Reads and writes no files.
 */
#include "compat.h"

#include "builtin.h"

static int
echo_run(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err)
{
	const json_t *message;

	message = json_object_get(rt_arguments(rt), "message");
	if (!json_is_string(message))
		return cl_error_set(err, CL_EINVAL,
		    "argument 'message' must be a string");
	buf_add(summary, json_string_value(message),
	    json_string_length(message));
	return 0;
}

static const char *const echo_arguments[] = { "message", NULL };
static const char *const echo_files[] = { NULL };

const struct builtin builtin_echo = {
	.name = "builtin-echo",
	.run = echo_run,
	.doc = "returns its 'message' argument as the summary",
	.arguments = echo_arguments,
	.inputs = echo_files,
	.outputs = echo_files,
};
