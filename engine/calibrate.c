/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* calibrate.c - qmig_calibrate_run(): a controlled pause of known length
 * on one running QEMU (QMP stop, a sleep, cont), watched by the
 * migration's own instruments: QEMU's STOP and RESUME events, the
 * heartbeat reader (heartbeat.c, one side) and the network probe
 * (probe.c).  On a warm QEMU there is no cold translation cache after the
 * resume, so what the instruments disagree by is their own error
 * (docs/REPORT.md, "Calibrating the instruments").  The guest is left
 * running: every round that sent `stop` sends `cont`. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/opttab.h"
#include "engine/calibrate.h"
#include "engine/probe.h"

#define QMP_MS 10000 /* every QMP command and event wait */

/* ---- options ---- */

static int check_qmp(const char *v, char *why, size_t len)
{
  if (strncmp(v, "unix:", 5) != 0 || !v[5])
    return errbuf_setf(why, len, "not unix:PATH");
  return 0;
}

#define O(f) offsetof(struct qmig_calibrate_options, f)
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "qmp", .type = OPT_CSTR, .off = O(qmp), .check = check_qmp, .arg = "unix:PATH",
    .help = "the QMP monitor of the running QEMU to pause" },
  { .key = "serial", .type = OPT_CSTR, .off = O(serial), .arg = "PATH",
    .help = "unix socket of its guest's serial (heartbeat lines);\nneeds --heartbeat-ms" },
  { .key = "heartbeat-ms", .type = OPT_UINT, .off = O(heartbeat_ms), .min = 1, .max = 10000,
    .arg = "MS", .help = "the guest's heartbeat period" },
  { .key = "pause", .type = OPT_UINT, .off = O(pause_ms), .min = 1, .max = 10000, .arg = "MS",
    .help = "each pause: stop, this long, cont (default 100)" },
  { .key = "repeat", .type = OPT_UINT, .off = O(repeat), .min = 1,
    .max = QMIG_CALIBRATE_MAX_ROUNDS, .arg = "N", .help = "rounds (default 3)" },
  { .key = "after", .type = OPT_UINT, .off = O(after_ms), .min = 1, .max = 60000, .arg = "MS",
    .help = "watch this long after each resume (default 500)" },
  { .key = "wait", .type = OPT_UINT, .off = O(wait_s), .min = 1, .max = 600, .arg = "S",
    .help = "at most this long for heartbeat lines and probe replies\n"
            "before each round and after each resume (default 5)" },
  { .key = "probe", .type = OPT_CSTR, .off = O(probe), .check = eng_probe_parse,
    .arg = "SPEC", .help = "icmp:ADDR or udp:ADDR:PORT: echo requests to the guest,\nas migrate's" },
  { .key = "probe-netns", .type = OPT_CSTR, .off = O(probe_netns), .arg = "NAME",
    .help = "send the probe from network namespace NAME (default\nwith --lab: the lab's client_netns)" },
  { .key = "probe-rate", .type = OPT_UINT, .off = O(probe_rate_hz), .min = 1, .max = 100000,
    .arg = "HZ", .help = "probe requests per second (default 1000)" },
  { .key = "probe-gap", .type = OPT_UINT, .off = O(probe_gap_ms), .min = 0, .max = 600000,
    .arg = "MS", .help = "a silence between replies longer than this is a gap\n"
                         "in the probe's totals; 0 = 3 periods (default)" },
};
/* clang-format on */
#define NROWS (sizeof rows / sizeof rows[0])
static const struct opt_table cal_table = { rows, NROWS, OPT_RANGE_FROM_TO, 24 };

int qmig_calibrate_set(struct qmig_calibrate_options *o, const char *key, const char *value,
                       char *err, size_t errlen)
{
  return opt_set_sized(&cal_table, o, key, value, "calibrate", "qmig_calibrate_options",
                       "QMIG_CALIBRATE_OPTIONS_INIT", err, errlen);
}

static struct qmig_optkey public_keys[NROWS + 1];
const struct qmig_optkey *qmig_calibrate_option_keys(void)
{
  return opt_cli_keys(&cal_table, public_keys);
}

char *qmig_calibrate_help(void)
{
  return opt_help_text(&cal_table);
}

/* ---- the handle ---- */

struct qmig_calibrate *qmig_calibrate_new(void)
{
  return calloc(1, sizeof(struct qmig_calibrate));
}

void qmig_calibrate_free(struct qmig_calibrate *c)
{
  free(c);
}

void qmig_calibrate_on_round(struct qmig_calibrate *c, qmig_calibrate_round_fn fn, void *user_data)
{
  c->fn = fn;
  c->ud = user_data;
}

void qmig_calibrate_cancel(struct qmig_calibrate *c)
{
  atomic_store(&c->cancelled, true);
}

const char *qmig_calibrate_error(const struct qmig_calibrate *c)
{
  return c->err;
}

enum qmig_error_code qmig_calibrate_error_code(const struct qmig_calibrate *c)
{
  return c->code;
}

const struct qmig_calibrate_result *qmig_calibrate_result(const struct qmig_calibrate *c)
{
  return &c->res;
}

char *qmig_calibrate_json(const struct qmig_calibrate *c)
{
  json_t *o = eng_cal_json(c);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  return s;
}

/* The first failure's message and kind (later ones are consequences). */
static int __attribute__((format(printf, 3, 4)))
cal_fail(struct qmig_calibrate *c, enum qmig_error_code code, const char *fmt, ...)
{
  if (c->err[0])
    return -1;
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  c->code = code;
  return -1;
}

/* The caller's options with defaults, checked as qmig_calibrate_set would
 * (a caller may fill the struct directly); strings copied for the JSON. */
static int resolve(struct qmig_calibrate *c, const struct qmig_calibrate_options *in,
                   struct qmig_calibrate_options *o)
{
  struct qmig_calibrate_options z = QMIG_CALIBRATE_OPTIONS_INIT;
  if (!in || in->size < sizeof in->size)
    return cal_fail(c, QMIG_E_OPTION,
                    "struct qmig_calibrate_options has size %zu (start from "
                    "QMIG_CALIBRATE_OPTIONS_INIT)",
                    in ? in->size : 0);
  *o = z;
  memcpy(o, in, in->size < sizeof *o ? in->size : sizeof *o);
  o->size = sizeof *o;
  c->pause_ms = o->pause_ms ? o->pause_ms : 100;
  c->repeat = o->repeat ? o->repeat : 3;
  c->after_ms = o->after_ms ? o->after_ms : 500;
  c->wait_s = o->wait_s ? o->wait_s : 5;
  c->heartbeat_ms = o->heartbeat_ms;
  snprintf(c->qmp, sizeof c->qmp, "%s", o->qmp ? o->qmp : "");
  snprintf(c->serial, sizeof c->serial, "%s", o->serial ? o->serial : "");
  snprintf(c->probe, sizeof c->probe, "%s", o->probe ? o->probe : "");
  snprintf(c->probe_netns, sizeof c->probe_netns, "%s", o->probe_netns ? o->probe_netns : "");
  char why[256];
  if (!o->qmp)
    return cal_fail(c, QMIG_E_OPTION, "option 'qmp' is required (the running QEMU's monitor)");
  if (check_qmp(o->qmp, why, sizeof why) < 0)
    return cal_fail(c, QMIG_E_OPTION, "option 'qmp': '%s' is %s", o->qmp, why);
  if (c->pause_ms > 10000 || c->repeat > QMIG_CALIBRATE_MAX_ROUNDS || c->after_ms > 60000 ||
      c->wait_s > 600 || o->heartbeat_ms > 10000 || o->probe_rate_hz > 100000 ||
      o->probe_gap_ms > 600000)
    return cal_fail(c, QMIG_E_OPTION,
                    "an option is out of its range (pause 1-10000, repeat 1-%d, after 1-60000, "
                    "wait 1-600, heartbeat-ms 1-10000, probe-rate 1-100000, probe-gap 0-600000)",
                    QMIG_CALIBRATE_MAX_ROUNDS);
  if (o->serial && !o->heartbeat_ms)
    return cal_fail(c, QMIG_E_OPTION, "option 'serial' needs 'heartbeat-ms' (the period)");
  if (o->probe && eng_probe_parse(o->probe, why, sizeof why) < 0)
    return cal_fail(c, QMIG_E_OPTION, "option 'probe': '%s' is %s", o->probe, why);
  if (!o->serial && !o->probe)
    return cal_fail(c, QMIG_E_OPTION,
                    "nothing to calibrate: give 'serial' (heartbeats) and/or 'probe'");
  return 0;
}

/* The QEMU runs a guest that can be paused: status running, not an
 * incoming destination, no migration under way. */
static int check_running(struct qmig_calibrate *c, struct qmp_conn *q)
{
  json_t *ret = NULL;
  if (qmp_cmd(q, &ret, QMP_MS, "query-status", NULL) < 0)
    return cal_fail(c, QMIG_E_QMP, "%s query-status: %s", c->qmp, qmp_error(q));
  char st[32];
  snprintf(st, sizeof st, "%s", json_string_value(json_object_get(ret, "status")) ?: "?");
  json_decref(ret);
  if (!strcmp(st, "inmigrate"))
    return cal_fail(c, QMIG_E_PREFLIGHT,
                    "QEMU at %s is in incoming state (status inmigrate: a destination waiting "
                    "for a migration stream); calibrate needs a running guest",
                    c->qmp);
  if (strcmp(st, "running") != 0)
    return cal_fail(c, QMIG_E_PREFLIGHT,
                    "the guest of QEMU at %s is not running (status %s); calibrate pauses a "
                    "running guest",
                    c->qmp, st);
  if (qmp_cmd(q, &ret, QMP_MS, "query-migrate", NULL) < 0)
    return cal_fail(c, QMIG_E_QMP, "%s query-migrate: %s", c->qmp, qmp_error(q));
  const char *ms = json_string_value(json_object_get(ret, "status"));
  bool moving = ms && strcmp(ms, "completed") && strcmp(ms, "failed") && strcmp(ms, "cancelled") &&
                strcmp(ms, "none");
  if (moving)
    cal_fail(c, QMIG_E_PREFLIGHT,
             "QEMU at %s has a migration under way (status %s); calibrate pauses an idle one",
             c->qmp, ms);
  json_decref(ret);
  return moving ? -1 : 0;
}

/* Until heartbeat lines and a probe reply arrive (either that is used),
 * at most wait_s. */
static int settle(struct qmig_calibrate *c, struct eng_heartbeat *hb, struct eng_probe *p)
{
  int64_t now = eng_mono_ns(), until = now + (int64_t)c->wait_s * 1000000000;
  if (hb) {
    unsigned n0, n;
    eng_hb_last(hb, 0, &n0);
    for (;;) {
      eng_hb_last(hb, 0, &n);
      if (n >= n0 + 3)
        break;
      if (eng_mono_ns() > until)
        return cal_fail(c, QMIG_E_PREFLIGHT,
                        "no heartbeat lines from the guest on %s within %u s (%u seen in all)",
                        c->serial, c->wait_s, n);
      usleep(5000);
    }
  }
  if (p && !eng_probe_settle(p, now, 0, until))
    return cal_fail(c, QMIG_E_PREFLIGHT, "no reply to probe %s within %u s", c->probe, c->wait_s);
  return 0;
}

/* Sleep ms, sooner when cancelled. */
static void nap(struct qmig_calibrate *c, unsigned ms)
{
  int64_t until = eng_mono_ns() + (int64_t)ms * 1000000;
  for (int64_t now; (now = eng_mono_ns()) < until && !atomic_load(&c->cancelled);) {
    int64_t d = until - now < 5000000 ? until - now : 5000000;
    struct timespec ts = { 0, d };
    nanosleep(&ts, NULL);
  }
}

/* QEMU's STOP and RESUME stamps of this round, at most QMP_MS. */
static int wait_events(struct qmig_calibrate *c, struct qmp_conn *q, int64_t *stop_us,
                       int64_t *resume_us)
{
  int64_t until = eng_mono_ns() + (int64_t)QMP_MS * 1000000;
  for (;;) {
    struct qmp_event ev;
    while (qmp_next_event(q, &ev)) {
      if (!strcmp(ev.name, "STOP") && !*stop_us)
        *stop_us = ev.wall_us;
      else if (!strcmp(ev.name, "RESUME") && *stop_us && !*resume_us)
        *resume_us = ev.wall_us;
      qmp_event_clear(&ev);
    }
    if (*stop_us && *resume_us)
      return 0;
    int64_t left = (until - eng_mono_ns()) / 1000000;
    if (left <= 0)
      return cal_fail(c, QMIG_E_QMP, "%s: no %s event within %d ms of `%s`", c->qmp,
                      *stop_us ? "RESUME" : "STOP", QMP_MS, *stop_us ? "cont" : "stop");
    if (qmp_pump(q, (int)(left < 50 ? left : 50)) < 0)
      return cal_fail(c, QMIG_E_QMP, "%s: %s", c->qmp, qmp_error(q));
  }
}

/* One round: stop, the pause, cont; the events; watching after the
 * resume; the figures.  -1 with the message; *resumed false when the
 * guest may be left paused. */
static int one_round(struct qmig_calibrate *c, struct qmp_conn *q, struct eng_heartbeat *hb,
                     struct eng_probe *p, unsigned n, bool *resumed)
{
  struct qmp_event ev;
  (void)qmp_pump(q, 0); /* earlier events are not this round's (broken: stop says so) */
  while (qmp_next_event(q, &ev))
    qmp_event_clear(&ev);
  *resumed = false;
  int rc_stop = qmp_cmd(q, NULL, QMP_MS, "stop", NULL);
  if (rc_stop == 0)
    nap(c, c->pause_ms);
  /* cont whatever stop said (it may have stopped the guest before failing) */
  int rc_cont = qmp_cmd(q, NULL, QMP_MS, "cont", NULL);
  if (rc_cont < 0 && !qmp_broken(q))
    rc_cont = qmp_cmd(q, NULL, QMP_MS, "cont", NULL);
  *resumed = rc_cont == 0;
  if (rc_cont < 0)
    return cal_fail(c, QMIG_E_QMP, "round %u: %s cont: %s; the guest may be left paused", n, c->qmp,
                    qmp_error(q));
  if (rc_stop < 0)
    return cal_fail(c, QMIG_E_QMP, "round %u: %s stop: %s", n, c->qmp, qmp_error(q));
  int64_t stop_us = 0, resume_us = 0;
  if (wait_events(c, q, &stop_us, &resume_us) < 0)
    return -1;
  struct eng_cal_obs o = { .stop_wall_us = stop_us, .resume_wall_us = resume_us };
  o.resume_ns = eng_probe_wall_to_mono(resume_us);
  /* After the resume: after_ms, and until both instruments saw the guest
   * again (at most wait_s). */
  int64_t min_end = o.resume_ns + (int64_t)c->after_ms * 1000000;
  int64_t max_end = o.resume_ns + (int64_t)c->wait_s * 1000000000;
  if (max_end < min_end)
    max_end = min_end;
  for (int64_t now; (now = eng_mono_ns()) < max_end; usleep(5000)) {
    bool hb_back = !hb || eng_hb_last(hb, 0, NULL) > o.resume_ns;
    bool net_back = true;
    if (p) {
      int64_t b, a;
      eng_probe_around(p, o.resume_ns, &b, &a);
      net_back = a != 0;
    }
    if (now >= min_end && hb_back && net_back)
      break;
  }
  struct eng_hb_track *t = hb ? malloc(sizeof *t) : NULL; /* large: not on the stack */
  if (hb && !t)
    return cal_fail(c, QMIG_E_SYSTEM, "round %u: out of memory", n);
  if (hb) {
    eng_hb_take(hb, 0, t);
    o.hb = eng_hb_gap_at(t, o.resume_ns);
    o.period_ms = c->heartbeat_ms;
  }
  if (p)
    eng_probe_around(p, o.resume_ns, &o.net_before_ns, &o.net_after_ns);
  struct qmig_calibrate_round *r = &c->res.round[c->res.rounds];
  eng_cal_round(&o, n, r);
  free(t);
  c->res.rounds++;
  if (c->fn)
    c->fn(c->ud, r);
  return 0;
}

enum qmig_outcome qmig_calibrate_run(struct qmig_calibrate *c,
                                     const struct qmig_calibrate_options *in)
{
  struct qmig_calibrate_options o;
  struct qmp_conn *q = NULL;
  struct eng_heartbeat *hb = NULL;
  struct eng_probe *p = NULL;
  char e[512];
  if (c->ran) {
    cal_fail(c, QMIG_E_OPTION, "qmig_calibrate_run: once per object");
    return QMIG_USAGE;
  }
  c->ran = true;
  c->pause_ms = 100, c->repeat = 3, c->after_ms = 500, c->wait_s = 5; /* for the JSON */
  c->res.heartbeat_period_ms = NAN;
  eng_cal_medians(&c->res);
  c->outcome = QMIG_USAGE;
  if (resolve(c, in, &o) < 0)
    goto out;
  c->outcome = QMIG_NOT_STARTED;
  if (!(q = qmp_connect("calibrate", o.qmp, QMP_MS, e, sizeof e))) {
    cal_fail(c, QMIG_E_QMP_CONNECT, "%s", e);
    goto out;
  }
  const struct qmp_version *v = qmp_version(q);
  snprintf(c->res.qemu_version, sizeof c->res.qemu_version, "%d.%d.%d%s%s", v->major, v->minor,
           v->micro, v->package[0] ? " " : "", v->package);
  if (check_running(c, q) < 0)
    goto out;
  if (o.serial) {
    /* Kept gaps: those that can be the pause's (the stall is at least the
     * pause), and the heartbeat's own hiccups over 1.5 periods. */
    int64_t gap_ns = (int64_t)c->heartbeat_ms * 1500000;
    if (gap_ns > (int64_t)c->pause_ms * 500000)
      gap_ns = (int64_t)c->pause_ms * 500000;
    if (!(hb = eng_hb_start(o.serial, NULL, gap_ns, e, sizeof e))) {
      cal_fail(c, QMIG_E_SYSTEM, "heartbeats: %s", e);
      goto out;
    }
    c->res.heartbeat_period_ms = c->heartbeat_ms;
  }
  if (o.probe) {
    if (!(p = eng_probe_start(o.probe, o.probe_netns, o.probe_rate_hz, o.probe_gap_ms, e,
                              sizeof e))) {
      cal_fail(c, QMIG_E_SYSTEM, "%s", e);
      goto out;
    }
  }
  for (unsigned n = 1; n <= c->repeat; n++) {
    if (atomic_load(&c->cancelled)) {
      cal_fail(c, QMIG_E_CANCELLED, "cancelled after %u of %u rounds", n - 1, c->repeat);
      c->outcome = n == 1 ? QMIG_NOT_STARTED : QMIG_NOT_MIGRATED;
      goto out;
    }
    if (settle(c, hb, p) < 0) {
      if (n > 1)
        c->outcome = QMIG_NOT_MIGRATED;
      goto out;
    }
    bool resumed;
    if (one_round(c, q, hb, p, n, &resumed) < 0) {
      c->outcome = resumed ? QMIG_NOT_MIGRATED : QMIG_UNCERTAIN;
      goto out;
    }
    if (atomic_load(&c->cancelled) && n < c->repeat) {
      cal_fail(c, QMIG_E_CANCELLED, "cancelled after %u of %u rounds", n, c->repeat);
      c->outcome = QMIG_NOT_MIGRATED;
      goto out;
    }
  }
  c->outcome = QMIG_MIGRATED;
out:
  if (p) {
    struct qmig_report_network *net = calloc(1, sizeof *net);
    struct eng_phase_marks pm = { 0 };
    eng_probe_stop(p, net ? &pm : NULL, net);
    if (net) {
      c->res.probe_method = net->method;
      c->res.probe_rate_hz = net->rate_hz;
      c->res.probe_sent = net->sent;
      c->res.probe_received = net->received;
      c->probe_threshold_ms = net->threshold_ms;
    }
    free(net);
  }
  if (hb) {
    struct eng_hb_result *r = malloc(sizeof *r); /* large: not on the stack */
    eng_hb_stop(hb, r);
    if (r) {
      c->res.heartbeat_lines = r->src_lines;
      c->res.reader_realtime = r->realtime;
    }
    free(r);
  }
  qmp_close(q);
  eng_cal_medians(&c->res);
  return c->outcome;
}
