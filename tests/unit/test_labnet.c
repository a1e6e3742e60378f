/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two-namespace lab's names and rates: names fit the kernel's limits
 * (interface names 15 bytes) and differ between run directories; rates
 * take tc's units and refuse what tc would misread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lab/lab.h"
#include "tests/unit/unit.h"

static void test_names(void **state)
{
  (void)state;
  struct lab_net a, b;
  lab_net_names("/tmp/qmig-test.AAAAAA", &a);
  lab_net_names("/tmp/qmig-test.AAAAAB", &b);
  for (int s = 0; s < 2; s++) {
    assert_true(strlen(a.veth[s]) <= 15); /* IFNAMSIZ - 1 */
    assert_true(strlen(a.ns[s]) > 0);
    assert_string_not_equal(a.ns[s], b.ns[s]);
    assert_string_not_equal(a.veth[s], b.veth[s]);
  }
  assert_string_not_equal(a.ns[0], a.ns[1]);
  assert_string_not_equal(a.veth[0], a.veth[1]);
  assert_string_equal(a.addr[0], "198.18.0.1");
  assert_string_equal(a.addr[1], "198.18.0.2");
  assert_int_equal(a.rate_bps, 0);
  lab_net_names("/tmp/qmig-test.AAAAAA", &b); /* stable: stop finds them again */
  assert_string_equal(a.ns[0], b.ns[0]);
  assert_string_equal(a.veth[1], b.veth[1]);
}

static void test_rates(void **state)
{
  (void)state;
  uint64_t r = 0;
  assert_int_equal(lab_parse_rate("1gbit", &r), 0);
  assert_int_equal(r, 1000000000);
  assert_int_equal(lab_parse_rate("200mbit", &r), 0);
  assert_int_equal(r, 200000000);
  assert_int_equal(lab_parse_rate("125MBps", &r), 0); /* bytes, as tc reads it */
  assert_int_equal(r, 1000000000);
  assert_int_equal(lab_parse_rate("64kbit", &r), 0);
  assert_int_equal(r, 64000);
  static const char *const bad[] = { "",       "fast",   "1",
                                     "0mbit",  "-1gbit", "1 gbit",
                                     "1gbits", "10bit",  "99999999999999999999gbit" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (lab_parse_rate(bad[i], &r) == 0)
      fail_msg("rate '%s' accepted", bad[i]);
}

UNIT_MAIN(cmocka_unit_test(test_names), cmocka_unit_test(test_rates))
