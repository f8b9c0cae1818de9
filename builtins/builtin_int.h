/*
 * What exec_run (lib/exec.c) and the builtin runtime (builtins/runtime.c)
 * share: the layout of the runtime a builtin sees.  Included by no one
 * else; builtins use only the accessors of builtin.h.
 */
#ifndef CL_BUILTIN_INT_H
#define CL_BUILTIN_INT_H

#include "exec.h"

/*
 * Everything borrowed: the arguments from the request, the files are the
 * child's descriptors after exec_run has renumbered them.
 */
struct builtin_runtime {
	const json_t *arguments;
	const struct exec_file *inputs;
	size_t ninputs;
	const struct exec_file *outputs;
	size_t noutputs;
};

#endif
