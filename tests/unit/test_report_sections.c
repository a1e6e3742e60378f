/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The report's typed sections and their JSON (engine/report_json.c): an
 * absent section is NULL from its accessor and no key in the JSON; present
 * ones have the keys, types and presence rules docs/REPORT.md gives (null
 * for the unknown, keys left out where the document says "when"). */
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

static void test_absent(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  assert_null(qmig_report_preflight(m));
  assert_null(qmig_report_prediction(m));
  assert_null(qmig_report_policy(m));
  assert_null(qmig_report_tunnel(m));
  assert_null(qmig_report_recover(m));
  assert_null(qmig_report_stalls(m));
  json_t *j = unit_report(m, false);
  static const char *const keys[] = { "preflight",     "prediction", "announce",    "recover",
                                      "created_disks", "storage",    "policy",      "postcopy",
                                      "tunnel",        "stalls",     "max_stall_ms" };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (json_object_get(j, keys[i]))
      fail_msg("%s present without a section", keys[i]);
  json_decref(j);
  qmig_free(m);
}

/* Prediction without a bandwidth: only the rate, the rest null. */
static void test_prediction_unknown(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_prediction *p = ENG_SECTION(m, prediction);
  *p = (struct qmig_report_prediction){ .dirty_rate_bytes_per_s = 5 << 20,
                                        .qemu_dirty_rate_mib_per_s = 4,
                                        .measure_s = 1,
                                        .ram_bytes = 96u << 20,
                                        .ram_in_use_bytes = 64u << 20,
                                        .ram_in_use_from = "lab guest fill",
                                        .downtime_limit_ms = 300,
                                        .converges = -1,
                                        .note = "bandwidth unknown" };
  assert_ptr_equal(qmig_report_prediction(m), p);
  json_t *j = unit_report(m, false), *o = json_object_get(j, "prediction");
  assert_int_equal(json_integer_value(json_object_get(o, "dirty_rate_bytes_per_s")), 5 << 20);
  assert_string_equal(unit_str(o, "ram_in_use_from"), "lab guest fill");
  static const char *const nulls[] = { "bandwidth_bytes_per_s",
                                       "bandwidth_from",
                                       "stop_copy_bytes_per_s",
                                       "converges",
                                       "passes",
                                       "total_ms",
                                       "downtime_ms" };
  for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
    if (!json_is_null(json_object_get(o, nulls[i])))
      fail_msg("prediction.%s is not null", nulls[i]);
  assert_int_equal(json_object_size(o), 16);
  p->converges = 1;
  p->bandwidth_bytes_per_s = p->stop_copy_bytes_per_s = 24u << 20;
  p->bandwidth_from = "max-bandwidth";
  p->passes = 7;
  p->total_ms = 3500.5;
  p->downtime_ms = 120;
  p->note = NULL;
  json_decref(j);
  j = unit_report(m, false);
  o = json_object_get(j, "prediction");
  assert_true(json_is_true(json_object_get(o, "converges")));
  assert_int_equal(json_integer_value(json_object_get(o, "passes")), 7);
  assert_true(json_is_real(json_object_get(o, "total_ms")));
  assert_true(json_real_value(json_object_get(o, "total_ms")) == 3500.5);
  assert_true(json_is_null(json_object_get(o, "note")));
  json_decref(j);
  qmig_free(m);
}

/* Policy steps, deadline null or an object; postcopy's keys only when
 * requested / started. */
static void test_policy_postcopy(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  static const struct qmig_policy_step steps[] = { { 0.0, 300, "initial" },
                                                   { 1500.25, 600, "step 1 of 2" } };
  *ENG_SECTION(m, policy) = (struct qmig_report_policy){ .downtime_policy = "stepped",
                                                         .max_downtime_ms = 900,
                                                         .final_downtime_limit_ms = 600,
                                                         .nsteps = 2,
                                                         .steps = steps,
                                                         .deadline_action = "cancel" };
  *ENG_SECTION(m, postcopy) = (struct qmig_report_postcopy){ .reason = "" };
  json_t *j = unit_report(m, false), *p = json_object_get(j, "policy");
  assert_string_equal(unit_str(p, "downtime_policy"), "stepped");
  assert_true(json_is_null(json_object_get(p, "deadline")));
  json_t *st = json_object_get(p, "steps");
  assert_int_equal(json_array_size(st), 2);
  assert_true(json_is_real(json_object_get(json_array_get(st, 0), "at_ms")));
  assert_string_equal(unit_str(json_array_get(st, 1), "why"), "step 1 of 2");
  json_t *pc = json_object_get(j, "postcopy");
  assert_true(json_is_true(json_object_get(pc, "enabled")));
  assert_int_equal(json_object_size(pc), 3); /* enabled, started, reason */
  json_decref(j);

  m->sec.policy->deadline_s = 20;
  m->sec.policy->deadline_action = "postcopy";
  *m->sec.postcopy = (struct qmig_report_postcopy){ .started = true,
                                                    .requested = true,
                                                    .requested_at_ms = 20000,
                                                    .duration_ms = -1,
                                                    .bytes = 4096,
                                                    .page_requests = 3 };
  strcpy(m->sec.postcopy->reason, "deadline");
  j = unit_report(m, false);
  p = json_object_get(j, "policy");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "deadline"), "seconds")),
                   20);
  pc = json_object_get(j, "postcopy");
  assert_true(json_is_null(json_object_get(pc, "duration_ms")));
  assert_int_equal(json_integer_value(json_object_get(pc, "page_requests")), 3);
  assert_int_equal(json_array_size(json_object_get(pc, "pauses")), 0);
  assert_int_equal(json_object_size(pc), 8); /* with the post-copy pauses (none) */
  json_decref(j);
  qmig_free(m);
}

/* Storage: per-disk keys by what happened to the disk; NBD keys only with
 * a server; sync/switchover only when measured. */
static void test_storage(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_storage *s = ENG_SECTION(m, storage);
  s->ndisks = 2;
  strcpy(s->disks[0].name, "shared0");
  strcpy(s->disks[0].format, "raw");
  s->disks[1] = (struct qmig_storage_disk){ .copy = true,
                                            .size = 1 << 20,
                                            .have_destination = true,
                                            .job_started = true,
                                            .bytes = 2 << 20,
                                            .completed = false };
  strcpy(s->disks[1].name, "disk1");
  strcpy(s->disks[1].error, "job failed");
  s->sync_ms = -1;
  s->switchover_ms = -1;
  json_t *j = unit_report(m, false), *o = json_object_get(j, "storage");
  assert_int_equal(json_object_size(o), 1); /* disks only */
  json_t *d0 = json_array_get(json_object_get(o, "disks"), 0);
  json_t *d1 = json_array_get(json_object_get(o, "disks"), 1);
  assert_string_equal(unit_str(d0, "action"), "shared");
  assert_int_equal(json_object_size(d0), 5);
  assert_string_equal(unit_str(d1, "action"), "copy");
  assert_int_equal(json_integer_value(json_object_get(d1, "bytes")), 2 << 20);
  assert_null(json_object_get(d1, "time_to_ready_ms"));
  assert_true(json_is_false(json_object_get(d1, "completed")));
  assert_string_equal(unit_str(d1, "error"), "job failed");
  json_decref(j);
  strcpy(s->nbd_listen, "unix:/l");
  strcpy(s->nbd_connect, "unix:/c");
  s->sync = "full";
  s->copy_mode = "background";
  s->sync_ms = 12.5;
  j = unit_report(m, false);
  o = json_object_get(j, "storage");
  assert_string_equal(unit_str(o, "copy_mode"), "background");
  assert_null(json_object_get(o, "nbd_forwarded_to"));
  assert_null(json_object_get(o, "switchover_ms"));
  assert_true(json_real_value(json_object_get(o, "sync_ms")) == 12.5);
  /* copy-mode auto: no switch time unless switched; actively_synced only
   * when QEMU reports it. */
  assert_string_equal(unit_str(o, "copy_mode_switch"), "none");
  assert_string_equal(unit_str(o, "copy_mode_start"), "background");
  assert_null(json_object_get(o, "copy_mode_switch_ms"));
  assert_null(json_object_get(o, "copy_mode_switch_why"));
  assert_null(json_object_get(json_array_get(json_object_get(o, "disks"), 1), "actively_synced"));
  json_decref(j);
  s->copy_mode = "auto";
  s->copy_mode_start = "background";
  s->copy_mode_switch = "switched";
  s->copy_mode_switch_ms = 1234.5;
  strcpy(s->copy_mode_switch_why, "RAM migration near its end (pass 2, 1.0 MiB left)");
  s->disks[1].synced_known = true;
  s->disks[1].actively_synced = true;
  j = unit_report(m, false);
  o = json_object_get(j, "storage");
  assert_string_equal(unit_str(o, "copy_mode"), "auto");
  assert_string_equal(unit_str(o, "copy_mode_switch"), "switched");
  assert_true(json_real_value(json_object_get(o, "copy_mode_switch_ms")) == 1234.5);
  assert_non_null(strstr(unit_str(o, "copy_mode_switch_why"), "pass 2"));
  assert_true(json_is_true(
      json_object_get(json_array_get(json_object_get(o, "disks"), 1), "actively_synced")));
  json_decref(j);
  qmig_free(m);
}

/* Tunnel channels: index null but for multifd and nbd, error null unless
 * failed; the channels' list is the handle's to free. */
static void test_tunnel(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_tunnel *t = ENG_SECTION(m, tunnel);
  struct qmig_tunnel_channel *ch = calloc(2, sizeof *ch);
  assert_non_null(ch);
  ch[0] = (struct qmig_tunnel_channel){ .kind = "main", .index = -1, .path = "handoff" };
  ch[1] = (struct qmig_tunnel_channel){ .kind = "multifd", .index = 0, .failed = true };
  strcpy(ch[1].error, "multifd 0: reset");
  strcpy(ch[1].why, "multifd: no fd");
  t->channels = ch;
  t->nchannels = 2;
  t->data = "tls";
  strcpy(t->tls, "none");
  strcpy(t->auth, "psk");
  t->samples = 5;
  json_t *j = unit_report(m, false), *o = json_object_get(j, "tunnel");
  json_t *c0 = json_array_get(json_object_get(o, "channels"), 0);
  json_t *c1 = json_array_get(json_object_get(o, "channels"), 1);
  assert_true(json_is_null(json_object_get(c0, "index")));
  assert_true(json_is_null(json_object_get(c0, "error")));
  assert_string_equal(unit_str(c0, "path"), "handoff");
  assert_true(json_is_null(json_object_get(c0, "why")));
  assert_string_equal(unit_str(c1, "path"), "forwarded"); /* unset: forwarded */
  assert_string_equal(unit_str(c1, "why"), "multifd: no fd");
  assert_int_equal(json_integer_value(json_object_get(c1, "index")), 0);
  assert_string_equal(unit_str(c1, "error"), "multifd 0: reset");
  assert_true(json_is_null(json_object_get(o, "error")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "clock"), "samples")), 5);
  json_decref(j);
  qmig_free(m);
}

/* Stalls: their keys at the top of the report, pass only for pass_N,
 * max_stall_* null when there was none. */
static void test_stalls(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_stalls *s = ENG_SECTION(m, stalls);
  *s = (struct qmig_report_stalls){ .threshold_ms = 4,
                                    .period_ms = 2,
                                    .nstalls = 2,
                                    .total = 3,
                                    .max_stall_ms = 600,
                                    .stop_at_ms = 900,
                                    .resume_at_ms = 920 };
  s->stalls[0] = (struct qmig_stall){ .phase = "setup", .start_ms = 3, .duration_ms = 600 };
  s->stalls[1] =
      (struct qmig_stall){ .phase = "pass_2", .pass = 2, .start_ms = 700, .duration_ms = 9 };
  strcpy(s->max_stall_phase, "setup");
  assert_ptr_equal(qmig_report_stalls(m), s);
  json_t *j = unit_report(m, false), *l = json_object_get(j, "stalls");
  assert_int_equal(json_array_size(l), 2);
  assert_string_equal(unit_str(json_array_get(l, 0), "phase"), "setup");
  assert_null(json_object_get(json_array_get(l, 0), "pass"));
  assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "pass")), 2);
  assert_true(json_real_value(json_object_get(j, "max_stall_ms")) == 600);
  assert_string_equal(unit_str(j, "max_stall_phase"), "setup");
  assert_int_equal(json_integer_value(json_object_get(j, "stalls_total")), 3);
  assert_true(json_real_value(json_object_get(j, "resume_at_ms")) == 920);
  json_decref(j);
  *s = (struct qmig_report_stalls){
    .threshold_ms = 4, .max_stall_ms = -1, .stop_at_ms = -1, .resume_at_ms = -1
  };
  j = unit_report(m, false);
  assert_int_equal(json_array_size(json_object_get(j, "stalls")), 0);
  assert_true(json_is_null(json_object_get(j, "max_stall_ms")));
  assert_true(json_is_null(json_object_get(j, "max_stall_phase")));
  json_decref(j);
  qmig_free(m);
}

/* Preflight: "skipped" only on a finding that could not be checked. */
static void test_preflight(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_preflight *p = ENG_SECTION(m, preflight);
  eng_pf_add(p, "uuid", ENG_PF_OK, "neither side has a -uuid");
  eng_pf_add(p, "cpu", ENG_PF_SKIP, "not checked: %s", "refused");
  eng_pf_add(p, "memory", ENG_PF_FAIL, "guest RAM differs");
  json_t *j = unit_report(m, false), *a = json_object_get(j, "preflight");
  assert_int_equal(json_array_size(a), 3);
  assert_null(json_object_get(json_array_get(a, 0), "skipped"));
  assert_true(json_is_true(json_object_get(json_array_get(a, 1), "skipped")));
  assert_true(json_is_true(json_object_get(json_array_get(a, 1), "ok")));
  assert_true(json_is_false(json_object_get(json_array_get(a, 2), "ok")));
  assert_string_equal(unit_str(json_array_get(a, 1), "detail"), "not checked: refused");
  json_decref(j);
  qmig_free(m);
}

/* Sections appear in the order first filled ("storage" from probing comes
 * before "preflight"), refilling keeps the place. */
static void test_order(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  struct qmig_report_storage *st = ENG_SECTION(m, storage);
  st->sync_ms = st->switchover_ms = -1;
  ENG_SECTION(m, preflight);
  *ENG_SECTION(m, announce) = (struct qmig_report_announce){ 5, 50, 550, 100, true };
  assert_ptr_equal(ENG_SECTION(m, storage), st);
  json_t *j = unit_report(m, false);
  const char *want[] = { "storage", "preflight", "announce" }, *key;
  size_t n = 0;
  json_t *v;
  json_object_foreach(j, key, v) if (json_is_object(v) ||
                                     json_is_array(v)) if (n < 3 && !strcmp(key, want[n])) n++;
  assert_int_equal(n, 3);
  assert_true(json_is_true(json_object_get(json_object_get(j, "announce"), "sent")));
  json_decref(j);
  qmig_free(m);
}

UNIT_MAIN(cmocka_unit_test(test_absent), cmocka_unit_test(test_prediction_unknown),
          cmocka_unit_test(test_policy_postcopy), cmocka_unit_test(test_storage),
          cmocka_unit_test(test_tunnel), cmocka_unit_test(test_preflight),
          cmocka_unit_test(test_stalls), cmocka_unit_test(test_order))
