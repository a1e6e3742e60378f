/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verifydisks.c - `qmig verify-disks`: are two disk images identical? */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"

static void help(FILE *f)
{
  fprintf(f, "usage: qmig verify-disks --src URI|FILE [--src-format raw|qcow2]\n"
             "                         --dst URI|FILE [--dst-format raw|qcow2] [--json FILE|-]\n\n"
             "Compares two disks as a guest reads them, through NBD: an NBD URI\n"
             "(nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH) or an image file\n"
             "served read-only by qemu-nbd.  A file needs its format: qmig never probes.\n"
             "Chunks are compared by SHA-256, differing ones byte by byte; the first\n"
             "differing ranges are printed.\n\n"
             "  --src, --dst URI|FILE        the two disks\n"
             "  --src-format, --dst-format F raw or qcow2 (files only)\n"
             "  --json FILE|-                write the result as JSON (- = stdout)\n"
             "\nExit: 0 identical, 1 different, 2 usage, 3 could not compare.\n");
}

static int write_json(const char *path, const struct qmig_diskdiff *r, int rc, const char *err)
{
  json_t *ranges = json_array(), *o;
  unsigned n = r->nranges < 10 ? r->nranges : 10;

  for (unsigned i = 0; i < n; i++)
    json_array_append_new(ranges, json_pack("{s:I, s:I}", "offset", (json_int_t)r->ranges[i].offset,
                                            "length", (json_int_t)r->ranges[i].length));
  o = json_pack(
      "{s:i, s:s, s:I, s:I, s:I, s:I, s:i, s:o, s:f, s:s}", "schema", QMIG_REPORT_SCHEMA, "result",
      rc == 0   ? "identical"
      : rc == 1 ? "different"
                : "error",
      "size_src", (json_int_t)r->size_src, "size_dst", (json_int_t)r->size_dst, "bytes_compared",
      (json_int_t)r->bytes_compared, "bytes_differing", (json_int_t)r->bytes_differing, "nranges",
      (int)r->nranges, "ranges", ranges, "seconds", r->seconds, "detail", rc < 0 ? err : r->detail);
  if (!o) {
    fprintf(stderr, "qmig verify-disks: out of memory for the JSON result\n");
    return -1;
  }
  int fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
  int bad = fd < 0 || json_dumpfd(o, fd, JSON_INDENT(2)) < 0;
  if (fd > 1 && close(fd) < 0)
    bad = 1;
  if (!bad && !strcmp(path, "-"))
    putchar('\n');
  json_decref(o);
  if (bad)
    fprintf(stderr, "qmig verify-disks: cannot write %s\n", path);
  return bad ? -1 : 0;
}

static void print(FILE *f, const struct qmig_diskdiff *r, int rc)
{
  if (rc == 0) {
    double mib = (double)r->bytes_compared / 1048576.0;
    fprintf(f, "disks identical: %" PRIu64 " bytes compared in %.2f s (%.0f MiB/s)\n",
            r->bytes_compared, r->seconds, r->seconds > 0 ? mib / r->seconds : 0.0);
    return;
  }
  if (r->size_src != r->size_dst) {
    fprintf(f, "disks DIFFER in size: source %" PRIu64 " bytes, destination %" PRIu64 " bytes\n",
            r->size_src, r->size_dst);
    return;
  }
  fprintf(f, "disks DIFFER: %" PRIu64 " bytes in %u range%s; first:", r->bytes_differing,
          r->nranges, r->nranges == 1 ? "" : "s");
  for (unsigned i = 0; i < r->nranges && i < 10; i++)
    fprintf(f, "%s %" PRIu64 "..%" PRIu64, i ? "," : "", r->ranges[i].offset,
            r->ranges[i].offset + r->ranges[i].length);
  fprintf(f, "%s\n", r->nranges > 10 ? ", ..." : "");
}

int cmd_verify_disks(int argc, char **argv)
{
  static const struct option lo[] = {
    { "src", required_argument, NULL, 's' },
    { "dst", required_argument, NULL, 'd' },
    { "src-format", required_argument, NULL, 'S' },
    { "dst-format", required_argument, NULL, 'D' },
    { "json", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *src = NULL, *dst = NULL, *sfmt = NULL, *dfmt = NULL, *json = NULL;
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 's': src = optarg; break;
    case 'd': dst = optarg; break;
    case 'S': sfmt = optarg; break;
    case 'D': dfmt = optarg; break;
    case 'j': json = optarg; break;
    case 'h': help(stdout); return 0;
    default: fprintf(stderr, "qmig verify-disks: try --help\n"); return QMIG_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "qmig verify-disks: unexpected argument '%s'\n", argv[optind]);
    return QMIG_USAGE;
  }
  if (!src || !dst) {
    fprintf(stderr, "qmig verify-disks: --src and --dst are both needed\n");
    return QMIG_USAGE;
  }
  static const char *const side[] = { "src", "dst" };
  const char *specs[] = { src, dst }, *fmts[] = { sfmt, dfmt };
  for (int i = 0; i < 2; i++) {
    if (fmts[i] && strcmp(fmts[i], "raw") && strcmp(fmts[i], "qcow2")) {
      fprintf(stderr, "qmig verify-disks: --%s-format '%s' is not raw or qcow2\n", side[i],
              fmts[i]);
      return QMIG_USAGE;
    }
    if (!fmts[i] && !strstr(specs[i], "://")) { /* a file: the library would refuse too */
      fprintf(stderr,
              "qmig verify-disks: %s: give its format with --%s-format (raw or "
              "qcow2); qmig never probes\n",
              specs[i], side[i]);
      return QMIG_USAGE;
    }
  }

  struct qmig_diskdiff r;
  char err[1024] = "";
  int rc = qmig_verify_disks(src, sfmt, dst, dfmt, &r, err, sizeof err);
  if (rc < 0)
    fprintf(stderr, "qmig verify-disks: %s\n", err);
  else
    print(json && !strcmp(json, "-") ? stderr : stdout, &r, rc);
  if (json && write_json(json, &r, rc, err) < 0 && rc >= 0)
    return 3;
  return rc < 0 ? 3 : rc;
}
