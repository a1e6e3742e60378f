/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pingpong.c - `qmig pingpong`: the guest of a running QEMU migrated back
 * and forth on this host, each leg to a new QEMU made from the running
 * one's command line (qmig_pingpong_run()); a line per leg, the statistics
 * over the legs, and the whole run as JSON. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static struct qmig_pingpong *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_pingpong_cancel(running);
}

struct show {
  bool verbose, quiet, progress;
};

static void on_progress(void *ud, const struct qmig_progress *p)
{
  (void)ud;
  double mib = 1048576.0;
  fprintf(stderr, "\r\033[K%6.1fs %-9s pass %-3u %8.0f/%.0f MiB %7.1f MiB/s  left %6.0f MiB",
          p->elapsed_s, p->status, p->pass, p->transferred_bytes / mib, p->total_bytes / mib,
          p->rate_bytes_per_s / mib, p->remaining_bytes / mib);
  fflush(stderr);
}

static void on_state(void *ud, enum qmig_state from, enum qmig_state to, const char *why)
{
  (void)ud;
  (void)from;
  fprintf(stderr, "%sqmig: %s%s%s\n", isatty(2) ? "\r\033[K" : "", qmig_state_name(to),
          why[0] ? ": " : "", why);
}

/* "12.3 ms", or "-" when not measured. */
static const char *ms(char *buf, size_t len, double v)
{
  if (v < 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.1f ms", v);
  return buf;
}

static void on_leg(void *ud, unsigned leg, unsigned legs, struct qmig_migration *m, bool done)
{
  const struct show *sh = ud;
  if (!done) {
    if (sh->progress)
      qmig_on_progress(m, on_progress, NULL);
    if (sh->verbose)
      qmig_on_state(m, on_state, NULL);
    return;
  }
  if (sh->progress)
    fprintf(stderr, "\r\033[K");
  if (sh->quiet)
    return;
  const struct qmig_report *r = qmig_report(m);
  const struct qmig_report_update *u = qmig_report_update(m);
  char a[32], b[32], c[32];
  /* Progress on stderr, as migrate's: stdout holds the JSON with --json -. */
  fprintf(stderr, "leg %u/%u: pid %d -> %d: %s, downtime %s, total %s, guest stall %s\n", leg, legs,
          u ? u->old_pid : 0, u ? u->new_pid : 0,
          r->outcome == QMIG_MIGRATED ? "migrated" : "FAILED", ms(a, sizeof a, r->qemu_downtime_ms),
          ms(b, sizeof b, r->total_ms), ms(c, sizeof c, r->guest_stall_ms));
}

static void print_stats(FILE *f, const struct qmig_pingpong_stats *st)
{
  fprintf(f, "over %u migrated leg%s of %u:%*s %10s %10s %10s  %s\n", st->migrated,
          st->migrated == 1 ? "" : "s", st->legs, 2, "", "median", "p5", "p95",
          "95% CI of the median");
  for (unsigned i = 0; i < QMIG_PINGPONG_NFIGURES; i++) {
    const struct qmig_pingpong_figure *x = &st->figures[i];
    if (!x->key || !x->n)
      continue;
    char label[64];
    snprintf(label, sizeof label, "%s (%s)", x->label, x->unit);
    fprintf(f, "  %-28s %10.1f %10.1f %10.1f  [%.1f, %.1f] n=%u\n", label, x->median, x->p5, x->p95,
            x->ci_lo, x->ci_hi, x->n);
  }
}

static void help(FILE *f)
{
  fprintf(f, "usage: qmig pingpong --src unix:PATH [--repeat N] [--spawn-dir DIR] [options]\n"
             "       qmig pingpong --lab DIR [--repeat N] [options]\n\n"
             "Migrates the guest of the running QEMU behind --src back and forth on this\n"
             "host: each leg starts a new QEMU from the running one's command line (as\n"
             "migrate --dst-spawn), migrates to it and quits the old one, so exactly one\n"
             "QEMU runs after every leg; the next leg starts from the new one.  The first\n"
             "failed leg ends the run: the guest stays on the process that holds it, the\n"
             "new one is ended.  Then the statistics over the migrated legs (median, p5,\n"
             "p95, bootstrap interval).  With --lab the new processes take the lab's names\n"
             "(dst, src): end the lab's destination first (it is in the way).\n\n"
             "Ping-pong options:\n");
  char *h = qmig_pingpong_help();
  fputs(h ? h : "", f);
  free(h);
  fprintf(f, "\nEvery migrate option applies to every leg (dst, dst-spawn, spawn-name and\n"
             "quit-source are the loop's own):\n");
  cli_print_option_help(f);
  fprintf(f, "  --%-22s %s\n", "json FILE|-", "write the run (every leg's report, stats) as JSON");
  fprintf(f, "  --%-22s %s\n", "progress", "show each leg's progress line");
  fprintf(f, "  --%-22s %s\n", "verbose", "print every engine state change");
  fprintf(f, "  --%-22s %s\n", "quiet", "no lines per leg, no summary");
  fprintf(f, "\nExit: 0 every leg migrated; else the failed leg's, as qmig migrate's:\n"
             "1 not migrated (the guest runs on that leg's source), 2 usage, 3 could not\n"
             "start, 4 guest state uncertain.  SIGINT/SIGTERM/SIGHUP cancel the leg under\n"
             "way and stop.\n");
}

static int set_pp(void *ud, const char *key, const char *value)
{
  char err[512];
  if (qmig_pingpong_set(ud, key, value, err, sizeof err) == 0)
    return 0;
  fprintf(stderr, "qmig pingpong: %s\n", err);
  return -1;
}

int cmd_pingpong(int argc, char **argv)
{
  struct qmig_migration *tmpl = qmig_new();
  struct qmig_pingpong *p = qmig_pingpong_new();
  struct qmig_pingpong_options o = QMIG_PINGPONG_OPTIONS_INIT;
  int rc = QMIG_NOT_STARTED;
  if (!tmpl || !p)
    goto out;
  struct cli_flags fl = {
    .progress = isatty(2), .extra = qmig_pingpong_option_keys(), .set_extra = set_pp, .extra_ud = &o
  };
  rc = cli_parse(argc, argv, "pingpong", tmpl, &fl, help);
  if (rc != 0) {
    rc = rc > 0 ? 0 : QMIG_USAGE;
    goto out;
  }
  char *lab = qmig_get(tmpl, "lab");
  if (lab && !o.names)
    o.names = "dst,src"; /* the lab's own files: lab stop and status find them */
  free(lab);
  struct show sh = { fl.verbose, fl.quiet, fl.progress };
  qmig_pingpong_on_leg(p, on_leg, &sh);
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  running = p;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = qmig_pingpong_run(p, tmpl, &o);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], SIG_DFL);
  running = NULL;

  bool json_stdout = fl.json && !strcmp(fl.json, "-");
  FILE *sum = json_stdout || rc != QMIG_MIGRATED ? stderr : stdout;
  if (!fl.quiet && qmig_pingpong_stats(p)->migrated > 0)
    print_stats(sum, qmig_pingpong_stats(p));
  if (rc != QMIG_MIGRATED)
    fprintf(stderr, "qmig pingpong: %s\n", qmig_pingpong_error(p));
  else if (!fl.quiet)
    fprintf(sum, "the guest runs on %s (pid %d)\n", qmig_pingpong_guest_qmp(p),
            qmig_pingpong_guest_pid(p));
  if (fl.json)
    cli_write_text(qmig_pingpong_json(p), fl.json, "pingpong");
out:
  qmig_pingpong_free(p);
  qmig_free(tmpl);
  return rc;
}
