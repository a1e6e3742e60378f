/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/ - a QMP client on jansson.
 *
 * One connection per QEMU monitor, used from one thread.  Every call that can
 * block takes a timeout in milliseconds (negative: no limit).  Errors: functions return 0 / -1 (or
 * pointer / NULL) and record a message on the connection (qmp_error()).  A
 * transport or protocol error (peer gone, malformed JSON, oversized message,
 * timeout) marks the connection broken: every later call fails at once with
 * the same message.  A QMP error reply does not break the connection; its
 * class is kept in qmp_error_class().
 */
#ifndef QMIG_QMP_H
#define QMIG_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Largest single QMP message accepted; beyond this the connection breaks. */
#define QMP_MAX_MESSAGE (16u << 20)

/* Most events kept queued; when full, the oldest is dropped and counted
 * (qmp_events_dropped()) so that a caller that stops draining cannot make a
 * chatty QEMU grow our memory without bound. */
#define QMP_MAX_EVENTS 4096

struct qmp_conn;

struct qmp_version {
  int major, minor, micro;
  char package[64];
};

/* A queued asynchronous event.  `data` is owned by the event (may be NULL). */
struct qmp_event {
  char name[64];
  json_t *data;
  int64_t wall_us; /* QEMU's "timestamp": CLOCK_REALTIME at emission, in us;
                      0 if the event carried no valid timestamp */
};

/* Commands given QMP_TIMEOUT_DEFAULT as timeout_ms wait as long as the
 * connection's own timeout: the one it was opened with.  A negative timeout
 * otherwise means no bound (tests only: every wait on a peer has a bound). */
#define QMP_TIMEOUT_DEFAULT (-2)

/* Connect to "unix:PATH" or "tcp:HOST:PORT", read the greeting and negotiate
 * qmp_capabilities.  timeout_ms bounds the connection and handshake and
 * becomes the connection's default timeout (QMP_TIMEOUT_DEFAULT, which
 * itself is refused here: a new connection has no default yet).  On
 * failure returns NULL and, if errbuf is not NULL, writes a message naming
 * the address and the cause into it.
 * `name` labels messages (e.g. "source"); it is copied. */
struct qmp_conn *qmp_connect(const char *name, const char *addr, int timeout_ms, char *errbuf,
                             size_t errlen);

/* Same, over an already-connected stream socket (takes ownership of fd,
 * closes it on failure).  Used by tests with a socketpair. */
struct qmp_conn *qmp_open_fd(const char *name, int fd, int timeout_ms, char *errbuf, size_t errlen);

void qmp_close(struct qmp_conn *c); /* accepts NULL; frees queued events */

/* Execute a command and wait for its reply (matched by "id").  `args` may be
 * NULL; it is always stolen (decref'd by the call).  On success returns 0 and
 * stores the "return" value in *ret (new reference; caller json_decref()s)
 * if ret is not NULL.  Events that arrive meanwhile are queued.
 * Returns -1 on a QMP error reply (qmp_error_class() is set, the connection
 * stays usable) or on a transport error (qmp_broken() is true). */
int qmp_execute(struct qmp_conn *c, const char *cmd, json_t *args, json_t **ret, int timeout_ms);

/* As qmp_execute, and passes `fd` along with the command (SCM_RIGHTS), for
 * "getfd" and "add-fd".  Unix sockets only. */
int qmp_execute_fd(struct qmp_conn *c, const char *cmd, json_t *args, int fd, json_t **ret,
                   int timeout_ms);

/* As qmp_execute, for a command whose "return" is a large array that the
 * caller searches rather than walks (query-qmp-schema: 200-240 KB of JSON
 * that jansson builds into ~3 MB of objects, 5-20 ms of CPU).  The array is
 * not parsed: on success *text is its JSON text, brackets included
 * (malloc'd, NUL-terminated, *len bytes; caller frees).  Its strings and
 * bracket depth are balanced (the scanner checked), its elements are not
 * yet validated: the caller parses what it uses (json_loadb) and treats a
 * failure there as absent.  The rest of the reply is parsed as always.
 * Returns -1 as qmp_execute does, and also, with a message, when the
 * return value is not an array (the connection stays usable). */
int qmp_execute_text(struct qmp_conn *c, const char *cmd, json_t *args, char **text, size_t *len,
                     int timeout_ms);

/* The objects at the top level of the JSON array in text[0, len) (such as
 * qmp_execute_text's): item(start, end, opaque) for each, in order, with
 * the object at text[start, end).  Strings and escapes are skipped by the
 * same scan the QMP framer uses; nothing else is validated (the caller
 * parses what it uses).  -1 when text is not one well-bracketed array with
 * only space around it, or when item returned -1. */
int qmp_text_array_items(const char *text, size_t len, int (*item)(size_t, size_t, void *),
                         void *opaque);
/* Read whatever input is available within timeout_ms (0 = don't block) and
 * queue the events in it.  Returns the number of queued events, or -1 when
 * the connection is broken. */
int qmp_pump(struct qmp_conn *c, int timeout_ms);

/* Pop the oldest queued event into *ev (caller then calls qmp_event_clear).
 * Returns true if there was one. */
bool qmp_next_event(struct qmp_conn *c, struct qmp_event *ev);
void qmp_event_clear(struct qmp_event *ev);
/* Events dropped so far because the queue held QMP_MAX_EVENTS. */
uint64_t qmp_events_dropped(const struct qmp_conn *c);

int qmp_fd(const struct qmp_conn *c); /* for poll(); readable = call qmp_pump */
const struct qmp_version *qmp_version(const struct qmp_conn *c);
const char *qmp_name(const struct qmp_conn *c);
int qmp_timeout(const struct qmp_conn *c);             /* the default, ms (-1 = none) */
const char *qmp_error(const struct qmp_conn *c);       /* last message */
const char *qmp_error_class(const struct qmp_conn *c); /* "" unless QMP error */
bool qmp_broken(const struct qmp_conn *c);

/* Convenience: json_pack() the args and execute; `fmt` NULL means no args. */
int qmp_cmd(struct qmp_conn *c, json_t **ret, int timeout_ms, const char *cmd, const char *fmt,
            ...);

#endif
