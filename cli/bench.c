/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench.c - `qmig bench`: scenarios, presets and sweeps in, the bench's
 * outputs and a summary out; a progress bar on a TTY.  All the work is
 * qmig_bench_*() in the library. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static struct qmig_bench *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_bench_cancel(running);
}

struct progress {
  bool tty;
};

/* "warm-up" or "run N". */
static const char *run_label(char *buf, size_t len, unsigned run, bool warmup)
{
  if (warmup)
    snprintf(buf, len, "warm-up");
  else
    snprintf(buf, len, "run %u", run);
  return buf;
}

/* "[####    ] 3/9  scenario run 2: " at the start of a cleared line. */
static void bar(unsigned done, unsigned total, const char *scenario, unsigned run, bool warmup)
{
  int width = 30, fill = total ? (int)((long)width * done / total) : 0;
  char what[32];
  run_label(what, sizeof what, run, warmup);
  fprintf(stderr, "\r\033[K[%.*s%*s] %u/%u  %s %s: ", fill, "##############################",
          width - fill, "", done, total, scenario, what);
}

static void on_run(void *ud, unsigned done, unsigned total, const char *scenario, unsigned run,
                   bool warmup, bool ok, const char *error)
{
  const struct progress *p = ud;
  if (p->tty) {
    bar(done, total, scenario, run, warmup);
    fprintf(stderr, "%s", ok ? "ok" : "FAILED");
    if (!ok)
      fprintf(stderr, "\n  %s\n", error ? error : "");
    if (done == total)
      fputc('\n', stderr);
  } else {
    char what[32];
    fprintf(stderr, "qmig bench: %u/%u %s %s: %s%s%s\n", done, total, scenario,
            run_label(what, sizeof what, run, warmup), ok ? "ok" : "FAILED", ok ? "" : ": ",
            ok      ? ""
            : error ? error
                    : "");
  }
  fflush(stderr);
}

/* The bar's line while a run goes on (TTY only). */
static void on_status(void *ud, const struct qmig_bench_status *s)
{
  (void)ud;
  bar(s->done, s->total, s->scenario, s->run, s->warmup);
  fprintf(stderr, "%s", s->phase);
  const struct qmig_progress *p = s->progress;
  if (p && p->total_bytes)
    fprintf(stderr, " pass %u, %.0f%% sent, %.0f MiB/s", p->pass,
            100.0 * (double)p->transferred_bytes / (double)p->total_bytes,
            p->rate_bytes_per_s / 1048576);
  fflush(stderr);
}

static void help(FILE *f)
{
  char *settings = qmig_bench_setting_help();
  fprintf(
      f,
      "usage: qmig bench [--scenario FILE]... [--preset NAME] [--sweep KEY=v1,v2,...]\n"
      "                  [--set KNOB=VALUE]... [--runs N] [--warmup N] [--out DIR]\n"
      "                  [--baseline NAME] [--seed N] [--resamples N] [--accel A]\n"
      "                  [--qemu BIN] [--dst-qemu BIN] [--guest ELF|linux] [--workdir DIR] [--check]\n"
      "       qmig bench --render RUNS.jsonl [--out DIR] [--json FILE|-]\n"
      "       qmig bench --list-presets | --list-knobs\n\n"
      "Runs every scenario --runs times, interleaved (A B C A B C ...), each run on a\n"
      "fresh lab pair whose destination memory is checked afterwards; writes\n"
      "DIR/runs.jsonl, summary.txt, summary.csv, runs.csv and report.html.\n\n"
      "  --scenario FILE  scenarios as JSON (see docs/BENCHMARKING.md)\n"
      "  --preset NAME    a built-in comparison (--list-presets)\n"
      "  --sweep K=v,...  one scenario per value of knob K over the base scenario\n"
      "  --set K=V        knob K = V in every scenario (e.g. --set fill=128)\n"
      "%s"
      "  --check          check the scenarios, list them and exit\n"
      "  --render FILE    the outputs again from an earlier bench's runs.jsonl\n"
      "  --json FILE|-    the summary as JSON too (- = stdout, instead of the text)\n\n"
      "Exit: 0 every run migrated and verified, 1 some runs failed (recorded),\n"
      "2 usage or a scenario refused (nothing ran), 3 the bench could not run.\n",
      settings ? settings : "");
  free(settings);
}

/* The lab's and the bench's own knobs by name (a knob whose help starts
 * "a|b|c:" with its choices), wrapped; then every migration option. */
static int list_knobs(void)
{
  size_t col = 2;
  printf("lab knobs:\n ");
  for (const char *const *k = qmig_bench_knob_keys(); *k; k++) {
    const char *h = qmig_bench_knob_help(*k);
    size_t nch = h ? strcspn(h, ": ") : 0;
    char item[160];
    snprintf(item, sizeof item, "%s%s%.*s%s%s", *k, nch && h[nch] == ':' ? " (" : "",
             nch && h[nch] == ':' ? (int)nch : 0, h ? h : "", nch && h[nch] == ':' ? ")" : "",
             k[1] ? "," : "");
    if (col + 1 + strlen(item) > 80) {
      printf("\n ");
      col = 2;
    }
    printf(" %s", item);
    col += 1 + strlen(item);
  }
  printf("\nmigration knobs (qmig migrate's options):\n");
  for (const char *const *k = qmig_option_keys(); *k; k++)
    if (!qmig_bench_knob_help(*k)) /* a bench knob of that name wins (probe) */
      printf("  %-24s %s\n", *k, qmig_option_help(*k));
  return 0;
}

/* "K=V" into the two parts (k points into a copy the caller frees). */
static int split_kv(const char *arg, char **k, const char **v)
{
  *k = strdup(arg);
  char *eq = *k ? strchr(*k, '=') : NULL;
  if (!eq || eq == *k) {
    fprintf(stderr, "qmig bench: '%s' is not KNOB=VALUE\n", arg);
    free(*k);
    return -1;
  }
  *eq = '\0';
  *v = eq + 1;
  return 0;
}

/* The summary: the text on stdout, and with json the JSON into that file,
 * or on stdout instead of the text ("-").  -1 when the JSON could not be
 * written (said on stderr). */
static int summary(const struct qmig_bench *b, const char *json)
{
  if (!json || strcmp(json, "-")) {
    char *s = qmig_bench_summary(b);
    fputs(s ? s : "", stdout);
    free(s);
  }
  if (!json)
    return 0;
  char *j = qmig_bench_summary_json(b);
  bool to_stdout = !strcmp(json, "-");
  FILE *f = j ? (to_stdout ? stdout : fopen(json, "we")) : NULL;
  int rc = f && fprintf(f, "%s\n", j) > 0 ? 0 : -1;
  if (f && !to_stdout && fclose(f) != 0)
    rc = -1;
  if (rc < 0)
    fprintf(stderr, "qmig bench: cannot write the JSON summary to %s\n", json);
  free(j);
  return rc;
}

int cmd_bench(int argc, char **argv)
{
  /* The CLI's own options; every bench setting (qmig_bench_setting_keys)
   * is a long option too. */
  static const struct option own[] = {
    { "scenario", required_argument, NULL, 'S' },
    { "preset", required_argument, NULL, 'P' },
    { "sweep", required_argument, NULL, 'W' },
    { "set", required_argument, NULL, 's' },
    { "check", no_argument, NULL, 'c' },
    { "render", required_argument, NULL, 'x' },
    { "list-presets", no_argument, NULL, 'L' },
    { "list-knobs", no_argument, NULL, 'K' },
    { "help", no_argument, NULL, 'h' },
    { "json", required_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  const struct qmig_optkey *settings = qmig_bench_setting_keys();
  size_t ns;
  struct qmig_bench *b = qmig_bench_new();
  struct option *lo = b ? cli_longopts(settings, own, &ns) : NULL;
  if (!lo) {
    qmig_bench_free(b);
    return QMIG_NOT_STARTED;
  }
  const char *sweep = NULL, *render = NULL, *json = NULL;
  bool check = false;
  int rc = 0, c, ki;
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    int r = 0;
    char *k = NULL;
    const char *v;
    switch (c) {
    case 'S': r = qmig_bench_load(b, optarg); break;
    case 'P': r = qmig_bench_preset(b, optarg); break;
    case 'W': sweep = optarg; break;
    case 's':
      if (split_kv(optarg, &k, &v) < 0) {
        rc = QMIG_USAGE;
        break;
      }
      r = qmig_bench_override(b, k, v);
      free(k);
      break;
    case 'c': check = true; break;
    case 'j': json = optarg; break;
    case 'x': render = optarg; break;
    case 'L':
      for (const char *const *p = qmig_bench_preset_names(); *p; p++)
        printf("  %-14s %s\n", *p, qmig_bench_preset_help(*p));
      free(lo);
      qmig_bench_free(b);
      return 0;
    case 'K':
      free(lo);
      qmig_bench_free(b);
      return list_knobs();
    case 'h':
      help(stdout);
      free(lo);
      qmig_bench_free(b);
      return 0;
    default:
      if ((ki = cli_key_index(c, ns)) >= 0) {
        r = qmig_bench_set(b, settings[ki].key, optarg);
      } else {
        fprintf(stderr, "qmig bench: try --help\n");
        rc = QMIG_USAGE;
      }
    }
    if (r < 0) {
      fprintf(stderr, "qmig bench: %s\n", qmig_bench_error(b));
      rc = QMIG_USAGE;
    }
  }
  free(lo);
  if (rc == 0 && optind < argc) {
    fprintf(stderr, "qmig bench: unexpected argument '%s'\n", argv[optind]);
    rc = QMIG_USAGE;
  }
  if (rc == 0 && render) {
    if (qmig_bench_render(b, render) < 0) {
      fprintf(stderr, "qmig bench: %s\n", qmig_bench_error(b));
      rc = QMIG_NOT_STARTED;
    } else if (summary(b, json) < 0) {
      rc = QMIG_NOT_STARTED;
    }
    qmig_bench_free(b);
    return rc;
  }
  if (rc == 0 && ((sweep && qmig_bench_sweep(b, sweep) < 0) || qmig_bench_check(b) < 0)) {
    fprintf(stderr, "qmig bench: %s\n", qmig_bench_error(b));
    rc = QMIG_USAGE;
  }
  if (rc == 0 && check) {
    for (size_t i = 0; i < qmig_bench_count(b); i++)
      printf("%s\n", qmig_bench_name(b, i));
    qmig_bench_free(b);
    return 0;
  }
  if (rc == 0) {
    struct progress p = { isatty(2) };
    qmig_bench_on_run(b, on_run, &p);
    if (p.tty)
      qmig_bench_on_status(b, on_status, NULL);
    running = b;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int r = qmig_bench_run(b);
    running = NULL;
    if (summary(b, json) < 0 && r == 0)
      r = -1;
    if (r < 0)
      fprintf(stderr, "qmig bench: %s\n", qmig_bench_error(b));
    rc = r < 0 ? QMIG_NOT_STARTED : r;
  }
  qmig_bench_free(b);
  return rc;
}
