/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update.c - the bench's mode=update (bench/bench.h): a live update of the
 * lab's source to a new process on the same host, side by side with a
 * normal migration to the lab's destination.  Only the source may run
 * before (the new process is made from it), so the lab's destination is
 * ended first, by its pid; the new process takes its place in the lab's
 * files (dst.qmp, dst.serial, dst.pid), where the memory check and lab
 * stop find it. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "lab/lab.h"

int bench_update_prepare(const char *dir, char *err, size_t errlen)
{
  int pid = lab_side_pid(dir, 1);
  if (pid > 0 && kill(pid, SIGTERM) < 0 && errno != ESRCH)
    return errbuf_setf(err, errlen, "ending the lab's destination (pid %d): %s", pid,
                       strerror(errno));
  for (int i = 0; pid > 0 && i < 500 && kill(pid, 0) == 0; i++)
    usleep(10000);
  if (pid > 0 && kill(pid, 0) == 0)
    return errbuf_setf(err, errlen, "the lab's destination (pid %d) does not end", pid);
  char path[PATH_MAX];
  static const char *const files[] = { "dst.qmp", "dst.serial", "dst.pid" };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  return 0;
}

int bench_update_apply(struct qmig_migration *m, const char *dir, char *err, size_t errlen)
{
  if (qmig_set(m, "live-update", "auto") < 0 || qmig_set(m, "spawn-dir", dir) < 0 ||
      qmig_set(m, "spawn-name", "dst") < 0)
    return errbuf_setf(err, errlen, "mode update: %s", qmig_error(m));
  return 0;
}
