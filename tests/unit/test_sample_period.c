/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When the follow loop samples query-migrate (engine/policy.c,
 * eng_sample_next_ns): every poll-interval where a sample decides
 * something, four of them in the bulk of a pass, never past a due policy
 * action, never longer than 1 s unless poll-interval itself is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"

#define MS 1000000LL
#define NOW (5000 * MS)
#define NEVER INT64_MAX

static struct eng_config cfg(unsigned poll_ms, bool adaptive)
{
  struct eng_config c;
  memset(&c, 0, sizeof c);
  c.poll_ms = poll_ms;
  c.poll_adaptive = adaptive;
  return c;
}

/* An active pass sending 800 Mbit/s (100 MB/s) with `remaining` bytes left. */
static struct eng_stats active(uint64_t remaining)
{
  struct eng_stats st;
  memset(&st, 0, sizeof st);
  snprintf(st.status, sizeof st.status, "active");
  st.mbps = 800;
  st.remaining = remaining;
  return st;
}

static void test_bulk_is_slow(void **state)
{
  (void)state;
  struct eng_config c = cfg(100, true);
  struct eng_stats st = active(500u << 20); /* 5 s to go */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 400 * MS);
  c = cfg(100, false); /* poll-adaptive off */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 100 * MS);
}

static void test_end_of_pass_is_fast(void **state)
{
  (void)state;
  struct eng_config c = cfg(100, true);
  struct eng_stats st = active(70u << 20); /* 0.73 s to go: under 2 x 400 ms */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 100 * MS);
  st = active(90u << 20); /* 0.94 s: still the bulk */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 400 * MS);
}

static void test_other_states_are_fast(void **state)
{
  (void)state;
  struct eng_config c = cfg(100, true);
  static const char *const states[] = { "setup", "postcopy-active", "postcopy-paused", "device" };
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    struct eng_stats st = active(500u << 20);
    snprintf(st.status, sizeof st.status, "%s", states[i]);
    assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 100 * MS);
  }
  struct eng_stats st = active(500u << 20);
  st.mbps = 0; /* no rate yet: cannot tell how far the end is */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 100 * MS);
}

static void test_due_policy_action(void **state)
{
  (void)state;
  struct eng_config c = cfg(100, true);
  struct eng_stats st = active(500u << 20);
  /* A stepped limit due in 250 ms: sampled then, not 150 ms late. */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NOW + 250 * MS), NOW + 250 * MS);
  /* Due in 30 ms or overdue: never sooner than poll-interval. */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NOW + 30 * MS), NOW + 100 * MS);
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NOW - 30 * MS), NOW + 100 * MS);
  /* Due after the long period: the long period. */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NOW + 900 * MS), NOW + 400 * MS);
}

static void test_bounds(void **state)
{
  (void)state;
  struct eng_stats st = active(UINT64_C(50) << 30); /* minutes to go */
  struct eng_config c = cfg(400, true);             /* 4 x 400 ms capped at 1 s */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 1000 * MS);
  c = cfg(2000, true); /* a period above 1 s is kept */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 2000 * MS);
  c = cfg(10, true); /* the option's minimum */
  assert_int_equal(eng_sample_next_ns(&c, &st, NOW, NEVER), NOW + 40 * MS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bulk_is_slow),
    cmocka_unit_test(test_end_of_pass_is_fast),
    cmocka_unit_test(test_other_states_are_fast),
    cmocka_unit_test(test_due_policy_action),
    cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
