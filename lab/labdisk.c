/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/labdisk.c - the lab's shared disk: one image in the run directory
 * that both QEMUs attach (shared storage), and running qemu-img. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/pattern.h"
#include "common/errbuf.h"
#include "common/files.h"
#include "common/run.h"
#include "lab/lab.h"

/* A new image at path (the guest's generations begin at 1 again). */
static int create_image(const char *path, const char *format, unsigned mib, char *err,
                        size_t errlen)
{
  char size[32], why[512];
  snprintf(size, sizeof size, "%uM", mib);
  const char *argv[] = { "qemu-img", "create", "-q", "-f", format, path, size, NULL };
  if (unlink(path) < 0 && errno != ENOENT)
    return errbuf_setf(err, errlen, "remove the old %s: %s", path, strerror(errno));
  if (run_argv(argv, why, sizeof why) < 0)
    return errbuf_setf(err, errlen, "create %s: %s", path, why);
  return 0;
}

/* The shared data disk: raw, random content (the guest never touches it). */
static int create_data_disk(const char *path, unsigned mib, char *err, size_t errlen)
{
  int in = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  int out = files_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char buf[65536];
  int rc = 0;
  if (in < 0 || out < 0)
    rc = errbuf_setf(err, errlen, "%s: %s", in < 0 ? "/dev/urandom" : path, strerror(errno));
  for (uint64_t left = (uint64_t)mib << 20; rc == 0 && left;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0 || write(out, buf, (size_t)n) != n)
      rc = errbuf_setf(err, errlen, "filling %s: %s", path, strerror(errno));
    else
      left -= (uint64_t)n;
  }
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) < 0 && rc == 0)
    rc = errbuf_setf(err, errlen, "%s: %s", path, strerror(errno));
  return rc;
}

int lab_disk_create(const struct qmig_lab_options *o, const char *dir, struct lab_disk *d,
                    char *err, size_t errlen)
{
  int fd;

  d->format = o->disk_format ? o->disk_format : "raw";
  if (strcmp(d->format, "raw") && strcmp(d->format, "qcow2"))
    return errbuf_setf(err, errlen, "disk format '%s' is not raw or qcow2", d->format);
  if (o->disk_cache && strcmp(o->disk_cache, "none") && strcmp(o->disk_cache, "writeback"))
    return errbuf_setf(err, errlen, "disk cache '%s' is not none or writeback", o->disk_cache);
  if (o->disk_mib > QG_MAX_DISK_MIB)
    return errbuf_setf(err, errlen, "disk of %u MiB is beyond the guest's LBA28 (at most %u MiB)",
                       o->disk_mib, QG_MAX_DISK_MIB);
  /* -drive takes ',' as its separator: a path with one would need escaping */
  if (strchr(dir, ','))
    return errbuf_setf(err, errlen, "run directory %s has a ',' (cannot go into -drive)", dir);
  if (snprintf(d->path, sizeof d->path, "%s/disk.%s", dir, d->format) >= (int)sizeof d->path)
    return errbuf_setf(err, errlen, "run directory path %s too long", dir);

  if (create_image(d->path, d->format, o->disk_mib, err, errlen) < 0)
    return -1;

  /* The destination's disk: the same image, or its own empty one. */
  snprintf(d->dst_path, sizeof d->dst_path, "%s", d->path);
  d->dst_format = d->format;
  d->data_path[0] = d->dst_data_path[0] = '\0';
  if (!o->disk_copy && (o->dst_disk_format || o->dst_disk_mib || o->dst_no_disk))
    return errbuf_setf(err, errlen, "destination disk variants need a non-shared disk (disk copy)");
  if (o->disk_copy && o->dst_no_disk) {
    d->dst_path[0] = '\0';
    d->dst_format = NULL;
  } else if (o->disk_copy) {
    d->dst_format = o->dst_disk_format ? o->dst_disk_format : d->format;
    if (strcmp(d->dst_format, "raw") && strcmp(d->dst_format, "qcow2"))
      return errbuf_setf(err, errlen, "destination disk format '%s' is not raw or qcow2",
                         d->dst_format);
    snprintf(d->dst_path, sizeof d->dst_path, "%s/disk-dst.%s", dir, d->dst_format);
    if (create_image(d->dst_path, d->dst_format, o->dst_disk_mib ? o->dst_disk_mib : o->disk_mib,
                     err, errlen) < 0)
      return -1;
  }
  d->data_format = "raw";
  if (o->data_disk_top && !o->data_disk_mib)
    return errbuf_setf(err, errlen, "a data disk overlay needs a data disk size");
  if (o->data_disk_mib && !o->data_disk_top) {
    snprintf(d->data_path, sizeof d->data_path, "%s/data.raw", dir);
    if (create_data_disk(d->data_path, o->data_disk_mib, err, errlen) < 0)
      return -1;
  } else if (o->data_disk_mib) {
    /* base (random, shared) <- overlay with 1 MiB rewritten at 1 MiB */
    char base[PATH_MAX + 16], why[512];
    snprintf(base, sizeof base, "%s/data-base.raw", dir);
    if (create_data_disk(base, o->data_disk_mib, err, errlen) < 0)
      return -1;
    d->data_format = "qcow2";
    snprintf(d->data_path, sizeof d->data_path, "%s/data.qcow2", dir);
    snprintf(d->dst_data_path, sizeof d->dst_data_path, "%s/data-dst.qcow2", dir);
    for (int k = 0; k < (o->disk_copy ? 2 : 1); k++) {
      const char *p = k ? d->dst_data_path : d->data_path;
      const char *mk[] = { "qemu-img", "create", "-q",  "-f", "qcow2", "-b",
                           base,       "-F",     "raw", p,    NULL };
      unlink(p);
      if (run_argv(mk, why, sizeof why) < 0)
        return errbuf_setf(err, errlen, "create %s: %s", p, why);
    }
    const char *wr[] = {
      "qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 1M", d->data_path, NULL
    };
    if (o->data_disk_mib < 2 || run_argv(wr, why, sizeof why) < 0)
      return errbuf_setf(err, errlen, "write into %s: %s", d->data_path,
                         o->data_disk_mib < 2 ? "the data disk needs 2 MiB at least" : why);
  }
  if (o->data_disk_copy && (!o->disk_copy || o->data_disk_top || !o->data_disk_mib))
    return errbuf_setf(err, errlen,
                       "a destination data disk of its own needs a non-shared disk "
                       "and a raw data disk");
  if (o->data_disk_copy) {
    snprintf(d->dst_data_path, sizeof d->dst_data_path, "%s/data-dst.raw", dir);
    if (create_image(d->dst_data_path, "raw", o->data_disk_mib, err, errlen) < 0)
      return -1;
  }
  if (!d->dst_data_path[0] || !o->disk_copy)
    snprintf(d->dst_data_path, sizeof d->dst_data_path, "%s", d->data_path);

  /* cache=none (O_DIRECT) is what shared storage between two hosts needs;
   * a filesystem without O_DIRECT (tmpfs before Linux 6.6) gets writeback,
   * which is coherent here because both QEMUs share this host's page cache. */
  d->cache = o->disk_cache ? o->disk_cache : "none";
  if (!strcmp(d->cache, "none")) {
    fd = open(d->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
    } else if (errno == EINVAL && !o->disk_cache) {
      d->cache = "writeback";
    } else {
      return errbuf_setf(err, errlen, "%s with O_DIRECT (cache=none): %s", d->path,
                         strerror(errno));
    }
  }
  return 0;
}
