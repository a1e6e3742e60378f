/* opts.c - what `qmig migrate` and `qmig check` share: every library option
 * as a long option (so a command line can switch between the two verbs
 * unchanged) and the JSON report output. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct option *cli_long_options(const struct option *extra, size_t *nkeys)
{
  const char *const *keys = qmig_option_keys();
  size_t nk = 0, ne = 0;
  while (keys[nk])
    nk++;
  while (extra[ne].name)
    ne++;
  struct option *lo = calloc(nk + ne + 1, sizeof *lo); /* zeroed terminator */
  if (!lo)
    return NULL;
  for (size_t i = 0; i < nk; i++)
    lo[i] = (struct option){ keys[i], required_argument, NULL, (int)i };
  memcpy(lo + nk, extra, ne * sizeof *lo);
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
  bool to_stdout = !strcmp(path, "-");
  char *s = qmig_report_json(m);
  FILE *f = s ? (to_stdout ? stdout : fopen(path, "w")) : NULL;
  if (!f) {
    fprintf(stderr, "qmig %s: cannot write the report to %s\n", who, path);
    free(s);
    return -1;
  }
  fprintf(f, "%s\n", s);
  free(s);
  if (!to_stdout && fclose(f) != 0) {
    fprintf(stderr, "qmig %s: cannot write the report to %s\n", who, path);
    return -1;
  }
  return 0;
}
