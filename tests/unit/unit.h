/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/unit.h - what several unit tests share: a migration handle
 * with options already set, the JSON report read back, and main.  Include after
 * <cmocka.h>. */
#ifndef QMIG_TESTS_UNIT_H
#define QMIG_TESTS_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <jansson.h>

#include "engine/internal.h"

/* qmig_new() with KEY, VALUE pairs (NULL-terminated) set; each must be
 * accepted. */
static inline struct qmig_migration *unit_mig(const char *key, ...)
{
  struct qmig_migration *m = qmig_new();
  assert_non_null(m);
  va_list ap;
  va_start(ap, key);
  for (const char *k = key; k; k = va_arg(ap, const char *)) {
    const char *v = va_arg(ap, const char *);
    if (qmig_set(m, k, v) != 0)
      fail_msg("qmig_set(%s, %s): %s", k, v, qmig_error(m));
  }
  va_end(ap);
  return m;
}

/* The JSON report, parsed (jansson keeps the order of keys), after
 * eng_report_fill() when fill; caller decrefs. */
static inline json_t *unit_report(struct qmig_migration *m, bool fill)
{
  if (fill)
    eng_report_fill(m);
  char *s = qmig_report_json(m);
  assert_non_null(s);
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  free(s);
  assert_non_null(j);
  return j;
}

static inline double unit_num(json_t *j, const char *k)
{
  json_t *v = json_object_get(j, k);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static inline const char *unit_str(json_t *j, const char *k)
{
  json_t *v = json_object_get(j, k);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

/* The main of a unit test: run the listed cmocka tests as one group. */
#define UNIT_MAIN(...)                                 \
  int main(void)                                       \
  {                                                    \
    const struct CMUnitTest tests[] = { __VA_ARGS__ }; \
    return cmocka_run_group_tests(tests, NULL, NULL);  \
  }

#endif
