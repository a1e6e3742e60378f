/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tunnel's wire: the hello parser (strict: sizes, magic, version, kind,
 * index, reserved bytes, no session in a control hello), the agent reply, the classifier of QEMU's channel
 * headers, and the io_uring forwarder moving bytes both ways over real
 * loopback TCP, plain and TLS 1.3 with a PSK (OpenSSL on both ends). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/psk_fixture.h"

#include "qmig.h"
#include "transport/transport.h"

static void good_hello(uint8_t b[TP_HELLO_LEN], unsigned kind, unsigned index)
{
  struct tp_hello h = { .version = TP_HELLO_VERSION,
                        .kind = (uint8_t)kind,
                        .index = (uint16_t)index };
  for (int i = 0; i < TP_SESSION_LEN && kind != TP_K_CONTROL; i++)
    h.session[i] = (uint8_t)(i * 7 + 1); /* a control hello carries none */
  tp_hello_encode(&h, b);
}

static void test_hello_roundtrip(void **state)
{
  (void)state;
  uint8_t b[TP_HELLO_LEN];
  struct tp_hello h;
  char err[256];
  good_hello(b, TP_K_MULTIFD, 3);
  assert_int_equal(tp_hello_parse(b, sizeof b, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TP_K_MULTIFD);
  assert_int_equal(h.index, 3);
  assert_int_equal(h.session[2], 15);
  good_hello(b, TP_K_CONTROL, 0);
  assert_int_equal(tp_hello_parse(b, sizeof b, &h, err, sizeof err), 0);
  assert_string_equal(tp_kind_name(h.kind), "control");
}

static void expect_bad(const uint8_t *b, size_t n, const char *why)
{
  struct tp_hello h;
  char err[256] = "";
  assert_int_equal(tp_hello_parse(b, n, &h, err, sizeof err), -1);
  if (!strstr(err, why))
    fail_msg("expected '%s' in '%s'", why, err);
}

static void test_hello_refused(void **state)
{
  (void)state;
  uint8_t b[TP_HELLO_LEN + 1];
  good_hello(b, TP_K_MAIN, 0);
  expect_bad(b, TP_HELLO_LEN - 1, "bytes"); /* truncated */
  expect_bad(b, TP_HELLO_LEN + 1, "bytes"); /* too long */
  b[0] = 'G';
  expect_bad(b, TP_HELLO_LEN, "magic"); /* "GET / HTTP..." */
  good_hello(b, TP_K_MAIN, 0);
  b[4] = 1; /* protocol 1: the engine chose the session, nothing proved it */
  expect_bad(b, TP_HELLO_LEN, "version 1");
  good_hello(b, TP_K_CONTROL, 0);
  b[8] = 1; /* a session id the client picked */
  expect_bad(b, TP_HELLO_LEN, "carries no session id");
  good_hello(b, 0, 0);
  expect_bad(b, TP_HELLO_LEN, "unknown channel kind 0");
  good_hello(b, 6, 0);
  expect_bad(b, TP_HELLO_LEN, "unknown channel kind 6");
  good_hello(b, TP_K_MAIN, 1);
  expect_bad(b, TP_HELLO_LEN, "index 1"); /* main has no index */
  good_hello(b, TP_K_MULTIFD, 256);
  expect_bad(b, TP_HELLO_LEN, "index 256");
  good_hello(b, TP_K_NBD, 2);
  b[TP_HELLO_LEN - 1] = 1;
  expect_bad(b, TP_HELLO_LEN, "reserved");
}

static void test_reply(void **state)
{
  (void)state;
  uint8_t b[TP_REPLY_HDR + TP_REPLY_MAX_MSG], st = 9;
  char err[256];
  size_t n = tp_reply_encode(TP_ST_UNKNOWN_SESSION, "unknown session", b, sizeof b);
  assert_int_equal(n, TP_REPLY_HDR + 15);
  assert_int_equal(tp_reply_parse_hdr(b, &st, err, sizeof err), 15);
  assert_int_equal(st, TP_ST_UNKNOWN_SESSION);
  b[4] = 77; /* unknown status */
  assert_int_equal(tp_reply_parse_hdr(b, &st, err, sizeof err), -1);
  memcpy(b, "HTTP", 4);
  assert_int_equal(tp_reply_parse_hdr(b, &st, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a qmig agent"));
}

static void test_classify(void **state)
{
  (void)state;
  uint8_t main_hdr[] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3, 7, 7 };
  uint8_t mfd[64] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
  unsigned kind = 0, idx = 99;
  mfd[24] = 5;
  assert_int_equal(tp_classify(main_hdr, 3, &kind, &idx), 1);
  assert_int_equal(tp_classify(main_hdr, sizeof main_hdr, &kind, &idx), 0);
  assert_int_equal(kind, TP_K_MAIN);
  assert_int_equal(idx, 0);
  assert_int_equal(tp_classify(mfd, 24, &kind, &idx), 1); /* id not there yet */
  assert_int_equal(tp_classify(mfd, 25, &kind, &idx), 0);
  assert_int_equal(kind, TP_K_MULTIFD);
  assert_int_equal(idx, 5);
  main_hdr[7] = 2; /* QEVM version 2: not what QEMU 7.2 sends */
  assert_int_equal(tp_classify(main_hdr, sizeof main_hdr, &kind, &idx), -1);
  assert_int_equal(tp_classify((const uint8_t *)"GET / HTTP/1.1", 14, &kind, &idx), -1);
  assert_int_equal(tp_classify(mfd, 0, &kind, &idx), 1);
}

/* ---- forwarder over loopback TCP ---- */

#define PAYLOAD (8u << 20)

struct side {
  struct tp_tls *tls;
  int tcp; /* the connected TCP socket */
  int app; /* our end of the local socketpair */
  struct tp_fwd *fwd;
};

struct pump {
  int fd;
  uint8_t seed;
  uint64_t sum;
  size_t n;
};

static void *writer(void *arg)
{
  struct pump *p = arg;
  uint8_t *b = malloc(65536);
  for (size_t off = 0; off < PAYLOAD; off += 65536) {
    for (size_t i = 0; i < 65536; i++)
      b[i] = (uint8_t)((off + i) * 31 + p->seed);
    size_t w = 0;
    while (w < 65536) {
      ssize_t r = write(p->fd, b + w, 65536 - w);
      if (r <= 0)
        break;
      w += (size_t)r;
    }
  }
  shutdown(p->fd, SHUT_WR);
  free(b);
  return NULL;
}

static void *reader(void *arg)
{
  struct pump *p = arg;
  uint8_t b[65536];
  ssize_t r;
  while ((r = read(p->fd, b, sizeof b)) > 0) {
    for (ssize_t i = 0; i < r; i++)
      if (b[i] != (uint8_t)((p->n + (size_t)i) * 31 + p->seed))
        p->sum++; /* counts wrong bytes */
    p->n += (size_t)r;
  }
  return NULL;
}

/* Both ends send each chunk's last byte in a record of its own (the QEMU
 * 7.2 TLS monitor's quirk, tp_conn_split_last_byte). */
static bool split_last;

static void start_side(struct side *s, int tcp, struct tp_tls *tls, const char *label)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  s->app = sv[0];
  struct tp_conn *c = tp_conn_new(tcp, tls, "127.0.0.1", label);
  assert_non_null(c);
  tp_conn_split_last_byte(c, split_last);
  s->tcp = tcp;
  s->fwd = NULL;
  s->tls = tls;
  char err[256];
  /* The handshake blocks for both ends: the caller runs one side on a thread. */
  if (tp_conn_handshake(c, 5000) < 0)
    fail_msg("%s", tp_conn_error(c));
  s->fwd = tp_fwd_start(sv[1], c, err, sizeof err);
  assert_non_null(s->fwd);
}

struct srv {
  int lfd;
  struct tp_tls *tls;
  struct side side;
};

static void *server_side(void *arg)
{
  struct srv *sv = arg;
  int fd = tp_accept(sv->lfd, 5000, NULL, 0);
  assert_true(fd >= 0);
  start_side(&sv->side, fd, sv->tls, "test server");
  return NULL;
}

static void forward_both_ways(struct tp_tls *ctls, struct tp_tls *stls)
{
  char err[256];
  struct srv sv = { .tls = stls };
  sv.lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  assert_true(sv.lfd >= 0);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(sv.lfd, (struct sockaddr *)&ss, &sl);
  char hp[64];
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  pthread_t st;
  pthread_create(&st, NULL, server_side, &sv);
  int fd = tp_tcp_connect(hp, 5000, err, sizeof err);
  assert_true(fd >= 0);
  struct side cl;
  start_side(&cl, fd, ctls, "test client");
  pthread_join(st, NULL);

  struct pump w1 = { cl.app, 1, 0, 0 }, r1 = { sv.side.app, 1, 0, 0 };
  struct pump w2 = { sv.side.app, 2, 0, 0 }, r2 = { cl.app, 2, 0, 0 };
  pthread_t t[4];
  pthread_create(&t[0], NULL, writer, &w1);
  pthread_create(&t[1], NULL, reader, &r1);
  pthread_create(&t[2], NULL, writer, &w2);
  pthread_create(&t[3], NULL, reader, &r2);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  struct tp_fwd_stats a, b;
  tp_fwd_join(cl.fwd, &a);
  tp_fwd_join(sv.side.fwd, &b);
  if (a.failed || b.failed)
    fail_msg("forwarder failed: %s | %s", a.error, b.error);
  assert_int_equal(r1.n, PAYLOAD);
  assert_int_equal(r2.n, PAYLOAD);
  assert_int_equal(r1.sum, 0);
  assert_int_equal(r2.sum, 0);
  assert_int_equal(a.bytes_out, PAYLOAD);
  assert_int_equal(a.bytes_in, PAYLOAD);
  assert_int_equal(b.bytes_out, PAYLOAD);
  close(cl.app);
  close(sv.side.app);
  close(sv.lfd);
}

static void test_forward_plain(void **state)
{
  (void)state;
  forward_both_ways(NULL, NULL);
}

static void test_forward_tls_psk(void **state)
{
  (void)state;
  struct psk_pair k;
  psk_pair_new(&k, "qemu");
  forward_both_ways(k.client, k.server);
  psk_pair_free(&k);
}

static void test_forward_tls_split_last(void **state)
{
  (void)state;
  struct psk_pair k;
  psk_pair_new(&k, "qemu");
  split_last = true;
  forward_both_ways(k.client, k.server);
  split_last = false;
  psk_pair_free(&k);
}

/* Records that arrived with the last setup read (the agent's reply and the
 * first forwarded bytes in one TCP read) must come out of the forwarder. */
struct early {
  int lfd;
  struct tp_tls *tls;
};

static void *early_server(void *p)
{
  struct early *e = p;
  struct tp_conn *c = tp_conn_new(tp_accept(e->lfd, 5000, NULL, 0), e->tls, NULL, "early server");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  assert_int_equal(tp_conn_write_all(c, "reply", 5, 5000), 0);
  assert_int_equal(tp_conn_write_all(c, "DATA", 4, 5000), 0);
  tp_conn_close(c, 5000);
  tp_conn_free(c);
  return NULL;
}

static void test_forward_early_records(void **state)
{
  (void)state;
  char dir[] = "/tmp/qmig-unit-early.XXXXXX", path[64], err[256], hp[64], b[16];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/keys.psk", dir);
  FILE *f = fopen(path, "w");
  fprintf(f, "qemu:00112233445566778899aabbccddeeff\n");
  fclose(f);
  chmod(path, 0600); /* key files others can read are refused */
  struct tp_tls_opts so = { .mode = TP_TLS_PSK, .server = true, .psk_file = path };
  struct tp_tls_opts co = { .mode = TP_TLS_PSK, .psk_file = path };
  struct early e = { .tls = tp_tls_new(&so, err, sizeof err) };
  struct tp_tls *ct = tp_tls_new(&co, err, sizeof err);
  assert_non_null(e.tls);
  assert_non_null(ct);
  e.lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(e.lfd, (struct sockaddr *)&sa, &sl);
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(sa.sin_port));
  pthread_t t;
  pthread_create(&t, NULL, early_server, &e);
  struct tp_conn *c = tp_conn_new(tp_tcp_connect(hp, 5000, err, sizeof err), ct, NULL, "early");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  pthread_join(t, NULL); /* both records and close_notify are on their way */
  usleep(50000);
  assert_int_equal(tp_conn_read_exact(c, b, 5, 5000), 0);
  assert_memory_equal(b, "reply", 5);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  struct tp_fwd *fw = tp_fwd_start(sv[1], c, err, sizeof err);
  assert_non_null(fw);
  shutdown(sv[0], SHUT_WR);
  size_t got = 0;
  ssize_t r;
  while (got < sizeof b && (r = read(sv[0], b + got, sizeof b - got)) > 0)
    got += (size_t)r;
  assert_int_equal(got, 4);
  assert_memory_equal(b, "DATA", 4);
  struct tp_fwd_stats st;
  tp_fwd_join(fw, &st);
  if (st.failed)
    fail_msg("%s", st.error);
  close(sv[0]);
  close(e.lfd);
  tp_tls_free(e.tls);
  tp_tls_free(ct);
  unlink(path);
  rmdir(dir);
}

/* The tunnel options through the public API: values and the rules between
 * them, refused before anything is contacted. */
static void expect_usage(const char *const *kv, const char *why)
{
  struct qmig_migration *m = qmig_new();
  assert_int_equal(qmig_set(m, "src", "unix:/nonexistent/s"), 0);
  for (; kv[0]; kv += 2)
    assert_int_equal(qmig_set(m, kv[0], kv[1]), 0);
  assert_int_equal(qmig_run(m), QMIG_USAGE);
  if (!strstr(qmig_error(m), why))
    fail_msg("expected '%s' in '%s'", why, qmig_error(m));
  qmig_free(m);
}

static void test_options(void **state)
{
  (void)state;
  struct qmig_migration *m = qmig_new();
  assert_int_equal(qmig_set(m, "tunnel", "nohostport"), -1);
  assert_int_equal(qmig_set(m, "tunnel", "tcp:1.2.3.4:5"), -1);
  assert_int_equal(qmig_set(m, "tunnel", "1.2.3.4:99999"), -1);
  assert_int_equal(qmig_set(m, "tunnel-tls", "ssl"), -1);
  assert_int_equal(qmig_set(m, "tunnel", "198.18.0.2:7000"), 0);
  assert_int_equal(qmig_set(m, "tunnel", "[::1]:7000"), 0);
  qmig_free(m);
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-tls", "x509", NULL },
               "tunnel-tls-dir");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-tls", "psk", NULL },
               "tunnel-psk-file");
  expect_usage((const char *const[]){ "dst", "unix:/d", "tunnel-tls", "psk", NULL }, "need tunnel");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-tls", "none",
                                      "tunnel-psk-file", "/k", "tunnel-insecure-no-auth", "on",
                                      NULL },
               "not psk");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", NULL }, "needs a credential");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-tls", "psk",
                                      "tunnel-psk-file", "/k", "tunnel-insecure-no-auth", "on",
                                      NULL },
               "contradict");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-insecure-no-auth", "on",
                                      "tunnel-data", "plain", NULL },
               "does not apply");
  expect_usage((const char *const[]){ "dst", "unix:/d", "tunnel-data", "plain", NULL },
               "need tunnel");
  expect_usage((const char *const[]){ "tunnel", "127.0.0.1:1", "tunnel-insecure-no-auth", "on",
                                      "copy-all-disks", "on", "nbd-addr", "unix:/x", NULL },
               "do not apply with tunnel");
}

/* tp_conn_split_last_byte: the forwarder sends a chunk's last byte in a
 * TLS record of its own (QEMU 7.2's TLS monitor answers a command only once
 * a record after it arrives); without it, one record.  The receiver's
 * SSL_read returns one record at a time, so the sizes it sees are the
 * records. */
static const char split_cmd[] = "{\"execute\":\"qmp_capabilities\"}\n";

struct rec_server {
  int lfd;
  struct tp_tls *tls;
  size_t sizes[8], n;
};

static void *rec_server(void *p)
{
  struct rec_server *s = p;
  struct tp_conn *c = tp_conn_new(tp_accept(s->lfd, 5000, NULL, 0), s->tls, NULL, "record server");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  char b[256];
  ssize_t r;
  while (s->n < 8 && (r = tp_conn_read_some(c, b, sizeof b, 5000)) > 0)
    s->sizes[s->n++] = (size_t)r;
  tp_conn_free(c);
  return NULL;
}

static void records_for(bool split, size_t *sizes, size_t *n)
{
  char dir[] = "/tmp/qmig-unit-split.XXXXXX", path[64], err[256], hp[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/keys.psk", dir);
  FILE *f = fopen(path, "w");
  fprintf(f, "qemu:00112233445566778899aabbccddeeff\n");
  fclose(f);
  chmod(path, 0600);
  struct tp_tls_opts so = { .mode = TP_TLS_PSK, .server = true, .psk_file = path };
  struct tp_tls_opts co = { .mode = TP_TLS_PSK, .psk_file = path };
  struct rec_server s = { .tls = tp_tls_new(&so, err, sizeof err) };
  struct tp_tls *ct = tp_tls_new(&co, err, sizeof err);
  assert_non_null(s.tls);
  assert_non_null(ct);
  s.lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(s.lfd, (struct sockaddr *)&sa, &sl);
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(sa.sin_port));
  pthread_t t;
  pthread_create(&t, NULL, rec_server, &s);
  struct tp_conn *c = tp_conn_new(tp_tcp_connect(hp, 5000, err, sizeof err), ct, NULL, "split");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  tp_conn_split_last_byte(c, split);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  struct tp_fwd *fw = tp_fwd_start(sv[1], c, err, sizeof err);
  assert_non_null(fw);
  assert_int_equal(write(sv[0], split_cmd, sizeof split_cmd - 1), (ssize_t)(sizeof split_cmd - 1));
  shutdown(sv[0], SHUT_WR); /* close_notify after the data: the server's loop ends */
  pthread_join(t, NULL);
  tp_fwd_abort(fw);
  tp_fwd_join(fw, NULL);
  close(sv[0]);
  close(s.lfd);
  tp_tls_free(s.tls);
  tp_tls_free(ct);
  unlink(path);
  rmdir(dir);
  memcpy(sizes, s.sizes, sizeof s.sizes);
  *n = s.n;
}

static void test_forward_split_last(void **state)
{
  (void)state;
  size_t sz[8], n;
  records_for(true, sz, &n);
  assert_int_equal(n, 2);
  assert_int_equal(sz[0], sizeof split_cmd - 2); /* the command without its newline */
  assert_int_equal(sz[1], 1);
  records_for(false, sz, &n);
  assert_int_equal(n, 1);
  assert_int_equal(sz[0], sizeof split_cmd - 1);
}

/* Sockets report their failures in the caller's buffer, errno plays no
 * part (transport.h's one convention). */
static void test_socket_errors(void **state)
{
  (void)state;
  char err[256] = "", hp[64];
  int lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  assert_true(lfd >= 0);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(sa.sin_port));
  assert_int_equal(tp_accept(lfd, 50, err, sizeof err), -1);
  assert_string_equal(err, "accepting: nobody connected within 50 ms");
  assert_int_equal(tp_accept(lfd, 50, NULL, 0), -1); /* no buffer: fine */
  close(lfd);                                        /* nobody listens there now */
  assert_int_equal(tp_tcp_connect(hp, 2000, err, sizeof err), -1);
  char want[128];
  snprintf(want, sizeof want, "connecting to %s: %s", hp, strerror(ECONNREFUSED));
  assert_string_equal(err, want);
  assert_int_equal(tp_tcp_connect("nocolon", 2000, err, sizeof err), -1);
  assert_string_equal(err, "'nocolon' is not HOST:PORT");
  assert_int_equal(tp_unix_connect("/nonexistent/qmig.sock", 2000, err, sizeof err), -1);
  assert_string_equal(err, "connecting to /nonexistent/qmig.sock: No such file or directory");
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN); /* a failed forwarder shows as a message, not a kill */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hello_roundtrip),
    cmocka_unit_test(test_hello_refused),
    cmocka_unit_test(test_reply),
    cmocka_unit_test(test_classify),
    cmocka_unit_test(test_forward_plain),
    cmocka_unit_test(test_forward_tls_psk),
    cmocka_unit_test(test_forward_tls_split_last),
    cmocka_unit_test(test_forward_early_records),
    cmocka_unit_test(test_options),
    cmocka_unit_test(test_forward_split_last),
    cmocka_unit_test(test_socket_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
