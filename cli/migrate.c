/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migrate.c - `qmig migrate`: every library option as a long option, a
 * progress line on a TTY, the report as a summary and as JSON. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static struct qmig_migration *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_cancel(running);
}

static void on_progress(void *ud, const struct qmig_progress *p)
{
  (void)ud;
  double mib = 1048576.0;
  fprintf(stderr,
          "\r\033[K%6.1fs %-9s pass %-3u %8.0f/%.0f MiB %7.1f MiB/s  left %6.0f MiB  "
          "dirty %6.1f MiB/s  exp. downtime %4.0f ms",
          p->elapsed_s, p->status, p->pass, p->transferred_bytes / mib, p->total_bytes / mib,
          p->rate_bytes_per_s / mib, p->remaining_bytes / mib, p->dirty_bytes_per_s / mib,
          p->expected_downtime_ms < 0 ? 0 : p->expected_downtime_ms);
  fflush(stderr);
}

struct show {
  bool verbose, quiet;
};

static void on_state(void *ud, enum qmig_state from, enum qmig_state to, const char *why)
{
  const struct show *sh = ud;
  /* Warnings as they arise (insecure-qmp-tcp, QEMU bugs), not only in the
   * summary at the end. */
  static size_t warned;
  const char *w = running ? qmig_report(running)->warnings : "";
  if (strlen(w) > warned) {
    fprintf(stderr, "%sqmig: warning: %s\n", isatty(2) ? "\r\033[K" : "",
            w + warned + (warned ? 2 : 0));
    warned = strlen(w);
  }
  if (sh->verbose)
    fprintf(stderr, "%sqmig: %s%s%s\n", isatty(2) ? "\r\033[K" : "", qmig_state_name(to),
            why[0] ? ": " : "", why);
  /* Probing is over (with --predict: measured), nothing has moved yet. */
  if (from == QMIG_S_PROBING && to == QMIG_S_CONFIGURING && !sh->quiet && running)
    cli_print_prediction(stderr, running, false);
}

static void on_log(void *ud, const char *line)
{
  (void)ud;
  fprintf(stderr, "%sqmig: %s\n", isatty(2) ? "\r\033[K" : "", line);
}

static void help(FILE *f)
{
  fprintf(f, "usage: qmig migrate --src ADDR --dst ADDR [options]\n"
             "       qmig migrate --lab DIR [options]\n\n"
             "ADDR is unix:PATH or tcp:HOST:PORT (the QMP sockets).\n\n");
  cli_print_option_help(f);
  fprintf(f, "  --%-22s %s\n", "json FILE|-", "write the JSON report to FILE (- = stdout)");
  fprintf(f, "  --%-22s %s\n", "progress", "show the progress line even when not on a TTY");
  fprintf(f, "  --%-22s %s\n", "verbose", "print every engine state change");
  fprintf(f, "  --%-22s %s\n", "quiet", "no summary (the JSON report still goes where asked)");
  fprintf(f,
          "\nExit: 0 migrated, 1 not migrated (source runs), 2 usage, 3 could not start,\n"
          "4 guest state uncertain.  SIGINT/SIGTERM/SIGHUP cancel; the source keeps running.\n"
          "If qmig itself is killed (SIGKILL) mid-run: qmig recover, same addressing options.\n");
}

int cmd_migrate(int argc, char **argv)
{
  struct qmig_migration *m = qmig_new();
  if (!m)
    return QMIG_NOT_STARTED;
  struct cli_flags fl = { .progress = isatty(2) };
  int rc = cli_parse(argc, argv, "migrate", m, &fl, help);
  if (rc != 0) {
    rc = rc > 0 ? 0 : QMIG_USAGE;
    goto out;
  }
  const char *json = fl.json;
  bool quiet = fl.quiet, verbose = fl.verbose;
  bool progress = fl.progress;
  if (progress)
    qmig_on_progress(m, on_progress, NULL);
  struct show sh = { verbose, quiet };
  running = m;
  qmig_on_state(m, on_state, &sh);
  if (verbose)
    qmig_on_log(m, on_log, NULL);

  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  /* SIGHUP is a closed terminal or ssh session: cancel, as for ^C.  A
   * closed stdout or stderr must not kill us half-way (SIGPIPE): writes
   * fail with EPIPE instead, and the run goes on to its end. */
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = qmig_run(m);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], SIG_DFL);
  running = NULL;
  if (progress)
    fprintf(stderr, "\r\033[K");

  /* The summary of a success on stdout (unless the report goes there); of
   * a failure, a usage error among them, on stderr. */
  bool json_stdout = json && !strcmp(json, "-");
  FILE *sum = json_stdout || rc != QMIG_MIGRATED ? stderr : stdout;
  if (!quiet) {
    cli_print_summary(sum, qmig_report(m));
    cli_print_stalls(sum, m);
    cli_print_prediction(sum, m, true);
    cli_print_postcopy(sum, m);
    cli_print_network(sum, m);
    cli_print_storage(sum, m);
    cli_print_update(sum, m);
  } else if (rc == QMIG_USAGE) {
    fprintf(stderr, "qmig migrate: %s\n", qmig_error(m)); /* usage errors even when quiet */
  }
  if (json)
    cli_write_report(m, json, "migrate");
out:
  qmig_free(m);
  return rc;
}
