/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp_recv.c - the receiving side of a QMP connection: read, cut the
 * input into messages, pick out the awaited reply, queue the events.
 *
 * Invariant: when a call returns to the caller, the input buffer holds no
 * complete message (everything complete was dispatched), so poll() on
 * qmp_fd() is a reliable "there is more to read" signal for the caller's
 * loop; qmp_pump() only needs to look at the socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "qmp/qmp.h"
#include "qmp/qmp_int.h"

/* Reads per qmp_pump() call: a peer that never stops talking must not keep
 * the caller's loop from running. */
#define PUMP_READS 16

/* ---- events ---- */

static int64_t event_wall_us(const json_t *msg)
{
  const json_t *ts = json_object_get(msg, "timestamp");
  const json_t *s = json_object_get(ts, "seconds");
  const json_t *us = json_object_get(ts, "microseconds");
  if (!json_is_integer(s) || !json_is_integer(us))
    return 0;
  json_int_t sv = json_integer_value(s), usv = json_integer_value(us);
  if (sv < 0 || sv > (INT64_MAX - 999999) / 1000000 || usv < 0 || usv > 999999)
    return 0;
  return (int64_t)sv * 1000000 + usv;
}

static int event_grow(struct qmp_conn *c)
{
  size_t ncap = c->ev_cap ? c->ev_cap * 2 : 16;
  if (ncap > QMP_MAX_EVENTS)
    ncap = QMP_MAX_EVENTS;
  struct qmp_event *n = calloc(ncap, sizeof *n);
  if (!n)
    return -1;
  for (size_t i = 0; i < c->ev_len; i++)
    n[i] = c->evq[(c->ev_head + i) % c->ev_cap];
  free(c->evq);
  c->evq = n;
  c->ev_cap = ncap;
  c->ev_head = 0;
  return 0;
}

static void event_push(struct qmp_conn *c, const json_t *msg)
{
  const char *name = json_string_value(json_object_get(msg, "event"));
  if (c->ev_len == QMP_MAX_EVENTS) {
    /* Full: drop the oldest rather than the newest (the latest MIGRATION
     * status matters more than a stale one) and count it. */
    qmp_event_clear(&c->evq[c->ev_head]);
    c->ev_head = (c->ev_head + 1) % c->ev_cap;
    c->ev_len--;
    c->ev_dropped++;
  }
  if (c->ev_len == c->ev_cap && event_grow(c) < 0) {
    c->ev_dropped++; /* out of memory: lose this one, keep the link */
    return;
  }
  struct qmp_event *ev = &c->evq[(c->ev_head + c->ev_len) % c->ev_cap];
  snprintf(ev->name, sizeof ev->name, "%s", name);
  ev->data = json_incref(json_object_get(msg, "data"));
  ev->wall_us = event_wall_us(msg);
  c->ev_len++;
}

/* ---- input ---- */

/* Next complete buffered message: 1 (*msg set), 0 (none), -1 (broken).
 * With `cut`, a message whose "return" is an array is parsed with that
 * array replaced by [], and the array's text goes to cut (else cut is
 * emptied). */
static int take(struct qmp_conn *c, json_t **msg, struct qmp_cut *cut)
{
  char why[256];
  const char *p;
  size_t n;
  *msg = NULL;
  int r = qmp_frame_next_span(&c->in, &p, &n, why, sizeof why);
  if (r == QMP_FRAME_VALUE && cut) {
    free(cut->text);
    r = qmp_frame_parse_cut(p, n, msg, &cut->text, &cut->len, why, sizeof why);
  } else if (r == QMP_FRAME_VALUE) {
    r = qmp_frame_parse(p, n, msg, why, sizeof why);
  }
  if (r == QMP_FRAME_NOMEM) {
    set_broken(c, "out of memory reading a %zu-byte message", n);
    return -1;
  }
  if (r == QMP_FRAME_MALFORMED) {
    qmp_set_msg(c, true, false, "malformed JSON from %s: %s", c->name, why);
    return -1;
  }
  if (r == QMP_FRAME_TOOBIG) {
    set_broken(c, "message exceeds %u bytes", QMP_MAX_MESSAGE);
    return -1;
  }
  return r;
}

/* A message nobody waits for: queue events, drop the rest.  A reply with
 * another id (or none: QEMU answers input it could not parse that way)
 * cannot be for the one command in flight. */
static void dispatch(struct qmp_conn *c, const json_t *msg)
{
  if (json_is_string(json_object_get(msg, "event")))
    event_push(c, msg);
}

void qmp_recv_drain(struct qmp_conn *c)
{
  json_t *msg;
  while (!c->broken && take(c, &msg, NULL) > 0) {
    dispatch(c, msg);
    json_decref(msg);
  }
}

/* One recv(): 1 = bytes added, 0 = nothing there, -1 = broken. */
static int read_some(struct qmp_conn *c, const char *what)
{
  size_t avail;
  char *p = qmp_frame_space(&c->in, &avail);
  if (!p) {
    set_broken(c, "out of memory buffering input");
    return -1;
  }
  for (;;) {
    ssize_t n = recv(c->fd, p, avail, 0);
    if (n > 0) {
      qmp_frame_commit(&c->in, (size_t)n);
      return 1;
    }
    if (n == 0 || errno == ECONNRESET) {
      set_broken(c, "connection closed by peer while waiting for %s", what);
      return -1;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    set_broken(c, "recv: %s (waiting for %s)", strerror(errno), what);
    return -1;
  }
}

/* Block until more bytes arrive or the deadline passes. */
static int fill(struct qmp_conn *c, const struct qmp_deadline *d, const char *what)
{
  for (;;) {
    int r = qmp_io_wait(c->fd, POLLIN, d);
    if (r == 0) {
      /* The reply may still come later.  Its id would let us skip it, but
       * the command's outcome stays unknown (it may yet succeed), QEMU runs
       * monitor commands one at a time so the next one would queue behind
       * it and time out in turn, and a later reply could be mistaken for the
       * answer to a retry.  Breaking is the safe choice: the caller
       * reconnects and re-queries the state it needs. */
      set_broken(c, "timed out after %d ms waiting for %s", d->timeout_ms, what);
      return -1;
    }
    if (r < 0) {
      set_broken(c, "poll: %s", strerror(-r));
      return -1;
    }
    r = read_some(c, what);
    if (r != 0)
      return r < 0 ? -1 : 0;
  }
}

/* Read until the reply with `id` arrives (id NULL: the greeting); events on
 * the way are queued.  Returns the message (caller decrefs) or NULL with
 * the connection broken.  Callers qmp_recv_drain() afterwards (see the
 * invariant). */
json_t *qmp_recv_await(struct qmp_conn *c, const char *id, const char *what,
                       const struct qmp_deadline *d, struct qmp_cut *cut)
{
  for (;;) {
    json_t *msg;
    int r = take(c, &msg, cut);
    if (r < 0)
      return NULL;
    if (r == 0) {
      if (fill(c, d, what) < 0)
        return NULL;
      continue;
    }
    bool mine;
    if (id) {
      const char *got = json_string_value(json_object_get(msg, "id"));
      mine = got && strcmp(got, id) == 0 &&
             (json_object_get(msg, "return") || json_object_get(msg, "error"));
    } else {
      mine = json_is_object(json_object_get(msg, "QMP"));
    }
    if (mine)
      return msg;
    dispatch(c, msg);
    json_decref(msg);
  }
}

/* ---- the caller's loop ---- */

/* Returns the number of events queued after reading (not only new ones).
 * Does not block when events are already queued. */
int qmp_pump(struct qmp_conn *c, int timeout_ms)
{
  if (!c || c->broken)
    return -1;
  struct qmp_deadline d;
  qmp_deadline_init(&d, c->ev_len ? 0 : timeout_ms);
  int r = qmp_io_wait(c->fd, POLLIN, &d);
  if (r < 0) {
    set_broken(c, "poll: %s", strerror(-r));
    return -1;
  }
  for (int i = 0; r > 0 && i < PUMP_READS; i++) {
    r = read_some(c, "events");
    if (r < 0)
      return -1;
    qmp_recv_drain(c);
    if (c->broken)
      return -1;
  }
  return (int)c->ev_len;
}

bool qmp_next_event(struct qmp_conn *c, struct qmp_event *ev)
{
  if (!c || !ev || c->ev_len == 0)
    return false;
  *ev = c->evq[c->ev_head];
  memset(&c->evq[c->ev_head], 0, sizeof *ev);
  c->ev_head = (c->ev_head + 1) % c->ev_cap;
  c->ev_len--;
  return true;
}

void qmp_event_clear(struct qmp_event *ev)
{
  if (!ev)
    return;
  json_decref(ev->data);
  memset(ev, 0, sizeof *ev);
}

uint64_t qmp_events_dropped(const struct qmp_conn *c)
{
  return c ? c->ev_dropped : 0;
}
