/* common/ - the few helpers every module shares. */
#ifndef QMIG_COMMON_ERRBUF_H
#define QMIG_COMMON_ERRBUF_H

#include <stddef.h>

/* printf into a caller's error buffer; does nothing when buf is NULL or
 * len is 0 (callers pass err/errlen straight through). */
void errbuf_setf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append to the message in buf, after "; " when it is not empty (one
 * message listing several problems).  Truncates; NULL/0 as above. */
void errbuf_appendf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
