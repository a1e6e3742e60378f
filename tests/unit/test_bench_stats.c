/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/stats.c against known inputs.  The bootstrap intervals expected
 * here were computed by an independent implementation (Python, the same
 * splitmix64 stream and type-7 quantiles): same seed, same interval. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/bench.h"
#include "tests/unit/unit.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_quantiles(void **state)
{
  (void)state;
  double v[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
  NEAR(bench_quantile(v, 10, 0.5), 5.5);
  NEAR(bench_quantile(v, 10, 0.05), 1.45);
  NEAR(bench_quantile(v, 10, 0.95), 9.55);
  NEAR(bench_quantile(v, 10, 0.25), 3.25);
  NEAR(bench_quantile(v, 10, 0), 1);
  NEAR(bench_quantile(v, 10, 1), 10);
  double odd[3] = { 1, 2, 30 };
  NEAR(bench_quantile(odd, 3, 0.5), 2);
  double one[1] = { 7 };
  NEAR(bench_quantile(one, 1, 0.05), 7);
}

static void test_summary_known(void **state)
{
  (void)state;
  double v[10] = { 10, 3, 8, 1, 5, 9, 2, 7, 4, 6 }; /* 1..10 shuffled */
  double copy[10];
  memcpy(copy, v, sizeof v);
  struct bench_summary s;
  assert_int_equal(bench_summarize(v, 10, 2000, 1, &s), 0);
  assert_memory_equal(v, copy, sizeof v); /* input untouched */
  assert_int_equal(s.n, 10);
  NEAR(s.median, 5.5);
  NEAR(s.p5, 1.45);
  NEAR(s.p95, 9.55);
  NEAR(s.min, 1);
  NEAR(s.max, 10);
  NEAR(s.ci_lo, 3.0);
  NEAR(s.ci_hi, 8.0);

  double w[5] = { 12, 7, 3, 20, 9 };
  assert_int_equal(bench_summarize(w, 5, 1000, 42, &s), 0);
  NEAR(s.median, 9);
  NEAR(s.ci_lo, 3.0);
  NEAR(s.ci_hi, 20.0);
}

static void test_summary_edges(void **state)
{
  (void)state;
  struct bench_summary s;
  double one[1] = { 4.5 };
  assert_int_equal(bench_summarize(one, 1, 2000, 1, &s), 0);
  NEAR(s.median, 4.5);
  NEAR(s.ci_lo, 4.5);
  NEAR(s.ci_hi, 4.5);
  NEAR(s.p95, 4.5);
  double same[4] = { 4, 4, 4, 4 };
  assert_int_equal(bench_summarize(same, 4, 500, 9, &s), 0);
  NEAR(s.ci_lo, 4);
  NEAR(s.ci_hi, 4);
  assert_int_equal(bench_summarize(same, 0, 500, 9, &s), -1);
  /* No resamples: the interval collapses onto the median. */
  double v[3] = { 1, 2, 9 };
  assert_int_equal(bench_summarize(v, 3, 0, 1, &s), 0);
  NEAR(s.ci_lo, 2);
  NEAR(s.ci_hi, 2);
}

static void test_bootstrap_reproducible(void **state)
{
  (void)state;
  double v[12] = { 31, 45, 12, 80, 33, 29, 41, 38, 90, 27, 35, 30 };
  struct bench_summary a, b;
  assert_int_equal(bench_summarize(v, 12, 2000, 5, &a), 0);
  assert_int_equal(bench_summarize(v, 12, 2000, 5, &b), 0);
  assert_memory_equal(&a, &b, sizeof a);
  assert_true(a.ci_lo <= a.median && a.median <= a.ci_hi);
  assert_true(a.min <= a.ci_lo && a.ci_hi <= a.max);
}

static void test_ratio(void **state)
{
  (void)state;
  double r, lo, hi;
  double a[3] = { 2, 2, 2 }, b[3] = { 1, 1, 1 };
  assert_int_equal(bench_ratio(a, 3, b, 3, 1000, 1, &r, &lo, &hi), 0);
  NEAR(r, 2);
  NEAR(lo, 2);
  NEAR(hi, 2);
  double x[4] = { 10, 12, 14, 30 }, y[5] = { 5, 6, 7, 8, 9 };
  assert_int_equal(bench_ratio(x, 4, y, 5, 1000, 7, &r, &lo, &hi), 0);
  NEAR(r, 13.0 / 7.0);
  NEAR(lo, 4.0 / 3.0);
  NEAR(hi, 30.0 / 7.0);
  double z[2] = { 0, 0 };
  assert_int_equal(bench_ratio(x, 4, z, 2, 100, 1, &r, &lo, &hi), -1);
  assert_int_equal(bench_ratio(x, 0, y, 5, 100, 1, &r, &lo, &hi), -1);
}

UNIT_MAIN(cmocka_unit_test(test_quantiles), cmocka_unit_test(test_summary_known),
          cmocka_unit_test(test_summary_edges), cmocka_unit_test(test_bootstrap_reproducible),
          cmocka_unit_test(test_ratio))
