/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network probe's gap accounting and the phase a gap is put in
 * (engine/probe_gaps.c), on made-up reply times; the probe target's
 * syntax; and a real probe over loopback UDP against an echo thread that
 * falls silent for a while: the gap it reports has that length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "engine/probe.h"
#include "tests/unit/unit.h"

#define MS 1000000LL

static void test_gaps(void **state)
{
  (void)state;
  static struct eng_probe_acct a;
  eng_probe_acct_init(&a, 3 * MS);
  for (int64_t t = 1; t <= 100; t++) /* a reply every ms: no gap */
    eng_probe_acct_reply(&a, t * MS);
  assert_int_equal(a.gaps_total, 0);
  eng_probe_acct_reply(&a, 103 * MS); /* 3 ms: not over the threshold */
  assert_int_equal(a.gaps_total, 0);
  eng_probe_acct_reply(&a, 150 * MS); /* 47 ms of silence */
  eng_probe_acct_reply(&a, 151 * MS);
  eng_probe_acct_reply(&a, 400 * MS); /* 249 ms: the longest */
  eng_probe_acct_reply(&a, 405 * MS); /* 5 ms */
  assert_int_equal(a.replies, 105);
  assert_int_equal(a.gaps_total, 3);
  assert_int_equal(a.ngaps, 3);
  assert_int_equal(a.gaps[0].start_ns, 103 * MS);
  assert_int_equal(a.gaps[0].end_ns, 150 * MS);
  assert_false(a.gaps[0].open);
  assert_int_equal(a.gaps[2].end_ns - a.gaps[2].start_ns, 5 * MS);
  assert_int_equal(a.max.start_ns, 151 * MS);
  assert_int_equal(a.max.end_ns, 400 * MS);
  eng_probe_acct_end(&a, 407 * MS); /* 2 ms after the last: no open gap */
  assert_int_equal(a.gaps_total, 3);
  eng_probe_acct_end(&a, 1000 * MS); /* silence to the end: open, the longest */
  assert_int_equal(a.gaps_total, 4);
  assert_true(a.gaps[3].open);
  assert_int_equal(a.max.end_ns - a.max.start_ns, 595 * MS);
}

static void test_gaps_bounded(void **state)
{
  (void)state;
  static struct eng_probe_acct a;
  eng_probe_acct_init(&a, 1 * MS);
  int64_t t = 0;
  for (unsigned i = 0; i < ENG_PROBE_MAX_GAPS + 10; i++)
    eng_probe_acct_reply(&a, t += 2 * MS);
  eng_probe_acct_reply(&a, t += 50 * MS); /* past the list: still the max */
  assert_int_equal(a.ngaps, ENG_PROBE_MAX_GAPS);
  assert_int_equal(a.gaps_total, ENG_PROBE_MAX_GAPS + 10);
  assert_int_equal(a.max.end_ns - a.max.start_ns, 50 * MS);
  static struct eng_probe_acct none;
  eng_probe_acct_init(&none, 1 * MS);
  eng_probe_acct_end(&none, 100 * MS); /* no reply at all: no gap to place */
  assert_int_equal(none.gaps_total, 0);
}

static void test_phases(void **state)
{
  (void)state;
  struct eng_phase_marks pm = { .migrate_ns = 1000 * MS,
                                .npasses = 3,
                                .pass = { 1, 2, 3 },
                                .pass_ns = { 1010 * MS, 2000 * MS, 2500 * MS },
                                .stop_ns = 2600 * MS,
                                .resume_ns = 2700 * MS,
                                .done_ns = 2650 * MS };
  char p[16];
  eng_phase_at(&pm, 500 * MS, p, sizeof p);
  assert_string_equal(p, "before");
  eng_phase_at(&pm, 1005 * MS, p, sizeof p);
  assert_string_equal(p, "setup");
  eng_phase_at(&pm, 1500 * MS, p, sizeof p);
  assert_string_equal(p, "pass_1");
  eng_phase_at(&pm, 2550 * MS, p, sizeof p);
  assert_string_equal(p, "pass_3");
  eng_phase_at(&pm, 2650 * MS, p, sizeof p);
  assert_string_equal(p, "switchover");
  eng_phase_at(&pm, 2800 * MS, p, sizeof p);
  assert_string_equal(p, "after_resume");
  /* A gap that holds the stop is the switchover's, however long after the
   * resume it lasts; one that starts after the resume is not. */
  eng_gap_phase(&pm, 2590 * MS, 3500 * MS, p, sizeof p);
  assert_string_equal(p, "switchover");
  eng_gap_phase(&pm, 2710 * MS, 3500 * MS, p, sizeof p);
  assert_string_equal(p, "after_resume");
  eng_gap_phase(&pm, 1100 * MS, 1200 * MS, p, sizeof p);
  assert_string_equal(p, "pass_1");
  /* post-copy: from its start until the source completes */
  pm.postcopy_ns = 2620 * MS;
  pm.done_ns = 5000 * MS;
  eng_phase_at(&pm, 2630 * MS, p, sizeof p);
  assert_string_equal(p, "postcopy");
  eng_phase_at(&pm, 4000 * MS, p, sizeof p);
  assert_string_equal(p, "postcopy");
  eng_phase_at(&pm, 5001 * MS, p, sizeof p);
  assert_string_equal(p, "after_resume");
}

static void test_parse(void **state)
{
  (void)state;
  char why[128];
  assert_int_equal(eng_probe_parse("icmp:198.18.1.2", why, sizeof why), 0);
  assert_int_equal(eng_probe_parse("udp:198.18.1.2:7", why, sizeof why), 0);
  static const char *const bad[] = { "198.18.1.2",       "icmp:",
                                     "icmp:guest",       "udp:198.18.1.2",
                                     "udp:198.18.1.2:0", "udp:198.18.1.2:65536",
                                     "udp:1.2.3.4:x",    "tcp:198.18.1.2:7" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (eng_probe_parse(bad[i], why, sizeof why) == 0)
      fail_msg("probe '%s' accepted", bad[i]);
  /* the option table checks it too */
  struct qmig_migration *m = qmig_new();
  assert_int_not_equal(qmig_set(m, "probe", "udp:nowhere"), 0);
  assert_int_equal(qmig_set(m, "probe", "icmp:127.0.0.1"), 0);
  qmig_free(m);
}

/* A UDP echo on loopback that stops answering between 150 and 400 ms. */
struct echo {
  int fd;
  volatile int stop;
  int64_t t0;
};

static void *echo_thread(void *arg)
{
  struct echo *e = arg;
  while (!e->stop) {
    struct pollfd p = { .fd = e->fd, .events = POLLIN };
    if (poll(&p, 1, 10) <= 0)
      continue;
    char buf[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(e->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    int64_t t = eng_mono_ns() - e->t0;
    if (n > 0 && (t < 150 * MS || t > 400 * MS))
      sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

static void test_udp_loopback(void **state)
{
  (void)state;
  struct echo e = { .fd = socket(AF_INET, SOCK_DGRAM, 0) };
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof sa;
  assert_true(e.fd >= 0);
  assert_int_equal(bind(e.fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(e.fd, (struct sockaddr *)&sa, &sl), 0);
  char spec[64], err[256];
  snprintf(spec, sizeof spec, "udp:127.0.0.1:%u", ntohs(sa.sin_port));
  e.t0 = eng_mono_ns();
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, echo_thread, &e), 0);
  struct eng_probe *p = eng_probe_start(spec, NULL, 1000, 20, err, sizeof err);
  if (!p)
    fail_msg("%s", err);
  usleep(600 * 1000);
  struct eng_phase_marks pm = { .migrate_ns = e.t0 };
  static struct qmig_report_network r;
  eng_probe_stop(p, &pm, &r);
  e.stop = 1;
  pthread_join(t, NULL);
  close(e.fd);
  assert_string_equal(r.method, "udp");
  assert_true(r.sent >= 300); /* 600 ms at 1 kHz, on a loaded machine */
  assert_true(r.received > 0 && r.received < r.sent);
  assert_int_equal(r.lost, r.sent - r.received);
  /* the silence: 250 ms, give or take scheduling on a busy host */
  assert_true(r.max_gap_ms > 200 && r.max_gap_ms < 400);
  assert_true(r.max_gap_start_ms > 100 && r.max_gap_start_ms < 250);
  assert_string_equal(r.max_gap_phase, "setup");  /* no pass marks given */
  assert_true(r.first_reply_after_resume_ms < 0); /* no resume given */
}

/* ICMP echo to loopback: the kernel answers, as any host would. */
static void test_icmp_loopback(void **state)
{
  (void)state;
  char err[256];
  struct eng_probe *p = eng_probe_start("icmp:127.0.0.1", NULL, 1000, 0, err, sizeof err);
  if (!p)
    fail_msg("%s", err);
  usleep(300 * 1000);
  struct eng_phase_marks pm = { 0 };
  static struct qmig_report_network r;
  eng_probe_stop(p, &pm, &r);
  assert_true(!strcmp(r.method, "icmp") || !strcmp(r.method, "icmp-raw"));
  assert_true(r.sent >= 100);
  assert_true(r.received * 2 >= r.sent); /* loopback loses nothing but the last in flight */
  assert_true(r.received <= r.sent);
}

UNIT_MAIN(cmocka_unit_test(test_gaps), cmocka_unit_test(test_gaps_bounded),
          cmocka_unit_test(test_phases), cmocka_unit_test(test_parse),
          cmocka_unit_test(test_udp_loopback), cmocka_unit_test(test_icmp_loopback))
