/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* html.c - the self-contained HTML report: summary and ratio tables, the
 * charts (svg.c), the configuration of every scenario and every run with
 * its result.  Everything that comes from outside is HTML-escaped. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static void td_num(struct bench_buf *o, double v)
{
  if (isnan(v))
    bench_bprintf(o, "<td>-</td>");
  else
    bench_bprintf(o, "<td>%.2f</td>", v);
}

static void summary_table(struct bench_buf *o, const struct qmig_bench *b,
                          const struct bench_cell *t)
{
  bench_bprintf(o,
                "<h2>Summary</h2><p>Per scenario and figure over the measured runs that "
                "migrated with their memory verified (warm-up left out): median with the "
                "95%% percentile-bootstrap interval of the median (%u resamples, seed "
                "%llu), p5 and p95 (linear interpolation between closest ranks, type 7), "
                "min and max; ratio = median / the baseline's median (",
                b->resamples, (unsigned long long)b->seed);
  bench_bescape(o, b->baseline);
  bench_bprintf(o, ") with its bootstrap interval.</p>\n<table class='summary'><tr><th>"
                   "scenario</th><th>figure</th><th>n</th><th>median</th><th>95%% CI</th>"
                   "<th>p5</th><th>p95</th><th>min</th><th>max</th><th>ratio</th>"
                   "<th>ratio 95%% CI</th></tr>\n");
  for (size_t i = 0; i < b->nsc; i++)
    for (size_t f = 0; f < BENCH_NFIGURES; f++) {
      const struct bench_cell *c = &t[i * BENCH_NFIGURES + f];
      bench_bprintf(o, "<tr><td>");
      bench_bescape(o, b->sc[i].name);
      bench_bprintf(o, "</td><td>%s (%s)</td><td>%zu</td>", bench_figures[f].label,
                    bench_figures[f].unit, c->ok ? c->s.n : 0);
      td_num(o, c->ok ? c->s.median : NAN);
      if (c->ok)
        bench_bprintf(o, "<td>%.2f - %.2f</td>", c->s.ci_lo, c->s.ci_hi);
      else
        bench_bprintf(o, "<td>-</td>");
      td_num(o, c->ok ? c->s.p5 : NAN);
      td_num(o, c->ok ? c->s.p95 : NAN);
      td_num(o, c->ok ? c->s.min : NAN);
      td_num(o, c->ok ? c->s.max : NAN);
      bench_bprintf(o,
                    isnan(c->ratio) ? "<td>-</td><td>-</td>"
                                    : "<td>%.3f</td>"
                                      "<td>%.3f - %.3f</td>",
                    c->ratio, c->lo, c->hi);
      bench_bprintf(o, "</tr>\n");
    }
  bench_bprintf(o, "</table>\n");
}

static void config_table(struct bench_buf *o, const struct qmig_bench *b)
{
  json_t *keys = json_object();
  for (size_t i = 0; keys && i < b->nsc; i++) {
    const char *k;
    json_t *v;
    json_object_foreach(b->sc[i].knobs, k, v) json_object_set_new(keys, k, json_true());
  }
  bench_bprintf(o, "<h2>Configuration</h2><p>Every knob of every scenario (empty: the lab's "
                   "or qmig's default, docs/BENCHMARKING.md). Lab accelerator: ");
  bench_bescape(o, b->accel);
  bench_bprintf(o, ".</p>\n<table class='config'><tr><th>scenario</th>");
  const char *k;
  json_t *v;
  json_object_foreach(keys, k, v)
  {
    bench_bprintf(o, "<th>");
    bench_bescape(o, k);
    bench_bprintf(o, "</th>");
  }
  bench_bprintf(o, "</tr>\n");
  for (size_t i = 0; i < b->nsc; i++) {
    bench_bprintf(o, "<tr><td>");
    bench_bescape(o, b->sc[i].name);
    bench_bprintf(o, "</td>");
    json_object_foreach(keys, k, v)
    {
      bench_bprintf(o, "<td>");
      bench_bescape(o, bench_knob(&b->sc[i], k));
      bench_bprintf(o, "</td>");
    }
    bench_bprintf(o, "</tr>\n");
  }
  bench_bprintf(o, "</table>\n");
  json_decref(keys);
}

static void runs_table(struct bench_buf *o, const struct qmig_bench *b)
{
  bench_bprintf(o, "<h2>Runs</h2><p>In the order they ran (interleaved). Failed runs are "
                   "kept with their error; their figures are left out of the statistics. "
                   "Raw records: runs.jsonl.</p>\n<table class='runs'><tr><th>#</th>"
                   "<th>scenario</th><th>run</th><th>date (UTC)</th><th>load1</th>"
                   "<th>result</th>");
  for (size_t f = 0; f < BENCH_NFIGURES; f++)
    bench_bprintf(o, "<th>%s (%s)</th>", bench_figures[f].label, bench_figures[f].unit);
  bench_bprintf(o, "</tr>\n");
  size_t i;
  json_t *rec;
  json_array_foreach(b->records, i, rec)
  {
    json_t *bo = json_object_get(rec, "bench");
    bool ok = json_is_true(json_object_get(bo, "ok"));
    bench_bprintf(o, "<tr class='%s'><td>%zu</td><td>", ok ? "ok" : "failed", i + 1);
    bench_bescape(o, json_string_value(json_object_get(bo, "scenario")));
    if (json_is_true(json_object_get(bo, "warmup")))
      bench_bprintf(o, "</td><td>warm-up</td><td>");
    else
      bench_bprintf(o, "</td><td>%lld</td><td>",
                    (long long)json_integer_value(json_object_get(bo, "run")));
    bench_bescape(o, json_string_value(json_object_get(bo, "date")));
    bench_bprintf(o, "</td><td>%.2f</td><td>", json_number_value(json_object_get(bo, "load1")));
    if (ok) {
      bench_bprintf(o, "ok");
    } else {
      bench_bprintf(o, "FAILED (");
      bench_bescape(o, json_string_value(json_object_get(bo, "stage")));
      bench_bprintf(o, "): ");
      bench_bescape(o, json_string_value(json_object_get(bo, "error")));
    }
    bench_bprintf(o, "</td>");
    for (size_t f = 0; f < BENCH_NFIGURES; f++)
      td_num(o, bench_figure_value(rec, f));
    bench_bprintf(o, "</tr>\n");
  }
  bench_bprintf(o, "</table>\n");
}

/* At most this many runs get a timeline (each a few tens of KB). */
#define MAX_TIMELINES 200

static void timeline_of(struct bench_buf *o, const json_t *rec, bool open, const char *why)
{
  json_t *bo = json_object_get(rec, "bench");
  bench_bprintf(o, "<details%s><summary>", open ? " open" : "");
  bench_bescape(o, json_string_value(json_object_get(bo, "scenario")));
  if (json_is_true(json_object_get(bo, "warmup")))
    bench_bprintf(o, ", warm-up");
  else
    bench_bprintf(o, ", run %lld", (long long)json_integer_value(json_object_get(bo, "run")));
  bench_bprintf(o, "%s%s</summary>\n", why,
                json_is_true(json_object_get(bo, "ok")) ? "" : " (FAILED)");
  bench_svg_timeline(o, rec);
  bench_bprintf(o, "</details>\n");
}

/* Whether any run carries the network probe's section. */
static bool any_probed(const json_t *records)
{
  size_t i;
  json_t *rec;
  json_array_foreach(records, i, rec)
  {
    if (json_is_object(json_object_get(json_object_get(rec, "report"), "network")))
      return true;
  }
  return false;
}

static void timelines(struct bench_buf *o, const struct qmig_bench *b)
{
  bench_bprintf(o, "<h2>Run timelines</h2><p>Per run, over the seconds since <code>migrate</code>: "
                   "QEMU's transfer rate and the guest's dirty rate (left axis), the bytes "
                   "remaining (right axis) at each progress sample, where each pass began "
                   "(dashed, QEMU's dirty-sync count), the switchover (STOP to RESUME) and every "
                   "stall of the guest's heartbeat over the report's threshold and, for a run "
                   "with the network probe, every gap between its replies (a bar along the foot), "
                   "where it happened (hover for its phase and length; docs/REPORT.md). Open: "
                   "the run "
                   "with the median total time of each scenario.</p>\n");
  json_t *shown = json_array();
  for (size_t i = 0; i < b->nsc; i++) {
    json_t *rec = bench_median_run(b->records, b->sc[i].name);
    if (rec) {
      timeline_of(o, rec, true, " (median total time)");
      json_array_append(shown, rec);
    }
  }
  size_t i, n = json_array_size(shown);
  json_t *rec;
  json_array_foreach(b->records, i, rec)
  {
    bool done = false;
    for (size_t k = 0; k < json_array_size(shown); k++)
      done |= json_array_get(shown, k) == rec;
    if (!done && json_is_object(json_object_get(rec, "report")) && n++ < MAX_TIMELINES)
      timeline_of(o, rec, false, "");
  }
  json_decref(shown);
}

int bench_write_html(struct qmig_bench *b, const struct bench_cell *t, const char *path)
{
  struct bench_buf o = { 0 };
  bench_bprintf(&o, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                    "<title>qmig bench</title><style>"
                    "body{font-family:sans-serif;margin:1.5em;max-width:1100px}"
                    "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
                    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
                    "td:first-child,th:first-child{text-align:left}"
                    "tr.failed{background:#fdd}svg{display:block;margin:0.5em 0 1.5em}"
                    "</style></head><body>\n<h1>qmig bench</h1>\n");
  size_t nruns = json_array_size(b->records);
  bench_bprintf(&o,
                "<p>%zu scenarios, %zu runs recorded (warm-up included), qmig %s. "
                "Baseline: ",
                b->nsc, nruns, QMIG_VERSION);
  bench_bescape(&o, b->baseline);
  bench_bprintf(&o, ". Swept knob: ");
  bench_bescape(&o, b->swept ? b->swept : "(none)");
  bench_bprintf(&o, ". How each figure is measured: docs/BENCHMARKING.md.</p>\n");
  json_t *first = json_array_get(b->records, 0);
  json_t *mach = json_object_get(json_object_get(first, "bench"), "machine");
  if (json_is_object(mach)) {
    bench_bprintf(&o, "<p>Machine: ");
    bench_bescape(&o, json_string_value(json_object_get(mach, "host")));
    bench_bprintf(&o, ", %lld cores, Linux ",
                  (long long)json_integer_value(json_object_get(mach, "cores")));
    bench_bescape(&o, json_string_value(json_object_get(mach, "kernel")));
    bench_bprintf(&o, "; QEMU ");
    bench_bescape(&o,
                  json_string_value(json_object_get(
                      json_object_get(json_object_get(first, "report"), "src"), "qemu_version")));
    bench_bprintf(&o, "; first run ");
    bench_bescape(&o, json_string_value(json_object_get(json_object_get(first, "bench"), "date")));
    bench_bprintf(&o, ". Load average (1 min) per run: see the runs table.</p>\n");
  }
  summary_table(&o, b, t);
  bench_bprintf(&o, "<h2>Downtime distributions</h2><p>Box: quartiles; thick line: median; "
                    "whiskers: min to max; dots: every measured run.</p>\n");
  for (size_t f = 2; f <= 4; f++)
    bench_svg_box(&o, b, f);
  bench_svg_box(&o, b, 7); /* the largest stall of the whole run */
  if (any_probed(b->records)) {
    bench_svg_box(&o, b, 8); /* the largest gap of the network probe */
    bench_svg_box(&o, b, 9); /* its switchover gap against the heartbeat stall */
  }
  bench_bprintf(&o, "<h2>Total time vs ");
  bench_bescape(&o, b->swept ? b->swept : "scenario");
  bench_bprintf(&o, "</h2><p>Dot: median; thick bar: its 95%% bootstrap interval; thin "
                    "bar: p5 to p95. Total time, then the STOP-&gt;RESUME pause.</p>\n");
  bench_svg_sweep(&o, b, t, 0);
  bench_svg_sweep(&o, b, t, 3);
  bench_bprintf(&o, "<h2>Throughput over time</h2><p>QEMU's transfer rate at each "
                    "progress sample of the run with the median total time of each "
                    "scenario.</p>\n");
  bench_svg_throughput(&o, b);
  timelines(&o, b);
  config_table(&o, b);
  runs_table(&o, b);
  bench_bprintf(&o, "</body></html>\n");
  if (o.oom) {
    free(o.p);
    return bench_errorf(b, "%s: out of memory", path);
  }
  FILE *f = fopen(path, "we");
  int rc = 0;
  if (!f || fwrite(o.p, 1, o.len, f) != o.len)
    rc = bench_errorf(b, "%s: %s", path, strerror(errno));
  if (f && fclose(f) != 0 && rc == 0)
    rc = bench_errorf(b, "%s: %s", path, strerror(errno));
  free(o.p);
  return rc;
}
