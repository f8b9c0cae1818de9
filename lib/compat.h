/*
 * The first include of every Cloister .c file: feature macros, the system
 * headers nearly every file needs, attributes, and the banned-function
 * list.  Keeping this in one place means every file is compiled in the
 * same environment (git's git-compat-util.h is the model).
 */
#ifndef CL_COMPAT_H
#define CL_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrs.h"
#include "banned.h"

#endif
