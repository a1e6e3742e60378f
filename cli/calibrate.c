/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* calibrate.c - `qmig calibrate`: a controlled pause of known length on one
 * running QEMU, watched by the migration's instruments
 * (qmig_calibrate_run()); a line per round, the medians, the run as JSON.
 * With --lab the QMP and serial sockets, the heartbeat period and the
 * probe's namespace come from the lab's lab.json. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static struct qmig_calibrate *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_calibrate_cancel(running);
}

/* "12.3 ms" / "+1.2 ms", or "-" when not measured. */
static const char *ms(char *buf, size_t len, double v, bool sign)
{
  if (isnan(v))
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, sign ? "%+.1f ms" : "%.1f ms", v);
  return buf;
}

static void print_round(FILE *f, const char *label, const struct qmig_calibrate_round *r)
{
  char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
  fprintf(f,
          "%s: pause %s, heartbeat stall %s, network gap %s, first heartbeat %s / reply %s "
          "after the resume; net gap - stall %s, stall - pause %s\n",
          label, ms(a, sizeof a, r->pause_ms, false), ms(b, sizeof b, r->stall_ms, false),
          ms(c, sizeof c, r->net_gap_ms, false), ms(d, sizeof d, r->first_heartbeat_ms, false),
          ms(e, sizeof e, r->first_reply_ms, false),
          ms(g, sizeof g, r->net_gap_minus_stall_ms, true),
          ms(h, sizeof h, r->stall_minus_pause_ms, true));
}

struct show {
  FILE *f;
  bool quiet;
};

static void on_round(void *ud, const struct qmig_calibrate_round *r)
{
  const struct show *sh = ud;
  char label[32];
  snprintf(label, sizeof label, "round %u", r->round);
  if (!sh->quiet)
    print_round(sh->f, label, r);
}

static void help(FILE *f)
{
  fprintf(f, "usage: qmig calibrate --lab DIR [--side src|dst] [options]\n"
             "       qmig calibrate --qmp unix:PATH [--serial PATH --heartbeat-ms MS] [options]\n\n"
             "Pauses the guest of one running QEMU for a known time (QMP stop, --pause ms,\n"
             "cont), --repeat times, watched by the instruments of a migration: QEMU's STOP\n"
             "and RESUME events (the pause), the guest's heartbeat lines on its serial (the\n"
             "stall across the pause, as the report's guest_stall_ms) and the network probe\n"
             "(the gap across it, as the probe's switchover gap).  On a warm QEMU nothing\n"
             "else delays the guest after the resume, so the figures show how far the\n"
             "instruments themselves agree (docs/REPORT.md, \"Calibrating the instruments\").\n"
             "A line per round, then the median of each figure.  The guest runs again after\n"
             "every round.  A QEMU whose guest is not running, or a destination in incoming\n"
             "state, is refused.\n\n"
             "Options:\n");
  fprintf(f, "  --%-19s %s\n", "lab DIR",
          "the lab in DIR (lab.json): its QMP and serial sockets,\n"
          "                        heartbeat period, client namespace");
  fprintf(f, "  --%-19s %s\n", "side src|dst", "with --lab: which QEMU (default src)");
  char *h = qmig_calibrate_help();
  fputs(h ? h : "", f);
  free(h);
  fprintf(f, "  --%-19s %s\n", "json FILE|-", "write the run as JSON (- = stdout)");
  fprintf(f, "  --%-19s %s\n", "quiet", "no lines per round, no medians");
  fprintf(f, "\nExit: 0 every round measured, 1 a round failed or was cancelled (the guest\n"
             "runs), 2 usage, 3 nothing paused (QMP unreachable, the guest not running,\n"
             "an incoming destination, no heartbeats or replies), 4 the guest could not be\n"
             "resumed.  SIGINT/SIGTERM/SIGHUP end the round under way and stop.\n");
}

static int set(struct qmig_calibrate_options *o, const char *key, const char *value)
{
  char err[512];
  if (qmig_calibrate_set(o, key, value, err, sizeof err) == 0)
    return 0;
  fprintf(stderr, "qmig calibrate: %s\n", err);
  return -1;
}

/* --lab DIR: the side's sockets and the lab's period (options given on
 * the command line win); li must outlive o (o borrows its strings). */
static int apply_lab(struct qmig_calibrate_options *o, const char *dir, const char *side,
                     struct qmig_lab_info *li, char *qmp, size_t qmplen)
{
  char err[512];
  if (qmig_lab_info(dir, li, err, sizeof err) < 0) {
    fprintf(stderr, "qmig calibrate: lab: %s\n", err);
    return -1;
  }
  bool dst = !strcmp(side, "dst");
  snprintf(qmp, qmplen, "%s", dst ? li->dst_qmp : li->src_qmp);
  if (!o->qmp)
    o->qmp = qmp;
  if (!o->serial && li->heartbeat_ms) {
    o->serial = dst ? li->dst_serial : li->src_serial;
    if (!o->heartbeat_ms)
      o->heartbeat_ms = li->heartbeat_ms;
  }
  if (o->probe && !o->probe_netns && li->client_netns[0])
    o->probe_netns = li->client_netns;
  return 0;
}

int cmd_calibrate(int argc, char **argv)
{
  enum { O_LAB = 1, O_SIDE, O_JSON, O_QUIET, O_HELP };
  static const struct option own[] = {
    { "lab", required_argument, NULL, O_LAB },   { "side", required_argument, NULL, O_SIDE },
    { "json", required_argument, NULL, O_JSON }, { "quiet", no_argument, NULL, O_QUIET },
    { "help", no_argument, NULL, O_HELP },       { NULL, 0, NULL, 0 },
  };
  const struct qmig_optkey *keys = qmig_calibrate_option_keys();
  size_t nk;
  struct option *lo = cli_longopts(keys, own, &nk);
  if (!lo) {
    fprintf(stderr, "qmig calibrate: out of memory\n");
    return QMIG_NOT_STARTED;
  }
  struct qmig_calibrate_options o = QMIG_CALIBRATE_OPTIONS_INIT;
  const char *lab = NULL, *side = "src", *json = NULL;
  bool quiet = false;
  int c, k, rc = 0;
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if ((k = cli_key_index(c, nk)) >= 0)
      rc = set(&o, keys[k].key, keys[k].flag ? "on" : optarg);
    else if (c == O_LAB)
      lab = optarg;
    else if (c == O_SIDE)
      side = optarg;
    else if (c == O_JSON)
      json = optarg;
    else if (c == O_QUIET)
      quiet = true;
    else if (c == O_HELP || c == 'h')
      rc = 1;
    else
      rc = -1;
  }
  free(lo);
  if (rc == 1) {
    help(stdout);
    return 0;
  }
  if (rc == 0 && optind < argc) {
    fprintf(stderr, "qmig calibrate: unexpected argument '%s'\n", argv[optind]);
    rc = -1;
  }
  if (rc == 0 && strcmp(side, "src") && strcmp(side, "dst")) {
    fprintf(stderr, "qmig calibrate: option 'side': '%s' is not src or dst\n", side);
    rc = -1;
  }
  if (rc == 0 && !lab && strcmp(side, "src")) {
    fprintf(stderr, "qmig calibrate: option 'side' needs --lab\n");
    rc = -1;
  }
  static struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  char qmp[300];
  if (rc == 0 && lab && apply_lab(&o, lab, side, &li, qmp, sizeof qmp) < 0)
    rc = -1;
  if (rc != 0) {
    if (rc < 0)
      fprintf(stderr, "qmig calibrate: try --help\n");
    return QMIG_USAGE;
  }

  struct qmig_calibrate *cal = qmig_calibrate_new();
  if (!cal)
    return QMIG_NOT_STARTED;
  bool json_stdout = json && !strcmp(json, "-");
  struct show sh = { json_stdout ? stderr : stdout, quiet };
  qmig_calibrate_on_round(cal, on_round, &sh);
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  running = cal;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = qmig_calibrate_run(cal, &o);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], SIG_DFL);
  running = NULL;

  const struct qmig_calibrate_result *res = qmig_calibrate_result(cal);
  if (!quiet && res->rounds > 0) {
    char label[48];
    snprintf(label, sizeof label, "median of %u round%s", res->rounds, res->rounds == 1 ? "" : "s");
    print_round(sh.f, label, &res->median);
  }
  if (rc != QMIG_MIGRATED)
    fprintf(stderr, "qmig calibrate: %s\n", qmig_calibrate_error(cal));
  if (json && cli_write_text(qmig_calibrate_json(cal), json, "calibrate") < 0 &&
      rc == QMIG_MIGRATED)
    rc = QMIG_NOT_MIGRATED;
  qmig_calibrate_free(cal);
  return rc;
}
