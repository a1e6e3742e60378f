/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* opts.c - what `qmig migrate` and `qmig check` share: every library option
 * as a long option (so a command line can switch between the two verbs
 * unchanged) and the JSON report output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_set(struct qmig_migration *m, const char *key, const char *value, const char *who)
{
  char err[1024];
  if (strcmp(key, "lab") == 0) { /* the edge expands the lab into the other keys */
    if (qmig_lab_apply(m, value, err, sizeof err) == 0)
      return 0;
    fprintf(stderr, "qmig %s: %s\n", who, err);
    return -1;
  }
  if (qmig_set(m, key, value) == 0)
    return 0;
  fprintf(stderr, "qmig %s: %s\n", who, qmig_error(m));
  return -1;
}

/* Parse the command line of `qmig migrate` / `qmig check`: every library
 * option (qmig_set) plus the CLI's own flags.  0 to go on, 1 when --help
 * was printed, -1 on a usage error (message printed). */
int cli_parse(int argc, char **argv, const char *who, struct qmig_migration *m,
              struct cli_flags *fl, void (*help)(FILE *))
{
  enum { O_JSON = 1000, O_PROGRESS, O_QUIET, O_HELP, O_VERBOSE };
  static const struct option own[] = {
    { "json", required_argument, NULL, O_JSON }, { "progress", no_argument, NULL, O_PROGRESS },
    { "quiet", no_argument, NULL, O_QUIET },     { "help", no_argument, NULL, O_HELP },
    { "verbose", no_argument, NULL, O_VERBOSE }, { NULL, 0, NULL, 0 },
  };
  const char *const *names = qmig_option_keys();
  size_t nk = 0, nmig, nextra = 0;
  while (names[nk])
    nk++;
  nmig = nk;
  while (fl->extra && fl->extra[nextra].key)
    nextra++;
  /* every migration key takes a value; the extra table says */
  struct qmig_optkey *keys = calloc(nmig + nextra + 1, sizeof *keys);
  for (size_t i = 0; keys && i < nmig; i++)
    keys[i].key = names[i];
  for (size_t i = 0; keys && i < nextra; i++)
    keys[nmig + i] = fl->extra[i];
  struct option *lo = keys ? cli_longopts(keys, own, &nk) : NULL;
  free(keys);
  if (!lo) {
    fprintf(stderr, "qmig %s: out of memory\n", who);
    return -1;
  }
  int c, k, rc = 0;
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if ((k = cli_key_index(c, nk)) >= 0 && (size_t)k >= nmig) {
      const struct qmig_optkey *x = &fl->extra[(size_t)k - nmig];
      if (fl->set_extra(fl->extra_ud, x->key, x->flag ? "on" : optarg) < 0)
        rc = -1;
    } else if (k >= 0) {
      if (cli_set(m, names[k], optarg, who) < 0)
        rc = -1;
    } else if (c == O_JSON) {
      fl->json = optarg;
    } else if (c == O_PROGRESS) {
      fl->progress = true;
    } else if (c == O_QUIET) {
      fl->quiet = true;
    } else if (c == O_VERBOSE) {
      fl->verbose = true;
    } else if (c == O_HELP || c == 'h') {
      help(stdout);
      rc = 1;
    } else {
      fprintf(stderr, "qmig %s: try --help\n", who);
      rc = -1;
    }
  }
  if (rc == 0 && optind < argc) {
    fprintf(stderr, "qmig %s: unexpected argument '%s'\n", who, argv[optind]);
    rc = -1;
  }
  free(lo);
  return rc;
}

struct option *cli_longopts(const struct qmig_optkey *keys, const struct option *own, size_t *nkeys)
{
  size_t nk = 0, ne = 1;
  while (keys[nk].key)
    nk++;
  while (own[ne - 1].name)
    ne++;
  struct option *lo = calloc(nk + ne, sizeof *lo);
  if (!lo)
    return NULL;
  for (size_t i = 0; i < nk; i++)
    lo[i] = (struct option){ keys[i].key, keys[i].flag ? no_argument : required_argument, NULL,
                             CLI_KEY0 + (int)i };
  memcpy(lo + nk, own, ne * sizeof *own);
  *nkeys = nk;
  return lo;
}

void cli_print_option_help(FILE *f)
{
  for (const char *const *k = qmig_option_keys(); *k; k++)
    fprintf(f, "  --%-22s %s\n", *k, qmig_option_help(*k));
}

int cli_write_report(const struct qmig_migration *m, const char *path, const char *who)
{
  return cli_write_text(qmig_report_json(m), path, who);
}
