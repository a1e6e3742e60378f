/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp/qmp.c - a QMP connection: open and handshake, commands, close, and
 * the errors recorded on it.
 *
 * One command is in flight at a time.  Each carries a fresh "id" (qmig-N);
 * a reply is taken only if it echoes that id.  Anything else that arrives
 * while we wait is either an event (queued) or dropped (qmp_recv.c, which
 * also states the invariant every call here keeps: nothing complete is
 * left buffered when it returns).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "qmp/qmp.h"
#include "qmp/qmp_int.h"

/* ---- errors ---- */

static void reset_error(struct qmp_conn *c)
{
  c->err[0] = c->err_class[0] = '\0';
  c->err_cause = 0;
}

void __attribute__((format(printf, 4, 5)))
qmp_set_msg(struct qmp_conn *c, bool brk, bool prefix, const char *fmt, ...)
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

/* ---- commands ---- */

static bool is_unix_socket(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

static int execute(struct qmp_conn *c, const char *cmd, json_t *stolen_args, bool with_fd, int fd,
                   json_t **ret, struct qmp_cut *cut, const struct qmp_deadline *d)
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
  CLEANUP_JSON json_t *reply = qmp_recv_await(c, id, what, d, cut);
  if (!reply)
    return -1;
  /* If what follows the reply breaks the connection, the reply still
   * stands; the next call reports the breakage. */
  qmp_recv_drain(c);
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
  struct qmp_cut cut = { NULL, 0 };
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
  CLEANUP_JSON json_t *g = qmp_recv_await(c, NULL, "greeting", d, NULL);
  if (!g)
    return -1;
  qmp_recv_drain(c);
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
