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
