/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent.c - `qmig agent`: the destination side of a tunnelled migration, a
 * thin wrapper over qmig_agent_* (include/qmig.h).  Logs go to stderr, one
 * line each, stamped with the wall clock. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli/cli.h"

static struct qmig_agent *running;

static void on_signal(int sig)
{
  (void)sig;
  if (running)
    qmig_agent_stop(running);
}

static void on_log(void *ud, const char *line)
{
  (void)ud;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  fprintf(stderr, "qmig agent %02d:%02d:%02d.%03ld %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
          (long)tv.tv_usec / 1000, line);
  fflush(stderr);
}

static void help(FILE *f)
{
  char *opts = qmig_agent_help();
  fprintf(f,
          "usage: qmig agent --listen HOST:PORT --qmp unix:PATH [options]\n\n"
          "Runs on the destination host: accepts qmig's tunnel connections, relays the\n"
          "destination QEMU's QMP and feeds its incoming migration socket.\n\n%s",
          opts ? opts : "");
  free(opts);
}

int cmd_agent(int argc, char **argv)
{
  static const struct option own[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const struct qmig_optkey *keys = qmig_agent_option_keys();
  size_t nk;
  struct qmig_agent *a = qmig_agent_new();
  struct option *lo = a ? cli_longopts(keys, own, &nk) : NULL;
  if (!lo) {
    qmig_agent_free(a);
    return QMIG_NOT_STARTED;
  }
  int c, k, rc = 0;
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (c == 'h') {
      help(stdout);
      free(lo);
      qmig_agent_free(a);
      return 0;
    } else if ((k = cli_key_index(c, nk)) >= 0) {
      rc = qmig_agent_set(a, keys[k].key, keys[k].flag ? "on" : optarg);
    } else {
      help(stderr);
      rc = -1;
    }
  }
  free(lo);
  if (rc == 0 && optind < argc) {
    fprintf(stderr, "qmig agent: unexpected argument '%s'\n", argv[optind]);
    qmig_agent_free(a);
    return QMIG_USAGE;
  }
  if (rc < 0) {
    fprintf(stderr, "qmig agent: %s\n", qmig_agent_error(a));
    qmig_agent_free(a);
    return QMIG_USAGE;
  }
  qmig_agent_on_log(a, on_log, NULL);
  running = a;
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = qmig_agent_run(a);
  running = NULL;
  /* A missing or contradicting option is a usage error like any other. */
  bool usage = rc < 0 && qmig_agent_error_code(a) == QMIG_E_OPTION;
  if (rc < 0)
    fprintf(stderr, "qmig agent: %s%s\n", qmig_agent_error(a), usage ? " (try --help)" : "");
  qmig_agent_free(a);
  return rc < 0 ? (usage ? QMIG_USAGE : QMIG_NOT_STARTED) : 0;
}
