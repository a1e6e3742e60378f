/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* summary_json.c - the summary table of a bench as JSON (qmig bench
 * --json): the same cells as summary.txt and summary.csv, with the
 * report's "schema" and snake_case keys (docs/REPORT.md). */
#include <math.h>
#include <stdlib.h>

#include "bench/bench.h"

static json_t *num(double v)
{
  return isfinite(v) ? json_real(v) : json_null();
}

static json_t *cell_json(const struct bench_cell *c)
{
  if (!c->ok)
    return json_pack("{s:i,s:o,s:o,s:o}", "n", 0, "ratio", num(c->ratio), "ratio_lo", num(c->lo),
                     "ratio_hi", num(c->hi));
  return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "n", (json_int_t)c->s.n,
                   "median", num(c->s.median), "ci_lo", num(c->s.ci_lo), "ci_hi", num(c->s.ci_hi),
                   "p5", num(c->s.p5), "p95", num(c->s.p95), "min", num(c->s.min), "max",
                   num(c->s.max), "ratio", num(c->ratio), "ratio_lo", num(c->lo), "ratio_hi",
                   num(c->hi));
}

char *qmig_bench_summary_json(const struct qmig_bench *b)
{
  struct bench_cell *t = bench_table(b);
  json_t *sc = json_array();
  for (size_t i = 0; t && sc && i < b->nsc; i++) {
    json_t *figs = json_object();
    for (size_t f = 0; figs && f < BENCH_NFIGURES; f++) {
      json_t *c = cell_json(&t[i * BENCH_NFIGURES + f]);
      if (c)
        json_object_set_new(figs, bench_figures[f].key, c);
    }
    json_array_append_new(sc, json_pack("{s:s,s:O?}", "name", b->sc[i].name, "figures", figs));
    json_decref(figs);
  }
  json_t *o = t && sc ? json_pack("{s:i,s:s?,s:i,s:O}", "schema", QMIG_REPORT_SCHEMA, "baseline",
                                  b->baseline, "resamples", (int)b->resamples, "scenarios", sc)
                      : NULL;
  json_decref(sc);
  free(t);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  return s;
}
