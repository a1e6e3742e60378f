/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/ internals: scenarios (scenario.c, presets.c), the run loop
 * (run.c), statistics (stats.c), the summary, CSV (summary.c) and the
 * HTML report (html.c, svg.c).  The public entry points are qmig_bench_*
 * in qmig.h. */
#ifndef QMIG_BENCH_H
#define QMIG_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qmig.h"

/* ---- statistics (stats.c): pure functions, no allocation but in the
 * bootstrap ---- */

/* Quantile p (0..1) of n sorted values: linear interpolation between the
 * closest ranks, h = (n - 1) p, x[floor h] + (h - floor h)(x[floor h + 1] -
 * x[floor h]) (Hyndman & Fan type 7, R's and numpy's default).  n >= 1. */
double bench_quantile(const double *sorted, size_t n, double p);
/* Sort ascending in place. */
void bench_sort(double *v, size_t n);

/* Reproducible generator for the bootstrap (splitmix64). */
struct bench_rng {
  uint64_t s;
};
void bench_rng_seed(struct bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(struct bench_rng *r);

struct bench_summary {
  size_t n;
  double median, p5, p95, min, max;
  double ci_lo, ci_hi; /* 95% percentile-bootstrap interval of the median */
};
/* Summary of n values (any order; not modified); resamples bootstrap
 * resamples seeded with seed.  0, or -1 when n is 0 or out of memory. */
int bench_summarize(const double *v, size_t n, unsigned resamples, uint64_t seed,
                    struct bench_summary *out);
/* Ratio of medians a/b with a 95% bootstrap interval (a and b resampled
 * independently, resamples times); -1 when either is empty, a median of b
 * is 0, or out of memory. */
int bench_ratio(const double *a, size_t na, const double *b, size_t nb, unsigned resamples,
                uint64_t seed, double *ratio, double *lo, double *hi);

/* ---- scenarios (scenario.c) ---- */

/* A scenario: its name and every knob, as strings (JSON numbers and
 * booleans converted: true "on", false "off"), in the order given. */
struct bench_scenario {
  char *name;
  json_t *knobs; /* object: knob -> string */
};

/* Check one scenario: every knob known, every value valid (migration keys
 * through qmig_set() on a scratch handle), features of other branches
 * refused ("transport tunnel: not available in this build").  -1 with
 * "scenario 'NAME': knob 'K' = 'V': why" in err. */
int bench_scenario_check(const struct bench_scenario *s, char *err, size_t errlen);
/* Scenarios from JSON text: an array of scenario objects, one object, or
 * {"base": {...}, "scenarios": [...]} (base knobs apply to each).  Each
 * object has "name" (optional: "s1", "s2"...) and its knobs.  Appends to
 * *v (*n entries, realloc'd); -1 with err (where and why). */
int bench_scenarios_parse(const char *text, const char *where, struct bench_scenario **v, size_t *n,
                          char *err, size_t errlen);
void bench_scenario_clear(struct bench_scenario *s);
/* Apply knob=value to s (a string value). 0, or -1 (out of memory). */
int bench_scenario_put(struct bench_scenario *s, const char *key, const char *value);
/* A copy of knobs with keys in snake_case (snake) or as option keys (new
 * reference; NULL when out of memory). */
json_t *bench_knobs_json(const json_t *knobs, bool snake);
/* The knob's value or NULL. */
const char *bench_knob(const struct bench_scenario *s, const char *key);
/* What a run's transport set up (run.c, stunnel.c). */
struct bench_transport {
  char tls_dir[4200];        /* qemu-tls: dir with keys.psk */
  char data_uri[64];         /* stunnel: where the destination QEMU listens */
  char data_connect[64];     /* stunnel: where the source QEMU sends */
  int stunnel_pid[2];        /* server, client; 0 = not running */
  char tunnel[64];           /* tunnel, tunnel-tls: the agent's HOST:PORT */
  char psk_file[4300];       /* tunnel-tls, stunnel: tls_dir/keys.psk */
  struct bench_agent *agent; /* tunnel.c; NULL = none */
};
/* Migration options of s onto m (every knob that is not a lab knob or
 * "transport"; transports translated with tp, NULL when only checking).
 * -1 with err naming the knob. */
int bench_apply_migration(const struct bench_scenario *s, struct qmig_migration *m,
                          const struct bench_transport *tp, char *err, size_t errlen);
/* stunnel.c: whether stunnel is in PATH; start the pair for a run in dir
 * (psk_file: "qmig:HEX"), filling tp (0, or -1 with err; what started is
 * in tp either way); stop what runs (accepts a tp with nothing). */
bool bench_stunnel_available(void);
int bench_stunnel_start(const char *dir, const char *psk_file, struct bench_transport *tp,
                        char *err, size_t errlen);
void bench_stunnel_stop(struct bench_transport *tp);
/* CPU seconds both stunnels have used since they started (0 without). */
double bench_stunnel_cpu_s(const struct bench_transport *tp);
/* A port on 127.0.0.1 nobody listens on now; -1 if none. */
int bench_free_port(void);
/* tunnel.c: qmig's agent for a run's destination QMP (dst_qmp), listening
 * on a free port of 127.0.0.1, psk_file its credential (required); fills
 * tp->tunnel.  0, or -1 with err (stop it anyway).  Stop returns its log
 * lines (new reference, NULL when none ran). */
int bench_agent_start(const char *dir, const char *dst_qmp, const char *psk_file,
                      struct bench_transport *tp, char *err, size_t errlen);
json_t *bench_agent_stop(struct bench_transport *tp);
/* Lab options of s into o (pointers into s; lives as long as s). */
int bench_lab_options(const struct bench_scenario *s, struct qmig_lab_options *o, char *err,
                      size_t errlen);

/* ---- presets (presets.c) ---- */
struct bench_preset {
  const char *name, *help;
  const char *json;  /* scenario file text, same format as --scenario */
  const char *swept; /* the knob the preset varies */
};
extern const struct bench_preset bench_presets[];

/* update.c: knob mode=update.  Prepare: the lab's destination QEMU ended
 * (only the source runs, as before a live update).  Apply: live-update
 * auto, the new process in the lab's dir as "dst" (the lab's checks and
 * stop then find it).  -1 with the reason in err. */
int bench_update_prepare(const char *dir, char *err, size_t errlen);
int bench_update_apply(struct qmig_migration *m, const char *dir, char *err, size_t errlen);
const struct bench_preset *bench_preset_find(const char *name);

/* ---- the bench object ---- */
struct qmig_bench {
  struct bench_scenario *sc;
  size_t nsc;
  json_t *overrides; /* --set KEY=VALUE: applied to every scenario */
  char *swept;       /* knob varied across scenarios, for the charts */
  unsigned runs, warmup, resamples;
  uint64_t seed;
  char *out, *baseline, *accel, *qemu, *dst_qemu, *guest, *workdir;
  qmig_bench_run_fn run_fn;
  void *run_ud;
  qmig_bench_status_fn status_fn;
  void *status_ud;
  struct qmig_bench_status status;          /* of the run under way */
  json_t *records;                          /* one object per run, in run order */
  atomic_int cancelled;                     /* qmig_bench_cancel() */
  _Atomic(struct qmig_migration *) current; /* the migration running now */
  char jsonl_path[4096];
  char rundir[4096]; /* private (mkdtemp) directory of this bench's labs */
  char err[1024];
};
int bench_errorf(struct qmig_bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tell the status callback (if any) the run under way is in `phase`. */
void bench_status(struct qmig_bench *b, const char *phase, const struct qmig_progress *p);
/* run.c: one run of scenario s; returns its record (new reference, never
 * NULL unless out of memory).  The record says whether it succeeded. */
json_t *bench_run_one(struct qmig_bench *b, const struct bench_scenario *s, unsigned index,
                      unsigned run, bool warmup);

/* ---- figures and output (summary.c, html.c, svg.c) ---- */
struct bench_figure {
  const char *key;   /* CSV/JSON name */
  const char *label; /* for people */
  const char *unit;
};
#define BENCH_NFIGURES 10
extern const struct bench_figure bench_figures[BENCH_NFIGURES];
/* Figure f of a run record, or NAN when the run has none. */
double bench_figure_value(const json_t *rec, size_t f);
/* Values of figure f over the measured (not warm-up), successful runs of
 * scenario name; caller frees *out.  Count in *n. */
int bench_collect(const json_t *records, const char *name, size_t f, double **out, size_t *n);

struct bench_cell {
  struct bench_summary s;
  bool ok;              /* s valid */
  double ratio, lo, hi; /* against the baseline; NAN when none */
};
/* Table of cells [scenario][figure], caller frees; NULL out of memory. */
struct bench_cell *bench_table(const struct qmig_bench *b);
/* Text summary (caller frees). */
char *bench_summary_text(const struct qmig_bench *b, const struct bench_cell *t);
int bench_write_csv(struct qmig_bench *b, const struct bench_cell *t, const char *dir);
int bench_write_html(struct qmig_bench *b, const struct bench_cell *t, const char *path);

/* Growable string for the writers (svg.c). */
struct bench_buf {
  char *p;
  size_t len, cap;
  bool oom;
};
void bench_bprintf(struct bench_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s HTML-escaped (& < > " '). */
void bench_bescape(struct bench_buf *b, const char *s);
/* Charts as inline SVG into out. */
void bench_svg_box(struct bench_buf *out, const struct qmig_bench *b, size_t figure);
void bench_svg_sweep(struct bench_buf *out, const struct qmig_bench *b, const struct bench_cell *t,
                     size_t figure);
void bench_svg_throughput(struct bench_buf *out, const struct qmig_bench *b);
/* The measured, successful run of scenario `name` with the median total
 * time (the lower middle for an even count); NULL when none. */
json_t *bench_median_run(const json_t *records, const char *name);
/* svg.c: a round axis maximum at or above v (1, 2, 5 x 10^k); ticks from 0
 * to max along [a0, a1], grid lines across [other0, other1]. */
double bench_nice_max(double v);
void bench_svg_ticks(struct bench_buf *o, double max, bool horizontal, double a0, double a1,
                     double other0, double other1);
/* timeline.c: one run's timeline (record rec): QEMU's rate, the guest's
 * dirty rate and the bytes remaining at each progress sample, the passes,
 * the switchover, every stall and every network probe gap of the report
 * where it happened. */
void bench_svg_timeline(struct bench_buf *out, const json_t *rec);

/* ---- ping-pong (pingpong.c: options and the loop; pingpong_json.c:
 * statistics over the legs and the JSON document) ---- */
struct qmig_pingpong {
  struct qmig_migration **legs; /* every leg run, each with its report */
  unsigned nlegs, repeat, failed_leg;
  bool ran;
  qmig_pingpong_leg_fn leg_fn;
  void *leg_ud;
  atomic_int cancelled;
  _Atomic(struct qmig_migration *) current;
  char names[2][64];
  char guest_qmp[4200]; /* "" when unknown */
  int guest_pid;
  enum qmig_outcome outcome;
  enum qmig_error_code code;
  struct qmig_pingpong_stats stats;
  char err[2048];
};
/* p->stats from the legs' reports: 0, or -1 (out of memory). */
int bench_pingpong_stats(struct qmig_pingpong *p, unsigned resamples);

#endif
