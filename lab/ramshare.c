/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ramshare.c - the lab's guest RAM in shared memory (--ram-share), so a
 * live update (qmig update) can hand it to a new process instead of
 * copying it: a memfd with -machine aux-ram-share=on where QEMU has that
 * property (cpr-transfer needs both), else a file on /dev/shm mapped
 * share=on (x-ignore-shared: the new process maps the same file).  Chosen
 * by asking the binary (-machine pc,help), not by its version.  Each side
 * has a file of its own (a normal migration to the lab's destination must
 * not write into the source's RAM); lab stop removes them. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "lab/lab.h"

/* Whether `qemu -machine pc,help` lists aux-ram-share (bounded: it exits
 * at once; its output is a few KiB). */
static int has_aux_ram_share(const char *qemu, char *err, size_t errlen)
{
  int p[2];
  if (pipe(p) < 0)
    return errbuf_setf(err, errlen, "pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return errbuf_setf(err, errlen, "fork: %s", strerror(errno));
  }
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execlp(qemu, qemu, "-machine", "pc,help", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char buf[65536];
  size_t n = 0;
  ssize_t r;
  while (n + 1 < sizeof buf && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = '\0';
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return errbuf_setf(err, errlen, "%s -machine pc,help failed (exit %d)", qemu,
                       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return strstr(buf, "aux-ram-share") != NULL;
}

static void shm_path(const char *dir, int side, char *out, size_t len)
{
  char real[PATH_MAX];
  const char *d = realpath(dir, real) ? real : dir;
  uint64_t h = 1469598103934665603ull; /* FNV-1a of the lab's directory */
  for (const char *c = d; *c; c++)
    h = (h ^ (unsigned char)*c) * 1099511628211ull;
  snprintf(out, len, "/dev/shm/qmig-lab-%016llx-%s.ram", (unsigned long long)h,
           side ? "dst" : "src");
}

int lab_ram_share_args(const struct qmig_lab_options *o, const char *qemu, const char *dir,
                       int side, const char *size, char *obj, size_t olen, char *machine,
                       size_t mlen, char *err, size_t errlen)
{
  obj[0] = '\0';
  snprintf(machine, mlen, "pc");
  if (!o->ram_share)
    return 0;
  int aux = has_aux_ram_share(qemu, err, errlen);
  if (aux < 0)
    return -1;
  if (aux) {
    snprintf(obj, olen, "memory-backend-memfd,id=ram0,size=%s,share=on", size);
    snprintf(machine, mlen, "pc,memory-backend=ram0,aux-ram-share=on");
    return 0;
  }
  char path[PATH_MAX];
  shm_path(dir, side, path, sizeof path);
  unlink(path); /* a previous lab's: the guest starts on fresh RAM */
  snprintf(obj, olen, "memory-backend-file,id=ram0,size=%s,mem-path=%s,share=on", size, path);
  snprintf(machine, mlen, "pc,memory-backend=ram0");
  return 0;
}

void lab_ram_share_unlink(const char *dir)
{
  char path[PATH_MAX];
  for (int side = 0; side < 2; side++) {
    shm_path(dir, side, path, sizeof path);
    unlink(path);
  }
}
