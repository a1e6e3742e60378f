/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp_int.h - internals shared by the files of the qmp module.
 *
 * qmp_io.c:    deadlines, socket connect, poll waits, sendmsg (+SCM_RIGHTS).
 * qmp_frame.c: the input buffer that cuts the byte stream into JSON values.
 * qmp.c:       the connection: handshake, commands, close, errors.
 * qmp_recv.c:  its receiving side: replies, the event queue, qmp_pump.
 *
 * Nothing outside qmp/ includes this file.  The helpers of qmp_io.c and
 * qmp_frame.c return -errno (they sit next to system calls); qmp.c and
 * qmp_recv.c turn that into messages recorded on the connection.
 */
#ifndef QMIG_QMP_INT_H
#define QMIG_QMP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>

#include "qmp/qmp.h"

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

/* ---- qmp.c, qmp_recv.c ---- */

struct qmp_conn {
  char *name;
  int fd;
  bool broken;
  uint64_t last_id;
  struct qmp_version version;
  struct qmp_frame in;
  struct qmp_event *evq; /* FIFO ring, grown on demand up to QMP_MAX_EVENTS */
  size_t ev_cap, ev_head, ev_len;
  uint64_t ev_dropped;
  size_t err_cause; /* where the cause starts in err, after "<name>: " */
  int timeout_ms;   /* QMP_TIMEOUT_DEFAULT stands for this (from connect) */
  char err[1024];
  char err_class[64];
};

/* Record a message in c->err, after "<name>: " when prefix; brk marks the
 * connection broken (qmp.c). */
QMP_INTERNAL void qmp_set_msg(struct qmp_conn *c, bool brk, bool prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define set_error(c, ...) qmp_set_msg((c), false, true, __VA_ARGS__)
#define set_broken(c, ...) qmp_set_msg((c), true, true, __VA_ARGS__)

/* A "return" array kept as text (qmp_execute_text). */
struct qmp_cut {
  char *text;
  size_t len;
};

/* qmp_recv.c: wait for the reply with `id` (NULL: the greeting), queueing
 * events on the way; the reply (caller decrefs) or NULL, broken.  With
 * `cut`, a "return" array is kept as text there. */
QMP_INTERNAL json_t *qmp_recv_await(struct qmp_conn *c, const char *id, const char *what,
                                    const struct qmp_deadline *d, struct qmp_cut *cut);
/* qmp_recv.c: dispatch every complete buffered message (events queued,
 * the rest dropped), as every call does before it returns. */
QMP_INTERNAL void qmp_recv_drain(struct qmp_conn *c);

#endif
