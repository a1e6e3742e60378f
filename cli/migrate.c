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
  fprintf(stderr, "\r\033[K%6.1fs %-9s pass %-3u %8.0f/%.0f MiB %7.1f MiB/s  left %6.0f MiB  "
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
  if (sh->verbose)
    fprintf(stderr, "%sqmig: %s%s%s\n", isatty(2) ? "\r\033[K" : "", qmig_state_name(to),
            why[0] ? ": " : "", why);
  /* Probing is over (with --predict: measured), nothing has moved yet. */
  if (from == QMIG_S_PROBING && to == QMIG_S_CONFIGURING && !sh->quiet && running)
    cli_print_prediction(stderr, running, false);
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
  fprintf(f, "\nExit: 0 migrated, 1 not migrated (source runs), 2 usage, 3 could not start,\n"
             "4 guest state uncertain.  SIGINT/SIGTERM cancel; the source keeps running.\n");
}

int cmd_migrate(int argc, char **argv)
{
  const char *const *keys = qmig_option_keys();
  size_t nk;
  enum { O_JSON = 1000, O_PROGRESS, O_QUIET, O_HELP, O_VERBOSE };
  static const struct option own[] = {
    { "json", required_argument, NULL, O_JSON }, { "progress", no_argument, NULL, O_PROGRESS },
    { "quiet", no_argument, NULL, O_QUIET },     { "help", no_argument, NULL, O_HELP },
    { "verbose", no_argument, NULL, O_VERBOSE }, { NULL, 0, NULL, 0 },
  };
  struct option *lo = cli_long_options(own, &nk);
  if (!lo)
    return QMIG_NOT_STARTED;

  struct qmig_migration *m = qmig_new();
  if (!m) {
    free(lo);
    return QMIG_NOT_STARTED;
  }
  const char *json = NULL;
  bool progress = isatty(2), quiet = false, verbose = false;
  int c, rc = QMIG_USAGE;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (c >= 0 && (size_t)c < nk) {
      if (qmig_set(m, keys[c], optarg) < 0) {
        fprintf(stderr, "qmig migrate: %s\n", qmig_error(m));
        goto out;
      }
    } else if (c == O_JSON) {
      json = optarg;
    } else if (c == O_PROGRESS) {
      progress = true;
    } else if (c == O_QUIET) {
      quiet = true;
    } else if (c == O_VERBOSE) {
      verbose = true;
    } else if (c == O_HELP || c == 'h') {
      help(stdout);
      rc = 0;
      goto out;
    } else {
      fprintf(stderr, "qmig migrate: try --help\n");
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "qmig migrate: unexpected argument '%s'\n", argv[optind]);
    goto out;
  }
  if (progress)
    qmig_on_progress(m, on_progress, NULL);
  struct show sh = { verbose, quiet };
  running = m;
  qmig_on_state(m, on_state, &sh);

  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  rc = qmig_run(m);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  running = NULL;
  if (progress)
    fprintf(stderr, "\r\033[K");

  bool json_stdout = json && !strcmp(json, "-");
  if (!quiet) {
    cli_print_summary(json_stdout ? stderr : stdout, qmig_report(m));
    cli_print_prediction(json_stdout ? stderr : stdout, m, true);
  }
  if (json)
    cli_write_report(m, json, "migrate");
out:
  qmig_free(m);
  free(lo);
  return rc;
}
