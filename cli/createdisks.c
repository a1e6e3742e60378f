/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* createdisks.c - `qmig create-disks`: empty destination images made like
 * the source's disks, before the destination QEMU starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(FILE *f)
{
  fprintf(f, "usage: qmig create-disks --dir DIR --src ADDR (--copy-disks NAME,... |\n"
             "                         --copy-all-disks on [--shared-disks NAME,...])\n\n"
             "Run on the destination host before starting the destination QEMU: for each\n"
             "disk of the source (QMP at ADDR) that these options would copy, creates an\n"
             "empty image of the same format (raw or qcow2) and virtual size, DIR/NAME.FORMAT,\n"
             "with qemu-img (never overwriting a file), and prints the -blockdev options\n"
             "that attach it under the source's disk name.  Then start the destination\n"
             "with them (and the same -device as the source) and run qmig migrate with the\n"
             "same --copy-disks.  Exit: 0 created, 2 usage, 3 failed (the images created\n"
             "before the failure are listed).\n");
}

int cmd_create_disks(int argc, char **argv)
{
  const char *dir = NULL;
  /* --dir is this command's own; the rest are migrate options. */
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  if (!rest)
    return QMIG_NOT_STARTED;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strncmp(argv[i], "--dir=", 6))
      dir = argv[i] + 6;
    else
      rest[n++] = argv[i];
  }
  struct qmig_migration *m = qmig_new();
  struct cli_flags fl = { .progress = false };
  int rc = m ? cli_parse(n, rest, "create-disks", m, &fl, help) : -1;
  if (rc != 0) {
    rc = rc > 0 ? 0 : QMIG_USAGE;
    goto out;
  }
  if (!dir) {
    fprintf(stderr, "qmig create-disks: --dir DIR is needed (try --help)\n");
    rc = QMIG_USAGE;
    goto out;
  }
  rc = qmig_create_disks(m, dir);
  const struct qmig_report_created_disks *cd = qmig_report_created_disks(m);
  for (unsigned i = 0; cd && i < cd->ndisks; i++)
    printf("%s: created %s (%s, %lld bytes)\n  %s\n", cd->disks[i].name, cd->disks[i].path,
           cd->disks[i].format, (long long)cd->disks[i].size, cd->disks[i].blockdev);
  if (rc != QMIG_MIGRATED)
    fprintf(stderr, "qmig create-disks: %s\n", qmig_error(m));
  if (fl.json)
    cli_write_report(m, fl.json, "create-disks");
  rc = rc == QMIG_MIGRATED ? 0 : rc == QMIG_USAGE ? QMIG_USAGE : QMIG_NOT_STARTED;
out:
  qmig_free(m);
  free(rest);
  return rc;
}
