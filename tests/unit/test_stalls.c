/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stall timeline (engine/stalls.c): synthetic heartbeat lines fed as
 * the reader thread feeds them, the run's marks, and the stalls with the
 * phases they must get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"

#define MS 1000000LL   /* ns */
#define T0 (1000 * MS) /* `migrate` on the monotonic clock */

/* Lines every `period` ms from `from` to `to` (ms since migrate), skipping
 * the holes [a, b) in holes[], seq counting on from *seq. */
static void lines(struct eng_hb_track *t, double from, double to, double period,
                  const double (*holes)[2], size_t nholes, uint32_t *seq)
{
  for (double x = from; x < to; x += period) {
    bool in = false;
    for (size_t i = 0; i < nholes; i++)
      in |= x >= holes[i][0] && x < holes[i][1];
    if (!in)
      eng_hb_feed(t, T0 + (int64_t)(x * MS), (*seq)++);
  }
}

static struct eng_stall_marks marks(void)
{
  struct eng_stall_marks mk = {
    .migrate_ns = T0,
    .setup_end_ms = 600,
    .stop_ms = 5000,
    .resume_ms = 5030,
    .postcopy_ms = -1,
    .end_ms = 5020,
    .npass = 3,
    .pass = { 1, 2, 3 },
    .pass_ms = { 595, 3000, 5001 },
  };
  return mk;
}

static const struct qmig_stall *find(const struct qmig_report_stalls *s, const char *phase)
{
  for (unsigned i = 0; i < s->nstalls; i++)
    if (!strcmp(s->stalls[i].phase, phase))
      return &s->stalls[i];
  return NULL;
}

/* A whole precopy run: a setup freeze, a sync at pass 2, a gap in pass 2,
 * the switchover, a gap after the resume; small jitter stays out. */
static void test_precopy_run(void **state)
{
  (void)state;
  static struct eng_hb_track src, dst;
  memset(&src, 0, sizeof src);
  memset(&dst, 0, sizeof dst);
  src.gap_ns = dst.gap_ns = 10 * MS;
  uint32_t seq = 1;
  const double holes[][2] = { { 10, 590 }, { 2990, 3020 }, { 4000, 4050 }, { 4992, 6000 } };
  lines(&src, -500, 4995, 5, holes, 4, &seq);
  const double dholes[][2] = { { 5200, 5300 } };
  lines(&dst, 5035, 6000, 5, dholes, 1, &seq);
  struct eng_stall_marks mk = marks();
  struct qmig_report_stalls out;
  assert_int_equal(eng_stalls_build(&mk, &src, &dst, 5, 10, &out), 0);
  assert_int_equal(out.nstalls, 5);
  assert_int_equal(out.total, 5);
  const struct qmig_stall *s = find(&out, "setup");
  assert_non_null(s);
  assert_true(s->duration_ms > 579 && s->duration_ms < 586); /* 5 .. 590 */
  s = find(&out, "pass_2"); /* the sync whose event (3000) falls inside */
  assert_non_null(s);
  assert_int_equal(s->pass, 2);
  assert_true(s->start_ms > 2984 && s->start_ms < 2990);
  assert_string_equal(out.stalls[2].phase, "pass_2"); /* 4000..4050: pass 2 still */
  s = find(&out, "switchover");
  assert_non_null(s);
  assert_true(s->duration_ms > 40 && s->duration_ms < 46); /* 4990 .. 5035 */
  s = find(&out, "after_resume");
  assert_non_null(s);
  assert_true(s->start_ms >= 5195 && s->start_ms < 5200);
  assert_true(out.max_stall_ms > 579 && out.max_stall_ms < 586);
  assert_string_equal(out.max_stall_phase, "setup");
  for (unsigned i = 1; i < out.nstalls; i++) /* in time order */
    assert_true(out.stalls[i - 1].start_ms < out.stalls[i].start_ms);
  assert_true(out.stop_at_ms == 5000 && out.resume_at_ms == 5030);
}

/* A heartbeat cut in two by the stop: its sequence number is missing, one
 * period is taken off; a gap shorter than the threshold then is none. */
static void test_missing_line(void **state)
{
  (void)state;
  static struct eng_hb_track src, dst;
  memset(&src, 0, sizeof src);
  memset(&dst, 0, sizeof dst);
  src.gap_ns = dst.gap_ns = 10 * MS;
  eng_hb_feed(&src, T0 + 100 * MS, 10);
  eng_hb_feed(&src, T0 + 112 * MS, 12); /* 11 lost: 12 - 5 = 7 ms, no stall */
  eng_hb_feed(&src, T0 + 150 * MS, 13); /* 38 ms */
  eng_hb_feed(&dst, T0 + 200 * MS, 15); /* across: 50 - 5 = 45 ms */
  struct eng_stall_marks mk = marks();
  mk.setup_end_ms = 50;
  mk.npass = 1;
  mk.pass_ms[0] = 45;
  mk.stop_ms = 160;
  mk.resume_ms = 190;
  mk.end_ms = 170;
  struct qmig_report_stalls out;
  assert_int_equal(eng_stalls_build(&mk, &src, &dst, 5, 10, &out), 0);
  assert_int_equal(out.nstalls, 2);
  assert_string_equal(out.stalls[0].phase, "pass_1");
  assert_true(out.stalls[0].duration_ms > 37.9 && out.stalls[0].duration_ms < 38.1);
  assert_string_equal(out.stalls[1].phase, "switchover");
  assert_true(out.stalls[1].duration_ms > 44.9 && out.stalls[1].duration_ms < 45.1);
  assert_string_equal(out.max_stall_phase, "switchover");
}

/* Phases on their own: post-copy, a failed run, setup without QEMU's
 * setup-time (the first pass's event), before any mark. */
static void test_phases(void **state)
{
  (void)state;
  struct eng_stall_marks mk = marks();
  char p[16];
  mk.postcopy_ms = 4990;
  mk.end_ms = 9000;
  assert_int_equal(eng_stall_phase(&mk, 6000, 6100, p, sizeof p), 0);
  assert_string_equal(p, "postcopy");
  assert_int_equal(eng_stall_phase(&mk, 9100, 9200, p, sizeof p), 0);
  assert_string_equal(p, "after_resume");
  mk = marks();
  mk.stop_ms = mk.resume_ms = -1; /* failed before the switchover */
  mk.end_ms = 4000;
  assert_int_equal(eng_stall_phase(&mk, 4100, 4200, p, sizeof p), 0);
  assert_string_equal(p, "after_end");
  assert_int_equal(eng_stall_phase(&mk, 3500, 3600, p, sizeof p), 2);
  assert_string_equal(p, "pass_2");
  mk.stop_ms = 3900; /* failed after STOP: the source runs again after the end */
  assert_int_equal(eng_stall_phase(&mk, 3890, 3990, p, sizeof p), 0);
  assert_string_equal(p, "switchover");
  assert_int_equal(eng_stall_phase(&mk, 4100, 4200, p, sizeof p), 0);
  assert_string_equal(p, "after_end");
  mk.stop_ms = -1;
  mk.setup_end_ms = -1; /* no final statistics: pass 1's event ends setup */
  assert_int_equal(eng_stall_phase(&mk, 500, 620, p, sizeof p), 0);
  assert_string_equal(p, "setup");
  assert_int_equal(eng_stall_phase(&mk, 700, 720, p, sizeof p), 1);
  assert_string_equal(p, "pass_1");
  mk.npass = 0;
  assert_int_equal(eng_stall_phase(&mk, 700, 720, p, sizeof p), 0);
  assert_string_equal(p, "setup");
  assert_int_equal(eng_stall_phase(&mk, -5, 20, p, sizeof p), 0); /* from before migrate */
  assert_string_equal(p, "setup");
}

/* More gaps than a side keeps: the largest stay; the count is whole; gaps
 * that ended before `migrate` are not stalls of the run. */
static void test_bounds(void **state)
{
  (void)state;
  static struct eng_hb_track src, dst;
  memset(&src, 0, sizeof src);
  memset(&dst, 0, sizeof dst);
  src.gap_ns = dst.gap_ns = 10 * MS;
  eng_hb_feed(&src, T0 - 500 * MS, 1);
  eng_hb_feed(&src, T0 - 100 * MS, 2); /* before migrate */
  int64_t t = T0;
  uint32_t seq = 3;
  for (unsigned i = 0; i < ENG_HB_MAX_GAPS + 100; i++) {
    eng_hb_feed(&src, t, seq++);
    t += (i == 700 ? 900 : 20 + i % 7) * MS;
  }
  assert_int_equal(src.ngaps, ENG_HB_MAX_GAPS);
  assert_int_equal(src.total_gaps, ENG_HB_MAX_GAPS + 101); /* 2 before migrate */
  struct eng_stall_marks mk = marks();
  mk.stop_ms = mk.resume_ms = -1;
  mk.end_ms = -1;
  struct qmig_report_stalls out;
  assert_int_equal(eng_stalls_build(&mk, &src, &dst, 5, 10, &out), 0);
  assert_int_equal(out.nstalls, QMIG_MAX_STALLS);
  assert_true(out.total >= ENG_HB_MAX_GAPS + 98);
  assert_true(out.max_stall_ms == 900);
  for (unsigned i = 0; i < out.nstalls; i++)
    assert_true(out.stalls[i].start_ms >= 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_precopy_run),
    cmocka_unit_test(test_missing_line),
    cmocka_unit_test(test_phases),
    cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
