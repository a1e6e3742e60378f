/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* summary.c - figures of a run record, statistics per scenario and
 * figure, the text summary and the CSV files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

const struct bench_figure bench_figures[BENCH_NFIGURES] = {
  { "total_ms", "QEMU total time", "ms" },
  { "setup_ms", "QEMU setup time", "ms" },
  { "qemu_downtime_ms", "QEMU downtime", "ms" },
  { "stop_to_resume_pause_ms", "STOP->RESUME pause", "ms" },
  { "guest_stall_ms", "guest stall", "ms" },
  { "throughput_mib_s", "throughput", "MiB/s" },
  { "cpu_s_per_gib", "CPU per GiB moved", "s/GiB" },
  { "max_stall_ms", "largest stall", "ms" },
  { "net_max_gap_ms", "largest network gap", "ms" },
  { "net_gap_minus_stall_ms", "net gap minus stall", "ms" },
};

/* The probe's gap that holds the switchover (the longest, should there be
 * several), or NAN: a run without probe, or replies on both sides of it. */
static double switchover_gap_ms(const json_t *net)
{
  double g = NAN;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(net, "gaps"), i, p)
  {
    json_t *d = json_object_get(p, "duration_ms");
    if (!strcmp(json_string_value(json_object_get(p, "phase")) ?: "", "switchover") &&
        json_is_number(d) && !(json_number_value(d) <= g))
      g = json_number_value(d);
  }
  return g;
}

double bench_figure_value(const json_t *rec, size_t f)
{
  json_t *rep = json_object_get(rec, "report"), *v = NULL;
  double scale = 1;
  if (f == 5) {
    v = json_object_get(rep, "throughput_bytes_per_s");
    scale = 1.0 / 1048576;
  } else if (f == 6) {
    v = json_object_get(json_object_get(rec, "bench"), "cpu_s_per_gib");
  } else if (f < 5) {
    v = json_object_get(rep, bench_figures[f].key);
  } else if (f == 7) {
    /* A run with a stall timeline and no gap over its threshold: 0. */
    v = json_object_get(rep, "max_stall_ms");
    if (json_is_null(v) && json_is_array(json_object_get(rep, "stalls")))
      return 0;
  } else if (f == 8) {
    /* A probed run with no gap over the probe's threshold: 0. */
    json_t *net = json_object_get(rep, "network");
    v = json_object_get(net, "max_gap_ms");
    if (json_is_object(net) && json_is_null(v))
      return 0;
  } else if (f == 9) {
    /* How far the network's view of the switchover is from the guest's own
     * (the heartbeat stall across it, guest_stall_ms): positive when the
     * network came back after the guest ran again. */
    json_t *st = json_object_get(rep, "guest_stall_ms");
    double g = switchover_gap_ms(json_object_get(rep, "network"));
    return json_is_number(st) ? g - json_number_value(st) : NAN;
  }
  return json_is_number(v) ? json_number_value(v) * scale : NAN;
}

static bool measured_ok(const json_t *rec, const char *name)
{
  json_t *bo = json_object_get(rec, "bench");
  return !json_is_true(json_object_get(bo, "warmup")) && json_is_true(json_object_get(bo, "ok")) &&
         !strcmp(json_string_value(json_object_get(bo, "scenario")) ?: "", name);
}

int bench_collect(const json_t *records, const char *name, size_t f, double **out, size_t *n)
{
  size_t cap = json_array_size(records);
  *n = 0;
  *out = malloc((cap ? cap : 1) * sizeof **out);
  if (!*out)
    return -1;
  size_t i;
  json_t *rec;
  json_array_foreach(records, i, rec)
  {
    double v = measured_ok(rec, name) ? bench_figure_value(rec, f) : NAN;
    if (!isnan(v))
      (*out)[(*n)++] = v;
  }
  return 0;
}

struct bench_cell *bench_table(const struct qmig_bench *b)
{
  if (b->nsc == 0)
    return calloc(1, sizeof(struct bench_cell));
  struct bench_cell *t = calloc(b->nsc * BENCH_NFIGURES, sizeof *t);
  if (!t)
    return NULL;
  size_t base = 0;
  for (size_t i = 0; i < b->nsc; i++)
    if (b->baseline && !strcmp(b->sc[i].name, b->baseline))
      base = i;
  for (size_t f = 0; f < BENCH_NFIGURES; f++) {
    double *bv = NULL;
    size_t bn = 0;
    if (bench_collect(b->records, b->sc[base].name, f, &bv, &bn) < 0) {
      free(t);
      return NULL;
    }
    for (size_t i = 0; i < b->nsc; i++) {
      struct bench_cell *c = &t[i * BENCH_NFIGURES + f];
      double *v = NULL;
      size_t n = 0;
      c->ratio = c->lo = c->hi = NAN;
      if (bench_collect(b->records, b->sc[i].name, f, &v, &n) == 0 && n > 0) {
        /* Seeds differ per cell so no two intervals share resamples. */
        uint64_t seed = b->seed * 1000003 + i * 131 + f;
        c->ok = bench_summarize(v, n, b->resamples, seed, &c->s) == 0;
        /* A difference (net gap minus stall) around 0 has no meaningful ratio. */
        if (bn > 0 && f != 9 &&
            bench_ratio(v, n, bv, bn, b->resamples, seed ^ 0x5bd1e995, &c->ratio, &c->lo, &c->hi) <
                0)
          c->ratio = c->lo = c->hi = NAN;
      }
      free(v);
    }
    free(bv);
  }
  return t;
}

/* Runs of a scenario: measured, failed (measured), warm-up. */
static void counts(const struct qmig_bench *b, const char *name, unsigned *meas, unsigned *failed,
                   unsigned *warm)
{
  size_t i;
  json_t *rec;
  *meas = *failed = *warm = 0;
  json_array_foreach(b->records, i, rec)
  {
    json_t *bo = json_object_get(rec, "bench");
    if (strcmp(json_string_value(json_object_get(bo, "scenario")) ?: "", name))
      continue;
    if (json_is_true(json_object_get(bo, "warmup")))
      (*warm)++;
    else {
      (*meas)++;
      if (!json_is_true(json_object_get(bo, "ok")))
        (*failed)++;
    }
  }
}

char *bench_summary_text(const struct qmig_bench *b, const struct bench_cell *t)
{
  struct bench_buf o = { 0 };
  bench_bprintf(&o,
                "qmig bench: %zu scenarios, baseline %s; median [95%% bootstrap CI of "
                "the median, %u resamples, seed %llu], p5/p95 (linear interpolation, "
                "type 7), min-max; ratio = median / baseline's median [95%% CI]\n",
                b->nsc, b->baseline ? b->baseline : "-", b->resamples, (unsigned long long)b->seed);
  /* At a glance: the medians that matter most, and their ratios. */
  static const size_t glance[] = { 0, 2, 3, 4, 7, 5 };
  bench_bprintf(&o, "\n%-28s %7s", "scenario", "ok/runs");
  for (size_t g = 0; g < sizeof glance / sizeof glance[0]; g++)
    bench_bprintf(&o, " %18s (%s)", bench_figures[glance[g]].label, bench_figures[glance[g]].unit);
  bench_bprintf(&o, "\n");
  for (size_t i = 0; i < b->nsc; i++) {
    unsigned meas, failed, warm;
    counts(b, b->sc[i].name, &meas, &failed, &warm);
    char okruns[32];
    snprintf(okruns, sizeof okruns, "%u/%u", meas - failed, meas);
    bench_bprintf(&o, "%-28.28s %7s", b->sc[i].name, okruns);
    for (size_t g = 0; g < sizeof glance / sizeof glance[0]; g++) {
      const struct bench_cell *c = &t[i * BENCH_NFIGURES + glance[g]];
      char cell[48] = "-";
      if (c->ok && !isnan(c->ratio))
        snprintf(cell, sizeof cell, "%.1f (x%.2f)", c->s.median, c->ratio);
      else if (c->ok)
        snprintf(cell, sizeof cell, "%.1f", c->s.median);
      bench_bprintf(&o, " %*s", glance[g] == 5 ? 26 : 23, cell);
    }
    bench_bprintf(&o, "\n");
  }
  bench_bprintf(&o, "(medians; x = ratio to %s)\n", b->baseline ? b->baseline : "-");
  for (size_t i = 0; i < b->nsc; i++) {
    unsigned meas, failed, warm;
    counts(b, b->sc[i].name, &meas, &failed, &warm);
    bench_bprintf(&o, "\n%s: %u runs, %u failed%s\n", b->sc[i].name, meas, failed,
                  warm ? " (+ warm-up)" : "");
    for (size_t f = 0; f < BENCH_NFIGURES; f++) {
      const struct bench_cell *c = &t[i * BENCH_NFIGURES + f];
      if (!c->ok) {
        bench_bprintf(&o, "  %-24s n=0\n", bench_figures[f].label);
        continue;
      }
      bench_bprintf(&o,
                    "  %-24s n=%-3zu %10.2f [%.2f, %.2f] %-6s p5/p95 %.2f/%.2f  "
                    "min-max %.2f-%.2f",
                    bench_figures[f].label, c->s.n, c->s.median, c->s.ci_lo, c->s.ci_hi,
                    bench_figures[f].unit, c->s.p5, c->s.p95, c->s.min, c->s.max);
      if (!isnan(c->ratio))
        bench_bprintf(&o, "  ratio %.3f [%.3f, %.3f]", c->ratio, c->lo, c->hi);
      bench_bprintf(&o, "\n");
    }
  }
  if (o.oom) {
    free(o.p);
    return NULL;
  }
  return o.p ? o.p : strdup("");
}

/* A CSV field: quoted, quotes doubled. */
static void csv_field(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
  if (isnan(v))
    fputs(",", f);
  else
    fprintf(f, ",%.6g", v);
}

int bench_write_csv(struct qmig_bench *b, const struct bench_cell *t, const char *dir)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  FILE *f = fopen(path, "we");
  if (!f)
    return bench_errorf(b, "%s: %s", path, strerror(errno));
  fputs("scenario,figure,unit,n,median,ci_lo,ci_hi,p5,p95,min,max,ratio,ratio_lo,ratio_hi\n", f);
  for (size_t i = 0; i < b->nsc; i++)
    for (size_t fi = 0; fi < BENCH_NFIGURES; fi++) {
      const struct bench_cell *c = &t[i * BENCH_NFIGURES + fi];
      csv_field(f, b->sc[i].name);
      fprintf(f, ",%s,%s,%zu", bench_figures[fi].key, bench_figures[fi].unit, c->ok ? c->s.n : 0);
      double v[] = { c->s.median, c->s.ci_lo, c->s.ci_hi, c->s.p5, c->s.p95, c->s.min, c->s.max };
      for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        csv_num(f, c->ok ? v[k] : NAN);
      csv_num(f, c->ratio);
      csv_num(f, c->lo);
      csv_num(f, c->hi);
      fputc('\n', f);
    }
  int rc = fclose(f);
  snprintf(path, sizeof path, "%s/runs.csv", dir);
  f = rc == 0 ? fopen(path, "we") : NULL;
  if (!f)
    return bench_errorf(b, "%s: %s", path, strerror(errno));
  fputs("index,scenario,run,warmup,ok,stage,error", f);
  for (size_t fi = 0; fi < BENCH_NFIGURES; fi++)
    fprintf(f, ",%s", bench_figures[fi].key);
  fputc('\n', f);
  size_t i;
  json_t *rec;
  json_array_foreach(b->records, i, rec)
  {
    json_t *bo = json_object_get(rec, "bench");
    fprintf(f, "%lld,", (long long)json_integer_value(json_object_get(bo, "index")));
    csv_field(f, json_string_value(json_object_get(bo, "scenario")) ?: "");
    fprintf(f, ",%lld,%d,%d,", (long long)json_integer_value(json_object_get(bo, "run")),
            json_is_true(json_object_get(bo, "warmup")), json_is_true(json_object_get(bo, "ok")));
    csv_field(f, json_string_value(json_object_get(bo, "stage")) ?: "");
    fputc(',', f);
    csv_field(f, json_string_value(json_object_get(bo, "error")) ?: "");
    for (size_t fi = 0; fi < BENCH_NFIGURES; fi++)
      csv_num(f, bench_figure_value(rec, fi));
    fputc('\n', f);
  }
  if (fclose(f) != 0)
    return bench_errorf(b, "%s: %s", path, strerror(errno));
  return 0;
}
