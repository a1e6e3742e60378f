/* lab/ internals: the lab pair (lab.c), its shared disk (labdisk.c) and
 * the guest checkers (memcheck.c, diskcheck.c, see their headers).  Public
 * entry points are in qmig.h. */
#ifndef QMIG_LAB_H
#define QMIG_LAB_H

#include <limits.h>

#include "qmig.h"

/* Pid of the lab's QEMU on side 0 (source) or 1 (destination) in the run
 * directory `dir` (absolute), or 0 if it is not running. */
int lab_side_pid(const char *dir, int side);

/* CPU seconds (user + system) the lab's QEMU on `side` has used so far,
 * from /proc/PID/stat; -1 when it is not running.  lab_pid_cpu_s: the
 * same for any process. */
double lab_side_cpu_s(const char *dir, int side);
double lab_pid_cpu_s(int pid);

/* The lab's disk image, as both QEMUs attach it. */
struct lab_disk {
  char path[PATH_MAX]; /* DIR/disk.FORMAT */
  const char *format;  /* "raw" or "qcow2" (static strings or o's) */
  const char *cache;   /* "none" or "writeback" */
  /* the destination's: the same image (shared) or its own (disk_copy) */
  char dst_path[PATH_MAX];
  const char *dst_format; /* NULL: the destination has no disk */
  char data_path[PATH_MAX]; /* "drive1", "" without */
  char dst_data_path[PATH_MAX]; /* the destination's: data_path if shared */
  const char *data_format;
};

/* Check o's disk options and create DIR/disk.FORMAT of o->disk_mib MiB
 * anew with qemu-img (explicit format).  Picks the cache mode: o's, else
 * none, or writeback where O_DIRECT is refused.  0, or -1 with err. */
int lab_disk_create(const struct qmig_lab_options *o, const char *dir, struct lab_disk *d,
                    char *err, size_t errlen);

#endif
