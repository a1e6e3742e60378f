/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* svg.c - the report's charts as inline SVG (no script, no external
 * resource), and the growable buffer they are written into. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                       "#9467bd", "#8c564b", "#e377c2", "#17becf" };
#define NPALETTE (sizeof palette / sizeof palette[0])

void bench_bprintf(struct bench_buf *b, const char *fmt, ...)
{
  if (b->oom)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || b->len + (size_t)n + 1 < b->len) {
    b->oom = true;
    return;
  }
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void bench_bescape(struct bench_buf *b, const char *s)
{
  for (; s && *s; s++) {
    switch (*s) {
    case '&': bench_bprintf(b, "&amp;"); break;
    case '<': bench_bprintf(b, "&lt;"); break;
    case '>': bench_bprintf(b, "&gt;"); break;
    case '"': bench_bprintf(b, "&quot;"); break;
    case '\'': bench_bprintf(b, "&#39;"); break;
    default: bench_bprintf(b, "%c", *s);
    }
  }
}

/* A round axis maximum at or above v (1, 2, 5 x 10^k). */
double bench_nice_max(double v)
{
  if (!(v > 0))
    return 1;
  double e = pow(10, floor(log10(v)));
  for (double m = 1; m <= 10; m = m == 1 ? 2 : m == 2 ? 5 : 10)
    if (m * e >= v)
      return m * e;
  return 10 * e;
}

/* Axis ticks from 0 to max along [x0, x1] (horizontal) or [y0, y1]. */
void bench_svg_ticks(struct bench_buf *o, double max, bool horizontal, double a0, double a1,
                     double other0, double other1)
{
  for (int i = 0; i <= 5; i++) {
    double v = max * i / 5, p = a0 + (a1 - a0) * i / 5;
    if (horizontal)
      bench_bprintf(o,
                    "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                    "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%g</text>\n",
                    p, other0, p, other1, p, other1 + 14, v);
    else
      bench_bprintf(o,
                    "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                    "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                    other0, p, other1, p, other0 - 4, p + 4, v);
  }
}

void bench_svg_box(struct bench_buf *o, const struct qmig_bench *b, size_t fig)
{
  const double left = 190, right = 700, top = 20, row = 34;
  double **vals = calloc(b->nsc ? b->nsc : 1, sizeof *vals);
  size_t *ns = calloc(b->nsc ? b->nsc : 1, sizeof *ns);
  double max = 0;
  for (size_t i = 0; vals && ns && i < b->nsc; i++) {
    if (bench_collect(b->records, b->sc[i].name, fig, &vals[i], &ns[i]) < 0)
      ns[i] = 0;
    for (size_t k = 0; k < ns[i]; k++)
      max = fmax(max, vals[i][k]);
  }
  if (!vals || !ns) {
    o->oom = true;
    free(vals);
    free(ns);
    return;
  }
  max = bench_nice_max(max);
  double h = top + row * (double)b->nsc + 30;
  bench_bprintf(o,
                "<svg class='chart box-chart' xmlns='http://www.w3.org/2000/svg' "
                "width='720' height='%.0f' role='img'><title>",
                h);
  bench_bescape(o, bench_figures[fig].label);
  bench_bprintf(o, " per scenario (%s)</title>\n", bench_figures[fig].unit);
  bench_svg_ticks(o, max, true, left, right, top, top + row * (double)b->nsc);
#define X(v) (left + (right - left) * (v) / max)
  for (size_t i = 0; i < b->nsc; i++) {
    double y = top + row * (double)i + row / 2;
    bench_bprintf(o, "<text x='%.0f' y='%.1f' font-size='12' text-anchor='end'>", left - 8, y + 4);
    bench_bescape(o, b->sc[i].name);
    bench_bprintf(o, "</text>\n");
    if (ns[i] == 0) {
      bench_bprintf(o,
                    "<text x='%.0f' y='%.1f' font-size='11' fill='#888'>no successful "
                    "runs</text>\n",
                    left + 4, y + 4);
      continue;
    }
    bench_sort(vals[i], ns[i]);
    double q1 = bench_quantile(vals[i], ns[i], 0.25), q3 = bench_quantile(vals[i], ns[i], 0.75);
    double med = bench_quantile(vals[i], ns[i], 0.5);
    const char *c = palette[i % NPALETTE];
    bench_bprintf(o, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s'/>\n", X(vals[i][0]),
                  y, X(vals[i][ns[i] - 1]), y, c);
    bench_bprintf(o,
                  "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s' "
                  "fill-opacity='0.25' stroke='%s'/>\n",
                  X(q1), y - 10, fmax(X(q3) - X(q1), 1), 20.0, c, c);
    bench_bprintf(o,
                  "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
                  "stroke-width='3'><title>median %.2f</title></line>\n",
                  X(med), y - 12, X(med), y + 12, c, med);
    for (size_t k = 0; k < ns[i]; k++) /* strip: every run, jittered by its rank */
      bench_bprintf(o,
                    "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'><title>%.2f</title>"
                    "</circle>\n",
                    X(vals[i][k]), y - 6 + (double)(k % 5) * 3, c, vals[i][k]);
  }
#undef X
  bench_bprintf(o, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='middle'>",
                (left + right) / 2, h - 2);
  bench_bescape(o, bench_figures[fig].label);
  bench_bprintf(o, " (%s)</text></svg>\n", bench_figures[fig].unit);
  for (size_t i = 0; i < b->nsc; i++)
    free(vals[i]);
  free(vals);
  free(ns);
}

/* Whether every scenario sets the swept knob to a plain number; its range. */
static bool swept_numeric(const struct qmig_bench *b, double *lo, double *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; b->swept && i < b->nsc; i++) {
    const char *v = bench_knob(&b->sc[i], b->swept);
    char *end;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !isfinite(x))
      return false;
    *lo = fmin(*lo, x);
    *hi = fmax(*hi, x);
  }
  return b->swept && b->nsc > 1;
}

void bench_svg_sweep(struct bench_buf *o, const struct qmig_bench *b, const struct bench_cell *t,
                     size_t fig)
{
  const double left = 70, right = 700, top = 20, bottom = 250;
  double max = 0;
  for (size_t i = 0; i < b->nsc; i++) {
    const struct bench_cell *c = &t[i * BENCH_NFIGURES + fig];
    if (c->ok)
      max = fmax(max, c->s.p95);
  }
  max = bench_nice_max(max);
  bench_bprintf(o, "<svg class='chart sweep-chart' xmlns='http://www.w3.org/2000/svg' "
                   "width='720' height='300' role='img'><title>");
  bench_bescape(o, bench_figures[fig].label);
  bench_bprintf(o, " vs ");
  bench_bescape(o, b->swept ? b->swept : "scenario");
  bench_bprintf(o, "</title>\n");
  bench_svg_ticks(o, max, false, bottom, top, left, right);
  double lo, hi;
  bool numeric = swept_numeric(b, &lo, &hi);
  double step = (right - left) / (double)(b->nsc ? b->nsc : 1);
  struct bench_buf line = { 0 };
  for (size_t i = 0; i < b->nsc; i++) {
    const struct bench_cell *c = &t[i * BENCH_NFIGURES + fig];
    const char *lab = b->swept ? bench_knob(&b->sc[i], b->swept) : NULL;
    /* A numeric knob on a linear axis (the scenarios' order otherwise). */
    double x = numeric
                   ? left + step / 2 +
                         (right - left - step) * (strtod(lab, NULL) - lo) / (hi > lo ? hi - lo : 1)
                   : left + step * ((double)i + 0.5);
    bench_bprintf(o, "<text x='%.1f' y='%.0f' font-size='11' text-anchor='middle'>", x,
                  bottom + 16);
    bench_bescape(o, lab ? lab : b->sc[i].name);
    bench_bprintf(o, "</text>\n");
    if (!c->ok)
      continue;
#define Y(v) (bottom - (bottom - top) * (v) / max)
    bench_bprintf(o,
                  "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#888'/>"
                  "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#1f77b4' "
                  "stroke-width='4' stroke-opacity='0.5'/>"
                  "<circle cx='%.1f' cy='%.1f' r='4' fill='#1f77b4'><title>median %.2f "
                  "[%.2f, %.2f], p5 %.2f, p95 %.2f</title></circle>\n",
                  x, Y(c->s.p5), x, Y(c->s.p95), x, Y(c->s.ci_lo), x, Y(c->s.ci_hi), x,
                  Y(c->s.median), c->s.median, c->s.ci_lo, c->s.ci_hi, c->s.p5, c->s.p95);
    bench_bprintf(&line, "%.1f,%.1f ", x, Y(c->s.median));
#undef Y
  }
  if (line.p)
    bench_bprintf(o, "<polyline points='%s' fill='none' stroke='#1f77b4'/>\n", line.p);
  free(line.p);
  bench_bprintf(o, "<text x='%.0f' y='295' font-size='11' text-anchor='middle'>",
                (left + right) / 2);
  bench_bescape(o, b->swept ? b->swept : "scenario");
  bench_bprintf(o,
                "</text><text x='12' y='%.0f' font-size='11' transform='rotate(-90 12 %.0f)' "
                "text-anchor='middle'>",
                (top + bottom) / 2, (top + bottom) / 2);
  bench_bescape(o, bench_figures[fig].label);
  bench_bprintf(o, " (%s)</text></svg>\n", bench_figures[fig].unit);
}

json_t *bench_median_run(const json_t *records, const char *name)
{
  double *v = NULL;
  size_t n = 0;
  if (bench_collect(records, name, 0, &v, &n) < 0 || n == 0) {
    free(v);
    return NULL;
  }
  bench_sort(v, n);
  double want = v[(n - 1) / 2];
  free(v);
  size_t i;
  json_t *rec;
  json_array_foreach(records, i, rec)
  {
    json_t *bo = json_object_get(rec, "bench");
    if (!json_is_true(json_object_get(bo, "warmup")) && json_is_true(json_object_get(bo, "ok")) &&
        !strcmp(json_string_value(json_object_get(bo, "scenario")) ?: "", name) &&
        bench_figure_value(rec, 0) == want)
      return rec;
  }
  return NULL;
}

void bench_svg_throughput(struct bench_buf *o, const struct qmig_bench *b)
{
  const double left = 70, right = 560, top = 20, bottom = 250;
  double tmax = 0, rmax = 0;
  for (size_t i = 0; i < b->nsc; i++) {
    json_t *s = json_object_get(bench_median_run(b->records, b->sc[i].name), "samples"), *p;
    size_t k;
    json_array_foreach(s, k, p)
    {
      tmax = fmax(tmax, json_number_value(json_array_get(p, 0)));
      rmax = fmax(rmax, json_number_value(json_array_get(p, 2)) / 1048576);
    }
  }
  tmax = bench_nice_max(tmax);
  rmax = bench_nice_max(rmax);
  bench_bprintf(o, "<svg class='chart throughput-chart' xmlns='http://www.w3.org/2000/svg' "
                   "width='720' height='300' role='img'><title>throughput over time, the "
                   "median run of each scenario</title>\n");
  bench_svg_ticks(o, tmax, true, left, right, top, bottom);
  bench_svg_ticks(o, rmax, false, bottom, top, left, right);
  for (size_t i = 0; i < b->nsc; i++) {
    json_t *run = bench_median_run(b->records, b->sc[i].name);
    json_t *s = json_object_get(run, "samples"), *p;
    const char *c = palette[i % NPALETTE];
    double ly = top + 14 * (double)i + 8;
    bench_bprintf(o,
                  "<rect x='575' y='%.0f' width='10' height='10' fill='%s'/>"
                  "<text x='590' y='%.0f' font-size='11'>",
                  ly - 8, c, ly + 1);
    bench_bescape(o, b->sc[i].name);
    bench_bprintf(o, "%s</text>\n", json_array_size(s) ? "" : " (no samples)");
    if (json_array_size(s) == 0)
      continue;
    bench_bprintf(o, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", c);
    size_t k;
    json_array_foreach(s, k, p)
    {
      double x = left + (right - left) * json_number_value(json_array_get(p, 0)) / tmax;
      double y = bottom - (bottom - top) * json_number_value(json_array_get(p, 2)) / 1048576 / rmax;
      bench_bprintf(o, "%.1f,%.1f ", x, y);
    }
    bench_bprintf(
        o, "'><title>run %lld</title></polyline>\n",
        (long long)json_integer_value(json_object_get(json_object_get(run, "bench"), "run")));
    json_array_foreach(s, k, p) /* each sample too: short runs have few */
        bench_bprintf(o, "<circle r='2' fill='%s' cx='%.1f' cy='%.1f'/>", c,
                      left + (right - left) * json_number_value(json_array_get(p, 0)) / tmax,
                      bottom - (bottom - top) * json_number_value(json_array_get(p, 2)) / 1048576 /
                                   rmax);
    bench_bprintf(o, "\n");
  }
  bench_bprintf(o,
                "<text x='%.0f' y='290' font-size='11' text-anchor='middle'>seconds since "
                "migrate</text><text x='12' y='%.0f' font-size='11' "
                "transform='rotate(-90 12 %.0f)' text-anchor='middle'>rate (MiB/s, QEMU's "
                "ram.mbps)</text></svg>\n",
                (left + right) / 2, (top + bottom) / 2, (top + bottom) / 2);
}
