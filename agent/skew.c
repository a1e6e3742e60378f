/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* skew.c - TEST ONLY (agent option test-clock-skew-ms): make the relayed
 * destination QMP look as if the whole destination host's clock ran skew_ms
 * ahead, by moving every event's "timestamp".  Together with the agent's
 * skewed clock replies this lets a test on one machine prove that the
 * engine's NTP-style offset correction gives the right STOP->RESUME pause.
 * Not part of libqmig: built only into the tests' qmig (QMIG_TEST_HOOKS,
 * Makefile: build/tests/qmig-testhooks). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>

#include "agent/agent.h"
#include "common/errbuf.h"

struct skew {
  int qmp, relay;
  long skew_ms;
};

static int put(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One line from QEMU: re-stamped if it carries a timestamp. */
static int relay_line(struct skew *s, char *line, size_t n)
{
  json_t *j = json_loadb(line, n, 0, NULL);
  json_t *ts = json_object_get(j, "timestamp");
  if (!json_is_object(ts)) {
    json_decref(j);
    return put(s->relay, line, n);
  }
  long long us = json_integer_value(json_object_get(ts, "seconds")) * 1000000LL +
                 json_integer_value(json_object_get(ts, "microseconds")) + s->skew_ms * 1000LL;
  json_object_set_new(ts, "seconds", json_integer(us / 1000000));
  json_object_set_new(ts, "microseconds", json_integer(us % 1000000));
  char *out = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  int rc = out ? put(s->relay, out, strlen(out)) : -1;
  free(out);
  return rc < 0 ? -1 : put(s->relay, "\r\n", 2);
}

static void *run(void *p)
{
  struct skew *s = p;
  size_t cap = 1 << 16, have = 0;
  char *buf = malloc(cap), tmp[65536];
  bool up = true, down = true; /* relay->qmp open, qmp->relay open */
  while (buf && (up || down)) {
    struct pollfd f[2] = { { .fd = up ? s->relay : -1, .events = POLLIN },
                           { .fd = down ? s->qmp : -1, .events = POLLIN } };
    if (poll(f, 2, -1) < 0 && errno != EINTR)
      break;
    if (f[0].revents) {
      ssize_t r = recv(s->relay, tmp, sizeof tmp, 0);
      if (r <= 0 || put(s->qmp, tmp, (size_t)r) < 0) {
        shutdown(s->qmp, SHUT_WR);
        up = false;
      }
    }
    if (f[1].revents) {
      if (have == cap && !(buf = realloc(buf, cap *= 2)))
        break;
      ssize_t r = recv(s->qmp, buf + have, cap - have, 0);
      if (r <= 0) {
        shutdown(s->relay, SHUT_WR);
        down = false;
        continue;
      }
      have += (size_t)r;
      char *nl;
      while ((nl = memchr(buf, '\n', have))) {
        size_t n = (size_t)(nl - buf) + 1;
        if (relay_line(s, buf, n) < 0)
          down = up = false;
        memmove(buf, buf + n, have - n);
        have -= n;
      }
    }
  }
  free(buf);
  close(s->qmp);
  close(s->relay);
  free(s);
  return NULL;
}

int agt_skew_qmp(int qmp_fd, long skew_ms, char *err, size_t errlen)
{
  int sv[2];
  struct skew *s = malloc(sizeof *s);
  pthread_t t;
  if (!s || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    errbuf_setf(err, errlen, "clock-skew relay: %s", strerror(errno));
    free(s);
    close(qmp_fd);
    return -1;
  }
  *s = (struct skew){ qmp_fd, sv[1], skew_ms };
  if (pthread_create(&t, NULL, run, s) != 0) {
    errbuf_setf(err, errlen, "clock-skew relay: cannot start its thread");
    close(sv[0]);
    close(sv[1]);
    close(qmp_fd);
    free(s);
    return -1;
  }
  pthread_detach(t);
  return sv[0];
}
