/* common/ - the few helpers every module shares. */
#ifndef QMIG_COMMON_ERRBUF_H
#define QMIG_COMMON_ERRBUF_H

#include <stddef.h>

/* printf into a caller's error buffer; does nothing when buf is NULL or
 * len is 0 (callers pass err/errlen straight through). */
void errbuf_setf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
