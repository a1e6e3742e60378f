/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/ - the few helpers every module shares.
 *
 * errbuf: the one way qmig formats an error message into a buffer, be it a
 * caller's err/errlen or the err[] of a handle (a migration, an agent, a
 * bench, a QMP or tunnel connection).  A handle's own setter (eng_errorf,
 * bench_errorf, ...) only adds what is its own (state, a label) and formats
 * through these. */
#ifndef QMIG_COMMON_ERRBUF_H
#define QMIG_COMMON_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* printf into buf (truncated, always NUL-terminated); does nothing when buf
 * is NULL or len is 0 (callers pass err/errlen straight through).  Returns
 * -1, so that an error path reads `return errbuf_setf(err, errlen, ...);`. */
int errbuf_setf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int errbuf_vsetf(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* "LABEL: message" (the message alone when label is NULL or empty): a
 * message that names the object it is about once, built in one go.  -1. */
int errbuf_vlabelf(char *buf, size_t len, const char *label, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Append to the message in buf, after "; " when it is not empty (one
 * message listing several problems).  Truncates; NULL/0 as above. */
void errbuf_appendf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
