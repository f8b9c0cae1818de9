/*
 * Compiler attributes used across Cloister, behind short macros so that
 * prototypes stay readable.  Included by compat.h; never include directly.
 */
#ifndef CL_ATTRS_H
#define CL_ATTRS_H

#define CL_WUR		__attribute__((warn_unused_result))
#define CL_NONNULL(...)	__attribute__((nonnull(__VA_ARGS__)))
#define CL_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define CL_NORETURN	__attribute__((noreturn))
#define CL_UNUSED	__attribute__((unused))
#define CL_MALLOC	__attribute__((malloc))
#define CL_HIDDEN	__attribute__((visibility("hidden")))
#define CL_EXPORT	__attribute__((visibility("default")))

#define CL_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define CL_MIN(a, b)		((a) < (b) ? (a) : (b))
#define CL_MAX(a, b)		((a) > (b) ? (a) : (b))

#endif
