/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/linux.c - the Linux lab guest (`qmig lab start --guest linux`): a
 * Debian kernel and an initramfs whose /init is guest/linux/init.c, found
 * beside the binary (build tree) or installed; its kernel command line; and
 * its memory check, which the guest runs itself on a "VERIFY" line on its
 * serial port (qmig_verify_guest_serial). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "lab/lab.h"

#ifndef QMIG_DATADIR
#define QMIG_DATADIR "/usr/local/share/qmig"
#endif

bool lab_guest_is_linux(const struct qmig_lab_options *o)
{
  return o->guest && !strcmp(o->guest, "linux");
}

static int both_readable(struct lab_linux *lx, const char *dir)
{
  snprintf(lx->kernel, sizeof lx->kernel, "%s/vmlinuz", dir);
  snprintf(lx->initrd, sizeof lx->initrd, "%s/initramfs.cpio.gz", dir);
  return access(lx->kernel, R_OK) == 0 && access(lx->initrd, R_OK) == 0 ? 0 : -1;
}

int lab_linux_find(struct lab_linux *lx, char *err, size_t errlen)
{
  const char *env = getenv("QMIG_LINUX_GUEST"); /* a directory */
  if (env)
    return both_readable(lx, env) == 0
               ? 0
               : errbuf_setf(err, errlen,
                             "no vmlinuz and initramfs.cpio.gz in $QMIG_LINUX_GUEST %s", env);
  char exe[PATH_MAX], d[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      static const char *const rel[] = { "linux", "../share/qmig/linux" };
      for (size_t i = 0; i < 2; i++) {
        snprintf(d, sizeof d, "%s/%s", exe, rel[i]);
        if (both_readable(lx, d) == 0)
          return 0;
      }
    }
  }
  if (both_readable(lx, QMIG_DATADIR "/linux") == 0)
    return 0;
  return errbuf_setf(err, errlen,
                     "the Linux guest's kernel and initramfs are not built "
                     "(make deps fetches the kernel, make builds the initramfs)");
}

void lab_linux_append(const struct qmig_lab_options *o, char *out, size_t len)
{
  /* quiet, loglevel=1: nothing but our lines on ttyS0.  ipv6.disable=1:
   * the guest sends nothing unasked (no IPv6 router solicitation, DAD or
   * MLD), so only announcements tell a switch that it moved.  On the
   * switch (netns) it greets the client once at boot (client=, see
   * guest/linux/init.c): the switch and the client learn it then. */
  snprintf(out, len,
           "console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off ipv6.disable=1 "
           "fill=%u dirty=%u hb=%u "
           "ip=%s prefix=24 port=%u%s%s",
           o->fill_mib, o->dirty_mibps, o->heartbeat_ms, LAB_GUEST_ADDR, LAB_GUEST_PORT,
           o->netns ? " client=" : "", o->netns ? LAB_CLIENT_ADDR : "");
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qmig_verify_guest_serial(const char *serial_path, unsigned timeout_ms, struct qmig_memcheck *r,
                             char *err, size_t errlen)
{
  memset(r, 0, sizeof *r);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen(serial_path) >= sizeof sa.sun_path)
    return errbuf_setf(err, errlen, "serial socket path %s is too long", serial_path);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", serial_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return errbuf_setf(err, errlen, "serial %s: %s", serial_path, strerror(e));
  }
  int rc = -1;
  if (write(fd, "\nVERIFY\n", 8) != 8) {
    errbuf_setf(err, errlen, "serial %s: cannot write: %s", serial_path, strerror(errno));
    goto out;
  }
  char buf[4096];
  size_t len = 0;
  errbuf_setf(err, errlen, "guest on %s did not answer VERIFY within %u ms", serial_path,
              timeout_ms);
  for (int64_t end = mono_ms() + timeout_ms, left; (left = end - mono_ms()) > 0;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, (int)left) <= 0)
      continue;
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
      errbuf_setf(err, errlen, "serial %s closed before the guest answered VERIFY", serial_path);
      break;
    }
    len += (size_t)n;
    buf[len] = '\0';
    char *v = strstr(buf, "VERIFY ");
    char *nl = v ? strchr(v, '\n') : NULL;
    if (nl) {
      *nl = '\0';
      unsigned long long bad = 0;
      unsigned first = 0, pos = 0, pages = 0, word = 0;
      if (sscanf(v, "VERIFY OK pages=%u pos=%u", &pages, &pos) == 2) {
        rc = 0;
      } else if (sscanf(v, "VERIFY FAILED bad=%llu first=%u pos=%u pages=%u word=%u", &bad, &first,
                        &pos, &pages, &word) == 5) {
        rc = 1;
        snprintf(r->detail, sizeof r->detail,
                 "%llu of %u pages wrong, first page %u at word %u (guest page writes %u)", bad,
                 pages, first, word, pos);
      } else {
        errbuf_setf(err, errlen, "guest answered '%.200s'", v);
        break;
      }
      r->pages_checked = pages;
      r->pages_bad = bad;
      r->first_bad_page = first;
      r->pos = pos;
      r->npages = pages;
      break;
    }
    char *last = strrchr(buf, '\n'); /* keep only the unfinished line */
    if (last) {
      len = strlen(last + 1);
      memmove(buf, last + 1, len + 1);
    } else if (len > sizeof buf / 2) {
      len = 0;
    }
  }
out:
  close(fd);
  return rc;
}
