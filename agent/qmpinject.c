/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmpinject.c - the agent's own commands on the QMP relay's connection
 * (qmprelay.c).  The agent's own commands (socket handoff: getfd with the
 * descriptor, migrate-incoming fd:) go to QEMU on the same connection, since
 * QEMU serves one QMP client at a time: agt_qmp_relay_exec posts one, the
 * relay's thread sends it between two of the client's commands and, until
 * its reply came, reads QEMU's bytes as lines and keeps the line with its id
 * from the client.  They bypass the allow-list, which judges the client's
 * commands only: the client can neither send them nor see their replies. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/qmprelay.h"
#include "common/errbuf.h"

#define LINE_MAX_BYTES (16u << 20) /* one of QEMU's messages while we wait */

/* Send text with fd (SCM_RIGHTS on its first byte) when fd >= 0. */
static int put_fd(int sock, const char *p, size_t n, int fd)
{
  if (fd < 0)
    return agt_qmp_put(sock, p, n);
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = { .iov_base = (char *)p, .iov_len = n };
  struct msghdr mh = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
  };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  ssize_t r;
  do
    r = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return -1;
  return agt_qmp_put(sock, p + r, n - (size_t)r); /* the descriptor went with byte 0 */
}

/* A posted command of ours goes to QEMU now (we are between two of the
 * client's commands: one() writes whole ones).  -1 when QEMU is gone. */
int agt_qmp_send_posted(struct agt_qmp_relay *q)
{
  char b[64];
  while (read(q->wake[0], b, sizeof b) > 0)
    ;
  pthread_mutex_lock(&q->mu);
  int rc = 0;
  if (q->inj.state == INJ_POSTED) {
    rc = put_fd(q->qmp, q->inj.text, strlen(q->inj.text), q->inj.fd);
    q->inj.state = rc == 0 ? INJ_SENT : INJ_DONE; /* DONE without a reply: failed */
    free(q->inj.text);
    q->inj.text = NULL;
    pthread_cond_broadcast(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

static bool awaiting(struct agt_qmp_relay *q)
{
  pthread_mutex_lock(&q->mu);
  bool w = q->inj.state == INJ_SENT || q->inj.state == INJ_ABANDONED;
  pthread_mutex_unlock(&q->mu);
  return w;
}

/* One whole message of QEMU's while ours waits: our reply is kept (the
 * client never sees it), anything else relayed.  -1: the client is gone. */
static int qemu_line(struct agt_qmp_relay *q)
{
  json_t *j = json_loadb(q->line, q->llen, 0, NULL);
  const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
  bool ours = false;
  pthread_mutex_lock(&q->mu);
  if (id && (q->inj.state == INJ_SENT || q->inj.state == INJ_ABANDONED) &&
      strcmp(id, q->inj.id) == 0) {
    ours = true;
    if (q->inj.state == INJ_SENT) {
      q->inj.reply = j;
      j = NULL;
      q->inj.state = INJ_DONE;
    } else {
      q->inj.state = INJ_NONE; /* nobody waits for it any more */
    }
    pthread_cond_broadcast(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  json_decref(j);
  int rc = ours ? 0 : agt_qmp_put(q->client, q->line, q->llen);
  q->llen = 0;
  return rc;
}

/* QEMU's bytes: relayed as they come, except while a command of ours waits
 * for its reply: then cut into messages (the rest of one already partly
 * relayed goes first).  -1: the client is gone. */
int agt_qmp_from_qemu(struct agt_qmp_relay *q, const char *p, size_t n)
{
  while (n > 0) {
    if (q->llen == 0 && (q->mid || !awaiting(q))) {
      const char *nl = q->mid && awaiting(q) ? memchr(p, '\n', n) : NULL;
      size_t k = nl ? (size_t)(nl - p) + 1 : n;
      if (agt_qmp_put(q->client, p, k) < 0)
        return -1;
      q->mid = p[k - 1] != '\n';
      p += k;
      n -= k;
      continue;
    }
    const char *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) + 1 : n;
    if (q->llen + k > q->lcap) {
      size_t cap = q->lcap ? q->lcap : 4096;
      while (cap < q->llen + k && cap <= LINE_MAX_BYTES)
        cap *= 2;
      char *b = cap >= q->llen + k ? realloc(q->line, cap) : NULL;
      if (!b) { /* too long to be a reply to getfd: relay it as it is */
        if (agt_qmp_put(q->client, q->line, q->llen) < 0 || agt_qmp_put(q->client, p, k) < 0)
          return -1;
        q->llen = 0;
        q->mid = !nl;
        p += k;
        n -= k;
        continue;
      }
      q->line = b;
      q->lcap = cap;
    }
    memcpy(q->line + q->llen, p, k);
    q->llen += k;
    p += k;
    n -= k;
    if (nl && qemu_line(q) < 0)
      return -1;
  }
  return 0;
}

int agt_qmp_relay_exec(struct agt_qmp_relay *q, const char *cmd, json_t *args, int fd,
                       int timeout_ms, char *err, size_t errlen)
{
  char id[32];
  pthread_mutex_lock(&q->mu);
  snprintf(id, sizeof id, "qmig-agent-%u", ++q->next_id);
  pthread_mutex_unlock(&q->mu);
  json_t *c = json_pack("{s:s,s:s}", "execute", cmd, "id", id);
  if (c && args)
    json_object_set(c, "arguments", args);
  json_decref(args);
  char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
  json_decref(c);
  char *line = text ? malloc(strlen(text) + 2) : NULL;
  if (!line) {
    free(text);
    return errbuf_setf(err, errlen, "%s: out of memory", cmd);
  }
  snprintf(line, strlen(text) + 2, "%s\n", text);
  free(text);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&q->mu);
  if (q->ended || q->inj.state != INJ_NONE) {
    bool ended = q->ended;
    pthread_mutex_unlock(&q->mu);
    free(line);
    return errbuf_setf(err, errlen, "%s: %s", cmd,
                       ended ? "the QMP relay has ended" : "another command of ours is in flight");
  }
  q->inj = (struct inject){ .state = INJ_POSTED, .text = line, .fd = fd };
  snprintf(q->inj.id, sizeof q->inj.id, "%s", id);
  ssize_t w = write(q->wake[1], "x", 1);
  (void)w; /* a full pipe already wakes the thread */
  while (q->inj.state != INJ_DONE && pthread_cond_timedwait(&q->cv, &q->mu, &until) == 0)
    ;
  int rc = 0;
  if (q->inj.state != INJ_DONE) {
    rc = errbuf_setf(err, errlen, "%s: no reply from QEMU within %d ms", cmd, timeout_ms);
    if (q->inj.state == INJ_POSTED) { /* never sent: the fd is not touched later */
      free(q->inj.text);
      q->inj.state = INJ_NONE;
    } else {
      q->inj.state = INJ_ABANDONED; /* its reply is still kept from the client */
    }
  } else if (!q->inj.reply) {
    rc = errbuf_setf(err, errlen, "%s: QEMU's QMP connection ended", cmd);
    q->inj.state = INJ_NONE;
  } else {
    json_t *e = json_object_get(q->inj.reply, "error");
    if (e) {
      const char *d = json_string_value(json_object_get(e, "desc"));
      rc = errbuf_setf(err, errlen, "%s: %s", cmd, d ? d : "QEMU refused it");
    }
    json_decref(q->inj.reply);
    q->inj.reply = NULL;
    q->inj.state = INJ_NONE;
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}
