/*
 * Test functions: builtins that misbehave on purpose, for tests only,
 * and the registry that replaces builtins/registry.c in the programs
 * that link them (tests/unit/test_exec and the test worker
 * cloister-execution-testfns, tests/CMakeLists.txt).  That registry
 * holds every shipped builtin too (builtin-echo,
 * builtin-private-join-and-compute), then these:
 *
 *   t-loop          loops forever (CPU limit)
 *   t-busy          the same, for wall-clock cases
 *   t-slow          busy for argument "ms" (default 2000, at most
 *                   60000) of wall-clock time, then answers "busy for N
 *                   ms" (a task that is still running when it is needed)
 *   t-alloc         logs 16 KiB, then allocates and touches 64 KiB after
 *                   64 KiB (memory limit); fails after 4 GiB without one
 *   t-open, t-socket, t-fork
 *                   a forbidden system call (the sandbox)
 *   t-crash, t-abort
 *                   SIGSEGV on a PROT_NONE page, abort()
 *   t-fail          fails with "argument 'x' is wrong"
 *   t-bigsummary    a summary longer than EXEC_SUMMARY_MAX
 *   t-probe         reports its open descriptors, its input "in" and
 *                   output "out" and what writing or reading them does
 *   t-bigwrite      writes 4 MiB to output "out" (output limit)
 *   t-noanswer      exits 3 without answering
 *   t-garbage       garbage on the answer pipe, then an answer
 *   t-answerflood   floods the answer pipe
 *   t-logflood      1 MiB of log lines, then answers "logged"
 *
 * Never linked into a shipped program: the deployment's enclave info
 * gives the test worker a measurement and a service name of its own.
 */
#ifndef CL_TESTFNS_H
#define CL_TESTFNS_H

#include "builtin.h"

/* The test functions above, not the shipped ones. */
extern const struct builtin testfns[];
extern const size_t ntestfns;

#endif
