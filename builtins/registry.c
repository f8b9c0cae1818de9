/*
 * The builtins shipped with the platform.  Adding one: write
 * builtins/<name>.c defining a struct builtin and list it here.
 */
#include "compat.h"

#include "builtin.h"

extern const struct builtin builtin_echo;
extern const struct builtin builtin_private_join;

const struct builtin *const builtin_all[] = {
	&builtin_echo,
	&builtin_private_join,
	NULL,
};

const struct builtin *
builtin_find(const char *name)
{
	size_t i;

	for (i = 0; builtin_all[i] != NULL; i++)
		if (strcmp(builtin_all[i]->name, name) == 0)
			return builtin_all[i];
	return NULL;
}
