/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/run.c - run a program (argv, no shell) and wait for it, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"

#define run_errf(err, errlen, ...) (errbuf_setf(err, errlen, __VA_ARGS__), -1)

static long long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long end_ms)
{
  long long l = end_ms - mono_ms();
  return l <= 0 ? 0 : l > 1000000000 ? 1000000000 : (int)l;
}

/* Kill and reap: the child is ours, a blocking wait after SIGKILL ends. */
static void kill_reap(pid_t pid, int *status)
{
  kill(pid, SIGKILL);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR)
    ;
}

static int wait_until(pid_t pid, int *status, long long end_ms)
{
  /* Polling in growing steps (1 to 50 ms): no SIGCHLD handler to install
   * in a library, and children here take milliseconds to seconds. */
  for (int step = 1;; step = step < 50 ? step * 2 : 50) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid)
      return 0;
    if (r < 0 && errno != EINTR)
      return -1;
    int l = left_ms(end_ms);
    if (l == 0) {
      kill_reap(pid, status);
      errno = ETIMEDOUT;
      return -1;
    }
    struct timespec ts = { 0, (long)(step < l ? step : l) * 1000000 };
    nanosleep(&ts, NULL);
  }
}

int run_wait(pid_t pid, int *status, int timeout_ms)
{
  return wait_until(pid, status, mono_ms() + timeout_ms);
}

/* "ip netns add X" for messages: the first few words of argv. */
static void argv_words(const char *const *argv, char *out, size_t len)
{
  size_t n = 0;
  out[0] = '\0';
  for (int i = 0; argv[i] && i < 4 && n < len; i++)
    n += (size_t)snprintf(out + n, len - n, "%s%s", i ? " " : "", argv[i]);
}

int run_argv_timeout(const char *const *argv, int timeout_ms, char *err, size_t errlen)
{
  char out[1024];
  size_t len = 0;
  int p[2], st;
  pid_t pid;
  long long end = mono_ms() + timeout_ms;

  if (pipe2(p, O_CLOEXEC) < 0)
    return run_errf(err, errlen, "%s: pipe: %s", argv[0], strerror(errno));
  pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return run_errf(err, errlen, "%s: fork: %s", argv[0], strerror(errno));
  }
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
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
  for (;;) { /* keep the start of stderr, drain the rest, until EOF or the end */
    char sink[4096];
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    int l = left_ms(end);
    int r = l ? poll(&pf, 1, l) : 0;
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break; /* out of time (or poll failed): the wait below decides */
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
  if (wait_until(pid, &st, end) < 0) {
    char words[256];
    argv_words(argv, words, sizeof words);
    if (errno == ETIMEDOUT)
      return run_errf(err, errlen, "%s: timed out after %.1f s (killed)", words,
                      timeout_ms / 1000.0);
    return run_errf(err, errlen, "%s: waitpid: %s", words, strerror(errno));
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  out[strcspn(out, "\n")] = '\0';
  if (out[0])
    return run_errf(err, errlen, "%s: %s", argv[0], out);
  if (WIFEXITED(st))
    return run_errf(err, errlen, "%s exited with status %d", argv[0], WEXITSTATUS(st));
  return run_errf(err, errlen, "%s killed by signal %d", argv[0], WTERMSIG(st));
}

int run_argv(const char *const *argv, char *err, size_t errlen)
{
  const char *b = strrchr(argv[0], '/');
  b = b ? b + 1 : argv[0];
  bool net = !strcmp(b, "ip") || !strcmp(b, "tc");
  return run_argv_timeout(argv, net ? RUN_TIMEOUT_NET_MS : RUN_TIMEOUT_MS, err, errlen);
}
