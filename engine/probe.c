/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.c - the network prober (engine/probe.h): echo requests to the
 * guest at a fixed rate from a thread of its own, replies stamped on
 * CLOCK_MONOTONIC as they arrive.  ICMP goes through an unprivileged
 * datagram socket (net.ipv4.ping_group_range) or, where that is refused, a
 * raw one (root); UDP needs an echo service on the guest.  Each request
 * carries a tag, the run's id and its sequence number, so a reply is
 * counted once and nothing else is taken for one. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/probe.h"

enum probe_kind { PROBE_ICMP, PROBE_ICMP_RAW, PROBE_UDP };

#define TAG 0x51505242u /* "BRPQ" */
struct payload {
  uint32_t tag, run;
  uint64_t seq;
};

#define RING 16384 /* 16 s at 1 kHz */
struct eng_probe {
  enum probe_kind kind;
  char target[128], netns[64];
  struct sockaddr_in to;
  int fd;
  unsigned rate_hz;
  uint16_t echo_id;
  uint32_t run;
  pthread_t thread;
  atomic_bool stop;
  pthread_mutex_t lock; /* guards what settle reads: acct.last_ns */
  uint64_t sent;
  int64_t first_send_ns, end_ns;
  uint8_t *seen; /* bitmap of answered sequence numbers */
  uint64_t seen_bits;
  struct eng_probe_acct acct;
  /* The latest replies' times (a ring): the first reply after the resume,
   * known only once the run has seen RESUME. */
  int64_t ring[RING];
  uint64_t nring;
};

int64_t eng_probe_wall_to_mono(int64_t wall_us)
{
  struct timespec r;
  clock_gettime(CLOCK_REALTIME, &r);
  int64_t off = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - eng_mono_ns();
  return wall_us * 1000 - off;
}

static int parse(const char *spec, enum probe_kind *kind, struct sockaddr_in *to, char *why,
                 size_t len)
{
  char host[64];
  const char *rest;
  memset(to, 0, sizeof *to);
  to->sin_family = AF_INET;
  if (!strncmp(spec, "icmp:", 5)) {
    *kind = PROBE_ICMP;
    rest = spec + 5;
    snprintf(host, sizeof host, "%s", rest);
  } else if (!strncmp(spec, "udp:", 4)) {
    *kind = PROBE_UDP;
    rest = spec + 4;
    const char *colon = strrchr(rest, ':');
    char *end;
    if (!colon || (size_t)(colon - rest) >= sizeof host)
      return errbuf_setf(why, len, "not udp:ADDR:PORT");
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port == 0 || port > 65535)
      return errbuf_setf(why, len, "port '%s' is not within 1-65535", colon + 1);
    snprintf(host, sizeof host, "%.*s", (int)(colon - rest), rest);
    to->sin_port = htons((uint16_t)port);
  } else {
    return errbuf_setf(why, len, "not icmp:ADDR or udp:ADDR:PORT");
  }
  if (inet_pton(AF_INET, host, &to->sin_addr) != 1)
    return errbuf_setf(why, len, "'%s' is not an IPv4 address", host);
  return 0;
}

int eng_probe_parse(const char *spec, char *why, size_t len)
{
  enum probe_kind k;
  struct sockaddr_in to;
  return parse(spec, &k, &to, why, len);
}

/* The socket, opened in the namespace named netns when given: a helper
 * thread enters it (setns acts on the calling thread only) and the socket
 * keeps that namespace. */
struct opener {
  struct eng_probe *p;
  char err[256];
};

static int open_socket(struct eng_probe *p, char *err, size_t errlen)
{
  if (p->kind == PROBE_UDP) {
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  } else {
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
    if (p->fd < 0 && (errno == EACCES || errno == EPERM)) { /* ping_group_range */
      p->kind = PROBE_ICMP_RAW;
      p->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
    }
  }
  if (p->fd < 0)
    return errbuf_setf(err, errlen, "probe socket: %s", strerror(errno));
  /* UDP: connect() so only the guest's replies arrive. */
  if (p->kind == PROBE_UDP && connect(p->fd, (struct sockaddr *)&p->to, sizeof p->to) < 0)
    return errbuf_setf(err, errlen, "probe %s: %s", p->target, strerror(errno));
  return 0;
}

static void *opener_thread(void *arg)
{
  struct opener *o = arg;
  char path[128];
  snprintf(path, sizeof path, "/run/netns/%s", o->p->netns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
    errbuf_setf(o->err, sizeof o->err, "probe network namespace %s: %s", o->p->netns,
                strerror(errno));
  else
    open_socket(o->p, o->err, sizeof o->err);
  if (nsfd >= 0)
    close(nsfd);
  return NULL;
}

static uint16_t csum(const void *data, size_t n)
{
  const uint8_t *b = data;
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)(b[i] << 8 | b[i + 1]);
  if (n & 1)
    s += (uint32_t)b[n - 1] << 8;
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return htons((uint16_t)~s);
}

static void send_one(struct eng_probe *p)
{
  struct payload pl = { TAG, p->run, p->sent };
  uint8_t buf[sizeof(struct icmphdr) + sizeof pl];
  const void *data = &pl;
  size_t n = sizeof pl;
  if (p->kind != PROBE_UDP) {
    struct icmphdr h = { .type = ICMP_ECHO };
    h.un.echo.id = htons(p->echo_id); /* the datagram socket sets its own */
    h.un.echo.sequence = htons((uint16_t)p->sent);
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, &pl, sizeof pl);
    ((struct icmphdr *)buf)->checksum = csum(buf, sizeof buf); /* raw: ours counts */
    data = buf;
    n = sizeof buf;
  }
  /* A full buffer or an unreachable guest is a lost request: counted. */
  if (p->kind == PROBE_UDP)
    (void)send(p->fd, data, n, MSG_DONTWAIT);
  else
    (void)sendto(p->fd, data, n, MSG_DONTWAIT, (struct sockaddr *)&p->to, sizeof p->to);
  p->sent++;
}

/* Our payload inside a reply, or NULL. */
static const struct payload *find_payload(const struct eng_probe *p, const uint8_t *b, size_t n)
{
  if (p->kind == PROBE_ICMP_RAW) { /* raw sockets see the IP header */
    if (n < sizeof(struct iphdr))
      return NULL;
    size_t ihl = (size_t)(b[0] & 15) * 4;
    if (ihl < sizeof(struct iphdr) || n < ihl)
      return NULL;
    b += ihl, n -= ihl;
  }
  if (p->kind != PROBE_UDP) {
    if (n < sizeof(struct icmphdr) || b[0] != ICMP_ECHOREPLY)
      return NULL;
    b += sizeof(struct icmphdr), n -= sizeof(struct icmphdr);
  }
  if (n < sizeof(struct payload))
    return NULL;
  static _Thread_local struct payload pl;
  memcpy(&pl, b, sizeof pl);
  return pl.tag == TAG && pl.run == p->run && pl.seq < p->sent ? &pl : NULL;
}

static void receive(struct eng_probe *p)
{
  for (int k = 0; k < 256; k++) {
    uint8_t buf[1600];
    ssize_t n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
    int64_t now = eng_mono_ns();
    if (n < 0)
      return;
    const struct payload *pl = find_payload(p, buf, (size_t)n);
    if (!pl)
      continue;
    if (pl->seq >= p->seen_bits) { /* grow the bitmap by 64 Ki requests at a time */
      uint64_t bits = (pl->seq / 65536 + 1) * 65536;
      uint8_t *s = realloc(p->seen, bits / 8);
      if (!s)
        continue;
      memset(s + p->seen_bits / 8, 0, (bits - p->seen_bits) / 8);
      p->seen = s, p->seen_bits = bits;
    }
    uint8_t bit = (uint8_t)(1u << (pl->seq & 7));
    if (p->seen[pl->seq / 8] & bit)
      continue; /* a duplicate */
    p->seen[pl->seq / 8] |= bit;
    pthread_mutex_lock(&p->lock);
    eng_probe_acct_reply(&p->acct, now);
    p->ring[p->nring++ % RING] = now;
    pthread_mutex_unlock(&p->lock);
  }
}

static void *probe_thread(void *arg)
{
  struct eng_probe *p = arg;
  const int64_t period = 1000000000 / p->rate_hz;
  int64_t next = eng_mono_ns();
  p->first_send_ns = next;
  while (!atomic_load(&p->stop)) {
    int64_t now = eng_mono_ns();
    if (now >= next) {
      send_one(p);
      next += period;
      if (next < now - 100 * period) /* descheduled for long: no burst */
        next = now;
      continue;
    }
    int64_t d = next - now;
    struct timespec ts = { d / 1000000000, d % 1000000000 };
    struct pollfd pf = { .fd = p->fd, .events = POLLIN };
    if (ppoll(&pf, 1, &ts, NULL) > 0)
      receive(p);
  }
  p->end_ns = eng_mono_ns();
  return NULL;
}

struct eng_probe *eng_probe_start(const char *spec, const char *netns, unsigned rate_hz,
                                  unsigned gap_ms, char *err, size_t errlen)
{
  struct eng_probe *p = calloc(1, sizeof *p);
  if (!p) {
    errbuf_setf(err, errlen, "probe: out of memory");
    return NULL;
  }
  p->fd = -1;
  snprintf(p->target, sizeof p->target, "%s", spec);
  snprintf(p->netns, sizeof p->netns, "%s", netns ? netns : "");
  p->rate_hz = rate_hz ? rate_hz : 1000;
  char why[256];
  if (parse(spec, &p->kind, &p->to, why, sizeof why) < 0) {
    errbuf_setf(err, errlen, "probe '%s': %s", spec, why);
    goto fail;
  }
  if (getrandom(&p->run, sizeof p->run, 0) != sizeof p->run)
    p->run = (uint32_t)eng_mono_ns();
  p->echo_id = (uint16_t)p->run;
  /* default threshold: 3 periods, never under 1 ms */
  int64_t thr = gap_ms ? (int64_t)gap_ms * 1000000 : 3 * (1000000000 / (int64_t)p->rate_hz);
  eng_probe_acct_init(&p->acct, thr < 1000000 ? 1000000 : thr);
  pthread_mutex_init(&p->lock, NULL);
  if (p->netns[0]) {
    struct opener o = { .p = p };
    pthread_t t;
    if (pthread_create(&t, NULL, opener_thread, &o) != 0) {
      errbuf_setf(err, errlen, "probe: cannot start a thread");
      goto fail;
    }
    pthread_join(t, NULL);
    if (o.err[0]) {
      errbuf_setf(err, errlen, "%s", o.err);
      goto fail;
    }
  } else if (open_socket(p, err, errlen) < 0) {
    goto fail;
  }
  if (pthread_create(&p->thread, NULL, probe_thread, p) != 0) {
    errbuf_setf(err, errlen, "probe: cannot start its thread");
    goto fail;
  }
  return p;
fail:
  if (p->fd >= 0)
    close(p->fd);
  free(p);
  return NULL;
}

bool eng_probe_settle(struct eng_probe *p, int64_t after_ns, int linger_ms, int64_t timeout_ns)
{
  if (!p)
    return false;
  int64_t seen = 0;
  for (int64_t now; (now = eng_mono_ns()) < timeout_ns; usleep(5000)) {
    pthread_mutex_lock(&p->lock);
    int64_t last = p->acct.last_ns;
    pthread_mutex_unlock(&p->lock);
    if (!seen && last > after_ns)
      seen = now;
    if (seen && now - seen >= (int64_t)linger_ms * 1000000)
      return true;
  }
  return seen != 0;
}

void eng_probe_around(struct eng_probe *p, int64_t t_ns, int64_t *before_ns, int64_t *after_ns)
{
  *before_ns = *after_ns = 0;
  pthread_mutex_lock(&p->lock);
  uint64_t keep = p->nring < RING ? p->nring : RING;
  for (uint64_t k = 0; k < keep; k++) {
    int64_t rx = p->ring[(p->nring - 1 - k) % RING];
    if (rx <= t_ns) {
      *before_ns = rx;
      break;
    }
    *after_ns = rx;
  }
  pthread_mutex_unlock(&p->lock);
}

/* The first reply after t (0: none), from the ring of the latest replies;
 * when t is older than the ring, the end of the gap that spans t. */
static int64_t first_reply_after(const struct eng_probe *p, int64_t t)
{
  const struct eng_probe_acct *a = &p->acct;
  if (a->replies == 0 || a->last_ns <= t)
    return 0;
  uint64_t keep = p->nring < RING ? p->nring : RING, k;
  int64_t first = 0;
  for (k = 0; k < keep; k++) {
    int64_t rx = p->ring[(p->nring - 1 - k) % RING];
    if (rx <= t)
      return first;
    first = rx;
  }
  if (p->nring <= RING)
    return first; /* every reply came after t */
  for (unsigned i = 0; i < a->ngaps; i++)
    if (a->gaps[i].start_ns <= t && a->gaps[i].end_ns > t)
      return a->gaps[i].open ? 0 : a->gaps[i].end_ns;
  return 0; /* not known */
}

void eng_probe_stop(struct eng_probe *p, const struct eng_phase_marks *pm,
                    struct qmig_report_network *r)
{
  if (!p)
    return;
  atomic_store(&p->stop, true);
  pthread_join(p->thread, NULL);
  close(p->fd);
  if (!r || !pm)
    goto out;
  struct eng_probe_acct *a = &p->acct;
  eng_probe_acct_end(a, p->end_ns);
  memset(r, 0, sizeof *r);
  snprintf(r->target, sizeof r->target, "%s", p->target);
  snprintf(r->netns, sizeof r->netns, "%s", p->netns);
  r->method = p->kind == PROBE_UDP ? "udp" : p->kind == PROBE_ICMP ? "icmp" : "icmp-raw";
  r->rate_hz = p->rate_hz;
  r->threshold_ms = a->threshold_ns / 1e6;
  r->sent = p->sent;
  r->received = a->replies;
  r->lost = p->sent - a->replies;
  r->duration_ms = (p->end_ns - p->first_send_ns) / 1e6;
  r->gaps_total = a->gaps_total;
  int64_t t0 = pm->migrate_ns ? pm->migrate_ns : p->first_send_ns;
  for (unsigned i = 0; i < a->ngaps && r->ngaps < QMIG_MAX_NET_GAPS; i++) {
    const struct eng_probe_gap *g = &a->gaps[i];
    struct qmig_net_gap *o = &r->gaps[r->ngaps++];
    o->start_ms = (g->start_ns - t0) / 1e6;
    o->duration_ms = (g->end_ns - g->start_ns) / 1e6;
    o->open = g->open;
    eng_gap_phase(pm, g->start_ns, g->end_ns, o->phase, sizeof o->phase);
  }
  r->max_gap_ms = -1;
  if (a->gaps_total) {
    r->max_gap_ms = (a->max.end_ns - a->max.start_ns) / 1e6;
    r->max_gap_start_ms = (a->max.start_ns - t0) / 1e6;
    eng_gap_phase(pm, a->max.start_ns, a->max.end_ns, r->max_gap_phase, sizeof r->max_gap_phase);
  }
  int64_t fr = pm->resume_ns ? first_reply_after(p, pm->resume_ns) : 0;
  r->first_reply_after_resume_ms = fr ? (fr - pm->resume_ns) / 1e6 : -1;
out:
  pthread_mutex_destroy(&p->lock);
  free(p->seen);
  free(p);
}
