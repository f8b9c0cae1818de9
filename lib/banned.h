/*
 * Functions that are banned from Cloister because they are too easy to
 * misuse (unbounded copies, hidden global state).  Any use is a compile
 * error naming the function.  Included last by compat.h so that system
 * headers are unaffected.  Use snprintf / memcpy with explicit lengths,
 * strtoll with end pointer checks, and the buf module instead.
 */
#ifndef CL_BANNED_H
#define CL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_cloister

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
