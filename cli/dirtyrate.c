/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dirtyrate.c - `qmig dirty-rate`: the source guest's dirty rate and what it
 * means for a precopy migration over a given bandwidth.  Needs only the
 * source; changes nothing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The library options this command uses; getopt's val is the index. */
static const char *const keys[] = {
  "src",
  "dst",
  "lab",
  "link-bandwidth",
  "max-bandwidth",
  "downtime-limit",
  "dirty-rate-time",
  "ram-in-use",
  "qmp-timeout",
};
#define NKEYS (sizeof keys / sizeof keys[0])
enum { O_JSON = 1000, O_HELP };

static void help(FILE *f)
{
  fprintf(f, "usage: qmig dirty-rate --src ADDR | --lab DIR [options] [--json FILE|-]\n\n"
             "Measures the source guest's dirty rate (QEMU's calc-dirty-rate, page\n"
             "sampling) and predicts a precopy migration at the given bandwidth: whether\n"
             "it converges, in how many passes, its total time and downtime.  Only the\n"
             "source is contacted; nothing is changed.\n\n");
  for (size_t i = 0; i < NKEYS; i++)
    fprintf(f, "  --%-22s %s\n", keys[i], qmig_option_help(keys[i]));
  fprintf(f, "  --%-22s %s\n", "json FILE|-", "write the JSON report to FILE (- = stdout)");
  fprintf(f, "\nExit: 0 measured, 2 usage, 3 could not measure.\n");
}

static double mib(uint64_t bytes)
{
  return bytes / 1048576.0;
}

static void print_prediction(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_prediction *p = qmig_report_prediction(m);
  if (!p)
    return;
  const char *note = p->note;
  fprintf(f,
          "dirty rate: %.1f MiB/s (calc-dirty-rate said %d, rounded down; %d s, %d sample "
          "pages per GiB)\n",
          p->dirty_rate_bytes_per_s / 1048576.0, (int)p->qemu_dirty_rate_mib_per_s,
          (int)p->measure_s, (int)p->sample_pages_per_gib);
  fprintf(f, "guest RAM: %.0f MiB, %.0f MiB holding data (%s)\n", mib(p->ram_bytes),
          mib(p->ram_in_use_bytes), p->ram_in_use_from);
  if (p->converges < 0) {
    fprintf(f, "no prediction: %s\n", note ? note : "?");
  } else {
    fprintf(f, "precopy at %.1f MiB/s (%s), downtime limit %d ms: ", mib(p->bandwidth_bytes_per_s),
            p->bandwidth_from, (int)p->downtime_limit_ms);
    if (p->converges == 1)
      fprintf(f, "converges after %d passes, total %.1f s, downtime %.0f ms\n", (int)p->passes,
              p->total_ms / 1000.0, p->downtime_ms);
    else
      fprintf(f, "does not converge\n");
    if (note)
      fprintf(f, "  (%s)\n", note);
  }
}

int cmd_dirty_rate(int argc, char **argv)
{
  struct option lo[NKEYS + 3];
  for (size_t i = 0; i < NKEYS; i++)
    lo[i] = (struct option){ keys[i], required_argument, NULL, (int)i };
  lo[NKEYS] = (struct option){ "json", required_argument, NULL, O_JSON };
  lo[NKEYS + 1] = (struct option){ "help", no_argument, NULL, O_HELP };
  lo[NKEYS + 2] = (struct option){ NULL, 0, NULL, 0 };

  struct qmig_migration *m = qmig_new();
  if (!m)
    return QMIG_NOT_STARTED;
  const char *json = NULL;
  int c, rc = QMIG_USAGE;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if (c >= 0 && (size_t)c < NKEYS) {
      if (cli_set(m, keys[c], optarg, "dirty-rate") < 0)
        goto out;
    } else if (c == O_JSON) {
      json = optarg;
    } else if (c == O_HELP || c == 'h') {
      help(stdout);
      rc = 0;
      goto out;
    } else {
      fprintf(stderr, "qmig dirty-rate: try --help\n");
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "qmig dirty-rate: unexpected argument '%s'\n", argv[optind]);
    goto out;
  }
  rc = qmig_dirty_rate(m);
  if (rc != QMIG_MIGRATED)
    fprintf(stderr, "qmig dirty-rate: %s\n", qmig_error(m));
  else
    print_prediction(json && !strcmp(json, "-") ? stderr : stdout, m);
  if (json && rc != QMIG_USAGE && cli_write_report(m, json, "dirty-rate") < 0 && rc == 0)
    rc = QMIG_NOT_STARTED;
out:
  qmig_free(m);
  return rc;
}
