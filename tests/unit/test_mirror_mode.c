/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy-mode auto (engine/mirror_mode.c): the pure decision of when the
 * background mirrors move to write-blocking, and the schema probe of
 * block-job-change (engine/schema.c) against the shape QEMU 10.0's
 * query-qmp-schema gives and shapes without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "engine/mirror.h"

#define MIB 1048576ull

/* A migration in its first pass with ready mirrors that keep up: wait. */
static struct eng_cm_in base(void)
{
  return (struct eng_cm_in){ .all_ready = true,
                             .ram_active = true,
                             .ram_pass = 1,
                             .ram_remaining = 200 * MIB,
                             .ram_rate = 10.0 * MIB,
                             .disk_remaining = 0,
                             .disk_rate = 20.0 * MIB,
                             .downtime_limit_ms = 300,
                             .lead_ms = 1000,
                             .now_ms = 5000 };
}

static void waits_early_in_the_first_pass(void **state)
{
  (void)state;
  struct eng_cm_track t;
  eng_cm_track_init(&t);
  struct eng_cm_in in = base();
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
}

static void switches_in_later_passes(void **state)
{
  (void)state;
  struct eng_cm_track t;
  eng_cm_track_init(&t);
  struct eng_cm_in in = base();
  in.ram_pass = 2;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_RAM_NEAR_END);
  in.ram_pass = 7;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_RAM_NEAR_END);
}

static void switches_when_the_first_pass_nears_its_end(void **state)
{
  (void)state;
  struct eng_cm_track t;
  eng_cm_track_init(&t);
  struct eng_cm_in in = base();
  in.ram_remaining = 11 * MIB; /* 1.1 s at 10 MiB/s: not yet */
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.ram_remaining = 10 * MIB; /* 1.0 s: within the lead */
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_RAM_NEAR_END);
  in.ram_rate = 0; /* rate unknown: no estimate */
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
}

/* Never before every mirror is ready, nor outside the active phase
 * (setup, pre-switchover: the source is stopped, the mirrors finish). */
static void never_before_ready_or_outside_active(void **state)
{
  (void)state;
  struct eng_cm_track t;
  eng_cm_track_init(&t);
  struct eng_cm_in in = base();
  in.ram_pass = 3;
  in.all_ready = false;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.all_ready = true;
  in.ram_active = false;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
}

/* The disks' remaining copy above what fits in the pause counts only when
 * it stays there ENG_CM_BEHIND_MS in a row; a dip below restarts it. */
static void disk_behind_must_last(void **state)
{
  (void)state;
  struct eng_cm_track t;
  eng_cm_track_init(&t);
  struct eng_cm_in in = base();
  in.disk_remaining = 10 * MIB; /* 500 ms at 20 MiB/s > 300 ms */
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.now_ms += ENG_CM_BEHIND_MS - 1;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.disk_remaining = 4 * MIB; /* 200 ms: fits, the clock restarts */
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.disk_remaining = 10 * MIB;
  in.now_ms += 10;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.now_ms += ENG_CM_BEHIND_MS;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_DISK_BEHIND);
  /* Without a measured copy rate nothing can be said about the disks. */
  eng_cm_track_init(&t);
  in.disk_rate = 0;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
  in.now_ms += 2 * ENG_CM_BEHIND_MS;
  assert_int_equal(eng_cm_decide(&in, &t), ENG_CM_WAIT);
}

static void switch_names(void **state)
{
  (void)state;
  assert_string_equal(eng_cm_switch_name(ENG_CMS_NONE), "none");
  assert_string_equal(eng_cm_switch_name(ENG_CMS_LACKED), "lacked");
  assert_string_equal(eng_cm_switch_name(ENG_CMS_NOT_REACHED), "not-reached");
  assert_string_equal(eng_cm_switch_name(ENG_CMS_SWITCHED), "switched");
  assert_string_equal(eng_cm_switch_name(ENG_CMS_REFUSED), "refused");
}

/* block-job-change as QEMU 10.0 describes it (names masked to numbers). */
static const char schema10[] =
    "[{\"name\":\"block-job-change\",\"ret-type\":\"0\",\"meta-type\":\"command\","
    "\"arg-type\":\"57\"},"
    "{\"name\":\"57\",\"tag\":\"type\",\"variants\":[{\"case\":\"mirror\",\"type\":\"319\"},"
    "{\"case\":\"commit\",\"type\":\"0\"}],\"members\":[{\"name\":\"id\",\"type\":\"str\"},"
    "{\"name\":\"type\",\"type\":\"300\"}],\"meta-type\":\"object\"},"
    "{\"name\":\"319\",\"members\":[{\"name\":\"copy-mode\",\"type\":\"317\"}],"
    "\"meta-type\":\"object\"},"
    "{\"name\":\"0\",\"members\":[],\"meta-type\":\"object\"}]";

static struct eng_schema *schema_of(const char *text)
{
  struct eng_schema *s = eng_schema_from_text(strdup(text), strlen(text));
  assert_non_null(s);
  return s;
}

static void schema_probe(void **state)
{
  (void)state;
  struct eng_schema *s = schema_of(schema10);
  assert_true(eng_schema_cmd_branch_member(s, "block-job-change", "mirror", "copy-mode"));
  assert_false(eng_schema_cmd_branch_member(s, "block-job-change", "mirror", "speed"));
  assert_false(eng_schema_cmd_branch_member(s, "block-job-change", "commit", "copy-mode"));
  assert_false(eng_schema_cmd_branch_member(s, "block-job-cancel", "mirror", "copy-mode"));
  /* An entity of that name that is not a command. */
  assert_false(eng_schema_cmd_branch_member(s, "319", "mirror", "copy-mode"));
  eng_schema_free(s);
  /* 7.2: no such command at all; an empty or absent schema. */
  s = schema_of("[{\"name\":\"block-job-cancel\",\"meta-type\":\"command\",\"arg-type\":\"1\"}]");
  assert_false(eng_schema_cmd_branch_member(s, "block-job-change", "mirror", "copy-mode"));
  eng_schema_free(s);
  assert_false(eng_schema_cmd_branch_member(NULL, "block-job-change", "mirror", "copy-mode"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(waits_early_in_the_first_pass),
    cmocka_unit_test(switches_in_later_passes),
    cmocka_unit_test(switches_when_the_first_pass_nears_its_end),
    cmocka_unit_test(never_before_ready_or_outside_active),
    cmocka_unit_test(disk_behind_must_last),
    cmocka_unit_test(switch_names),
    cmocka_unit_test(schema_probe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
