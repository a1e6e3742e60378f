/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* timeline.c - one run as a picture, like QEMU's guestperf plots: over
 * the seconds since `migrate`, QEMU's transfer rate, the guest's dirty
 * rate and the bytes remaining at each progress sample, where each pass
 * began, the switchover (STOP to RESUME), every stall of the guest's
 * heartbeat (the report's stall timeline) and, for a probed run, every gap
 * between the network probe's replies (the report's network section) where
 * it happened. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

#define MIB 1048576.0

static double at(const json_t *sample, size_t i)
{
  return json_number_value(json_array_get(sample, i));
}

/* A figure of the report in ms as seconds, or NAN when null. */
static double secs(const json_t *rep, const char *key)
{
  json_t *v = json_object_get(rep, key);
  return json_is_number(v) ? json_number_value(v) / 1000 : NAN;
}

static void polyline(struct bench_buf *o, const json_t *samples, size_t field, double scale,
                     const char *cls, const char *colour, double x0, double x1, double tmax,
                     double y0, double y1, double vmax)
{
  bench_bprintf(o, "<polyline class='%s' fill='none' stroke='%s' stroke-width='1.5' points='", cls,
                colour);
  size_t k;
  json_t *p;
  json_array_foreach(samples, k, p)
  {
    if (json_array_size(p) <= field)
      continue; /* a record from before the field existed */
    bench_bprintf(o, "%.1f,%.1f ", x0 + (x1 - x0) * at(p, 0) / tmax,
                  y0 - (y0 - y1) * fmin(at(p, field) / scale / vmax, 1));
  }
  bench_bprintf(o, "'/>\n");
}

void bench_svg_timeline(struct bench_buf *o, const json_t *rec)
{
  const double left = 70, right = 600, top = 30, bottom = 260;
  json_t *rep = json_object_get(rec, "report"), *samples = json_object_get(rec, "samples");
  json_t *stalls = json_object_get(rep, "stalls"), *p;
  json_t *net = json_object_get(rep, "network"), *gaps = json_object_get(net, "gaps");
  double tmax = 0, rmax = 0, remmax = 0;
  size_t k;
  json_array_foreach(samples, k, p)
  {
    tmax = fmax(tmax, at(p, 0));
    rmax = fmax(rmax, fmax(at(p, 2), at(p, 5)) / MIB);
    remmax = fmax(remmax, at(p, 3) / MIB);
  }
  double stop = secs(rep, "stop_at_ms"), resume = secs(rep, "resume_at_ms");
  if (!isnan(resume))
    tmax = fmax(tmax, resume);
  json_array_foreach(stalls, k, p)
  {
    tmax = fmax(tmax, secs(p, "start_ms") + secs(p, "duration_ms"));
  }
  json_array_foreach(gaps, k, p)
  {
    tmax = fmax(tmax, secs(p, "start_ms") + secs(p, "duration_ms"));
  }
  tmax = bench_nice_max(tmax);
  rmax = bench_nice_max(rmax);
  remmax = bench_nice_max(remmax);
  json_t *bo = json_object_get(rec, "bench");
  bench_bprintf(o, "<svg class='chart timeline-chart' xmlns='http://www.w3.org/2000/svg' "
                   "width='720' height='310' role='img'><title>timeline of run ");
  bench_bescape(o, json_string_value(json_object_get(bo, "scenario")));
  bench_bprintf(o, " #%lld</title>\n", (long long)json_integer_value(json_object_get(bo, "run")));
  bench_svg_ticks(o, tmax, true, left, right, top, bottom);
  bench_svg_ticks(o, rmax, false, bottom, top, left, right);
  for (int i = 0; i <= 5; i++) /* the remaining bytes' axis, on the right */
    bench_bprintf(o, "<text x='%.0f' y='%.1f' font-size='11' fill='#2ca02c'>%g</text>\n", right + 4,
                  bottom - (bottom - top) * i / 5 + 4, remmax * i / 5);
  /* Stalls first, under the lines: full height, at least 2 px wide. */
  json_array_foreach(stalls, k, p)
  {
    double s = fmax(secs(p, "start_ms"), 0), d = secs(p, "duration_ms");
    double x = left + (right - left) * s / tmax, w = fmax((right - left) * d / tmax, 2);
    bench_bprintf(o,
                  "<rect class='stall' x='%.1f' y='%.0f' width='%.1f' height='%.0f' "
                  "fill='#d62728' fill-opacity='0.3'><title>stall in ",
                  x, top, w, bottom - top);
    bench_bescape(o, json_string_value(json_object_get(p, "phase")));
    bench_bprintf(o, ": %.1f ms at %.3f s</title></rect>\n", d * 1000, s);
  }
  if (!isnan(stop) && !isnan(resume)) {
    double x = left + (right - left) * stop / tmax;
    double w = fmax((right - left) * (resume - stop) / tmax, 2);
    bench_bprintf(o,
                  "<rect class='switchover' x='%.1f' y='%.0f' width='%.1f' height='%.0f' "
                  "fill='#9467bd' fill-opacity='0.5'><title>switchover: STOP to RESUME "
                  "%.1f ms</title></rect><text x='%.1f' y='%.0f' font-size='10' "
                  "fill='#9467bd' text-anchor='middle'>switchover</text>\n",
                  x, top, w, bottom - top, (resume - stop) * 1000, x, top - 4);
  }
  /* The probe's gaps in a lane of their own along the foot of the plot
   * (over the switchover, under the lines), so a gap and the stall above it
   * both show unmixed.
   * A gap that began before `migrate` is drawn from 0. */
  json_array_foreach(gaps, k, p)
  {
    double s0 = secs(p, "start_ms"), s = fmax(s0, 0), d = secs(p, "duration_ms") - (s - s0);
    double x = left + (right - left) * s / tmax, w = fmax((right - left) * d / tmax, 2);
    bench_bprintf(o,
                  "<rect class='net-gap' x='%.1f' y='%.0f' width='%.1f' height='%.0f' "
                  "fill='#17becf' fill-opacity='0.85'><title>network gap in ",
                  x, bottom - 14, w, 14.0);
    bench_bescape(o, json_string_value(json_object_get(p, "phase")));
    bench_bprintf(o, ": %.1f ms at %.3f s%s</title></rect>\n", secs(p, "duration_ms") * 1000, s0,
                  json_is_true(json_object_get(p, "open")) ? " (no reply after it)" : "");
  }
  /* A pass begins where QEMU's dirty-sync count moves on. */
  long long pass = 0;
  json_array_foreach(samples, k, p)
  {
    long long n = (long long)at(p, 4);
    if (n != pass && n > 1) {
      double x = left + (right - left) * at(p, 0) / tmax;
      bench_bprintf(o,
                    "<line class='pass' x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' stroke='#888' "
                    "stroke-dasharray='3,3'/><text x='%.1f' y='%.0f' font-size='9' "
                    "fill='#555'>%lld</text>\n",
                    x, top, x, bottom, x + 2, top + 9, n);
    }
    pass = n;
  }
  polyline(o, samples, 2, MIB, "bandwidth", "#1f77b4", left, right, tmax, bottom, top, rmax);
  polyline(o, samples, 5, MIB, "dirty-rate", "#ff7f0e", left, right, tmax, bottom, top, rmax);
  polyline(o, samples, 3, MIB, "remaining", "#2ca02c", left, right, tmax, bottom, top, remmax);
  static const struct {
    const char *label, *colour;
  } legend[] = {
    { "rate", "#1f77b4" },  { "dirty rate", "#ff7f0e" }, { "remaining", "#2ca02c" },
    { "stall", "#d62728" }, { "switchover", "#9467bd" }, { "network gap", "#17becf" }
  };
  /* The network gap's entry only for a probed run. */
  size_t nlegend = sizeof legend / sizeof legend[0] - (json_is_object(net) ? 0 : 1);
  for (size_t i = 0; i < nlegend; i++)
    bench_bprintf(o,
                  "<rect x='%.0f' y='%.0f' width='10' height='10' fill='%s'/><text x='%.0f' "
                  "y='%.0f' font-size='11'>%s</text>\n",
                  left + 92 * (double)i, 4.0, legend[i].colour, left + 92 * (double)i + 14, 13.0,
                  legend[i].label);
  bench_bprintf(o,
                "<text x='%.0f' y='300' font-size='11' text-anchor='middle'>seconds since "
                "migrate</text><text x='12' y='%.0f' font-size='11' "
                "transform='rotate(-90 12 %.0f)' text-anchor='middle'>MiB/s</text>"
                "<text x='700' y='%.0f' font-size='11' fill='#2ca02c' "
                "transform='rotate(90 700 %.0f)' text-anchor='middle'>remaining MiB</text>"
                "</svg>\n",
                (left + right) / 2, (top + bottom) / 2, (top + bottom) / 2, (top + bottom) / 2,
                (top + bottom) / 2);
}
