/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmig calibrate without a guest: its option table (ranges, the size tag,
 * the probe's syntax), the refusals before anything is paused (options,
 * an unreachable monitor, a fake QEMU in incoming state or paused), and
 * the per-round figures, medians and JSON (engine/calibrate_result.c) on
 * made-up times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <jansson.h>

#include "engine/calibrate.h"
#include "tests/unit/unit.h"

#define MS 1000000LL

static void test_options(void **state)
{
  (void)state;
  struct qmig_calibrate_options o = QMIG_CALIBRATE_OPTIONS_INIT;
  char err[256];
  assert_int_equal(qmig_calibrate_set(&o, "pause", "80", err, sizeof err), 0);
  assert_int_equal(o.pause_ms, 80);
  assert_int_equal(qmig_calibrate_set(&o, "repeat", "100", err, sizeof err), 0);
  assert_int_equal(qmig_calibrate_set(&o, "qmp", "unix:/run/x.qmp", err, sizeof err), 0);
  assert_string_equal(o.qmp, "unix:/run/x.qmp");
  assert_int_equal(qmig_calibrate_set(&o, "probe", "udp:198.18.1.2:7", err, sizeof err), 0);
  assert_int_equal(qmig_calibrate_set(&o, "probe-gap", "0", err, sizeof err), 0);
  static const char *const bad[][2] = {
    { "pause", "0" },
    { "pause", "10001" },
    { "repeat", "0" },
    { "repeat", "101" },
    { "qmp", "tcp:127.0.0.1:4" },
    { "probe", "udp:198.18.1.2" },
    { "probe", "tcp:1.2.3.4" },
    { "probe-rate", "0" },
    { "heartbeat-ms", "x" },
    { "pause", "" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    assert_int_equal(qmig_calibrate_set(&o, bad[i][0], bad[i][1], err, sizeof err), -1);
    assert_non_null(strstr(err, bad[i][0])); /* names the option */
  }
  assert_int_equal(o.pause_ms, 80); /* refused values change nothing */
  assert_int_equal(qmig_calibrate_set(&o, "migrate", "x", err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown calibrate option 'migrate'"));
  struct qmig_calibrate_options z = { 0 };
  assert_int_equal(qmig_calibrate_set(&z, "pause", "80", err, sizeof err), -1);
  assert_non_null(strstr(err, "QMIG_CALIBRATE_OPTIONS_INIT"));
  /* the table's keys are the CLI's */
  const struct qmig_optkey *k = qmig_calibrate_option_keys();
  size_t n = 0;
  bool probe_rate = false;
  for (; k[n].key; n++)
    probe_rate |= !strcmp(k[n].key, "probe-rate");
  assert_int_equal(n, 11);
  assert_true(probe_rate);
}

/* Run with options o; the outcome, the error code, and err contains want. */
static void run_refused(const struct qmig_calibrate_options *o, enum qmig_outcome out,
                        enum qmig_error_code code, const char *want)
{
  struct qmig_calibrate *c = qmig_calibrate_new();
  assert_non_null(c);
  enum qmig_outcome got = qmig_calibrate_run(c, o);
  if (got != out)
    fail_msg("outcome %d, want %d: %s", got, out, qmig_calibrate_error(c));
  if (qmig_calibrate_error_code(c) != code)
    fail_msg("error code %d, want %d: %s", qmig_calibrate_error_code(c), code,
             qmig_calibrate_error(c));
  if (!strstr(qmig_calibrate_error(c), want))
    fail_msg("'%s' lacks '%s'", qmig_calibrate_error(c), want);
  assert_int_equal(qmig_calibrate_result(c)->rounds, 0);
  char *s = qmig_calibrate_json(c);
  assert_non_null(s);
  json_t *j = json_loads(s, 0, NULL);
  free(s);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "schema")), 1);
  assert_int_equal(json_integer_value(json_object_get(j, "outcome")), out);
  assert_int_equal(json_array_size(json_object_get(j, "rounds")), 0);
  assert_true(json_is_null(json_object_get(json_object_get(j, "median"), "stall_ms")));
  json_decref(j);
  assert_int_equal(qmig_calibrate_run(c, o), QMIG_USAGE); /* once per object */
  qmig_calibrate_free(c);
}

static void test_refused_options(void **state)
{
  (void)state;
  struct qmig_calibrate_options o = QMIG_CALIBRATE_OPTIONS_INIT;
  run_refused(&o, QMIG_USAGE, QMIG_E_OPTION, "'qmp' is required");
  o.qmp = "unix:/nonexistent/qmig-calibrate.qmp";
  run_refused(&o, QMIG_USAGE, QMIG_E_OPTION, "nothing to calibrate");
  o.serial = "/nonexistent/serial";
  run_refused(&o, QMIG_USAGE, QMIG_E_OPTION, "'serial' needs 'heartbeat-ms'");
  o.heartbeat_ms = 10;
  o.pause_ms = 20000; /* set directly, not through the table */
  run_refused(&o, QMIG_USAGE, QMIG_E_OPTION, "pause 1-10000");
  o.pause_ms = 50;
  o.probe = "icmp:not-an-address";
  run_refused(&o, QMIG_USAGE, QMIG_E_OPTION, "option 'probe'");
  o.probe = NULL;
  run_refused(&o, QMIG_NOT_STARTED, QMIG_E_QMP_CONNECT, "qmig-calibrate.qmp");
}

/* ---- a fake QEMU monitor: answers query-status with a given status ---- */

struct fake {
  int lfd;
  const char *status;
  pthread_t t;
};

static void *fake_qemu(void *arg)
{
  struct fake *f = arg;
  int fd = accept(f->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  const char *greet = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": "
                      "10}, \"package\": \"\"}, \"capabilities\": []}}\r\n";
  if (send(fd, greet, strlen(greet), MSG_NOSIGNAL) < 0)
    goto out;
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    json_t *cmd;
    json_error_t e;
    /* Commands come one JSON object after another, not always a line each. */
    while ((cmd = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &e))) {
      const char *ex = json_string_value(json_object_get(cmd, "execute"));
      json_t *ret = ex && !strcmp(ex, "query-status")
                        ? json_pack("{s:s,s:b}", "status", f->status, "running", 0)
                        : json_object();
      json_t *reply = json_pack("{s:o}", "return", ret);
      json_t *id = json_object_get(cmd, "id");
      if (id)
        json_object_set(reply, "id", id);
      char *s = json_dumps(reply, JSON_COMPACT);
      bool ok =
          s && send(fd, s, strlen(s), MSG_NOSIGNAL) >= 0 && send(fd, "\r\n", 2, MSG_NOSIGNAL) >= 0;
      free(s);
      json_decref(reply);
      json_decref(cmd);
      if (!ok)
        goto out;
      size_t used = (size_t)e.position;
      while (used < len && (buf[used] == '\r' || buf[used] == '\n' || buf[used] == ' '))
        used++;
      memmove(buf, buf + used, len - used);
      len -= used;
    }
  }
out:
  close(fd);
  return NULL;
}

static void refused_state(const char *status, const char *want)
{
  char dir[] = "/tmp/qmig-cal-unit.XXXXXX", path[128], addr[140];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/q.qmp", dir);
  snprintf(addr, sizeof addr, "unix:%s", path);
  struct fake f = { .status = status };
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(f.lfd >= 0);
  assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(f.lfd, 1), 0);
  assert_int_equal(pthread_create(&f.t, NULL, fake_qemu, &f), 0);
  struct qmig_calibrate_options o = QMIG_CALIBRATE_OPTIONS_INIT;
  o.qmp = addr;
  o.probe = "udp:198.18.1.2:7"; /* never started: refused before */
  run_refused(&o, QMIG_NOT_STARTED, QMIG_E_PREFLIGHT, want);
  pthread_join(f.t, NULL);
  close(f.lfd);
  unlink(path);
  rmdir(dir);
}

static void test_refused_states(void **state)
{
  (void)state;
  refused_state("inmigrate", "incoming state (status inmigrate");
  refused_state("paused", "not running (status paused)");
}

/* ---- the figures ---- */

static void test_round(void **state)
{
  (void)state;
  /* STOP at wall 5.000 s, RESUME 80.5 ms later; RESUME is mono 1000 ms.
   * The last heartbeat 3 ms before the stop (mono 916.5), the first 2 ms
   * after the resume; the last reply 1 ms before the stop, the first 4 ms
   * after the resume. */
  struct eng_hb_gap g = { 916500000, 1002 * MS, 41, 42 };
  struct eng_cal_obs o = {
    .stop_wall_us = 5000000,
    .resume_wall_us = 5080500,
    .resume_ns = 1000 * MS,
    .period_ms = 2,
    .hb = &g,
    .net_before_ns = 918500000,
    .net_after_ns = 1004 * MS,
  };
  struct qmig_calibrate_round r;
  eng_cal_round(&o, 2, &r);
  assert_int_equal(r.round, 2);
  assert_float_equal(r.pause_ms, 80.5, 1e-9);
  assert_float_equal(r.stall_ms, 85.5, 1e-9);
  assert_float_equal(r.net_gap_ms, 85.5, 1e-9);
  assert_float_equal(r.first_heartbeat_ms, 2, 1e-9);
  assert_float_equal(r.first_reply_ms, 4, 1e-9);
  assert_float_equal(r.net_gap_minus_stall_ms, 0, 1e-9);
  assert_float_equal(r.stall_minus_pause_ms, 5, 1e-9);
  /* Two heartbeats missing (a line cut in two): two periods the guest ran. */
  g.to_seq = 44;
  eng_cal_round(&o, 2, &r);
  assert_float_equal(r.stall_ms, 81.5, 1e-9);
  assert_float_equal(r.net_gap_minus_stall_ms, 4, 1e-9);
  assert_float_equal(r.stall_minus_pause_ms, 1, 1e-9);
  /* A sequence that does not follow on: not trusted. */
  g.to_seq = 41;
  eng_cal_round(&o, 2, &r);
  assert_true(isnan(r.stall_ms) && isnan(r.net_gap_minus_stall_ms));
  assert_float_equal(r.first_heartbeat_ms, 2, 1e-9);
  /* No reply before the pause in the ring: the gap is unknown, the first
   * reply after the resume is not; without heartbeats no stall. */
  o.net_before_ns = 0;
  o.hb = NULL;
  eng_cal_round(&o, 3, &r);
  assert_true(isnan(r.net_gap_ms) && isnan(r.stall_ms) && isnan(r.first_heartbeat_ms));
  assert_float_equal(r.first_reply_ms, 4, 1e-9);
  assert_float_equal(r.pause_ms, 80.5, 1e-9);
}

/* The gap that spans the resume, from the lines as the reader keeps them. */
static void test_gap_at(void **state)
{
  (void)state;
  static struct eng_hb_track t = { .gap_ns = 3 * MS };
  uint32_t seq = 0;
  int64_t now = 0;
  for (; now < 100 * MS; now += 2 * MS) /* every 2 ms */
    eng_hb_feed(&t, now, seq++);
  eng_hb_feed(&t, now += 5 * MS, seq++); /* a 7 ms hiccup */
  int64_t before = now;
  eng_hb_feed(&t, now += 90 * MS, seq++); /* the pause */
  for (int i = 0; i < 10; i++)
    eng_hb_feed(&t, now += 2 * MS, seq++);
  assert_int_equal(t.ngaps, 2);
  assert_null(eng_hb_gap_at(&t, 50 * MS));
  const struct eng_hb_gap *g = eng_hb_gap_at(&t, before + 80 * MS);
  assert_non_null(g);
  assert_int_equal(g->from_ns, before);
  assert_int_equal(g->to_ns, before + 90 * MS);
  assert_int_equal(g->to_seq, g->from_seq + 1);
  assert_null(eng_hb_gap_at(&t, before + 90 * MS)); /* the line after it: not inside */
  assert_float_equal(eng_stall_across_ms(g->from_ns, g->from_seq, g->to_ns, g->to_seq, 2), 90,
                     1e-9);
  assert_float_equal(eng_stall_across_ms(0, 5, 10 * MS, 5, 2), -1, 0);
  assert_float_equal(eng_stall_across_ms(0, 5, 10 * MS, 6, 0), -1, 0);
}

static void test_medians_json(void **state)
{
  (void)state;
  static struct qmig_calibrate c;
  struct qmig_calibrate_result *res = &c.res;
  const double pause[] = { 81, 83, 80, 82 }, stall[] = { 90, NAN, 84, 86 };
  for (unsigned i = 0; i < 4; i++) {
    struct qmig_calibrate_round *r = &res->round[res->rounds++];
    *r = (struct qmig_calibrate_round){ i + 1, pause[i], stall[i], NAN, NAN, NAN, NAN, NAN };
    r->net_gap_ms = i == 3 ? 88 : NAN;
  }
  eng_cal_medians(res);
  assert_float_equal(res->median.pause_ms, 81.5, 1e-9); /* even count: the mean of the middle two */
  assert_float_equal(res->median.stall_ms, 86, 1e-9);   /* a NAN round left out */
  assert_float_equal(res->median.net_gap_ms, 88, 1e-9);
  assert_true(isnan(res->median.first_reply_ms));
  c.outcome = QMIG_MIGRATED;
  c.pause_ms = 80, c.repeat = 4, c.after_ms = 500, c.wait_s = 5;
  snprintf(c.qmp, sizeof c.qmp, "unix:/x.qmp");
  snprintf(c.serial, sizeof c.serial, "/x.serial");
  res->heartbeat_period_ms = 2;
  json_t *j = eng_cal_json(&c);
  assert_non_null(j);
  assert_string_equal(unit_str(j, "outcome_name"), "measured");
  assert_string_equal(unit_str(j, "error_code"), "none");
  assert_true(json_is_null(json_object_get(j, "probe")));
  json_t *hb = json_object_get(j, "heartbeat");
  assert_float_equal(unit_num(hb, "period_ms"), 2, 0);
  json_t *rounds = json_object_get(j, "rounds");
  assert_int_equal(json_array_size(rounds), 4);
  json_t *r1 = json_array_get(rounds, 1);
  assert_int_equal(json_integer_value(json_object_get(r1, "round")), 2);
  assert_true(json_is_null(json_object_get(r1, "stall_ms")));
  assert_float_equal(unit_num(json_object_get(j, "median"), "stall_ms"), 86, 1e-9);
  assert_null(json_object_get(json_object_get(j, "median"), "round"));
  json_decref(j);
}

UNIT_MAIN(cmocka_unit_test(test_options), cmocka_unit_test(test_refused_options),
          cmocka_unit_test(test_refused_states), cmocka_unit_test(test_round),
          cmocka_unit_test(test_gap_at), cmocka_unit_test(test_medians_json))
