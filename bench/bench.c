/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench.c - the bench object: settings, scenarios from files, presets and
 * sweeps, the interleaved run loop and the outputs. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "common/opttab.h"

int bench_errorf(struct qmig_bench *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(b->err, sizeof b->err, fmt, ap);
  va_end(ap);
  return -1;
}

static int check_accel(const char *v, char *why, size_t len)
{
  if (strcmp(v, "tcg") && strcmp(v, "kvm") && strcmp(v, "auto")) {
    errbuf_setf(why, len, "not tcg, kvm or auto");
    return -1;
  }
  return 0;
}

/* The bench's settings (qmig_bench_set); its scenario knobs are in
 * scenario.c. */
#define O(f) offsetof(struct qmig_bench, f)
/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "runs", .type = OPT_UINT, .off = O(runs), .min = 1, .max = 100000, .def = "10",
    .arg = "N", .help = "measured runs per scenario (default 10)" },
  { .key = "warmup", .type = OPT_UINT, .off = O(warmup), .min = 0, .max = 100, .def = "1",
    .arg = "N", .help = "runs of the first scenario first, not counted (default 1)" },
  { .key = "out", .type = OPT_STR, .off = O(out), .def = "bench-out", .arg = "DIR",
    .help = "output directory (default bench-out)" },
  { .key = "baseline", .type = OPT_STR, .off = O(baseline), .arg = "NAME",
    .help = "scenario the ratios are taken against (default the first)" },
  /* (the label is longer than the column: two spaces, as always) */
  { .key = "seed", .type = OPT_U64, .off = O(seed), .min = 0, .max = 4294967295u, .def = "1",
    .label = "--seed N, --resamples N", .help = " bootstrap (default 1, 2000)" },
  { .key = "resamples", .type = OPT_UINT, .off = O(resamples), .min = 0, .max = 1000000,
    .def = "2000" },
  { .key = "accel", .type = OPT_STR, .off = O(accel), .check = check_accel, .def = "tcg",
    .arg = "A", .help = "tcg (default), kvm or auto" },
  { .key = "qemu", .type = OPT_STR, .off = O(qemu) },
  { .key = "dst-qemu", .type = OPT_STR, .off = O(dst_qemu) },
  { .key = "guest", .type = OPT_STR, .off = O(guest) },
  { .key = "workdir", .type = OPT_STR, .off = O(workdir) },
};
/* clang-format on */
#define NROWS (sizeof rows / sizeof rows[0])
static const struct opt_table settings = { rows, NROWS, OPT_RANGE_FROM_TO, 19 };

static struct qmig_optkey public_keys[NROWS + 1];
const struct qmig_optkey *qmig_bench_setting_keys(void)
{
  return opt_cli_keys(&settings, public_keys);
}

char *qmig_bench_setting_help(void)
{
  return opt_help_text(&settings);
}

struct qmig_bench *qmig_bench_new(void)
{
  struct qmig_bench *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  opt_defaults(&settings, b);
  b->overrides = json_object();
  b->records = json_array();
  if (!b->overrides || !b->records || !b->out || !b->accel) {
    qmig_bench_free(b);
    return NULL;
  }
  return b;
}

static void clear_scenarios(struct qmig_bench *b)
{
  for (size_t i = 0; i < b->nsc; i++)
    bench_scenario_clear(&b->sc[i]);
  free(b->sc);
  b->sc = NULL;
  b->nsc = 0;
}

void qmig_bench_free(struct qmig_bench *b)
{
  if (!b)
    return;
  clear_scenarios(b);
  json_decref(b->overrides);
  json_decref(b->records);
  free(b->swept);
  opt_free(&settings, b);
  free(b);
}

const char *qmig_bench_error(const struct qmig_bench *b)
{
  return b->err;
}

static int replace(struct qmig_bench *b, char **p, const char *v)
{
  return opt_replace_str(p, v) < 0 ? bench_errorf(b, "out of memory") : 0;
}

int qmig_bench_set(struct qmig_bench *b, const char *key, const char *v)
{
  char err[512], keys[256];
  if (!opt_find(&settings, key)) {
    opt_key_list(&settings, keys, sizeof keys);
    return bench_errorf(b, "unknown bench setting '%s' (%s)", key ? key : "(null)", keys);
  }
  if (opt_set_msg(&settings, b, key, v, "bench setting", err, sizeof err) < 0)
    return bench_errorf(b, "%s", err);
  return 0;
}

int qmig_bench_load_text(struct qmig_bench *b, const char *text)
{
  return bench_scenarios_parse(text, "scenarios", &b->sc, &b->nsc, b->err, sizeof b->err);
}

int qmig_bench_load(struct qmig_bench *b, const char *path)
{
  FILE *f = fopen(path, "re");
  if (!f)
    return bench_errorf(b, "scenario file %s: %s", path, strerror(errno));
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  char buf[8192];
  size_t n;
  while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, mem);
  bool rerr = ferror(f);
  fclose(f);
  if (!mem || fclose(mem) != 0 || rerr) {
    free(text);
    return bench_errorf(b, "scenario file %s: could not read it", path);
  }
  int rc = bench_scenarios_parse(text, path, &b->sc, &b->nsc, b->err, sizeof b->err);
  free(text);
  return rc;
}

int qmig_bench_preset(struct qmig_bench *b, const char *name)
{
  const struct bench_preset *p = bench_preset_find(name);
  if (!p)
    return bench_errorf(b, "unknown preset '%s' (qmig_bench_preset_names)", name);
  char where[96];
  snprintf(where, sizeof where, "preset %s", name);
  if (bench_scenarios_parse(p->json, where, &b->sc, &b->nsc, b->err, sizeof b->err) < 0)
    return -1;
  return replace(b, &b->swept, p->swept);
}

const char *const *qmig_bench_preset_names(void)
{
  static const char *names[32];
  size_t i = 0;
  for (; bench_presets[i].name && i + 1 < sizeof names / sizeof names[0]; i++)
    names[i] = bench_presets[i].name;
  names[i] = NULL;
  return names;
}

const char *qmig_bench_preset_help(const char *name)
{
  const struct bench_preset *p = bench_preset_find(name);
  return p ? p->help : NULL;
}

int qmig_bench_sweep(struct qmig_bench *b, const char *spec)
{
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || !eq[1])
    return bench_errorf(b, "sweep '%s': not KEY=v1,v2,...", spec);
  if (b->nsc > 1)
    return bench_errorf(b, "sweep %.*s: needs one base scenario, %zu are loaded", (int)(eq - spec),
                        spec, b->nsc);
  struct bench_scenario base = { NULL, NULL };
  if (b->nsc == 1) {
    base = b->sc[0];
    free(b->sc);
    b->sc = NULL;
    b->nsc = 0;
  } else {
    base.name = strdup("base");
    base.knobs = json_object();
  }
  char key[128];
  snprintf(key, sizeof key, "%.*s", (int)(eq - spec), spec);
  char *vals = strdup(eq + 1), *save = NULL;
  int rc = base.knobs && base.name && vals ? 0 : bench_errorf(b, "out of memory");
  for (char *v = vals ? strtok_r(vals, ",", &save) : NULL; v && rc == 0;
       v = strtok_r(NULL, ",", &save)) {
    json_t *one = json_deep_copy(base.knobs);
    char *text = NULL;
    if (one && json_object_set_new(one, key, json_string(v)) == 0 &&
        json_object_set_new(one, "name", json_sprintf("%s=%s", key, v)) == 0)
      text = json_dumps(one, 0);
    rc = text ? qmig_bench_load_text(b, text) : bench_errorf(b, "out of memory");
    free(text);
    json_decref(one);
  }
  free(vals);
  bench_scenario_clear(&base);
  if (rc == 0 && b->nsc == 0)
    rc = bench_errorf(b, "sweep %s: no values", key);
  return rc ? rc : replace(b, &b->swept, key);
}

int qmig_bench_override(struct qmig_bench *b, const char *knob, const char *value)
{
  if (!*knob || !strcmp(knob, "name"))
    return bench_errorf(b, "knob '%s' (override): not a knob", knob);
  if (json_object_set_new(b->overrides, knob, json_string(value)) < 0)
    return bench_errorf(b, "knob %s (override): value is not UTF-8 or out of memory", knob);
  return 0;
}

int qmig_bench_check(struct qmig_bench *b)
{
  if (b->nsc == 0)
    return bench_errorf(b, "no scenarios (load a scenario file, a preset or a sweep)");
  if (b->nsc > 10000 || (uint64_t)b->runs * b->nsc + b->warmup > 1000000)
    return bench_errorf(b, "%zu scenarios x %u runs: more than a million runs", b->nsc, b->runs);
  for (size_t i = 0; i < b->nsc; i++) {
    const char *k;
    json_t *v;
    json_object_foreach(b->overrides, k,
                        v) if (bench_scenario_put(&b->sc[i], k, json_string_value(v)) <
                               0) return bench_errorf(b, "out of memory");
    if (bench_scenario_check(&b->sc[i], b->err, sizeof b->err) < 0)
      return -1;
  }
  if (!b->baseline)
    return replace(b, &b->baseline, b->sc[0].name);
  for (size_t i = 0; i < b->nsc; i++)
    if (!strcmp(b->sc[i].name, b->baseline))
      return 0;
  return bench_errorf(b, "baseline '%s' is not one of the scenarios", b->baseline);
}

size_t qmig_bench_count(const struct qmig_bench *b)
{
  return b->nsc;
}

const char *qmig_bench_name(const struct qmig_bench *b, size_t i)
{
  return i < b->nsc ? b->sc[i].name : NULL;
}

void qmig_bench_on_run(struct qmig_bench *b, qmig_bench_run_fn fn, void *user_data)
{
  b->run_fn = fn;
  b->run_ud = user_data;
}

void qmig_bench_on_status(struct qmig_bench *b, qmig_bench_status_fn fn, void *user_data)
{
  b->status_fn = fn;
  b->status_ud = user_data;
}

void bench_status(struct qmig_bench *b, const char *phase, const struct qmig_progress *p)
{
  if (!b->status_fn)
    return;
  b->status.phase = phase;
  b->status.progress = p;
  b->status_fn(b->status_ud, &b->status);
}

void qmig_bench_cancel(struct qmig_bench *b)
{
  atomic_store(&b->cancelled, 1);
  struct qmig_migration *m = atomic_load(&b->current);
  if (m)
    qmig_cancel(m);
}

/* mkdir -p: the directory and its missing parents; an existing one is fine. */
static int ensure_dir(struct qmig_bench *b, const char *d)
{
  char p[4096];
  if (snprintf(p, sizeof p, "%s", d) >= (int)sizeof p)
    return bench_errorf(b, "output directory %s: path too long", d);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
      return bench_errorf(b, "output directory %s: %s", p, strerror(errno));
    *s = c;
    if (c == '\0')
      return 0;
  }
}

/* Summary, CSV and HTML from b->records into b->out. */
static int write_outputs(struct qmig_bench *b)
{
  struct bench_cell *t = bench_table(b);
  if (!t)
    return bench_errorf(b, "out of memory");
  char path[4200];
  int rc = 0;
  char *text = bench_summary_text(b, t);
  snprintf(path, sizeof path, "%s/summary.txt", b->out);
  FILE *f = text ? fopen(path, "we") : NULL;
  if (!f || fputs(text, f) < 0 || fclose(f) != 0)
    rc = bench_errorf(b, "%s: %s", path, text ? strerror(errno) : "out of memory");
  free(text);
  if (rc == 0 && bench_write_csv(b, t, b->out) < 0)
    rc = -1;
  snprintf(path, sizeof path, "%s/report.html", b->out);
  if (rc == 0 && bench_write_html(b, t, path) < 0)
    rc = -1;
  free(t);
  return rc;
}

int qmig_bench_run(struct qmig_bench *b)
{
  if (qmig_bench_check(b) < 0 || ensure_dir(b, b->out) < 0)
    return -1;
  /* The labs live in a private directory (short: unix socket paths in it
   * must stay under 108 bytes), removed at the end unless a lab in it
   * could not be stopped. */
  const char *base = b->workdir ? b->workdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(b->rundir, sizeof b->rundir, "%s/qmig-bench-XXXXXX", base);
  if (!mkdtemp(b->rundir))
    return bench_errorf(b, "work directory in %s: %s", base, strerror(errno));
  snprintf(b->jsonl_path, sizeof b->jsonl_path, "%s/runs.jsonl", b->out);
  FILE *jl = fopen(b->jsonl_path, "we"); /* not into every QEMU the bench forks */
  if (!jl) {
    rmdir(b->rundir);
    return bench_errorf(b, "%s: %s", b->jsonl_path, strerror(errno));
  }
  json_array_clear(b->records);
  unsigned total = b->warmup + b->runs * (unsigned)b->nsc, done = 0;
  bool all_ok = true;
  int rc = 0;
  for (unsigned k = 0; k < total && rc == 0 && !atomic_load(&b->cancelled); k++) {
    bool warm = k < b->warmup;
    size_t si = warm ? 0 : (k - b->warmup) % b->nsc;
    unsigned run = warm ? 0 : (k - b->warmup) / (unsigned)b->nsc + 1;
    b->status = (struct qmig_bench_status){
      .done = done, .total = total, .scenario = b->sc[si].name, .run = run, .warmup = warm
    };
    json_t *rec = bench_run_one(b, &b->sc[si], k, run, warm);
    if (!rec) {
      rc = bench_errorf(b, "out of memory");
      break;
    }
    char *line = json_dumps(rec, JSON_COMPACT);
    if (!line || fprintf(jl, "%s\n", line) < 0 || fflush(jl) != 0)
      rc = bench_errorf(b, "%s: could not write: %s", b->jsonl_path, strerror(errno));
    free(line);
    json_t *bo = json_object_get(rec, "bench");
    bool ok = json_is_true(json_object_get(bo, "ok"));
    all_ok = all_ok && ok;
    json_array_append_new(b->records, rec);
    done++;
    if (b->run_fn)
      b->run_fn(b->run_ud, done, total, b->sc[si].name, run, warm, ok,
                json_string_value(json_object_get(bo, "error")));
    if (json_is_true(json_object_get(bo, "lab_left_running")))
      rc = bench_errorf(b, "the lab of run %u could not be stopped (kept in %s): giving up", k + 1,
                        json_string_value(json_object_get(bo, "lab_dir")));
  }
  rmdir(b->rundir); /* fails, and stays, when a lab was left in it */
  if (fclose(jl) != 0 && rc == 0)
    rc = bench_errorf(b, "%s: %s", b->jsonl_path, strerror(errno));
  if (rc == 0 && atomic_load(&b->cancelled))
    rc = bench_errorf(b, "cancelled after %u of %u runs", done, total);
  /* Whatever ran is written out, even when the bench stopped early. */
  if (done > 0 && write_outputs(b) < 0)
    rc = -1;
  if (rc < 0)
    return -1;
  return all_ok ? 0 : 1;
}

int qmig_bench_render(struct qmig_bench *b, const char *jsonl)
{
  FILE *f = fopen(jsonl, "re");
  if (!f)
    return bench_errorf(b, "%s: %s", jsonl, strerror(errno));
  clear_scenarios(b);
  json_array_clear(b->records);
  char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  int rc = 0;
  while (rc == 0 && getline(&line, &cap, f) > 0) {
    lineno++;
    json_error_t je;
    json_t *rec = json_loads(line, 0, &je);
    json_t *bo = json_object_get(rec, "bench");
    const char *name = json_string_value(json_object_get(bo, "scenario"));
    json_t *knobs = json_object_get(rec, "scenario");
    if (!name || !json_is_object(knobs)) {
      rc = bench_errorf(b, "%s:%u: not a qmig bench run record", jsonl, lineno);
      json_decref(rec);
      break;
    }
    if (lineno == 1) {
      json_t *v;
      if ((v = json_object_get(bo, "baseline")) && json_is_string(v))
        rc = replace(b, &b->baseline, json_string_value(v));
      if (rc == 0 && (v = json_object_get(bo, "swept")) && json_is_string(v))
        rc = replace(b, &b->swept, json_string_value(v));
      if ((v = json_object_get(bo, "seed")) && json_is_integer(v))
        b->seed = (uint64_t)json_integer_value(v);
      /* The bounds of qmig_bench_set: a file asking for 2^32 resamples
       * must not make the render allocate and compute for hours. */
      if ((v = json_object_get(bo, "resamples")) && json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
          rc = bench_errorf(b, "%s:1: resamples %" JSON_INTEGER_FORMAT " is not 0..1000000", jsonl,
                            json_integer_value(v));
        else
          b->resamples = (unsigned)json_integer_value(v);
      }
    }
    bool known = false;
    for (size_t i = 0; i < b->nsc && !known; i++)
      known = !strcmp(b->sc[i].name, name);
    if (!known && rc == 0) {
      struct bench_scenario *nv = realloc(b->sc, (b->nsc + 1) * sizeof *nv);
      if (!nv) {
        rc = bench_errorf(b, "out of memory");
      } else {
        b->sc = nv;
        nv[b->nsc].name = strdup(name);
        nv[b->nsc].knobs = bench_knobs_json(knobs, false);
        if (!nv[b->nsc++].name)
          rc = bench_errorf(b, "out of memory");
      }
    }
    json_array_append_new(b->records, rec);
  }
  free(line);
  fclose(f);
  if (rc == 0 && lineno == 0)
    rc = bench_errorf(b, "%s: no runs in it", jsonl);
  if (rc == 0 && !b->baseline)
    rc = replace(b, &b->baseline, b->sc[0].name);
  if (rc == 0 && ensure_dir(b, b->out) == 0)
    rc = write_outputs(b);
  return rc < 0 ? -1 : 0;
}

char *qmig_bench_summary(const struct qmig_bench *b)
{
  struct bench_cell *t = bench_table(b);
  char *s = t ? bench_summary_text(b, t) : NULL;
  free(t);
  return s;
}
