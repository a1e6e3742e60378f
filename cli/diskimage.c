/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* diskimage.c - `qmig verify-disk-image`: check a lab guest's disk image. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void help(FILE *f)
{
  fprintf(f, "usage: qmig verify-disk-image --image PATH --format raw|qcow2 [--json FILE|-]\n\n"
             "Checks the disk the qmig test guest wrote (qmig lab start --disk: DIR/disk.FORMAT)\n"
             "against what it last wrote, unit by unit; its QEMU must be stopped or gone (qmig\n"
             "verify-memory leaves the guest stopped).  The format is never probed.\n"
             "Exit: 0 every unit right, 1 wrong units, 3 the check could not run.\n\n"
             "  --json FILE|-   write the result as JSON (- = stdout, instead of the text)\n");
}

int cmd_verify_disk_image(int argc, char **argv)
{
  static const struct option lo[] = {
    { "image", required_argument, NULL, 'i' },
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { "json", required_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  const char *image = NULL, *format = NULL, *json = NULL;
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'i': image = optarg; break;
    case 'f': format = optarg; break;
    case 'j': json = optarg; break;
    case 'h': help(stdout); return 0;
    default: help(stderr); return QMIG_USAGE;
    }
  }
  if (optind < argc || !image || !format) {
    fprintf(stderr, "qmig verify-disk-image: %s\n",
            optind < argc ? "unexpected argument" : "--image PATH and --format raw|qcow2 needed");
    return QMIG_USAGE;
  }
  if (strcmp(format, "raw") && strcmp(format, "qcow2")) {
    fprintf(stderr, "qmig verify-disk-image: --format '%s' is not raw or qcow2\n", format);
    return QMIG_USAGE;
  }

  struct qmig_diskcheck r;
  char err[1024];
  int rc = qmig_verify_disk_image(image, format, &r, err, sizeof err);
  if (json &&
      cli_write_json(cli_diskcheck_json(image, format, rc, &r, err), json, "verify-disk-image") < 0)
    return 3;
  if (json && !strcmp(json, "-"))
    return rc < 0 ? 3 : rc;
  if (rc < 0) {
    fprintf(stderr, "qmig verify-disk-image: %s\n", err);
    return 3;
  }
  printf("disk check: %s: %llu units checked, %llu bad%s (disk unit writes %u)\n",
         rc == 0 ? "OK" : "FAILED", (unsigned long long)r.units_checked,
         (unsigned long long)r.units_bad, r.excused ? ", 1 unit mid-write excused" : "", r.dpos);
  printf("  %s\n", r.detail);
  return rc;
}
