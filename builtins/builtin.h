/*
 * Builtin functions: C functions shipped with the platform, run by
 * exec_run inside the sandboxed child.  Adding one is one file:
 * builtins/<name>.c defining a struct builtin, listed in
 * builtins/registry.c.
 *
 * A builtin sees only its runtime: its arguments (a JSON object, types
 * kept), its inputs by name (read-only descriptors, plaintext) and its
 * outputs by name (write-only descriptors).  It must not open files or
 * sockets (the sandbox forbids it).  It returns 0 and a short summary, or
 * a negative cl_err with err saying why; a failure fails the task.
 */
#ifndef CL_BUILTIN_H
#define CL_BUILTIN_H

#include <jansson.h>

#include "buf.h"
#include "err.h"

struct builtin_runtime;

const json_t *rt_arguments(const struct builtin_runtime *rt) CL_NONNULL(1);
/* The descriptor of input/output name; -1 when the task has none. */
int rt_open_input(const struct builtin_runtime *rt, const char *name)
	CL_NONNULL(1, 2);
int rt_create_output(const struct builtin_runtime *rt, const char *name)
	CL_NONNULL(1, 2);

typedef int (*builtin_fn)(struct builtin_runtime *rt, struct buf *summary,
    struct cl_error *err);

struct builtin {
	const char *name;		/* e.g. "builtin-echo" */
	builtin_fn run;
	const char *doc;
	const char *const *arguments;	/* NULL-terminated names it reads */
	const char *const *inputs;	/* NULL-terminated; NULL = any */
	const char *const *outputs;	/* NULL-terminated; NULL = any */
};

/* The builtin named name; NULL when none. */
const struct builtin *builtin_find(const char *name) CL_NONNULL(1);
/* Every builtin, NULL-terminated. */
extern const struct builtin *const builtin_all[];

#endif
