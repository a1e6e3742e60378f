/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp_int.h - internals shared by the files of the qmp module.
 *
 * qmp_io.c:    deadlines, socket connect, poll waits, sendmsg (+SCM_RIGHTS).
 * qmp_frame.c: the input buffer that cuts the byte stream into JSON values.
 * qmp.c:       the connection: handshake, commands, replies, event queue.
 *
 * Nothing outside qmp/ includes this file.  The helpers here return -errno
 * (they sit next to system calls); qmp.c turns that into messages.
 */
#ifndef QMIG_QMP_INT_H
#define QMIG_QMP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>

/* Keep the module's internal symbols out of libqmig.so's dynamic table. */
#define QMP_INTERNAL __attribute__((visibility("hidden")))

/* Locals that own memory: released when they go out of scope. */
static inline void qmp_freep(void *p)
{
  free(*(void **)p);
}
static inline void qmp_json_decrefp(json_t **p)
{
  json_decref(*p);
}
#define CLEANUP_FREE __attribute__((cleanup(qmp_freep)))
#define CLEANUP_JSON __attribute__((cleanup(qmp_json_decrefp)))

/* ---- qmp_io.c ---- */

/* An absolute CLOCK_MONOTONIC deadline; timeout_ms < 0 means none. */
struct qmp_deadline {
  int64_t end_mono_ns;
  int timeout_ms; /* as given, for messages */
};

QMP_INTERNAL void qmp_deadline_init(struct qmp_deadline *d, int timeout_ms);
/* Milliseconds left, rounded up: -1 = no deadline, 0 = expired. */
QMP_INTERNAL int qmp_deadline_left_ms(const struct qmp_deadline *d);

/* Wait until fd is ready for `events`.  Returns 1 ready (or error/hangup
 * pending: the next I/O call reports it), 0 when the deadline passed,
 * -errno if poll() failed.  An expired deadline still polls once. */
QMP_INTERNAL int qmp_io_wait(int fd, short events, const struct qmp_deadline *d);

/* Open a non-blocking, close-on-exec stream socket to "unix:PATH" or
 * "tcp:HOST:PORT" ("tcp:[::1]:4444" for IPv6 literals).  Returns the fd, or
 * -1 with the cause ("connect: Connection refused") in `cause`.
 * getaddrinfo() itself cannot be interrupted by the deadline. */
QMP_INTERNAL int qmp_io_connect(const char *addr, const struct qmp_deadline *d, char *cause,
                                size_t causelen);

/* Send all of buf on a non-blocking socket; if pass_fd >= 0 it travels with
 * the first byte as SCM_RIGHTS.  Handles partial writes and EINTR; never
 * raises SIGPIPE.  Returns 0, -ETIMEDOUT, or another -errno. */
QMP_INTERNAL int qmp_io_send(int fd, const char *buf, size_t len, int pass_fd,
                             const struct qmp_deadline *d);

/* ---- qmp_frame.c ---- */

/* Bytes received but not yet consumed, plus the state of an incremental
 * scan for the end of the current JSON value. */
struct qmp_frame {
  char *buf;
  size_t cap;
  size_t start; /* first unconsumed byte: start of the current value */
  size_t len;   /* end of received data */
  size_t scan;  /* next byte to scan, start <= scan <= len */
  size_t depth; /* open brackets in the current value; 0 between values */
  bool in_str, esc;
};

enum {
  QMP_FRAME_NOMEM = -3,     /* out of memory (qmp_frame_parse_cut) */
  QMP_FRAME_TOOBIG = -2,    /* a value exceeds QMP_MAX_MESSAGE */
  QMP_FRAME_MALFORMED = -1, /* not JSON */
  QMP_FRAME_MORE = 0,       /* no complete value buffered */
  QMP_FRAME_VALUE = 1,      /* *out holds a new reference */
};

/* Room for at least one read: returns where to write and sets *avail, or
 * NULL when out of memory.  Follow with qmp_frame_commit(bytes written). */
QMP_INTERNAL char *qmp_frame_space(struct qmp_frame *f, size_t *avail);
QMP_INTERNAL void qmp_frame_commit(struct qmp_frame *f, size_t n);

/* Take the next complete JSON value out of the buffer (see the enum).  On
 * MALFORMED, `why` says what was wrong. */
QMP_INTERNAL int qmp_frame_next(struct qmp_frame *f, json_t **out, char *why, size_t whylen);
/* The same in two steps: the next complete value's bytes, unparsed (*span
 * stays valid until the next qmp_frame_space), then jansson's parse of
 * such bytes (VALUE or MALFORMED). */
QMP_INTERNAL int qmp_frame_next_span(struct qmp_frame *f, const char **span, size_t *spanlen,
                                     char *why, size_t whylen);
QMP_INTERNAL int qmp_frame_parse(const char *p, size_t n, json_t **out, char *why, size_t whylen);
/* In a complete value p[0, n) (a span from qmp_frame_next_span), where the
 * top-level object's "return" member is when it is an array: true with its
 * bytes, brackets included, at [*a0, *a1).  Strings and escapes are
 * tracked as the scanner does; the key is compared as written (QEMU never
 * escapes the letters of "return"). */
QMP_INTERNAL bool qmp_frame_return_array(const char *p, size_t n, size_t *a0, size_t *a1);
/* qmp_frame_parse with that array cut out first (qmp_execute_text): the
 * message is parsed with [] in its place, and the array's text goes to
 * *text (malloc'd, NUL-terminated, *textlen bytes; NULL when the message
 * has no such array).  VALUE, MALFORMED or NOMEM. */
QMP_INTERNAL int qmp_frame_parse_cut(const char *p, size_t n, json_t **out, char **text,
                                     size_t *textlen, char *why, size_t whylen);
QMP_INTERNAL void qmp_frame_free(struct qmp_frame *f);

#endif
