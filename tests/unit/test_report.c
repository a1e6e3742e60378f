/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The report's derived figures from known inputs: pause from the STOP and
 * RESUME event timestamps, guest stall from heartbeat times, per-pass bytes,
 * durations and dirty rates from the pass marks, and the JSON naming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "engine/internal.h"
#include "tests/unit/unit.h"

static void test_figures(void **state)
{
  (void)state;
  struct qmig_migration *m =
      unit_mig("src", "unix:/s", "dst", "unix:/d", "multifd-channels", "4", NULL);
  m->report.outcome = QMIG_MIGRATED;
  m->state = QMIG_S_COMPLETED;
  m->facts.stop_seen = m->facts.resume_seen = true;
  m->facts.stop_wall_us = 1000000000;
  m->facts.resume_wall_us = 1000000000 + 42500; /* 42.5 ms */
  m->facts.src_done_wall_us = 1000000000 + 30000;
  m->facts.t0_mono_ns = 0;
  m->facts.end_mono_ns = 2500000000; /* 2.5 s wall */
  m->cfg.heartbeat_ms = 2;
  m->cfg.src_serial = strdup("/s.ser");
  m->cfg.dst_serial = strdup("/d.ser");
  m->facts.hb_result = (struct eng_hb_result){ .src_lines = 100,
                                               .dst_lines = 5,
                                               .last_src_seq = 99,
                                               .first_dst_seq = 101,
                                               .last_src_mono_ns = 7000000000,
                                               .first_dst_mono_ns = 7045000000 };
  strcpy(m->facts.final.status, "completed");
  m->facts.final.total_ms = 2000;
  m->facts.final.setup_ms = 3;
  m->facts.final.downtime_ms = 30;
  m->facts.final.transferred = 1000u << 20;
  m->facts.final.total = 1024u << 20;
  /* pass 1 at t=0 with 0 sent, pass 2 at +1.5 s with 900 MiB sent and
   * 150 MiB dirty, pass 3 (stop-and-copy) at +1.97 s */
  int64_t t = 1000000000 - 1970000;
  m->facts.marks[0] = (struct eng_pass_mark){ 1, t, 0, 0 };
  m->facts.marks[1] = (struct eng_pass_mark){ 2, t + 1500000, 900u << 20, 0 };
  m->facts.marks[2] = (struct eng_pass_mark){ 3, t + 1970000, UINT64_MAX, 100u << 20 };
  m->facts.final.downtime_bytes = 10u << 20; /* stop-and-copy sent 10 MiB */
  m->facts.nmarks = 3;

  json_t *j = unit_report(m, true);
  assert_string_equal(json_string_value(json_object_get(j, "outcome_name")), "migrated");
  assert_string_equal(json_string_value(json_object_get(j, "error")), "");
  assert_true(unit_num(j, "stop_to_resume_pause_ms") == 42.5);
  /* 45 ms between lines, heartbeat 100 lost (cut in two): one 2 ms period
   * of guest time to take off */
  assert_true(unit_num(j, "guest_stall_ms") == 43.0);
  assert_true(unit_num(j, "qemu_downtime_ms") == 30);
  /* tail: completed at +30 ms, RESUME at +42.5 ms */
  assert_true(unit_num(j, "dst_tail_ms") == 12.5);
  assert_true(unit_num(j, "engine_overhead_ms") == 500 - 12.5);
  assert_true(unit_num(j, "throughput_bytes_per_s") == (1000u << 20) / 2.0);
  json_t *p = json_object_get(j, "passes");
  assert_int_equal(json_array_size(p), 3);
  json_t *p1 = json_array_get(p, 0), *p3 = json_array_get(p, 2);
  assert_int_equal(json_integer_value(json_object_get(p1, "bytes")), 900u << 20);
  /* pass 2 ran until STOP: everything after its start less stop-and-copy */
  assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 1), "bytes")), 90u << 20);
  assert_true(unit_num(p1, "duration_ms") == 1500);
  /* QEMU had no dirty rate at the end of pass 1 (null), 100 MiB/s at the
   * end of pass 2 */
  assert_true(json_is_null(json_object_get(p1, "dirty_bytes_per_s")));
  assert_true(unit_num(json_array_get(p, 1), "dirty_bytes_per_s") == (100u << 20));
  assert_int_equal(json_integer_value(json_object_get(p3, "bytes")), 10u << 20);
  assert_true(unit_num(p3, "duration_ms") == 30);
  assert_true(json_is_null(json_object_get(p3, "dirty_bytes_per_s")));
  json_t *hb = json_object_get(j, "heartbeat");
  assert_int_equal(json_integer_value(json_object_get(hb, "first_dst_seq")), 101);
  json_t *cfg = json_object_get(j, "config");
  assert_int_equal(json_integer_value(json_object_get(cfg, "multifd_channels")), 4);
  assert_string_equal(json_string_value(json_object_get(cfg, "data_port")), "49152-49215");
  /* One key case in the whole document: no kebab-case key anywhere. */
  const char *k;
  json_t *v;
  json_object_foreach(cfg, k, v) assert_null(strchr(k, '-'));
  json_object_foreach(j, k, v) assert_null(strchr(k, '-'));
  assert_int_equal(json_integer_value(json_object_get(j, "schema")), QMIG_REPORT_SCHEMA);
  assert_string_equal(json_string_value(json_object_get(j, "error_code")), "none");
  json_decref(j);
  qmig_free(m);
}

/* Unmeasured figures are null, never 0. */
static void test_missing_is_null(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  m->report.outcome = QMIG_NOT_MIGRATED;
  m->state = QMIG_S_FAILED;
  strcpy(m->err, "migration failed on the source: x");
  json_t *j = unit_report(m, true);
  static const char *const nulls[] = { "setup_ms",          "total_ms",
                                       "qemu_downtime_ms",  "stop_to_resume_pause_ms",
                                       "guest_stall_ms",    "throughput_bytes_per_s",
                                       "engine_overhead_ms" };
  for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
    if (!json_is_null(json_object_get(j, nulls[i])))
      fail_msg("%s is not null", nulls[i]);
  assert_string_equal(json_string_value(json_object_get(j, "error")),
                      "migration failed on the source: x");
  json_decref(j);
  qmig_free(m);
}

UNIT_MAIN(cmocka_unit_test(test_figures), cmocka_unit_test(test_missing_is_null))
