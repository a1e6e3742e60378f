/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmig_pingpong_* through the public API only, without a QEMU: its option
 * table (ranges, names, the size tag), the refusals before anything runs,
 * and a first leg that cannot start (no source): the leg's migration carries
 * the template's changed options and the loop's own, the run stops there
 * with the leg's outcome and error code, and the JSON says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "qmig.h"

static void has(const struct qmig_migration *m, const char *key, const char *want)
{
  char *v = qmig_get(m, key);
  if (!want)
    assert_null(v);
  else {
    assert_non_null(v);
    assert_string_equal(v, want);
  }
  free(v);
}

static void test_options(void **state)
{
  (void)state;
  struct qmig_pingpong_options o = QMIG_PINGPONG_OPTIONS_INIT;
  char err[256];
  assert_int_equal(qmig_pingpong_set(&o, "repeat", "4", err, sizeof err), 0);
  assert_int_equal(o.repeat, 4);
  assert_int_equal(qmig_pingpong_set(&o, "repeat", "1000", err, sizeof err), 0);
  const char *bad[] = { "0", "abc", "1001", "-1", "" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(qmig_pingpong_set(&o, "repeat", bad[i], err, sizeof err), -1);
    assert_non_null(strstr(err, "repeat"));
  }
  assert_int_equal(o.repeat, 1000);
  assert_int_equal(qmig_pingpong_set(&o, "names", "a,b", err, sizeof err), 0);
  assert_string_equal(o.names, "a,b");
  const char *bad_names[] = { "a", "a,a", "a,b,c", ",b", "a/x,b", "..,b", "a," };
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    assert_int_equal(qmig_pingpong_set(&o, "names", bad_names[i], err, sizeof err), -1);
  assert_int_equal(qmig_pingpong_set(&o, "nope", "1", err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown pingpong option 'nope'"));
  struct qmig_pingpong_options unsized = { 0 };
  assert_int_equal(qmig_pingpong_set(&unsized, "repeat", "2", err, sizeof err), -1);
  assert_non_null(strstr(err, "QMIG_PINGPONG_OPTIONS_INIT"));
  const struct qmig_optkey *k = qmig_pingpong_option_keys();
  assert_string_equal(k[0].key, "repeat");
  char *h = qmig_pingpong_help();
  assert_non_null(h);
  assert_non_null(strstr(h, "--repeat N"));
  free(h);
}

static void test_refused(void **state)
{
  (void)state;
  struct qmig_migration *t = qmig_new();
  struct qmig_pingpong_options o = QMIG_PINGPONG_OPTIONS_INIT;
  /* No source. */
  struct qmig_pingpong *p = qmig_pingpong_new();
  assert_int_equal(qmig_pingpong_run(p, t, &o), QMIG_USAGE);
  assert_int_equal(qmig_pingpong_error_code(p), QMIG_E_OPTION);
  assert_non_null(strstr(qmig_pingpong_error(p), "src"));
  assert_int_equal(qmig_pingpong_legs(p), 0);
  /* Once per object. */
  assert_int_equal(qmig_pingpong_run(p, t, &o), QMIG_USAGE);
  qmig_pingpong_free(p);
  /* Too many legs (the table refuses them; a struct set by hand too). */
  assert_int_equal(qmig_set(t, "src", "unix:/nonexistent/qmig-pp.qmp"), 0);
  p = qmig_pingpong_new();
  o.repeat = QMIG_PINGPONG_MAX_LEGS + 1;
  assert_int_equal(qmig_pingpong_run(p, t, &o), QMIG_USAGE);
  assert_non_null(strstr(qmig_pingpong_error(p), "repeat"));
  qmig_pingpong_free(p);
  /* Options without their size. */
  struct qmig_pingpong_options unsized = { 0 };
  p = qmig_pingpong_new();
  assert_int_equal(qmig_pingpong_run(p, t, &unsized), QMIG_USAGE);
  qmig_pingpong_free(p);
  qmig_free(t);
}

static void test_first_leg_fails(void **state)
{
  (void)state;
  struct qmig_migration *t = qmig_new();
  assert_int_equal(qmig_set(t, "src", "unix:/nonexistent/qmig-pp.qmp"), 0);
  assert_int_equal(qmig_set(t, "downtime-limit", "400"), 0);
  assert_int_equal(qmig_set(t, "multifd-channels", "4"), 0);
  assert_int_equal(qmig_set(t, "dst", "unix:/nonexistent/ignored.qmp"), 0);
  struct qmig_pingpong_options o = QMIG_PINGPONG_OPTIONS_INIT;
  o.repeat = 3;
  o.names = "x-1,x-2";
  struct qmig_pingpong *p = qmig_pingpong_new();
  assert_int_equal(qmig_pingpong_run(p, t, &o), QMIG_NOT_STARTED);
  assert_int_equal(qmig_pingpong_legs(p), 1);
  assert_int_equal(qmig_pingpong_failed_leg(p), 1);
  assert_non_null(strstr(qmig_pingpong_error(p), "leg 1 of 3 failed"));
  /* The first check to fail names the source's directory: its QMP socket,
   * or spawn-dir (by default that same directory). */
  assert_non_null(strstr(qmig_pingpong_error(p), "/nonexistent"));
  assert_int_not_equal(qmig_pingpong_error_code(p), QMIG_E_NONE);
  const struct qmig_migration *m = qmig_pingpong_leg(p, 0);
  assert_non_null(m);
  assert_null(qmig_pingpong_leg(p, 1));
  has(m, "downtime-limit", "400");
  has(m, "multifd-channels", "4");
  has(m, "dst-spawn", "on");
  has(m, "quit-source", "on");
  has(m, "spawn-name", "x-1");
  has(m, "dst", NULL); /* the loop's own: never the template's */
  assert_int_equal(qmig_pingpong_stats(p)->migrated, 0);
  assert_int_equal(qmig_pingpong_stats(p)->legs, 1);
  char *s = qmig_pingpong_json(p);
  assert_non_null(s);
  json_t *j = json_loads(s, 0, NULL);
  free(s);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "schema")), QMIG_REPORT_SCHEMA);
  assert_int_equal(json_integer_value(json_object_get(j, "failed_leg")), 1);
  assert_string_equal(json_string_value(json_object_get(j, "outcome_name")), "not-started");
  json_t *legs = json_object_get(j, "legs");
  assert_int_equal(json_array_size(legs), 1);
  assert_non_null(json_object_get(json_array_get(legs, 0), "report"));
  assert_int_equal(
      json_integer_value(json_object_get(
          json_object_get(json_object_get(json_object_get(j, "stats"), "figures"), "total_ms"),
          "n")),
      0);
  json_decref(j);
  qmig_pingpong_free(p);
  qmig_free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_options),
    cmocka_unit_test(test_refused),
    cmocka_unit_test(test_first_leg_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
