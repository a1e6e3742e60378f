/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tools/bench/tunnel_fwd.c - the tunnel's forwarding alone, no QEMU: N GiB from a
 * writer through  app socket -> forwarder A -> loopback TCP -> forwarder B ->
 * app socket  to a reader, as the engine and the agent forward one channel.
 * Modes, interleaved in one run: raw (writer straight into loopback TCP, the
 * floor), plain (copy and splice: a `tunnel-data plain` channel once it has
 * proved its session; the proof is a one-time exchange at connect, not
 * measured here) and tls (TLS 1.3 PSK, AES-128-GCM).  Prints wall time,
 * throughput and CPU seconds of the two forwarder threads (their own clocks)
 * per GB.  A measurement, not a test.
 *
 *   make bench-fwd                  (tools/bench/fwd.sh: medians, BASE=ref)
 *   build/bench_tunnel_fwd GIB ROUNDS PSKFILE [MODE,...]   (raw,copy,splice,tls) */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"

#define CHUNK (1u << 20)

static uint64_t total;

static double thread_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double proc_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct wr {
  int fd;
  double cpu_s;
};

static void *writer(void *p)
{
  struct wr *w = p;
  int fd = w->fd;
  char *b = malloc(CHUNK);
  memset(b, 0x5a, CHUNK);
  for (uint64_t n = 0; n < total;) {
    ssize_t r = send(fd, b, CHUNK, MSG_NOSIGNAL);
    if (r <= 0)
      break;
    n += (uint64_t)r;
  }
  shutdown(fd, SHUT_WR);
  free(b);
  w->cpu_s = thread_cpu_s();
  return NULL;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct accept_arg {
  int lfd, fd;
  struct tp_tls *tls;
  struct tp_fwd *fwd;
  int app;
};

/* The accepted end: a forwarder to a new app socket (mode != raw). */
static void *acceptor(void *p)
{
  struct accept_arg *a = p;
  char err[256];
  a->fd = tp_accept(a->lfd, 5000, NULL, 0);
  if (a->fd < 0 || a->app < 0)
    return NULL;
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  struct tp_conn *c = tp_conn_new(a->fd, a->tls, NULL, "bench server");
  if (tp_conn_handshake(c, 5000) < 0) {
    fprintf(stderr, "%s\n", tp_conn_error(c));
    exit(1);
  }
  a->app = sv[0];
  a->fwd = tp_fwd_start(sv[1], c, err, sizeof err);
  return NULL;
}

static void run(const char *mode, struct tp_tls *ctls, struct tp_tls *stls)
{
  char err[256], hp[64];
  bool raw = !strcmp(mode, "raw");
  struct accept_arg aa = { .tls = stls, .app = raw ? -1 : 0 };
  aa.lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(aa.lfd, (struct sockaddr *)&sa, &sl);
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(sa.sin_port));
  pthread_t at, wt;
  pthread_create(&at, NULL, acceptor, &aa);
  int cfd = tp_tcp_connect(hp, 5000, err, sizeof err), wfd = cfd;
  struct tp_fwd *cf = NULL;
  if (!raw) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    struct tp_conn *c = tp_conn_new(cfd, ctls, "127.0.0.1", "bench client");
    if (tp_conn_handshake(c, 5000) < 0) {
      fprintf(stderr, "%s\n", tp_conn_error(c));
      exit(1);
    }
    cf = tp_fwd_start(sv[1], c, err, sizeof err);
    wfd = sv[0];
  }
  pthread_join(at, NULL);
  int rfd = raw ? aa.fd : aa.app;
  double t0 = now_s(), p0 = proc_cpu_s(), r0 = thread_cpu_s();
  struct wr w = { wfd, 0 };
  pthread_create(&wt, NULL, writer, &w);
  char *b = malloc(CHUNK);
  uint64_t got = 0;
  ssize_t r;
  while ((r = recv(rfd, b, CHUNK, 0)) > 0)
    got += (uint64_t)r;
  double dt = now_s() - t0, reader_cpu = thread_cpu_s() - r0;
  pthread_join(wt, NULL);
  struct tp_fwd_stats st;
  close(wfd);
  close(rfd);
  if (cf) {
    tp_fwd_join(cf, &st);
    tp_fwd_join(aa.fwd, &st);
  }
  /* Everything but the writer and reader: forwarder threads and the kernel
   * workers io_uring runs for them (splice runs there). */
  double cpu = proc_cpu_s() - p0 - w.cpu_s - reader_cpu;
  close(aa.lfd);
  free(b);
  double gb = got / 1e9;
  printf("%-6s %6.2f GB %7.3f s %8.0f MB/s  forwarders %6.3f CPU-s = %.3f CPU-s/GB%s\n", mode, gb,
         dt, got / dt / 1e6, cpu, cpu / gb, got == total ? "" : "  SHORT");
  fflush(stdout);
}

/* MODE is one of the comma-separated MODES. */
static bool want(const char *modes, const char *mode)
{
  size_t n = strlen(mode);
  for (const char *p = modes; (p = strstr(p, mode)); p += n)
    if ((p == modes || p[-1] == ',') && (p[n] == ',' || !p[n]))
      return true;
  return false;
}

int main(int argc, char **argv)
{
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s GIB ROUNDS PSKFILE [MODE,...]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  total = (uint64_t)atoi(argv[1]) << 30;
  char err[256];
  struct tp_tls_opts so = { .mode = TP_TLS_PSK, .server = true, .psk_file = argv[3] };
  struct tp_tls_opts co = { .mode = TP_TLS_PSK, .psk_file = argv[3] };
  struct tp_tls *s = tp_tls_new(&so, err, sizeof err), *c = tp_tls_new(&co, err, sizeof err);
  if (!s || !c) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  const char *modes = argc == 5 ? argv[4] : "raw,copy,splice,tls";
  for (int i = 0; i < atoi(argv[2]); i++) {
    if (want(modes, "raw"))
      run("raw", NULL, NULL);
    tp_fwd_set_splice(false);
    if (want(modes, "copy"))
      run("copy", NULL, NULL);
    tp_fwd_set_splice(true);
    if (want(modes, "splice"))
      run("splice", NULL, NULL);
    tp_fwd_set_splice(false);
    if (want(modes, "tls"))
      run("tls", c, s);
  }
  tp_tls_free(s);
  tp_tls_free(c);
  return 0;
}
