/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pingpong_json.c - a ping-pong's statistics over its migrated legs (the
 * bench's figures, read from each leg's report as the bench reads a run's,
 * summarized by stats.c) and its JSON document (docs/PINGPONG.md,
 * docs/schema/pingpong.schema.json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* The bench's figures a leg has (not cpu_s_per_gib: the bench measures it
 * around a run), by their index in bench_figures. */
static const size_t leg_figures[QMIG_PINGPONG_NFIGURES] = { 0, 1, 2, 3, 4, 5, 7 };

/* {"report": leg i's report} as the bench's records are, for
 * bench_figure_value (new reference; NULL when out of memory). */
static json_t *leg_record(const struct qmig_migration *m)
{
  char *s = qmig_report_json(m);
  json_t *rep = s ? json_loads(s, 0, NULL) : NULL;
  free(s);
  return rep ? json_pack("{s:o}", "report", rep) : NULL;
}

int bench_pingpong_stats(struct qmig_pingpong *p, unsigned resamples)
{
  struct qmig_pingpong_stats *st = &p->stats;
  memset(st, 0, sizeof *st);
  st->legs = p->nlegs;
  st->resamples = resamples;
  double *v = calloc((size_t)p->nlegs * QMIG_PINGPONG_NFIGURES + 1, sizeof *v);
  if (!v)
    return -1;
  for (unsigned i = 0; i < p->nlegs; i++) {
    if (qmig_report(p->legs[i])->outcome != QMIG_MIGRATED)
      continue;
    json_t *rec = leg_record(p->legs[i]);
    if (!rec) {
      free(v);
      return -1;
    }
    for (size_t f = 0; f < QMIG_PINGPONG_NFIGURES; f++) {
      double x = bench_figure_value(rec, leg_figures[f]);
      if (!isnan(x))
        v[f * p->nlegs + st->figures[f].n++] = x;
    }
    json_decref(rec);
    st->migrated++;
  }
  int rc = 0;
  for (size_t f = 0; f < QMIG_PINGPONG_NFIGURES; f++) {
    struct qmig_pingpong_figure *fig = &st->figures[f];
    const struct bench_figure *bf = &bench_figures[leg_figures[f]];
    fig->key = bf->key;
    fig->label = bf->label;
    fig->unit = bf->unit;
    struct bench_summary s;
    if (fig->n && bench_summarize(v + f * p->nlegs, fig->n, resamples, 1, &s) < 0)
      rc = -1;
    else if (fig->n) {
      fig->median = s.median;
      fig->p5 = s.p5;
      fig->p95 = s.p95;
      fig->min = s.min;
      fig->max = s.max;
      fig->ci_lo = s.ci_lo;
      fig->ci_hi = s.ci_hi;
    }
  }
  free(v);
  return rc;
}

static const char *outcome_name(enum qmig_outcome o)
{
  static const char *const n[] = { "migrated", "not-migrated", "usage", "not-started",
                                   "uncertain" };
  return (unsigned)o < sizeof n / sizeof n[0] ? n[o] : "uncertain";
}

static json_t *str_or_null(const char *s)
{
  return s && s[0] ? json_string(s) : json_null();
}

static json_t *leg_json(const struct qmig_pingpong *p, unsigned i)
{
  const struct qmig_migration *m = p->legs[i];
  const struct qmig_report_update *u = qmig_report_update(m);
  char *src = qmig_get(m, "src");
  json_t *rec = leg_record(m);
  json_t *rep = rec ? json_incref(json_object_get(rec, "report")) : NULL;
  json_decref(rec);
  json_t *o =
      rep ? json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "leg", (json_int_t)i + 1, "outcome_name",
                      outcome_name(qmig_report(m)->outcome), "src", str_or_null(src), "src_pid",
                      u && u->old_pid > 0 ? json_integer(u->old_pid) : json_null(), "dst",
                      str_or_null(u ? u->new_qmp : NULL), "dst_pid",
                      u && u->new_pid > 0 ? json_integer(u->new_pid) : json_null(), "name",
                      json_string(p->names[i % 2]), "report", rep)
          : NULL;
  free(src);
  return o;
}

static json_t *stats_json(const struct qmig_pingpong_stats *st)
{
  json_t *figs = json_object();
  for (size_t f = 0; figs && f < QMIG_PINGPONG_NFIGURES; f++) {
    const struct qmig_pingpong_figure *x = &st->figures[f];
    if (!x->key)
      continue;
    json_t *o = x->n ? json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "n", (json_int_t)x->n,
                                 "median", x->median, "p5", x->p5, "p95", x->p95, "min", x->min,
                                 "max", x->max, "ci_lo", x->ci_lo, "ci_hi", x->ci_hi)
                     : json_pack("{s:i}", "n", 0);
    if (!o || json_object_set_new(figs, x->key, o) < 0) {
      json_decref(figs);
      return NULL;
    }
  }
  return figs ? json_pack("{s:I,s:I,s:I,s:o}", "legs", (json_int_t)st->legs, "migrated",
                          (json_int_t)st->migrated, "resamples", (json_int_t)st->resamples,
                          "figures", figs)
              : NULL;
}

char *qmig_pingpong_json(const struct qmig_pingpong *p)
{
  json_t *legs = json_array();
  for (unsigned i = 0; legs && i < p->nlegs; i++) {
    json_t *l = leg_json(p, i);
    if (!l || json_array_append_new(legs, l) < 0) {
      json_decref(legs);
      legs = NULL;
    }
  }
  json_t *stats = stats_json(&p->stats);
  if (!legs || !stats) {
    json_decref(legs);
    json_decref(stats);
    return NULL;
  }
  /* json_pack takes legs and stats ("o"), also when it fails. */
  json_t *doc = json_pack(
      "{s:i,s:s,s:s,s:I,s:s,s:o,s:s,s:o,s:I,s:[s,s],s:{s:o,s:o},s:o,s:o}", "schema",
      QMIG_REPORT_SCHEMA, "qmig_version", QMIG_VERSION, "command", "pingpong", "outcome",
      (json_int_t)p->outcome, "outcome_name", outcome_name(p->outcome), "error",
      str_or_null(p->err), "error_code", qmig_error_code_name(p->code), "failed_leg",
      p->failed_leg ? json_integer(p->failed_leg) : json_null(), "repeat", (json_int_t)p->repeat,
      "names", p->names[0], p->names[1], "guest", "qmp", str_or_null(p->guest_qmp), "pid",
      p->guest_pid > 0 ? json_integer(p->guest_pid) : json_null(), "legs", legs, "stats", stats);
  if (!doc)
    return NULL;
  char *s = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  return s;
}
