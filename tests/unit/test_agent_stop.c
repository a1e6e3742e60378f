/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stopping an agent while many forwarders run (issue 10: qmig_agent_stop with
 * 100 live qmp channels was a use-after-free: the stop path aborted
 * forwarders that their serving threads had just freed).  Five rounds of: a
 * real agent (qmig_agent_run on a thread) in front of a unix socket server
 * that stands in for QMP, with a PSK; a session opened with the real
 * protocol 2 (TLS, the issued session, its exported key) and 72 live qmp
 * channels (each TLS and proved, through the allow-list relay and a
 * forwarder), one command relayed on each, then qmig_agent_stop.  The run
 * must return 0 and free cleanly; the suite runs this under ASan with
 * `make SANITIZE=1` (build-sanitize/tests/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/rand.h>

#include "qmig.h"
#include "transport/transport.h"

#define CHANNELS 72
#define ROUNDS 5

/* ---- a QMP stand-in: greets, answers every line with a return ---- */

struct fake {
  int lfd;
  pthread_t t;
  int conns[CHANNELS + 8];
  int n;
  pthread_mutex_t lock;
};

static void *fake_run(void *p)
{
  struct fake *f = p;
  for (;;) {
    int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      return NULL; /* listening socket shut down */
    static const char greet[] = "{\"QMP\":{\"version\":{},\"capabilities\":[]}}\r\n";
    send(fd, greet, sizeof greet - 1, MSG_NOSIGNAL);
    pthread_mutex_lock(&f->lock);
    if (f->n < (int)(sizeof f->conns / sizeof f->conns[0]))
      f->conns[f->n++] = fd;
    else
      close(fd);
    pthread_mutex_unlock(&f->lock);
  }
}

static int fake_count(struct fake *f)
{
  pthread_mutex_lock(&f->lock);
  int n = f->n;
  pthread_mutex_unlock(&f->lock);
  return n;
}

/* ---- the client: the library's own (transport/client.c) ---- */

/* A qmp channel of the session, proved with its key; NULL with the reason
 * printed. */
static struct tp_conn *open_qmp(const char *agent, struct tp_tls *tls,
                                const struct tp_session_info *si, const uint8_t *key)
{
  char err[600];
  struct tp_hello h = { .version = TP_HELLO_VERSION, .kind = TP_K_QMP };
  memcpy(h.session, si->session, TP_SESSION_LEN);
  struct tp_conn *c =
      tp_channel_open(agent, tls, "test qmp channel", &h, key, NULL, 0, 5000, err, sizeof err);
  if (!c)
    print_error("%s\n", err);
  return c;
}

/* ---- one round ---- */

struct agent_run {
  struct qmig_agent *a;
  int rc;
};

static void *agent_thread(void *p)
{
  struct agent_run *r = p;
  r->rc = qmig_agent_run(r->a);
  return NULL;
}

static void quiet(void *ud, const char *line)
{
  (void)ud;
  if (getenv("QMIG_TEST_VERBOSE"))
    fprintf(stderr, "agent: %s\n", line);
}

static int free_port(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  return ntohs(sa.sin_port);
}

static void one_round(const char *dir, int round, const char *psk)
{
  char path[300], run_dir[300], listen[64], qmp[320];
  struct fake f = { .n = 0 };
  pthread_mutex_init(&f.lock, NULL);
  snprintf(path, sizeof path, "%s/qmp-%d.sock", dir, round);
  snprintf(run_dir, sizeof run_dir, "%s/run-%d", dir, round);
  char e[256];
  f.lfd = tp_unix_listen(path, e, sizeof e);
  assert_true(f.lfd >= 0);
  assert_int_equal(pthread_create(&f.t, NULL, fake_run, &f), 0);

  int port = free_port();
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  snprintf(qmp, sizeof qmp, "unix:%s", path);
  struct agent_run r = { .a = qmig_agent_new() };
  assert_non_null(r.a);
  qmig_agent_on_log(r.a, quiet, NULL);
  assert_int_equal(qmig_agent_set(r.a, "listen", listen), 0);
  assert_int_equal(qmig_agent_set(r.a, "qmp", qmp), 0);
  assert_int_equal(qmig_agent_set(r.a, "run-dir", run_dir), 0);
  assert_int_equal(qmig_agent_set(r.a, "tls", "psk"), 0);
  assert_int_equal(qmig_agent_set(r.a, "tls-psk-file", psk), 0);
  assert_int_equal(qmig_agent_set(r.a, "max-connections", "100"), 0);
  assert_int_equal(qmig_agent_set(r.a, "max-qmp-channels", "100"), 0);
  pthread_t at;
  assert_int_equal(pthread_create(&at, NULL, agent_thread, &r), 0);

  /* The real protocol 2: TLS 1.3 with the PSK, the session the agent
   * issues, its key exported from the control's TLS, every qmp channel over
   * TLS and proved with that key. */
  struct tp_tls_opts o = { .mode = TP_TLS_PSK, .psk_file = psk };
  struct tp_tls *tls = tp_tls_new(&o, e, sizeof e);
  if (!tls)
    print_error("client TLS: %s\n", e);
  assert_non_null(tls);
  struct tp_session_info si;
  uint8_t key[TP_KEY_LEN];
  char err[600];
  struct tp_conn *control = NULL, *ch[CHANNELS] = { 0 };
  for (int i = 0; i < 50 && !control; i++) /* the agent may not listen yet */
    if (!(control = tp_session_open(listen, tls, "test control", &si, key, 5000, err, sizeof err)))
      usleep(100000);
  if (!control)
    print_error("%s\n", err);
  assert_non_null(control);
  assert_string_equal(si.auth, "psk");
  for (int i = 0; i < CHANNELS; i++)
    assert_non_null(ch[i] = open_qmp(listen, tls, &si, key));
  /* Every channel live: a command goes through relay and forwarder. */
  for (int i = 0; i < CHANNELS; i++) {
    static const char cmd[] = "{\"execute\":\"query-status\"}\n";
    assert_int_equal(tp_conn_write_all(ch[i], cmd, sizeof cmd - 1, 5000), 0);
  }
  for (int i = 0; i < 100 && fake_count(&f) < CHANNELS; i++)
    usleep(50000);
  assert_int_equal(fake_count(&f), CHANNELS);

  qmig_agent_stop(r.a);
  assert_int_equal(pthread_join(at, NULL), 0);
  assert_int_equal(r.rc, 0);
  qmig_agent_free(r.a);

  tp_conn_free(control);
  for (int i = 0; i < CHANNELS; i++)
    tp_conn_free(ch[i]);
  tp_tls_free(tls);
  shutdown(f.lfd, SHUT_RDWR);
  pthread_join(f.t, NULL);
  close(f.lfd);
  for (int i = 0; i < f.n; i++)
    close(f.conns[i]);
  pthread_mutex_destroy(&f.lock);
  unlink(path);
  rmdir(run_dir);
}

static void test_stop_with_live_forwarders(void **state)
{
  (void)state;
  if (access("/proc/sys/kernel/io_uring_disabled", F_OK) == 0) {
    FILE *p = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    int v = 0;
    if (p && fscanf(p, "%d", &v) != 1)
      v = 0;
    if (p)
      fclose(p);
    if (v) {
      print_message("skip: io_uring is disabled\n");
      skip();
    }
  }
  char dir[] = "/tmp/qmig-test-agent-stop.XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* The credential both ends hold: a random key, 0600 (the agent refuses
   * key files that group or others can read). */
  char psk[300], hex[2 * TP_KEY_LEN + 1];
  uint8_t k[TP_KEY_LEN];
  snprintf(psk, sizeof psk, "%s/keys.psk", dir);
  assert_int_equal(RAND_bytes(k, sizeof k), 1);
  tp_hex(k, sizeof k, hex);
  int kfd = open(psk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true(kfd >= 0);
  FILE *kf = fdopen(kfd, "w");
  assert_non_null(kf);
  fprintf(kf, "qemu:%s\n", hex);
  assert_int_equal(fclose(kf), 0);
  for (int round = 0; round < ROUNDS; round++)
    one_round(dir, round, psk);
  unlink(psk);
  rmdir(dir);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stop_with_live_forwarders),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
