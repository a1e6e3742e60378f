/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stunnel.c - the stunnel transport: the stream leaves the source QEMU in
 * plaintext to a local stunnel client, crosses a TLS 1.3 PSK connection to
 * a stunnel server and reaches the destination QEMU's incoming port
 * (engine options data-uri and data-connect).  Both stunnels run in the
 * foreground as children of this process, pids in DIR/stunnel-*.pid. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "common/files.h"
#include "lab/lab.h"

static const char *const side[2] = { "srv", "cli" };

/* The kernel's choice for port 0. */
int bench_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* Is something accepting on 127.0.0.1:port? */
static bool listening(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

bool bench_stunnel_available(void)
{
  const char *path = getenv("PATH");
  char *dirs = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
  bool found = false;
  for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char p[4200];
    snprintf(p, sizeof p, "%s/stunnel", d);
    found = access(p, X_OK) == 0;
  }
  free(dirs);
  return found;
}

/* Start one stunnel with config file conf, output into log. */
static pid_t spawn(const char *conf, const char *log, char *err, size_t errlen)
{
  pid_t pid = fork();
  if (pid < 0) {
    errbuf_setf(err, errlen, "stunnel: fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    int fd = files_open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && nul >= 0) {
      dup2(nul, 0);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execlp("stunnel", "stunnel", conf, (char *)NULL);
    _exit(127);
  }
  return pid;
}

int bench_stunnel_start(const char *dir, const char *psk_file, struct bench_transport *tp,
                        char *err, size_t errlen)
{
  int port[3] = { bench_free_port(), bench_free_port(), bench_free_port() }; /* qemu, tls, plain */
  if (port[0] < 0 || port[1] < 0 || port[2] < 0 || port[0] == port[1] || port[1] == port[2] ||
      port[0] == port[2]) {
    errbuf_setf(err, errlen, "stunnel: no free ports on 127.0.0.1");
    return -1;
  }
  for (int s = 0; s < 2; s++) {
    char conf[4200], log[4200], pidf[4200];
    snprintf(conf, sizeof conf, "%s/stunnel-%s.conf", dir, side[s]);
    snprintf(log, sizeof log, "%s/stunnel-%s.log", dir, side[s]);
    snprintf(pidf, sizeof pidf, "%s/stunnel-%s.pid", dir, side[s]);
    FILE *f = fopen(conf, "we");
    if (!f) {
      errbuf_setf(err, errlen, "stunnel: %s: %s", conf, strerror(errno));
      return -1;
    }
    /* TLS 1.3 with an external PSK (identity qmig); the server forwards
     * to QEMU's incoming port, the client takes the source's stream. */
    fprintf(f,
            "foreground = yes\npid = %s\ndebug = 4\nsslVersion = TLSv1.3\n"
            "[qmig]\n%saccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\nPSKsecrets = %s\n%s",
            pidf, s ? "client = yes\n" : "", s ? port[2] : port[1], s ? port[1] : port[0], psk_file,
            s ? "PSKidentity = qmig\n" : "");
    if (fclose(f) != 0) {
      errbuf_setf(err, errlen, "stunnel: %s: %s", conf, strerror(errno));
      return -1;
    }
    tp->stunnel_pid[s] = spawn(conf, log, err, errlen);
    if (tp->stunnel_pid[s] < 0)
      return -1;
  }
  /* Up when both accept (at most 5 s); a stunnel that exits is an error. */
  for (int i = 0; i < 500; i++) {
    for (int s = 0; s < 2; s++)
      if (waitpid(tp->stunnel_pid[s], NULL, WNOHANG) == tp->stunnel_pid[s]) {
        tp->stunnel_pid[s] = 0;
        errbuf_setf(err, errlen, "stunnel (%s) exited at start; see %s/stunnel-%s.log",
                    s ? "client" : "server", dir, side[s]);
        return -1;
      }
    if (listening(port[1]) && listening(port[2])) {
      snprintf(tp->data_uri, sizeof tp->data_uri, "tcp:127.0.0.1:%d", port[0]);
      snprintf(tp->data_connect, sizeof tp->data_connect, "tcp:127.0.0.1:%d", port[2]);
      return 0;
    }
    usleep(10000);
  }
  errbuf_setf(err, errlen, "stunnel: not accepting on ports %d and %d after 5 s", port[1], port[2]);
  return -1;
}

double bench_stunnel_cpu_s(const struct bench_transport *tp)
{
  double sum = 0;
  for (int s = 0; s < 2; s++)
    if (tp->stunnel_pid[s] > 0)
      sum += fmax(lab_pid_cpu_s(tp->stunnel_pid[s]), 0);
  return sum;
}

void bench_stunnel_stop(struct bench_transport *tp)
{
  for (int s = 0; s < 2; s++) {
    pid_t pid = tp->stunnel_pid[s];
    if (pid <= 0)
      continue;
    kill(pid, SIGTERM);
    int i = 0;
    while (waitpid(pid, NULL, WNOHANG) == 0 && i++ < 500)
      usleep(10000);
    if (i > 500) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    tp->stunnel_pid[s] = 0;
  }
}
