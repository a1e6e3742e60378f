/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmprelay.c - the relay between a `qmp` tunnel channel and the destination
 * QEMU's QMP socket that applies the allow-list (qmpfilter.c).  One thread
 * per channel, both directions: the client's bytes are cut into JSON objects
 * with jansson (JSON_DISABLE_EOF_CHECK gives the length of the first one),
 * each checked and forwarded re-serialised, so QEMU parses exactly what was
 * checked; QEMU's bytes go back untouched, and a refusal is sent between two
 * of QEMU's messages (each ends with a newline), never inside one.
 *
 * The agent's own commands on the same connection: qmpinject.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/qmpfilter.h"
#include "common/errbuf.h"
#include "agent/qmprelay.h"

#define DRAIN_MS 2000 /* after the client closed: QEMU's last replies */

int agt_qmp_put(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void logf_(struct agt_qmp_relay *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(struct agt_qmp_relay *q, const char *fmt, ...)
{
  char line[700];
  int n = snprintf(line, sizeof line, "%s: ", q->label);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (q->log)
    q->log(q->ud, line);
}

/* Queue a QMP error reply (id echoed when given); -1 out of memory. */
static int reply_error(struct agt_qmp_relay *q, const json_t *id, const char *desc)
{
  json_t *e = json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError", "desc", desc);
  if (e && id)
    json_object_set(e, "id", (json_t *)id);
  char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
  json_decref(e);
  size_t n = s ? strlen(s) : 0;
  char *p = s ? realloc(q->pend, q->plen + n + 2) : NULL;
  if (!p) {
    free(s);
    return -1;
  }
  memcpy(p + q->plen, s, n);
  memcpy(p + q->plen + n, "\r\n", 2);
  q->pend = p;
  q->plen += n + 2;
  free(s);
  return 0;
}

/* One parsed object: forward it or refuse it.  -1 when QEMU is gone. */
static int one(struct agt_qmp_relay *q, json_t *cmd)
{
  char why[300], desc[420];
  if (agt_qmp_check(cmd, &q->rules, why, sizeof why)) {
    char *s = json_dumps(cmd, JSON_COMPACT);
    int rc =
        s && agt_qmp_put(q->qmp, s, strlen(s)) == 0 && agt_qmp_put(q->qmp, "\n", 1) == 0 ? 0 : -1;
    free(s);
    if (rc == 0 && strcmp(agt_qmp_name(cmd), "qmp_capabilities") == 0)
      atomic_store(&q->ready, true); /* QEMU takes commands after it (if it took it) */
    return rc;
  }
  const char *name = agt_qmp_name(cmd);
  snprintf(desc, sizeof desc, "qmig agent: %.60s refused: %s", name, why);
  logf_(q, "refused %.60s: %s", name, why);
  return reply_error(q, json_is_object(cmd) ? json_object_get(cmd, "id") : NULL, desc);
}

/* Handle the whole objects in q->in; keeps an incomplete tail.  -1: end. */
static int drain_input(struct agt_qmp_relay *q)
{
  size_t off = 0;
  int rc = 0;
  while (rc == 0 && !q->fatal) {
    while (off < q->have && q->in[off] && strchr(" \t\r\n", q->in[off]))
      off++;
    if (off == q->have)
      break;
    json_error_t je = { .line = 0 }; /* the code byte too: checked below */
    json_t *j = NULL;
    if (memchr(q->in + off, '\0', q->have - off)) /* jansson would wait for more */
      snprintf(je.text, sizeof je.text, "a NUL byte");
    else
      j = json_loadb(q->in + off, q->have - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
                     &je);
    if (j) {
      rc = one(q, j);
      json_decref(j);
      off += (size_t)je.position;
      continue;
    }
    if (json_error_code(&je) == json_error_premature_end_of_input) {
      if (q->have - off < AGT_QMP_MAX_CMD)
        break;
      snprintf(je.text, sizeof je.text, "a command longer than %u bytes", AGT_QMP_MAX_CMD);
    }
    char desc[300];
    snprintf(desc, sizeof desc, "qmig agent: refused input: %s (closing the channel)", je.text);
    logf_(q, "refused input: %s; closing", je.text);
    q->fatal = true;
    if (reply_error(q, NULL, desc) < 0)
      rc = -1;
  }
  memmove(q->in, q->in + off, q->have - off);
  q->have -= off;
  return rc;
}

static void *run(void *p)
{
  struct agt_qmp_relay *q = p;
  char *tmp = malloc(AGT_QMP_MAX_CMD);
  q->in = malloc(AGT_QMP_MAX_CMD);
  bool up = true, down = true; /* client->QEMU open, QEMU->client open */
  int64_t until = -1;
  while (tmp && q->in && down) {
    struct pollfd f[3] = { { .fd = up ? q->client : -1, .events = POLLIN },
                           { .fd = q->qmp, .events = POLLIN },
                           { .fd = q->wake[0], .events = POLLIN } };
    int left = until < 0 ? -1 : (int)(until - tp_mono_ms());
    if (until >= 0 && left <= 0)
      break;
    if (poll(f, 3, left) < 0 && errno != EINTR)
      break;
    if (f[2].revents && agt_qmp_send_posted(q) < 0)
      break;
    if (up && f[0].revents) {
      ssize_t r = recv(q->client, q->in + q->have, AGT_QMP_MAX_CMD - q->have, 0);
      if (r > 0) {
        q->have += (size_t)r;
        if (drain_input(q) < 0)
          break;
      }
      if (r <= 0 || q->fatal) {
        shutdown(q->qmp, SHUT_WR);
        up = false;
        until = tp_mono_ms() + DRAIN_MS;
        if (r <= 0 && (f[0].revents & (POLLHUP | POLLERR)))
          break; /* closed both ways (the forwarder ended): no one to answer */
      }
    }
    if (f[1].revents) {
      ssize_t r = recv(q->qmp, tmp, AGT_QMP_MAX_CMD, 0);
      if (r <= 0) {
        down = false;
        q->mid = false; /* QEMU is gone: nothing more to interleave with */
      } else if (agt_qmp_from_qemu(q, tmp, (size_t)r) < 0) {
        break;
      }
    }
    if (q->plen && !q->mid) {
      if (agt_qmp_put(q->client, q->pend, q->plen) < 0)
        break;
      q->plen = 0;
    }
  }
  shutdown(q->client, SHUT_RDWR);
  shutdown(q->qmp, SHUT_RDWR);
  free(tmp);
  pthread_mutex_lock(&q->mu);
  q->ended = true;
  if (q->inj.state == INJ_POSTED || q->inj.state == INJ_SENT)
    q->inj.state = INJ_DONE; /* no reply will come */
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

bool agt_qmp_relay_ready(struct agt_qmp_relay *q)
{
  return atomic_load(&q->ready);
}

struct agt_qmp_relay *agt_qmp_relay_start(int qmp_fd, const struct agt_qmp_rules *rules,
                                          const char *label, agt_qmp_log_fn log, void *ud,
                                          int *client_fd, char *err, size_t errlen)
{
  int sv[2] = { -1, -1 };
  struct agt_qmp_relay *q = calloc(1, sizeof *q);
  if (!q || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
      pipe2(q->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
    errbuf_setf(err, errlen, "QMP relay: %s", strerror(errno));
    if (sv[0] >= 0) {
      close(sv[0]);
      close(sv[1]);
    }
    free(q);
    close(qmp_fd);
    return NULL;
  }
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  q->qmp = qmp_fd;
  q->client = sv[1];
  q->log = log;
  q->ud = ud;
  snprintf(q->incoming, sizeof q->incoming, "%s", rules->incoming ? rules->incoming : "");
  snprintf(q->nbd, sizeof q->nbd, "%s", rules->nbd ? rules->nbd : "");
  snprintf(q->tls_dir, sizeof q->tls_dir, "%s", rules->tls_dir ? rules->tls_dir : "");
  snprintf(q->label, sizeof q->label, "%s", label);
  q->rules = (struct agt_qmp_rules){ q->incoming, q->nbd, q->tls_dir };
  int rc = pthread_create(&q->thread, NULL, run, q);
  if (rc != 0) {
    errbuf_setf(err, errlen, "QMP relay thread: %s", strerror(rc));
    close(sv[0]);
    close(sv[1]);
    close(qmp_fd);
    close(q->wake[0]);
    close(q->wake[1]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
    return NULL;
  }
  *client_fd = sv[0];
  return q;
}

void agt_qmp_relay_join(struct agt_qmp_relay *q)
{
  if (!q)
    return;
  pthread_join(q->thread, NULL);
  close(q->qmp);
  close(q->client);
  close(q->wake[0]);
  close(q->wake[1]);
  free(q->in);
  free(q->pend);
  free(q->line);
  free(q->inj.text);
  json_decref(q->inj.reply);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  free(q);
}

/* ---- the agent's use ---- */

static void agent_log(void *ud, const char *line)
{
  agt_log(ud, "%s", line);
}

struct agt_qmp_relay *agt_qmp_attach(struct qmig_agent *a, const char *hex, const char *incoming,
                                     const char *nbd, int *fd, char *err, size_t errlen)
{
  char uri[300], dir[256] = "", label[64];
  snprintf(uri, sizeof uri, "unix:%s", incoming);
  if (a->qemu_tls_dir)
    snprintf(dir, sizeof dir, "%s", a->qemu_tls_dir);
  else if (a->tls == TP_TLS_X509 && a->tls_dir)
    snprintf(dir, sizeof dir, "%s", a->tls_dir);
  else if (a->tls == TP_TLS_PSK && a->psk_file) {
    char f[256];
    snprintf(f, sizeof f, "%s", a->psk_file);
    snprintf(dir, sizeof dir, "%s", dirname(f));
  }
  struct agt_qmp_rules r = { uri, nbd, dir };
  snprintf(label, sizeof label, "session %.8s qmp channel", hex);
  return agt_qmp_relay_start(*fd, &r, label, agent_log, a, fd, err, errlen);
}
