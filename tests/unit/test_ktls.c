/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_ktls.c - kernel TLS for tunnel channels (transport/ktls.c): the
 * decision from the kernel's ULP list and OpenSSL's version, the "user"
 * fallback with its reason on a real handshaken connection where the
 * kernel has no tls ULP, and, where it has one and OpenSSL can offload
 * both ways, a real connection switched to kTLS (skipped otherwise, with
 * the reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "psk_fixture.h"

static void test_decision(void **state)
{
  (void)state;
  char why[200];
  assert_false(tp_ktls_possible("mptcp\n", 0x30000160UL, why, sizeof why));
  assert_non_null(strstr(why, "no tls ULP"));
  assert_non_null(strstr(why, "mptcp"));
  assert_null(strchr(why, '\n'));
  assert_false(tp_ktls_possible("", 0x30200000UL, why, sizeof why));
  assert_non_null(strstr(why, "empty"));
  assert_false(tp_ktls_possible(NULL, 0x30200000UL, why, sizeof why));
  assert_non_null(strstr(why, "unreadable"));
  /* "tls" as a word, not inside another name */
  assert_false(tp_ktls_possible("mptcp tlsx", 0x30200000UL, why, sizeof why));
  /* OpenSSL 3.0: TLS 1.3 offload only for sending, not enough for QEMU */
  assert_false(tp_ktls_possible("mptcp tls\n", 0x30000160UL, why, sizeof why));
  assert_non_null(strstr(why, "only sending"));
  assert_non_null(strstr(why, "3.0"));
  assert_true(tp_ktls_possible("mptcp tls\n", 0x30200010UL, why, sizeof why));
  assert_string_equal(why, "");
}

struct side {
  struct tp_conn *c;
  int rc;
};

static void *server(void *p)
{
  struct side *s = p;
  s->rc = tp_conn_handshake(s->c, 10000);
  return NULL;
}

/* A PSK connection over loopback TCP, handshaken; 0 or skip. */
static void pair(struct psk_pair *pp, struct side *srv, struct side *cli)
{
  char err[256];
  int lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  assert_true(lfd >= 0);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &sl), 0);
  char hp[64];
  snprintf(hp, sizeof hp, "127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  int cfd = tp_tcp_connect(hp, 5000, err, sizeof err);
  assert_true(cfd >= 0);
  int sfd = tp_accept(lfd, 5000, NULL, 0);
  assert_true(sfd >= 0);
  close(lfd);
  srv->c = tp_conn_new(sfd, pp->server, NULL, "ktls server");
  cli->c = tp_conn_new(cfd, pp->client, "127.0.0.1", "ktls client");
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, server, srv), 0);
  cli->rc = tp_conn_handshake(cli->c, 10000);
  pthread_join(t, NULL);
  if (cli->rc < 0 || srv->rc < 0)
    fail_msg("handshake: %s / %s", tp_conn_error(cli->c), tp_conn_error(srv->c));
  /* Some setup traffic, as the hello, before the decision. */
  assert_int_equal(tp_conn_write_all(cli->c, "hello", 5, 5000), 0);
  char b[5];
  assert_int_equal(tp_conn_read_exact(srv->c, b, 5, 5000), 0);
}

/* Where kTLS cannot work here, a TLS connection stays "user" and says why
 * (the same reason the report's offload_why carries). */
static void test_user_fallback(void **state)
{
  (void)state;
  char avail[200], why[200];
  if (tp_ktls_available(avail, sizeof avail)) {
    print_message("kTLS available here: the fallback is tested by test_decision only\n");
    skip();
  }
  struct psk_pair pp;
  psk_pair_new(&pp, NULL);
  struct side srv = { 0 }, cli = { 0 };
  pair(&pp, &srv, &cli);
  assert_int_equal(tp_tls_offload_ktls(cli.c, why, sizeof why), -1);
  assert_string_equal(why, avail);
  assert_int_equal(tp_tls_offload_ktls(srv.c, why, sizeof why), -1);
  assert_string_equal(why, avail);
  /* and the connection still works in user space */
  assert_int_equal(tp_conn_write_all(srv.c, "world", 5, 5000), 0);
  char b[6] = "";
  assert_int_equal(tp_conn_read_exact(cli.c, b, 5, 5000), 0);
  assert_string_equal(b, "world");
  tp_conn_free(srv.c);
  tp_conn_free(cli.c);
  psk_pair_free(&pp);
}

/* Where it can: both ends switched, and the sockets carry TLS the kernel
 * decrypts (plain recv() on one end reads what SSL wrote on the other). */
static void test_ktls_switch(void **state)
{
  (void)state;
  char why[200];
  if (!tp_ktls_available(why, sizeof why)) {
    print_message("skip: %s\n", why);
    skip();
  }
  struct psk_pair pp;
  psk_pair_new(&pp, NULL);
  struct side srv = { 0 }, cli = { 0 };
  pair(&pp, &srv, &cli);
  if (tp_tls_offload_ktls(cli.c, why, sizeof why) < 0)
    fail_msg("client: %s", why);
  if (tp_tls_offload_ktls(srv.c, why, sizeof why) < 0)
    fail_msg("server: %s", why);
  assert_int_equal(tp_conn_write_all(cli.c, "kernel", 6, 5000), 0);
  char b[7] = "";
  size_t got = 0;
  for (int i = 0; i < 100 && got < 6; i++) {
    ssize_t r = recv(tp_conn_fd(srv.c), b + got, 6 - got, MSG_DONTWAIT);
    if (r > 0)
      got += (size_t)r;
    else
      usleep(10000);
  }
  assert_string_equal(b, "kernel");
  tp_conn_free(srv.c);
  tp_conn_free(cli.c);
  psk_pair_free(&pp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decision),
    cmocka_unit_test(test_user_fallback),
    cmocka_unit_test(test_ktls_switch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
