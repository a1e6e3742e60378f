/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* calibrate_result.c - qmig calibrate's figures (engine/calibrate.h): one
 * round's from what the instruments saw around the pause, with the stall
 * defined as the migration's guest_stall_ms and the gap as its probe's
 * switchover gap; the medians over the rounds; the JSON document.  Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/calibrate.h"

void eng_cal_round(const struct eng_cal_obs *o, unsigned round, struct qmig_calibrate_round *r)
{
  r->round = round;
  r->pause_ms =
      o->stop_wall_us && o->resume_wall_us ? (o->resume_wall_us - o->stop_wall_us) / 1e3 : NAN;
  r->stall_ms = r->first_heartbeat_ms = NAN;
  if (o->hb && o->period_ms > 0) {
    double s = eng_stall_across_ms(o->hb->from_ns, o->hb->from_seq, o->hb->to_ns, o->hb->to_seq,
                                   o->period_ms);
    r->stall_ms = s >= 0 ? s : NAN;
    r->first_heartbeat_ms = (o->hb->to_ns - o->resume_ns) / 1e6;
  }
  r->net_gap_ms =
      o->net_before_ns && o->net_after_ns ? (o->net_after_ns - o->net_before_ns) / 1e6 : NAN;
  r->first_reply_ms = o->net_after_ns ? (o->net_after_ns - o->resume_ns) / 1e6 : NAN;
  r->net_gap_minus_stall_ms = r->net_gap_ms - r->stall_ms; /* NAN if either is */
  r->stall_minus_pause_ms = r->stall_ms - r->pause_ms;
}

/* The figures, by offset: the medians and the JSON walk them. */
static const struct {
  const char *key;
  size_t off;
} figs[] = {
  { "pause_ms", offsetof(struct qmig_calibrate_round, pause_ms) },
  { "stall_ms", offsetof(struct qmig_calibrate_round, stall_ms) },
  { "net_gap_ms", offsetof(struct qmig_calibrate_round, net_gap_ms) },
  { "first_reply_after_resume_ms", offsetof(struct qmig_calibrate_round, first_reply_ms) },
  { "first_heartbeat_after_resume_ms", offsetof(struct qmig_calibrate_round, first_heartbeat_ms) },
  { "net_gap_minus_stall_ms", offsetof(struct qmig_calibrate_round, net_gap_minus_stall_ms) },
  { "stall_minus_pause_ms", offsetof(struct qmig_calibrate_round, stall_minus_pause_ms) },
};
#define NFIGS (sizeof figs / sizeof figs[0])

static double *fig(struct qmig_calibrate_round *r, size_t i)
{
  return (double *)((char *)r + figs[i].off);
}

static double fig_c(const struct qmig_calibrate_round *r, size_t i)
{
  return *(const double *)((const char *)r + figs[i].off);
}

static int by_value(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void eng_cal_medians(struct qmig_calibrate_result *res)
{
  memset(&res->median, 0, sizeof res->median);
  for (size_t i = 0; i < NFIGS; i++) {
    double v[QMIG_CALIBRATE_MAX_ROUNDS];
    size_t n = 0;
    for (unsigned k = 0; k < res->rounds && k < QMIG_CALIBRATE_MAX_ROUNDS; k++)
      if (!isnan(fig_c(&res->round[k], i)))
        v[n++] = fig_c(&res->round[k], i);
    qsort(v, n, sizeof v[0], by_value);
    *fig(&res->median, i) = n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
}

static json_t *num(double v)
{
  return isnan(v) ? json_null() : json_real(round(v * 1000) / 1000);
}

static json_t *str_or_null(const char *s)
{
  return s && s[0] ? json_string(s) : json_null();
}

static json_t *figures(const struct qmig_calibrate_round *r, bool with_round)
{
  json_t *o = json_object();
  if (o && with_round)
    json_object_set_new(o, "round", json_integer(r->round));
  for (size_t i = 0; o && i < NFIGS; i++)
    json_object_set_new(o, figs[i].key, num(fig_c(r, i)));
  return o;
}

json_t *eng_cal_json(const struct qmig_calibrate *c)
{
  static const char *const outcomes[] = { "measured", "failed", "usage", "not-started",
                                          "uncertain" };
  const struct qmig_calibrate_result *res = &c->res;
  json_t *rounds = json_array();
  for (unsigned i = 0; rounds && i < res->rounds; i++)
    json_array_append_new(rounds, figures(&res->round[i], true));
  json_t *hb = json_null(), *probe = json_null();
  if (c->serial[0])
    hb = json_pack("{s:s,s:o,s:I,s:b}", "serial", c->serial, "period_ms",
                   num(res->heartbeat_period_ms), "lines", (json_int_t)res->heartbeat_lines,
                   "reader_realtime", res->reader_realtime);
  if (c->probe[0])
    probe =
        json_pack("{s:s,s:o,s:o,s:I,s:o,s:I,s:I,s:I}", "target", c->probe, "method",
                  str_or_null(res->probe_method), "netns", str_or_null(c->probe_netns), "rate_hz",
                  (json_int_t)res->probe_rate_hz, "threshold_ms", num(c->probe_threshold_ms),
                  "sent", (json_int_t)res->probe_sent, "received", (json_int_t)res->probe_received,
                  "lost", (json_int_t)(res->probe_sent - res->probe_received));
  return json_pack("{s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:i,s:i,s:i,s:i,s:o,s:o,s:o,s:o}",
                   "schema", 1, "command", "calibrate", "qmig_version", QMIG_VERSION, "outcome",
                   (int)c->outcome, "outcome_name", outcomes[c->outcome], "error", c->err,
                   "error_code", qmig_error_code_name(c->code), "qmp", c->qmp, "qemu_version",
                   str_or_null(res->qemu_version), "pause_requested_ms", (int)c->pause_ms, "repeat",
                   (int)c->repeat, "after_ms", (int)c->after_ms, "wait_s", (int)c->wait_s,
                   "heartbeat", hb, "probe", probe, "rounds", rounds ? rounds : json_null(),
                   "median", figures(&res->median, false));
}
