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
#include "lab/lab.h"

static int ld_errf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ld_errf(char *err, size_t len, const char *fmt, ...)
{
  va_list ap;

  if (err && len) {
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int lab_run(const char *const *argv, char *err, size_t errlen)
{
  char out[1024];
  size_t len = 0;
  int p[2], st;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    return ld_errf(err, errlen, "%s: pipe: %s", argv[0], strerror(errno));
  pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return ld_errf(err, errlen, "%s: fork: %s", argv[0], strerror(errno));
  }
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, 0);
      dup2(nul, 1);
    }
    dup2(p[1], 2);
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(p[1]);
  for (;;) { /* keep the start of stderr, drain the rest */
    char sink[4096];
    ssize_t n = len < sizeof out - 1 ? read(p[0], out + len, sizeof out - 1 - len)
                                     : read(p[0], sink, sizeof sink);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (len < sizeof out - 1)
      len += (size_t)n;
  }
  out[len] = '\0';
  close(p[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  out[strcspn(out, "\n")] = '\0';
  if (out[0])
    return ld_errf(err, errlen, "%s: %s", argv[0], out);
  if (WIFEXITED(st))
    return ld_errf(err, errlen, "%s exited with status %d", argv[0], WEXITSTATUS(st));
  return ld_errf(err, errlen, "%s killed by signal %d", argv[0], WTERMSIG(st));
}

/* A new image at path (the guest's generations begin at 1 again). */
static int create_image(const char *path, const char *format, unsigned mib, char *err,
                        size_t errlen)
{
  char size[32], why[512];
  snprintf(size, sizeof size, "%uM", mib);
  const char *argv[] = { "qemu-img", "create", "-q", "-f", format, path, size, NULL };
  if (unlink(path) < 0 && errno != ENOENT)
    return ld_errf(err, errlen, "remove the old %s: %s", path, strerror(errno));
  if (lab_run(argv, why, sizeof why) < 0)
    return ld_errf(err, errlen, "create %s: %s", path, why);
  return 0;
}

/* The shared data disk: raw, random content (the guest never touches it). */
static int create_data_disk(const char *path, unsigned mib, char *err, size_t errlen)
{
  int in = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  char buf[65536];
  int rc = 0;
  if (in < 0 || out < 0)
    rc = ld_errf(err, errlen, "%s: %s", in < 0 ? "/dev/urandom" : path, strerror(errno));
  for (uint64_t left = (uint64_t)mib << 20; rc == 0 && left;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0 || write(out, buf, (size_t)n) != n)
      rc = ld_errf(err, errlen, "filling %s: %s", path, strerror(errno));
    else
      left -= (uint64_t)n;
  }
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) < 0 && rc == 0)
    rc = ld_errf(err, errlen, "%s: %s", path, strerror(errno));
  return rc;
}

int lab_disk_create(const struct qmig_lab_options *o, const char *dir, struct lab_disk *d,
                    char *err, size_t errlen)
{
  int fd;

  d->format = o->disk_format ? o->disk_format : "raw";
  if (strcmp(d->format, "raw") && strcmp(d->format, "qcow2"))
    return ld_errf(err, errlen, "disk format '%s' is not raw or qcow2", d->format);
  if (o->disk_cache && strcmp(o->disk_cache, "none") && strcmp(o->disk_cache, "writeback"))
    return ld_errf(err, errlen, "disk cache '%s' is not none or writeback", o->disk_cache);
  if (o->disk_mib > QG_MAX_DISK_MIB)
    return ld_errf(err, errlen, "disk of %u MiB is beyond the guest's LBA28 (at most %u MiB)",
                   o->disk_mib, QG_MAX_DISK_MIB);
  /* -drive takes ',' as its separator: a path with one would need escaping */
  if (strchr(dir, ','))
    return ld_errf(err, errlen, "run directory %s has a ',' (cannot go into -drive)", dir);
  if (snprintf(d->path, sizeof d->path, "%s/disk.%s", dir, d->format) >= (int)sizeof d->path)
    return ld_errf(err, errlen, "run directory path %s too long", dir);

  if (create_image(d->path, d->format, o->disk_mib, err, errlen) < 0)
    return -1;

  /* The destination's disk: the same image, or its own empty one. */
  snprintf(d->dst_path, sizeof d->dst_path, "%s", d->path);
  d->dst_format = d->format;
  d->data_path[0] = '\0';
  if (!o->disk_copy && (o->dst_disk_format || o->dst_disk_mib || o->dst_no_disk))
    return ld_errf(err, errlen, "destination disk variants need a non-shared disk (disk copy)");
  if (o->disk_copy && o->dst_no_disk) {
    d->dst_path[0] = '\0';
    d->dst_format = NULL;
  } else if (o->disk_copy) {
    d->dst_format = o->dst_disk_format ? o->dst_disk_format : d->format;
    if (strcmp(d->dst_format, "raw") && strcmp(d->dst_format, "qcow2"))
      return ld_errf(err, errlen, "destination disk format '%s' is not raw or qcow2",
                     d->dst_format);
    snprintf(d->dst_path, sizeof d->dst_path, "%s/disk-dst.%s", dir, d->dst_format);
    if (create_image(d->dst_path, d->dst_format, o->dst_disk_mib ? o->dst_disk_mib : o->disk_mib,
                     err, errlen) < 0)
      return -1;
  }
  if (o->data_disk_mib) {
    snprintf(d->data_path, sizeof d->data_path, "%s/data.raw", dir);
    if (create_data_disk(d->data_path, o->data_disk_mib, err, errlen) < 0)
      return -1;
  }

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
      return ld_errf(err, errlen, "%s with O_DIRECT (cache=none): %s", d->path,
                     strerror(errno));
    }
  }
  return 0;
}
