/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent.c - qmig_agent_*: the listener and the session table (options.c
 * has the options).  One thread per accepted connection (serve.c); one
 * session at a time, created by a control connection and ended when it
 * closes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/errbuf.h"
#include "common/files.h"

int agt_errorf(struct qmig_agent *a, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(a->err, sizeof a->err, fmt, ap);
  va_end(ap);
  a->err_code = QMIG_E_SYSTEM;
  return -1;
}

int agt_errorc(struct qmig_agent *a, enum qmig_error_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(a->err, sizeof a->err, fmt, ap);
  va_end(ap);
  a->err_code = code;
  return -1;
}

enum qmig_error_code qmig_agent_error_code(const struct qmig_agent *a)
{
  return a->err_code;
}

void agt_log(struct qmig_agent *a, const char *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (a->log_fn)
    a->log_fn(a->log_ud, line);
}

struct qmig_agent *qmig_agent_new(void)
{
  struct qmig_agent *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  if (pipe2(a->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    free(a);
    return NULL;
  }
  a->control_fd = -1;
  agt_options_init(a);
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  return a;
}

void qmig_agent_free(struct qmig_agent *a)
{
  if (!a)
    return;
  pthread_mutex_lock(&a->lock);
  unsigned running = a->handlers;
  pthread_mutex_unlock(&a->lock);
  if (running)
    return; /* threads still use it (qmig_agent_run() said so): leaked */
  agt_options_free(a);
  tp_tls_free(a->tls_ctx);
  agt_limits_free(a);
  close(a->stop_pipe[0]);
  close(a->stop_pipe[1]);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

void qmig_agent_on_log(struct qmig_agent *a, qmig_log_fn fn, void *ud)
{
  a->log_fn = fn;
  a->log_ud = ud;
}

const char *qmig_agent_error(const struct qmig_agent *a)
{
  return a->err;
}

void qmig_agent_stop(struct qmig_agent *a)
{
  char c = 1;
  ssize_t r = write(a->stop_pipe[1], &c, 1);
  (void)r;
}

static int prepare(struct qmig_agent *a)
{
  char e[512];
  if (!a->listen || !a->qmp)
    return agt_errorc(a, QMIG_E_OPTION, "the agent needs listen (HOST:PORT) and qmp (unix:PATH)");
  if (a->tls == TP_TLS_NONE && !a->insecure)
    return agt_errorc(a, QMIG_E_OPTION,
                      "no credential: give tls psk|x509 with its file, or insecure-no-auth on "
                      "to run an unauthenticated agent that gives anyone who can connect the "
                      "destination's QMP");
  if (a->tls != TP_TLS_NONE && a->insecure)
    return agt_errorc(a, QMIG_E_OPTION,
                      "insecure-no-auth and tls %s contradict each other: drop one",
                      a->tls == TP_TLS_X509 ? "x509" : "psk");
  if (a->tls == TP_TLS_X509 && !a->tls_dir)
    return agt_errorc(a, QMIG_E_OPTION, "tls x509 needs tls-dir");
  if (a->tls == TP_TLS_PSK && !a->psk_file)
    return agt_errorc(a, QMIG_E_OPTION, "tls psk needs tls-psk-file");
  if (a->tls != TP_TLS_NONE) {
    struct tp_tls_opts o = {
      .mode = a->tls, .server = true, .dir = a->tls_dir, .psk_file = a->psk_file
    };
    if (!(a->tls_ctx = tp_tls_new(&o, e, sizeof e)))
      return agt_errorc(a, QMIG_E_AUTH, "agent TLS: %s", e);
  }
  if (!a->run_dir) {
    char t[] = "/tmp/qmig-agent.XXXXXX";
    if (!mkdtemp(t) || !(a->run_dir = strdup(t)))
      return agt_errorf(a, "creating a run directory: %s", strerror(errno));
    a->made_run_dir = true;
  } else if (files_private_dir(a->run_dir, true, e, sizeof e) < 0) {
    return agt_errorf(a, "run directory: %s", e); /* QEMU's sockets go there */
  }
  return 0;
}

struct serve_arg {
  struct qmig_agent *a;
  int fd;
};

static void *serve_thread(void *p)
{
  struct serve_arg *sa = p;
  struct qmig_agent *a = sa->a;
  agt_serve(a, sa->fd);
  free(sa);
  pthread_mutex_lock(&a->lock);
  a->handlers--;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

static bool once_done(struct qmig_agent *a)
{
  pthread_mutex_lock(&a->lock);
  bool done = a->once && a->sessions_ended > 0 && a->handlers == 0;
  pthread_mutex_unlock(&a->lock);
  return done;
}

int qmig_agent_run(struct qmig_agent *a)
{
  char e[512];
  if (prepare(a) < 0)
    return -1;
  if (agt_limits_prepare(a) < 0)
    return agt_errorf(a, "out of memory");
  int lfd = tp_tcp_listen(a->listen, e, sizeof e);
  if (lfd < 0)
    return agt_errorf(a, "agent: %s", e);
  agt_log(a, "listening on %s (tls %s, plain data %s), destination QMP %s, run dir %s", a->listen,
          a->tls == TP_TLS_X509  ? "x509"
          : a->tls == TP_TLS_PSK ? "psk"
                                 : "none",
          a->insecure            ? "only"
          : a->refuse_plain_data ? "refused"
                                 : "allowed",
          a->qmp, a->run_dir);
  if (a->insecure)
    agt_log(a, "%s", AGT_INSECURE_WARNING);
  if (a->skew_ms)
    agt_log(a, "TEST ONLY: pretending the clock is %+ld ms off", a->skew_ms);
  int rc = 0;
  while (!once_done(a)) {
    struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
                           { .fd = a->stop_pipe[0], .events = POLLIN } };
    if (poll(p, 2, 200) < 0 && errno != EINTR) {
      rc = agt_errorf(a, "agent: poll: %s", strerror(errno));
      break;
    }
    if (p[1].revents) {
      agt_log(a, "stopping");
      break;
    }
    if (!(p[0].revents & POLLIN))
      continue;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      agt_accept_failed(a, errno);
      continue;
    }
    if (!agt_admit(a, fd))
      continue;
    tp_tcp_tune(fd);
    struct serve_arg *sa = malloc(sizeof *sa);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&a->lock);
    a->handlers++;
    pthread_mutex_unlock(&a->lock);
    if (!sa || (sa->a = a, sa->fd = fd, pthread_create(&t, &at, serve_thread, sa)) != 0) {
      free(sa);
      close(fd);
      pthread_mutex_lock(&a->lock);
      a->handlers--;
      pthread_mutex_unlock(&a->lock);
      agt_log(a, "refused a connection: cannot start its thread");
    }
    pthread_attr_destroy(&at);
  }
  close(lfd);
  /* Stop what still runs (forwarders, the control connection, channels
   * waiting for main), and wait for the connection threads: every wait they
   * do is bounded by handshake-timeout or ended here. */
  pthread_mutex_lock(&a->lock);
  a->stopping = true;
  agt_fwd_abort_all(a);
  if (a->control_fd >= 0)
    shutdown(a->control_fd, SHUT_RDWR);
  pthread_cond_broadcast(&a->cond);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10 + a->handshake_ms / 1000;
  while (a->handlers > 0 && pthread_cond_timedwait(&a->cond, &a->lock, &until) == 0)
    ;
  unsigned left = a->handlers;
  pthread_mutex_unlock(&a->lock);
  if (left) {
    /* Cannot happen with the bounds above.  Never free under running
     * threads: qmig_agent_free() leaves the agent alone (leaked) then,
     * rather than end the embedder's process. */
    agt_log(a, "%u connection threads did not end", left);
    return agt_errorf(a, "%u connection threads did not end within the handshake bound", left);
  }
  if (a->made_run_dir)
    rmdir(a->run_dir);
  return rc;
}
