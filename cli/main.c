/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c - `qmig SUBCOMMAND ...` dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
  fprintf(f, "usage: qmig COMMAND [options]   (qmig COMMAND --help for each)\n"
             "\n"
             "  migrate        live-migrate a guest between two QEMUs over QMP\n"
             "  recover        after qmig migrate died: bring the pair to one running guest\n"
             "  update         live update: move a guest to a new QEMU process on this host\n"
             "  pingpong       migrate a guest back and forth on this host, with statistics\n"
             "  calibrate      pause a running guest: how well heartbeat and probe agree\n"
             "  check          preflight only: report every problem, change nothing\n"
             "  dirty-rate     measure the source guest's dirty rate, predict a migration\n"
             "  lab            start|stop|status a local source/destination pair\n"
             "  verify-memory  check the lab guest's memory against what it wrote\n"
             "  verify-disks   compare two disk images (files or NBD exports) block by block\n"
             "  create-disks   create empty destination images like the source's disks\n"
             "  verify-disk-image  check the lab guest's disk image against what it wrote\n"
             "  demo           start a lab pair, migrate it, print the downtime report\n"
             "  bench          repeated, interleaved lab migrations of scenarios, with statistics\n"
             "  agent          destination side of a tunnelled migration (--tunnel)\n"
             "\n"
             "Exit codes: 0 migrated; 1 not migrated, source running; 2 usage;\n"
             "3 could not start; 4 guest state uncertain.\n");
}

const char *cli_default_lab_dir(void)
{
  static char d[64];
  const char *e = getenv("QMIG_LAB_DIR");
  if (e && *e)
    return e;
  snprintf(d, sizeof d, "/tmp/qmig-lab-%u", (unsigned)getuid());
  return d;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return QMIG_USAGE;
  }
  const char *c = argv[1];
  if (!strcmp(c, "--version") || !strcmp(c, "version")) {
    printf("qmig %s\n", QMIG_VERSION);
    return 0;
  }
  if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
    usage(stdout);
    return 0;
  }
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } cmds[] = {
    { "migrate", cmd_migrate },
    { "check", cmd_check },
    { "dirty-rate", cmd_dirty_rate },
    { "lab", cmd_lab },
    { "verify-memory", cmd_verify_memory },
    { "verify-disks", cmd_verify_disks },
    { "verify-disk-image", cmd_verify_disk_image },
    { "demo", cmd_demo },
    { "bench", cmd_bench },
    { "agent", cmd_agent },
    { "create-disks", cmd_create_disks },
    { "recover", cmd_recover },
    { "update", cmd_update },
    { "pingpong", cmd_pingpong },
    { "calibrate", cmd_calibrate },
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(c, cmds[i].name))
      return cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "qmig: unknown command '%s'\n", c);
  usage(stderr);
  return QMIG_USAGE;
}
