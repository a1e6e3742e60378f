/* common/run.c - run a program (argv, no shell) and wait for it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"

#define run_errf(err, errlen, ...) (errbuf_setf(err, errlen, __VA_ARGS__), -1)

int run_argv(const char *const *argv, char *err, size_t errlen)
{
  char out[1024];
  size_t len = 0;
  int p[2], st;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    return run_errf(err, errlen, "%s: pipe: %s", argv[0], strerror(errno));
  pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return run_errf(err, errlen, "%s: fork: %s", argv[0], strerror(errno));
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
    return run_errf(err, errlen, "%s: %s", argv[0], out);
  if (WIFEXITED(st))
    return run_errf(err, errlen, "%s exited with status %d", argv[0], WEXITSTATUS(st));
  return run_errf(err, errlen, "%s killed by signal %d", argv[0], WTERMSIG(st));
}

