/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The precopy model of engine/predict.c from known inputs (against the
 * closed forms it must agree with), the options it reads, and
 * qmig_dirty_rate() without a reachable source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "tests/unit/unit.h"

#define MIB 1048576.0

static struct eng_pred_out run(double in_use_mib, double dirty_mibps, double bw_mibps)
{
  struct eng_pred_in in = { .ram = 96 * MIB,
                            .in_use = in_use_mib * MIB,
                            .dirty = dirty_mibps * MIB,
                            .bw = bw_mibps * MIB,
                            .stop_bw = bw_mibps * MIB,
                            .limit_s = 0.3 };
  struct eng_pred_out o;
  eng_predict_model(&in, &o);
  return o;
}

/* An idle guest: one pass sends the data; QEMU syncs when less than
 * bw x limit is left, finds nothing new and stops: 3 MIGRATION_PASS
 * events (setup, that sync, the final one), data / bw in all. */
static void test_idle(void **state)
{
  (void)state;
  struct eng_pred_out o = run(64, 0, 24);
  assert_true(o.converges);
  assert_int_equal(o.passes, 3);
  assert_true(o.total_s > 64 / 24.0 - 0.01 && o.total_s < 64 / 24.0 + 0.01);
  assert_true(o.downtime_s > 0 && o.downtime_s <= 0.3);
}

/* Dirtying below the bandwidth: the passes form a geometric series, and
 * the time before the stop is (data - threshold) / (bw - dirty). */
static void test_dirtying_converges(void **state)
{
  (void)state;
  static const double rates[] = { 4, 8, 16, 20 };
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    struct eng_pred_out o = run(64, rates[i], 24);
    assert_true(o.converges);
    double closed = (64 - 24 * 0.3) / (24 - rates[i]);
    double before_stop = o.total_s - o.downtime_s;
    assert_true(before_stop > closed * 0.97 && before_stop < closed * 1.03);
    assert_true(o.passes > 3);
  }
  assert_true(run(64, 16, 24).passes > run(64, 8, 24).passes);
}

static void test_not_converging(void **state)
{
  (void)state;
  assert_false(run(64, 24, 24).converges);
  assert_false(run(64, 30, 24).converges);
  /* ... unless everything it can dirty fits under the threshold. */
  struct eng_pred_out o = run(4, 30, 24);
  assert_true(o.converges);
  assert_true(o.downtime_s <= 0.3);
}

/* All of RAM under the threshold: QEMU stops at its first check. */
static void test_fits_at_once(void **state)
{
  (void)state;
  struct eng_pred_in in = { .ram = 8 * MIB,
                            .in_use = 8 * MIB,
                            .dirty = 100 * MIB,
                            .bw = 100 * MIB,
                            .stop_bw = 1000 * MIB,
                            .limit_s = 0.3 };
  struct eng_pred_out o;
  eng_predict_model(&in, &o);
  assert_true(o.converges);
  assert_int_equal(o.passes, 3);
  assert_true(o.total_s > 0.0079 && o.total_s < 0.0081); /* 8 MiB at 1000 MiB/s */
}

static void test_options(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  assert_int_equal(m->cfg.predict.dirty_rate_time_s, 1);
  assert_int_equal(m->cfg.announce.rounds, 5);
  assert_int_equal(m->cfg.announce.initial_ms, 50);
  assert_int_equal(m->cfg.announce.max_ms, 550);
  assert_int_equal(m->cfg.announce.step_ms, 100);
  assert_int_equal(qmig_set(m, "dirty-rate-time", "0"), -1);
  assert_int_equal(qmig_set(m, "dirty-rate-time", "61"), -1);
  assert_int_equal(qmig_set(m, "dirty-rate-time", "3"), 0);
  assert_int_equal(qmig_set(m, "link-bandwidth", "1G"), 0);
  assert_true(m->cfg.predict.link_bandwidth == UINT64_C(1) << 30);
  assert_int_equal(qmig_set(m, "ram-in-use", "64M"), 0);
  assert_int_equal(qmig_set(m, "announce-rounds", "0"), 0);
  assert_int_equal(qmig_set(m, "announce-step", "0"), -1);
  assert_non_null(strstr(qmig_error(m), "announce-step"));
  qmig_free(m);
}

static void test_dirty_rate_unreachable(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  assert_int_equal(qmig_dirty_rate(m), QMIG_USAGE); /* no source */
  qmig_free(m);
  m = unit_mig("src", "unix:/nonexistent/src.qmp", NULL);
  assert_int_equal(qmig_dirty_rate(m), QMIG_NOT_STARTED);
  assert_non_null(strstr(qmig_error(m), "/nonexistent/src.qmp"));
  assert_int_equal(qmig_dirty_rate(m), QMIG_USAGE); /* once per object */
  qmig_free(m);
}

UNIT_MAIN(cmocka_unit_test(test_idle), cmocka_unit_test(test_dirtying_converges),
          cmocka_unit_test(test_not_converging), cmocka_unit_test(test_fits_at_once),
          cmocka_unit_test(test_options), cmocka_unit_test(test_dirty_rate_unreachable))
