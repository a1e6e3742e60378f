/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.c - `qmig check`: the preflight of `qmig migrate` alone.  Takes the
 * same options, changes nothing, prints one line per finding. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(FILE *f)
{
  fprintf(f, "usage: qmig check --src ADDR --dst ADDR [migrate options] [--json FILE|-]\n"
             "       qmig check --lab DIR [migrate options]\n\n"
             "Connects to both QEMUs and runs every check `qmig migrate` runs before it\n"
             "moves anything (versions, machine types, -uuid, CPU models and features,\n"
             "guest RAM, the stream's address and ports, multifd); reports all problems\n"
             "at once and changes nothing on either side.  Takes every migrate option:\n\n");
  cli_print_option_help(f);
  fprintf(f, "  --%-22s %s\n", "json FILE|-", "write the JSON report to FILE (- = stdout)");
  fprintf(f, "  --%-22s %s\n", "quiet", "no finding lines (exit code and JSON only)");
  fprintf(f, "  --%-22s %s\n", "verbose", "print every engine state change");
  fprintf(f, "  --%-22s %s\n", "progress", "accepted for symmetry with migrate; no effect");
  fprintf(f, "\nPrints \"ok\", \"skip\" (could not be checked) or \"FAIL\" and the check's\n"
             "name per finding.  Exit: 0 every check passed, 2 usage, 3 a check failed\n"
             "or the QEMUs could not be reached.\n");
}

static void on_state(void *ud, enum qmig_state from, enum qmig_state to, const char *why)
{
  (void)from;
  if (*(bool *)ud)
    fprintf(stderr, "qmig: %s%s%s\n", qmig_state_name(to), why[0] ? ": " : "", why);
}

/* One line per finding of the report's "preflight" section; the number of
 * failed findings, or -1 when there is no such section. */
static int print_findings(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_preflight *pf = qmig_report_preflight(m);
  if (!pf)
    return -1;
  int nfail = 0;
  for (unsigned i = 0; i < pf->nfindings; i++) {
    const struct qmig_finding *fd = &pf->findings[i];
    fprintf(f, "%-4s %s: %s\n",
            !fd->ok       ? "FAIL"
            : fd->skipped ? "skip"
                          : "ok",
            fd->check, fd->detail);
    nfail += !fd->ok;
  }
  return nfail;
}

int cmd_check(int argc, char **argv)
{
  struct qmig_migration *m = qmig_new();
  if (!m)
    return QMIG_NOT_STARTED;
  struct cli_flags fl = { .progress = false };
  int rc = cli_parse(argc, argv, "check", m, &fl, help);
  if (rc != 0) {
    rc = rc > 0 ? 0 : QMIG_USAGE;
    goto out;
  }
  const char *json = fl.json;
  bool quiet = fl.quiet, verbose = fl.verbose;
  qmig_on_state(m, on_state, &verbose);
  rc = qmig_check(m);
  if (rc == QMIG_USAGE) {
    fprintf(stderr, "qmig check: %s\n", qmig_error(m));
    goto out;
  }
  FILE *f = json && !strcmp(json, "-") ? stderr : stdout;
  int nfail = quiet ? 0 : print_findings(f, m);
  /* A failure outside the findings (QMP unreachable, probing refused). */
  if (rc != QMIG_MIGRATED && nfail <= 0)
    fprintf(quiet ? stderr : f, "FAIL %s\n", qmig_error(m));
  if (json)
    cli_write_report(m, json, "check");
  rc = rc == QMIG_MIGRATED ? 0 : QMIG_NOT_STARTED;
out:
  qmig_free(m);
  return rc;
}
