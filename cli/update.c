/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update.c - `qmig update`: live update, the guest moved to a new QEMU
 * process on this host (the same binary or --dst-qemu-binary), exactly one
 * left running.  It is `qmig migrate --live-update auto` (the engine's
 * engine/update.c probes and chooses cpr-transfer, x-ignore-shared or a
 * normal local migration); every migrate option applies, and a later
 * --live-update forces a mechanism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_print_update(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_update *u = qmig_report_update(m);
  if (!u)
    return;
  fprintf(f, "  %-24s %s (%s)\n", u->mechanism ? "new process" : "new process: none chosen",
          u->mechanism ? u->mechanism : "", u->reason);
  if (u->new_pid)
    fprintf(f, "  %-24s pid %d (%s)%s%s, QMP %s; old pid %d\n", "", u->new_pid, u->new_binary,
            u->new_host[0] ? " on " : "", u->new_host, u->new_qmp, u->old_pid);
  if (u->advice[0])
    fprintf(f, "  %-24s %s\n", "next time", u->advice);
}

int cmd_update(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: qmig update --src unix:PATH [--dst-qemu-binary BIN] [--spawn-dir DIR]\n"
             "                    [--map OLD=NEW,...] [migrate options]\n"
             "       qmig update --lab DIR [options]\n\n"
             "Moves the guest of the QEMU behind --src to a new QEMU process on this host,\n"
             "started from the running one's command line, and quits the old one.  The\n"
             "mechanism is probed: cpr-transfer (RAM in a shared memfd, aux-ram-share=on),\n"
             "else x-ignore-shared (RAM a shared file on /dev/shm), else a normal local\n"
             "migration; the report's \"update\" section says which and why, and what\n"
             "would allow a faster one.  --live-update cpr-transfer|ignore-shared|migrate\n"
             "forces one (refused, nothing started, when it cannot apply).\n\n");
      break;
    }
  char **av = calloc((size_t)argc + 3, sizeof *av);
  if (!av)
    return QMIG_NOT_STARTED;
  av[0] = argv[0];
  av[1] = "--live-update";
  av[2] = "auto";
  for (int i = 1; i < argc; i++)
    av[i + 2] = argv[i];
  int rc = cmd_migrate(argc + 2, av);
  free(av);
  return rc;
}
