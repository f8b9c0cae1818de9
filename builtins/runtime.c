/*
 * The builtin runtime: how a builtin, running inside the sandboxed child,
 * finds its arguments and its files.  Nothing here opens anything: the
 * descriptors were handed over by exec_run before the sandbox closed.
 */
#include "compat.h"

#include "builtin.h"
#include "builtin_int.h"

const json_t *
rt_arguments(const struct builtin_runtime *rt)
{
	return rt->arguments;
}

static int
find_fd(const struct exec_file *file, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (file[i].name != NULL && strcmp(file[i].name, name) == 0)
			return file[i].fd;
	return -1;
}

int
rt_open_input(const struct builtin_runtime *rt, const char *name)
{
	return find_fd(rt->inputs, rt->ninputs, name);
}

int
rt_create_output(const struct builtin_runtime *rt, const char *name)
{
	return find_fd(rt->outputs, rt->noutputs, name);
}

/* Looked up in builtin_all, which the linked registry defines. */
const struct builtin *
builtin_find(const char *name)
{
	size_t i;

	for (i = 0; builtin_all[i] != NULL; i++)
		if (strcmp(builtin_all[i]->name, name) == 0)
			return builtin_all[i];
	return NULL;
}
