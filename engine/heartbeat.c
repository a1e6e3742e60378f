/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* heartbeat.c - the guest-observed stall, measured outside the guest.
 * The lab guest prints "HB <seq> <pos>" on its serial port every few ms; a
 * thread here reads both guests' serial sockets and stamps each line with
 * CLOCK_MONOTONIC when it arrives.  Only whole, well-formed lines count: a
 * vCPU stop can cut a line in two, and the destination's migrated UART can
 * send the cut line's tail while it loads, before the guest runs again.
 * The report turns the line times and sequence numbers into the stall
 * across the switchover, and the gaps kept per side (stalls.c) into the
 * whole run's stall timeline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/internal.h"

struct hb_side {
  int fd;
  char line[128];
  size_t len;
  struct eng_hb_track t; /* its lines and gaps (stalls.c) */
};

struct eng_heartbeat {
  pthread_t thread;
  int stop_pipe[2];
  pthread_mutex_t lock;   /* guards the sides' counters */
  pthread_cond_t cond;    /* signalled when the destination has want lines */
  unsigned want;          /* under lock: eng_hb_wait_dst's target, 0 = none */
  bool realtime;          /* the reader runs SCHED_FIFO */
  struct hb_side side[2]; /* 0 = source, 1 = destination */
};

static int connect_unix(const char *path, char *err, size_t errlen)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "%s: path too long", path);
    return -1;
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    snprintf(err, errlen, "serial %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* One complete line from side s arrived at now_ns. */
static void hb_line(struct eng_heartbeat *hb, int s, const char *line, int64_t now_ns)
{
  unsigned seq, pos;
  if (sscanf(line, "HB %u %u", &seq, &pos) != 2)
    return;
  pthread_mutex_lock(&hb->lock);
  eng_hb_feed(&hb->side[s].t, now_ns, seq);
  /* Not on every line: the waiter would wake every period for nothing. */
  if (s == 1 && hb->want && hb->side[1].t.lines >= hb->want)
    pthread_cond_broadcast(&hb->cond);
  pthread_mutex_unlock(&hb->lock);
}

static void hb_read(struct eng_heartbeat *hb, int s)
{
  struct hb_side *sd = &hb->side[s];
  char buf[4096];
  ssize_t n = read(sd->fd, buf, sizeof buf);
  int64_t now = eng_mono_ns();
  if (n <= 0) {
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(sd->fd); /* that QEMU went away (the source quits at the end) */
      sd->fd = -1;
    }
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      sd->line[sd->len] = '\0';
      hb_line(hb, s, sd->line, now);
      sd->len = 0;
    } else if (sd->len + 1 < sizeof sd->line) {
      sd->line[sd->len++] = buf[i];
    }
  }
}

static void *hb_thread(void *arg)
{
  struct eng_heartbeat *hb = arg;
  /* A line is stamped when this thread reads it, so it must not wait for a
   * CPU: on a busy host (two QEMUs and a migration thread on two cores) a
   * starved reader stamped the source's last lines ms late, and the stall
   * came out below the pause.  Real-time priority where allowed (root);
   * the report says whether it was granted. */
  struct sched_param sp = { .sched_priority = 10 };
  hb->realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  for (;;) {
    struct pollfd p[3] = {
      { .fd = hb->stop_pipe[0], .events = POLLIN },
      { .fd = hb->side[0].fd, .events = POLLIN },
      { .fd = hb->side[1].fd, .events = POLLIN },
    };
    if (poll(p, 3, -1) < 0 && errno != EINTR)
      break;
    if (p[0].revents)
      break;
    for (int s = 0; s < 2; s++)
      if (p[s + 1].revents)
        hb_read(hb, s);
  }
  return NULL;
}

struct eng_heartbeat *eng_hb_start(const char *src_path, const char *dst_path, int64_t gap_ns,
                                   char *err, size_t errlen)
{
  struct eng_heartbeat *hb = calloc(1, sizeof *hb);
  if (!hb) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  hb->side[0].fd = hb->side[1].fd = hb->stop_pipe[0] = hb->stop_pipe[1] = -1;
  hb->side[0].t.gap_ns = hb->side[1].t.gap_ns = gap_ns;
  pthread_mutex_init(&hb->lock, NULL);
  pthread_cond_init(&hb->cond, NULL);
  if ((hb->side[0].fd = connect_unix(src_path, err, errlen)) < 0 ||
      (dst_path && (hb->side[1].fd = connect_unix(dst_path, err, errlen)) < 0))
    goto fail;
  if (pipe2(hb->stop_pipe, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    goto fail;
  }
  if (pthread_create(&hb->thread, NULL, hb_thread, hb) != 0) {
    snprintf(err, errlen, "cannot start the heartbeat thread");
    goto fail;
  }
  return hb;
fail:
  for (int i = 0; i < 2; i++) {
    if (hb->side[i].fd >= 0)
      close(hb->side[i].fd);
    if (hb->stop_pipe[i] >= 0)
      close(hb->stop_pipe[i]);
  }
  free(hb);
  return NULL;
}

bool eng_hb_wait_dst(struct eng_heartbeat *hb, unsigned lines, int timeout_ms)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (dl.tv_nsec >= 1000000000) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&hb->lock);
  hb->want = lines;
  while (hb->side[1].t.lines < lines) /* whole lines: the guest really runs */
    if (pthread_cond_timedwait(&hb->cond, &hb->lock, &dl) != 0)
      break;
  hb->want = 0;
  bool got = hb->side[1].t.lines >= lines;
  pthread_mutex_unlock(&hb->lock);
  return got;
}

int64_t eng_hb_last(struct eng_heartbeat *hb, int side, unsigned *lines)
{
  pthread_mutex_lock(&hb->lock);
  const struct eng_hb_track *t = &hb->side[side].t;
  int64_t last = t->lines ? t->last_ns : 0;
  if (lines)
    *lines = t->lines;
  pthread_mutex_unlock(&hb->lock);
  return last;
}

void eng_hb_take(struct eng_heartbeat *hb, int side, struct eng_hb_track *out)
{
  pthread_mutex_lock(&hb->lock);
  struct eng_hb_track *t = &hb->side[side].t;
  *out = *t;
  t->ngaps = 0; /* kept from here on: the next round's */
  pthread_mutex_unlock(&hb->lock);
}

void eng_hb_stop(struct eng_heartbeat *hb, struct eng_hb_result *r)
{
  if (r)
    memset(r, 0, sizeof *r);
  if (!hb)
    return;
  /* Its CPU before it ends (a joined thread has no clock).  Not part of
   * qmig_cpu_s: heartbeats are the lab's instrument, and each line costs
   * a wakeup and two context switches (docs/REPORT.md). */
  clockid_t cid;
  struct timespec ts;
  if (r && pthread_getcpuclockid(hb->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
    r->reader_cpu_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
  else if (r)
    r->reader_cpu_s = -1;
  char b = 'q';
  if (write(hb->stop_pipe[1], &b, 1) != 1)
    abort(); /* cannot happen on an empty pipe; never leave the thread */
  pthread_join(hb->thread, NULL);
  if (r) {
    const struct eng_hb_track *s = &hb->side[0].t, *d = &hb->side[1].t;
    r->src_lines = s->lines;
    r->dst_lines = d->lines;
    r->last_src_seq = s->last_seq;
    r->first_dst_seq = d->first_seq;
    r->last_src_mono_ns = s->lines ? s->last_ns : 0;
    r->first_dst_mono_ns = d->lines ? d->first_ns : 0;
    r->max_gap_src_ns = s->max_gap_ns;
    r->max_gap_dst_ns = d->max_gap_ns;
    r->realtime = hb->realtime;
    r->track[0] = *s;
    r->track[1] = *d;
  }
  for (int i = 0; i < 2; i++) {
    if (hb->side[i].fd >= 0)
      close(hb->side[i].fd);
    close(hb->stop_pipe[i]);
  }
  pthread_mutex_destroy(&hb->lock);
  pthread_cond_destroy(&hb->cond);
  free(hb);
}
