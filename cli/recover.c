/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* recover.c - `qmig recover`: after `qmig migrate` died (SIGKILL, a crash, a
 * closed ssh session), bring the pair to exactly one running guest
 * (qmig_recover()).  Same addressing options as migrate. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void on_log(void *ud, const char *line)
{
  FILE *f = ud;
  fprintf(f, "qmig recover: %s\n", line);
  fflush(f);
}

static void help(FILE *f)
{
  fprintf(f,
          "usage: qmig recover --src ADDR --dst ADDR [options]\n"
          "       qmig recover --lab DIR [options]\n"
          "       qmig recover --src ADDR --tunnel HOST:PORT [--tunnel-tls ...] [options]\n\n"
          "After qmig migrate died mid-run: read both sides (run state, migration state,\n"
          "qmig's disk mirrors and NBD exports), say what was found, and bring the pair\n"
          "to exactly one running guest.  Before the switchover: cancel, remove the\n"
          "mirrors, resume the source, quit the destination (--dst-action keep: keep it).\n"
          "After it: the destination runs, the source stays stopped (--quit-source on:\n"
          "quit; --lab sets it).  Post-copy: wait for it, or resume it when both sides\n"
          "paused on a broken stream; with the source gone the guest is lost (said so,\n"
          "the source is never started).\n\n"
          "Options as for qmig migrate (those about addressing and timeouts apply):\n"
          "  --src, --dst, --lab, --tunnel, --tunnel-tls*, --dst-action quit|keep,\n"
          "  --quit-source on|off, --qmp-timeout MS, --timeout S, --data-host, --data-port\n"
          "  --%-22s %s\n  --%-22s %s\n  --%-22s %s\n\n"
          "Exit: 0 the guest runs on the destination, 1 on the source, 2 usage, 3 neither\n"
          "side reachable (nothing touched), 4 not established or the guest is lost.\n",
          "json FILE|-", "write the JSON report to FILE (- = stdout)", "verbose",
          "print every engine state change", "quiet", "only the conclusion");
}

static void on_state(void *ud, enum qmig_state from, enum qmig_state to, const char *why)
{
  (void)from;
  if (*(const bool *)ud)
    fprintf(stderr, "qmig: %s%s%s\n", qmig_state_name(to), why[0] ? ": " : "", why);
}

int cmd_recover(int argc, char **argv)
{
  struct qmig_migration *m = qmig_new();
  if (!m)
    return QMIG_NOT_STARTED;
  struct cli_flags fl = { 0 };
  int rc = cli_parse(argc, argv, "recover", m, &fl, help);
  if (rc != 0) {
    rc = rc > 0 ? 0 : QMIG_USAGE;
    goto out;
  }
  signal(SIGPIPE, SIG_IGN);
  bool json_stdout = fl.json && !strcmp(fl.json, "-");
  FILE *out = json_stdout ? stderr : stdout;
  if (!fl.quiet)
    qmig_on_log(m, on_log, out);
  qmig_on_state(m, on_state, &fl.verbose);
  rc = qmig_recover(m);
  static const char *const what[] = {
    "the guest runs on the destination",
    "the guest runs on the source",
    "usage",
    "could not reach either side; nothing was touched",
    "NOT ESTABLISHED: look at both sides",
  };
  if (rc == QMIG_USAGE)
    fprintf(stderr, "qmig recover: %s\n", qmig_error(m));
  else if (rc == QMIG_NOT_STARTED || fl.quiet)
    fprintf(rc == QMIG_MIGRATED || rc == QMIG_NOT_MIGRATED ? out : stderr, "qmig recover: %s%s%s\n",
            rc >= 0 && rc <= 4 ? what[rc] : "?", qmig_error(m)[0] ? ": " : "", qmig_error(m));
  else
    fprintf(out, "qmig recover: exit %d: %s\n", rc, rc >= 0 && rc <= 4 ? what[rc] : "?");
  if (fl.json)
    cli_write_report(m, fl.json, "recover");
out:
  qmig_free(m);
  return rc;
}
