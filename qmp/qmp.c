/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp.c - a QMP connection: handshake, commands and replies, events.
 *
 * One command is in flight at a time.  Each carries a fresh "id" (qmig-N);
 * a reply is taken only if it echoes that id.  Anything else that arrives
 * while we wait is either an event (queued) or dropped.
 *
 * Invariant: when a call returns to the caller, the input buffer holds no
 * complete message (everything complete was dispatched), so poll() on
 * qmp_fd() is a reliable "there is more to read" signal for the caller's
 * loop; qmp_pump() only needs to look at the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "qmp/qmp.h"
#include "qmp/qmp_int.h"

/* Reads per qmp_pump() call: a peer that never stops talking must not keep
 * the caller's loop from running. */
#define PUMP_READS 16

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

/* ---- errors ---- */

static void reset_error(struct qmp_conn *c)
{
  c->err[0] = c->err_class[0] = '\0';
  c->err_cause = 0;
}

static void __attribute__((format(printf, 4, 5)))
set_msg(struct qmp_conn *c, bool brk, bool prefix, const char *fmt, ...)
{
  size_t off = 0;
  if (prefix) {
    errbuf_setf(c->err, sizeof c->err, "%s: ", c->name);
    off = strlen(c->err);
  }
  c->err_cause = off;
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(c->err + off, sizeof c->err - off, fmt, ap);
  va_end(ap);
  if (brk)
    c->broken = true;
}
#define set_error(c, ...) set_msg((c), false, true, __VA_ARGS__)
#define set_broken(c, ...) set_msg((c), true, true, __VA_ARGS__)

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

/* A "return" array kept as text (qmp_execute_text). */
struct cut {
  char *text;
  size_t len;
};

/* Next complete buffered message: 1 (*msg set), 0 (none), -1 (broken).
 * With `cut`, a message whose "return" is an array is parsed with that
 * array replaced by [], and the array's text goes to cut (else cut is
 * emptied). */
static int take(struct qmp_conn *c, json_t **msg, struct cut *cut)
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
    set_msg(c, true, false, "malformed JSON from %s: %s", c->name, why);
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

static void drain(struct qmp_conn *c)
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
 * the connection broken.  Callers drain() afterwards (see the invariant). */
static json_t *await(struct qmp_conn *c, const char *id, const char *what,
                     const struct qmp_deadline *d, struct cut *cut)
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

/* ---- commands ---- */

static bool is_unix_socket(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

static int execute(struct qmp_conn *c, const char *cmd, json_t *stolen_args, bool with_fd, int fd,
                   json_t **ret, struct cut *cut, const struct qmp_deadline *d)
{
  CLEANUP_JSON json_t *args = stolen_args;
  if (ret)
    *ret = NULL;
  if (!c || c->broken)
    return -1;
  reset_error(c);
  if (!cmd || !*cmd) {
    set_error(c, "no command name");
    return -1;
  }
  if (args && !json_is_object(args)) {
    set_error(c, "%s: arguments must be a JSON object", cmd);
    return -1;
  }
  if (with_fd && (fd < 0 || !is_unix_socket(c->fd))) {
    set_error(c, "%s: %s", cmd,
              fd < 0 ? "invalid file descriptor to pass"
                     : "passing a file descriptor needs a unix socket");
    return -1;
  }

  char id[32];
  snprintf(id, sizeof id, "qmig-%" PRIu64, ++c->last_id);
  CLEANUP_JSON json_t *req = json_pack("{s:s, s:s}", "execute", cmd, "id", id);
  if (!req || (args && json_object_set(req, "arguments", args) < 0)) {
    set_error(c, "%s: cannot build the command", cmd);
    return -1;
  }
  CLEANUP_FREE char *text = json_dumps(req, JSON_COMPACT);
  if (!text) {
    set_error(c, "%s: cannot serialise the command", cmd);
    return -1;
  }
  int r = qmp_io_send(c->fd, text, strlen(text), with_fd ? fd : -1, d);
  if (r == -ETIMEDOUT)
    set_broken(c, "timed out after %d ms sending '%s'", d->timeout_ms, cmd);
  else if (r == -EPIPE || r == -ECONNRESET)
    set_broken(c, "connection closed by peer while sending '%s'", cmd);
  else if (r < 0)
    set_broken(c, "send '%s': %s", cmd, strerror(-r));
  if (r < 0)
    return -1;

  char what[128];
  snprintf(what, sizeof what, "reply to '%s'", cmd);
  CLEANUP_JSON json_t *reply = await(c, id, what, d, cut);
  if (!reply)
    return -1;
  /* If what follows the reply breaks the connection, the reply still
   * stands; the next call reports the breakage. */
  drain(c);
  const json_t *e = json_object_get(reply, "error");
  if (e) {
    const char *cls = json_string_value(json_object_get(e, "class"));
    const char *desc = json_string_value(json_object_get(e, "desc"));
    if (!c->broken)
      set_error(c, "%s: %s", cmd, desc ? desc : "(error without description)");
    snprintf(c->err_class, sizeof c->err_class, "%s", cls ? cls : "GenericError");
    return -1;
  }
  if (ret)
    *ret = json_incref(json_object_get(reply, "return"));
  return 0;
}

int qmp_execute(struct qmp_conn *c, const char *cmd, json_t *args, json_t **ret, int timeout_ms)
{
  struct qmp_deadline d;
  qmp_deadline_init(&d, timeout_ms == QMP_TIMEOUT_DEFAULT ? c->timeout_ms : timeout_ms);
  return execute(c, cmd, args, false, -1, ret, NULL, &d);
}

int qmp_execute_fd(struct qmp_conn *c, const char *cmd, json_t *args, int fd, json_t **ret,
                   int timeout_ms)
{
  struct qmp_deadline d;
  qmp_deadline_init(&d, timeout_ms == QMP_TIMEOUT_DEFAULT ? c->timeout_ms : timeout_ms);
  return execute(c, cmd, args, true, fd, ret, NULL, &d);
}

int qmp_execute_text(struct qmp_conn *c, const char *cmd, json_t *args, char **text, size_t *len,
                     int timeout_ms)
{
  struct qmp_deadline d;
  struct cut cut = { NULL, 0 };
  *text = NULL;
  *len = 0;
  qmp_deadline_init(&d, timeout_ms == QMP_TIMEOUT_DEFAULT ? c->timeout_ms : timeout_ms);
  if (execute(c, cmd, args, false, -1, NULL, &cut, &d) < 0) {
    free(cut.text);
    return -1;
  }
  if (!cut.text) {
    set_error(c, "%s: the reply's return is not an array", cmd);
    return -1;
  }
  *text = cut.text;
  *len = cut.len;
  return 0;
}

int qmp_cmd(struct qmp_conn *c, json_t **ret, int timeout_ms, const char *cmd, const char *fmt, ...)
{
  if (ret)
    *ret = NULL;
  /* Pack even on a broken connection: "o" arguments are references the
   * caller gave away, and qmp_execute() releases them. */
  json_t *args = NULL;
  if (fmt) {
    json_error_t err;
    va_list ap;
    va_start(ap, fmt);
    args = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!args) {
      if (c && !c->broken) {
        reset_error(c);
        set_error(c, "%s: bad arguments: %s", cmd ? cmd : "(null)", err.text);
      }
      return -1;
    }
  }
  return qmp_execute(c, cmd, args, ret, timeout_ms);
}

/* ---- connection ---- */

static int handshake(struct qmp_conn *c, const struct qmp_deadline *d)
{
  CLEANUP_JSON json_t *g = await(c, NULL, "greeting", d, NULL);
  if (!g)
    return -1;
  drain(c);
  if (c->broken)
    return -1;
  struct qmp_version *v = &c->version;
  const char *pkg = NULL;
  json_error_t err;
  if (json_unpack_ex(g, &err, 0, "{s:{s:{s:{s:i, s:i, s:i}, s?s}}}", "QMP", "version", "qemu",
                     "major", &v->major, "minor", &v->minor, "micro", &v->micro, "package",
                     &pkg) < 0) {
    set_broken(c, "bad greeting: %s", err.text);
    return -1;
  }
  snprintf(v->package, sizeof v->package, "%s", pkg ? pkg : "");
  return execute(c, "qmp_capabilities", NULL, false, -1, NULL, NULL, d);
}

/* Takes fd; `label` starts messages in errbuf ("source QMP unix:/x"). */
static struct qmp_conn *open_conn(const char *name, int fd, const struct qmp_deadline *d,
                                  const char *label, char *errbuf, size_t errlen)
{
  struct qmp_conn *c = calloc(1, sizeof *c);
  if (!c || !(c->name = strdup(name ? name : "qmp"))) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "%s: %s", label, strerror(ENOMEM));
    free(c);
    close(fd);
    return NULL;
  }
  c->fd = fd;
  c->timeout_ms = d->timeout_ms;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    set_broken(c, "fcntl: %s", strerror(errno));
    goto fail;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (handshake(c, d) < 0)
    goto fail;
  return c;
fail:
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s: %s", label, c->err + c->err_cause);
  qmp_close(c);
  return NULL;
}

struct qmp_conn *qmp_connect(const char *name, const char *addr, int timeout_ms, char *errbuf,
                             size_t errlen)
{
  char label[512], cause[256];
  snprintf(label, sizeof label, "%s QMP %s", name ? name : "qmp", addr ? addr : "(null)");
  if (!addr || timeout_ms == QMP_TIMEOUT_DEFAULT) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "%s: %s", label,
               addr ? "a new connection has no default timeout to take" : "no address");
    return NULL;
  }
  struct qmp_deadline d;
  qmp_deadline_init(&d, timeout_ms);
  int fd = qmp_io_connect(addr, &d, cause, sizeof cause);
  if (fd < 0) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "%s: %s", label, cause);
    return NULL;
  }
  return open_conn(name, fd, &d, label, errbuf, errlen);
}

struct qmp_conn *qmp_open_fd(const char *name, int fd, int timeout_ms, char *errbuf, size_t errlen)
{
  char label[256];
  snprintf(label, sizeof label, "%s QMP", name ? name : "qmp");
  if (fd < 0 || timeout_ms == QMP_TIMEOUT_DEFAULT) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "%s: %s", label,
               fd < 0 ? "invalid file descriptor"
                      : "a new connection has no default timeout to take");
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  struct qmp_deadline d;
  qmp_deadline_init(&d, timeout_ms);
  return open_conn(name, fd, &d, label, errbuf, errlen);
}

int qmp_timeout(const struct qmp_conn *c)
{
  return c->timeout_ms;
}

void qmp_close(struct qmp_conn *c)
{
  if (!c)
    return;
  if (c->fd >= 0)
    close(c->fd);
  qmp_frame_free(&c->in);
  for (size_t i = 0; i < c->ev_len; i++)
    qmp_event_clear(&c->evq[(c->ev_head + i) % c->ev_cap]);
  free(c->evq);
  free(c->name);
  free(c);
}

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
    drain(c);
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

int qmp_fd(const struct qmp_conn *c)
{
  return c ? c->fd : -1;
}

const struct qmp_version *qmp_version(const struct qmp_conn *c)
{
  return c ? &c->version : NULL;
}

const char *qmp_name(const struct qmp_conn *c)
{
  return c ? c->name : "";
}

const char *qmp_error(const struct qmp_conn *c)
{
  return c ? c->err : "no QMP connection";
}

const char *qmp_error_class(const struct qmp_conn *c)
{
  return c ? c->err_class : "";
}

bool qmp_broken(const struct qmp_conn *c)
{
  return !c || c->broken;
}
