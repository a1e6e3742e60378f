/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn.c - the source QEMU's pid and argv, and the new process started
 * beside it (engine/spawn.h).  The new QEMU is not daemonized by QEMU:
 * cpr-transfer's new process finishes its start-up only after the source
 * sent its state, so a -daemonize parent would not exit before `migrate`.
 * It gets its own session instead (it outlives qmig), and its pid is the
 * child's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/spawn.h"

static int64_t mono_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int unix_connect(const char *path)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

pid_t eng_spawn_peer_pid(const char *path, char *err, size_t errlen)
{
  int fd = unix_connect(path);
  if (fd < 0) {
    snprintf(err, errlen, "source QMP %s: %s", path, strerror(errno));
    return -1;
  }
  struct ucred cr;
  socklen_t cl = sizeof cr;
  int rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
  close(fd);
  if (rc < 0 || cr.pid <= 0) {
    snprintf(err, errlen, "source QMP %s: no peer credentials (%s)", path,
             rc < 0 ? strerror(errno) : "pid 0");
    return -1;
  }
  return cr.pid;
}

int eng_spawn_read_cmdline(pid_t pid, struct eng_strv *out, char *err, size_t errlen)
{
  char p[64], buf[65536];
  snprintf(p, sizeof p, "/proc/%d/cmdline", (int)pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  ssize_t n = 0, r;
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", p, strerror(errno));
    return -1;
  }
  while (n < (ssize_t)sizeof buf && (r = read(fd, buf + n, sizeof buf - (size_t)n)) > 0)
    n += r;
  close(fd);
  if (n <= 0 || n == (ssize_t)sizeof buf) {
    snprintf(err, errlen, "%s: %s", p,
             n <= 0 ? "empty (the process is gone)" : "longer than 64 KiB");
    return -1;
  }
  *out = (struct eng_strv){ 0 };
  for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
    if (eng_strv_push(out, buf + i) < 0) {
      eng_strv_free(out);
      snprintf(err, errlen, "%s: out of memory", p);
      return -1;
    }
  return 0;
}

static void child(const struct eng_spawned *sp, const struct eng_strv *argv, pid_t netns_pid)
{
  int fd = open(sp->log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || nul < 0)
    _exit(126);
  dup2(fd, 1);
  dup2(fd, 2);
  dup2(nul, 0);
  setsid();
  if (netns_pid > 0) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/net", (int)netns_pid);
    int ns = open(p, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
      dprintf(2, "qmig: cannot enter the source's network namespace %s: %s\n", p, strerror(errno));
      _exit(127);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  execvp(argv->v[0], argv->v);
  dprintf(2, "qmig: exec %s: %s\n", argv->v[0], strerror(errno));
  _exit(127);
}

bool eng_spawn_alive(struct eng_spawned *sp)
{
  if (!sp || sp->pid <= 0)
    return false;
  int st;
  pid_t r = waitpid(sp->pid, &st, WNOHANG);
  if (r == sp->pid || (r < 0 && errno == ECHILD && kill(sp->pid, 0) < 0)) {
    sp->pid = -sp->pid; /* remembered, but gone */
    return false;
  }
  return true;
}

void eng_spawn_log_tail(const struct eng_spawned *sp, char *out, size_t len)
{
  char buf[4096];
  out[0] = '\0';
  int fd = open(sp->log, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  off_t end = lseek(fd, 0, SEEK_END);
  off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  char *p = buf; /* from the start of the last 3 lines */
  int lines = 0;
  for (char *q = buf + n; q > buf; q--)
    if (q[-1] == '\n' && ++lines == 3) {
      p = q;
      break;
    }
  for (char *q = p; *q; q++)
    if (*q == '\n')
      *q = ' ';
  snprintf(out, len, "%s", p);
}

int eng_spawn_start(struct eng_spawned *sp, const struct eng_strv *argv, pid_t netns_pid,
                    const char *wait_path, bool exists_only, int timeout_ms, char *err,
                    size_t errlen)
{
  size_t k = 0;
  for (size_t i = 0; i < argv->n && k + 2 < sizeof sp->cmdline; i++)
    k +=
        (size_t)snprintf(sp->cmdline + k, sizeof sp->cmdline - k, "%s%s", i ? " " : "", argv->v[i]);
  snprintf(sp->binary, sizeof sp->binary, "%s", argv->v[0]);
  if (strchr(argv->v[0], '/') && access(argv->v[0], X_OK) < 0) {
    snprintf(err, errlen, "new QEMU %s: %s", argv->v[0], strerror(errno));
    return -1;
  }
  /* A stale socket file of a process that is gone is removed; one that
   * answers belongs to a live process: refuse rather than steal it. */
  const char *socks[] = { sp->qmp + 5, sp->serial, wait_path };
  for (size_t i = 0; i < 3; i++) {
    if (!socks[i][0])
      continue;
    int fd = unix_connect(socks[i]);
    if (fd >= 0) {
      close(fd);
      snprintf(err, errlen, "%s is in use by a running process: not starting a second QEMU on it",
               socks[i]);
      return -1;
    }
    unlink(socks[i]);
  }
  unlink(sp->pidfile);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errlen, "fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0)
    child(sp, argv, netns_pid);
  sp->pid = pid;
  int64_t until = mono_ms() + timeout_ms;
  for (;;) {
    struct stat st;
    if (exists_only && stat(wait_path, &st) == 0 && S_ISSOCK(st.st_mode))
      return 0;
    int fd = exists_only ? -1 : unix_connect(wait_path);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    if (!eng_spawn_alive(sp)) {
      char tail[1024];
      eng_spawn_log_tail(sp, tail, sizeof tail);
      snprintf(err, errlen, "the new QEMU (pid %d) exited before it listened on %s: %s", -sp->pid,
               wait_path, tail[0] ? tail : "no output");
      return -1;
    }
    if (mono_ms() >= until) {
      eng_spawn_kill(sp, 2000);
      snprintf(err, errlen, "the new QEMU did not listen on %s within %d ms (killed; its log: %s)",
               wait_path, timeout_ms, sp->log);
      return -1;
    }
    usleep(20000);
  }
}

int eng_spawn_image_locked(const char *path, char *err, size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  /* QEMU's file-posix locks one byte per permission from offset 100 and
   * one per "shared" permission from 200: any lock there is a QEMU's. */
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 200 };
  int rc = fcntl(fd, F_OFD_GETLK, &fl);
  close(fd);
  if (rc < 0) {
    snprintf(err, errlen, "%s: lock query: %s", path, strerror(errno));
    return -1;
  }
  return fl.l_type != F_UNLCK;
}

void eng_spawn_kill(struct eng_spawned *sp, int timeout_ms)
{
  if (!sp || sp->pid <= 0 || !eng_spawn_alive(sp))
    return;
  kill(sp->pid, SIGTERM);
  int64_t until = mono_ms() + timeout_ms;
  while (eng_spawn_alive(sp) && mono_ms() < until)
    usleep(20000);
  if (eng_spawn_alive(sp)) {
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, NULL, 0);
    sp->pid = -sp->pid;
  }
}
