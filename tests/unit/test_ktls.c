/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_ktls.c - kernel TLS for tunnel channels (transport/ktls.c): the
 * decision from the kernel's ULP list and OpenSSL's version, the "user"
 * fallback with its reason on a real handshaken connection where the
 * kernel has no tls ULP, the "nothing pending" check before a TLS socket
 * may be handed to QEMU (tp_conn_can_hand_off) on real connections, the
 * per-channel handoff decision table (eng_handoff_decide), and, where the
 * kernel has the ULP and OpenSSL can offload both ways, a real connection
 * switched to kTLS and handable (skipped otherwise, with the reason). */
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

#include "agent/agent.h"
#include "engine/tunnel.h"
#include "psk_fixture.h"
#include "transport/conn_int.h"

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

/* A PSK connection over loopback TCP, handshaken, the server sending
 * `tickets` session tickets after it (our contexts: none). */
static void pair_tickets(struct psk_pair *pp, struct side *srv, struct side *cli, size_t tickets)
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
  if (tickets)
    assert_int_equal(SSL_set_num_tickets(srv->c->ssl, tickets), 1);
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

static void pair(struct psk_pair *pp, struct side *srv, struct side *cli)
{
  pair_tickets(pp, srv, cli, 0);
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
  /* and so both sockets can go to QEMU as they are */
  assert_true(tp_conn_can_hand_off(cli.c, why, sizeof why));
  assert_true(tp_conn_can_hand_off(srv.c, why, sizeof why));
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

/* What tp_conn_can_hand_off says about c: "" when it can be handed. */
static const char *handable(struct tp_conn *c, char *why, size_t len)
{
  if (tp_conn_can_hand_off(c, why, len)) {
    assert_string_equal(why, "");
    return why;
  }
  assert_true(why[0] != '\0');
  return why;
}

/* The check before a TLS socket goes to QEMU, on real connections: a
 * fresh pair is handable exactly where kTLS works (here: not, with the
 * reason the report gives); whatever OpenSSL still holds makes it not
 * handable wherever it runs, each with its reason. */
static void test_nothing_pending(void **state)
{
  (void)state;
  char avail[200], why[200];
  bool k = tp_ktls_available(avail, sizeof avail);
  struct psk_pair pp;
  psk_pair_new(&pp, NULL);
  struct side srv = { 0 }, cli = { 0 };

  /* Before the handshake. */
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct tp_conn *fresh = tp_conn_new(sv[0], pp.client, NULL, "unhandshaken");
  assert_string_equal(handable(fresh, why, sizeof why), "the TLS handshake has not finished");
  tp_conn_free(fresh);
  close(sv[1]);

  pair(&pp, &srv, &cli);
  if (k) {
    assert_string_equal(handable(cli.c, why, sizeof why), "");
    assert_string_equal(handable(srv.c, why, sizeof why), "");
  } else {
    /* Nothing pending: the reason is the kernel's (or OpenSSL's). */
    assert_string_equal(handable(cli.c, why, sizeof why), avail);
    assert_string_equal(handable(srv.c, why, sizeof why), avail);
    print_message("here: %s\n", avail);
  }
  /* Received plaintext not read yet: it would be lost to QEMU. */
  assert_int_equal(tp_conn_write_all(srv.c, "0123456789", 10, 5000), 0);
  char b[4];
  assert_int_equal(tp_conn_read_exact(cli.c, b, 4, 5000), 0);
  assert_string_equal(handable(cli.c, why, sizeof why),
                      "OpenSSL holds 6 received byte(s) not read yet");
  char rest[6];
  assert_int_equal(tp_conn_read_exact(cli.c, rest, 6, 5000), 0);
  assert_memory_equal(rest, "456789", 6);
  assert_string_equal(handable(cli.c, why, sizeof why), k ? "" : avail);
  /* A key update asked for and not sent yet would go out after QEMU's
   * records under keys QEMU's kernel socket does not have. */
  assert_int_equal(SSL_key_update(cli.c->ssl, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  assert_string_equal(handable(cli.c, why, sizeof why),
                      "a TLS key update is scheduled and not sent yet");
  tp_conn_free(srv.c);
  tp_conn_free(cli.c);

  /* A server that sends session tickets: they follow the handshake as
   * records QEMU would get; the client cannot see them coming (they are
   * still in its kernel), so the server's check stands for both. */
  pair_tickets(&pp, &srv, &cli, 2);
  assert_string_equal(handable(srv.c, why, sizeof why),
                      "the TLS server side sends 2 session ticket(s) after the handshake "
                      "(num_tickets must be 0)");
  assert_int_equal(SSL_get_num_tickets(cli.c->ssl), 0); /* our contexts: none */
  tp_conn_free(srv.c);
  tp_conn_free(cli.c);
  psk_pair_free(&pp);
}

static void schema_why(void *user_data, char *why, size_t whylen)
{
  snprintf(why, whylen, "multifd: the source offers %s", (const char *)user_data);
}

/* The per-channel handoff decision: plain or TLS data, each side's offload
 * (kernel, user, not yet asked, an agent too old to say), tunnel-handoff
 * auto/on/off. */
static void test_handoff_table(void **state)
{
  (void)state;
  enum { NOT_ASKED, OLD, USER, KTLS };
  static const char *const dst_name[] = { "not asked", "old agent", "user", "ktls" };
  static const int modes[] = { ENG_HANDOFF_AUTO, ENG_HANDOFF_ON, ENG_HANDOFF_OFF };
  for (unsigned mi = 0; mi < 3; mi++)
    for (int tls = 0; tls <= 1; tls++)
      for (int src = 0; src <= 1; src++)
        for (int dst = NOT_ASKED; dst <= KTLS; dst++) {
          struct tp_handoff_reply r = { .on = true };
          r.offload = dst == KTLS   ? TP_OFFLOAD_KTLS
                      : dst == USER ? TP_OFFLOAD_USER
                                    : TP_OFFLOAD_UNKNOWN;
          if (dst == USER)
            snprintf(r.offload_why, sizeof r.offload_why, "the kernel has no tls ULP (B)");
          struct eng_handoff_in in = { .handoff = modes[mi],
                                       .kind = TP_K_MAIN,
                                       .tls = tls,
                                       .src_ktls = src,
                                       .src_offload_why = src ? "" : "OpenSSL 3.0 (A)",
                                       .dst = dst == NOT_ASKED ? NULL : &r,
                                       .src_qmp = "unix:/run/src.qmp",
                                       .agent_handoff = true,
                                       .agent = "198.18.0.2:7000" };
          char why[300] = "x", want[300] = "";
          bool ok = eng_handoff_decide(&in, why, sizeof why);
          if (modes[mi] == ENG_HANDOFF_OFF)
            snprintf(want, sizeof want, "tunnel-handoff off");
          else if (tls && !src)
            snprintf(want, sizeof want, "tls: source offload user: OpenSSL 3.0 (A)");
          else if (tls && dst == USER)
            snprintf(want, sizeof want,
                     "tls: destination offload user: the kernel has no tls ULP (B)");
          else if (tls && dst == OLD)
            snprintf(want, sizeof want,
                     "tls: destination offload user: the agent does not report kernel TLS (an "
                     "older qmig agent)");
          print_message("%-4s data %-5s src %-4s dst %-9s: %s\n",
                        modes[mi] == ENG_HANDOFF_OFF  ? "off"
                        : modes[mi] == ENG_HANDOFF_ON ? "on"
                                                      : "auto",
                        tls ? "tls" : "plain", src ? "ktls" : "user", dst_name[dst],
                        ok ? "handoff" : why);
          if (want[0]) {
            assert_false(ok);
            assert_string_equal(why, want);
          } else {
            assert_true(ok); /* plain either way; TLS with kTLS on both ends */
          }
        }
  /* What no offload changes, with TLS kernel-offloaded on both ends. */
  struct tp_handoff_reply k = { .on = true, .offload = TP_OFFLOAD_KTLS };
  struct eng_handoff_in base = { .handoff = ENG_HANDOFF_AUTO,
                                 .kind = TP_K_MAIN,
                                 .tls = true,
                                 .src_ktls = true,
                                 .dst = &k,
                                 .src_qmp = "unix:/run/src.qmp",
                                 .agent_handoff = true,
                                 .agent = "198.18.0.2:7000" };
  char why[300];
  struct eng_handoff_in in = base;
  in.kind = TP_K_NBD;
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_non_null(strstr(why, "disk copy"));
  in = base;
  in.kind = TP_K_QMP;
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_non_null(strstr(why, "allow-list"));
  in = base;
  in.multifd = true;
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_true(strncmp(why, "multifd: ", 9) == 0);
  in.multifd_why = schema_why; /* what the source QEMU offers, when it can tell */
  in.user_data = "main, cpr";
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_string_equal(why, "multifd: the source offers main, cpr");
  in = base;
  in.src_qmp = "tcp:198.18.0.1:4444";
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_string_equal(why, "the source's QMP (tcp:198.18.0.1:4444) is not a unix socket: no "
                           "descriptor can be passed to it");
  in = base;
  in.agent_handoff = false;
  assert_false(eng_handoff_decide(&in, why, sizeof why));
  assert_non_null(strstr(why, "198.18.0.2:7000 does not offer socket handoff"));
  assert_true(eng_handoff_decide(&base, why, sizeof why));
}

/* The agent's answer to op handoff, as the engine parses it. */
static struct tp_handoff_reply answer(const struct qmig_agent *a)
{
  bool on = !a->skew_ms;
  json_t *j = agt_handoff_answer(a, &on);
  assert_non_null(j);
  char *text = json_dumps(j, JSON_COMPACT), err[200];
  json_decref(j);
  assert_non_null(text);
  struct tp_handoff_reply r;
  if (tp_handoff_reply_parse(text, strlen(text), &r, err, sizeof err) < 0)
    fail_msg("%s: %s", text, err);
  print_message("%s\n", text);
  free(text);
  assert_int_equal(r.on, on);
  return r;
}

/* The agent reports its side of a TLS channel in that answer: "ktls" where
 * its kernel and OpenSSL can, else "user" with the same reason as ours. */
static void test_agent_answer(void **state)
{
  (void)state;
  char avail[200];
  bool k = tp_ktls_available(avail, sizeof avail);
  struct psk_pair pp;
  psk_pair_new(&pp, NULL);
  struct qmig_agent *a = qmig_agent_new();
  assert_non_null(a);
  a->insecure = true; /* no credential: no TLS at all */
  struct tp_handoff_reply r = answer(a);
  assert_true(r.on);
  assert_int_equal(r.offload, TP_OFFLOAD_USER);
  assert_string_equal(r.offload_why, "this agent has no TLS credential (insecure-no-auth)");
  a->insecure = false;
  a->tls_ctx = pp.server;
  r = answer(a);
  assert_true(r.on); /* plain channels can still be handed off */
  assert_int_equal(r.offload, k ? TP_OFFLOAD_KTLS : TP_OFFLOAD_USER);
  assert_string_equal(r.offload_why, k ? "" : avail);
  /* Only TLS channels come: yes only where they can be kernel TLS. */
  a->refuse_plain_data = 1;
  r = answer(a);
  assert_int_equal(r.on, k);
  if (!k)
    assert_string_equal(r.why, "plain-data refuse, and no kernel TLS here: only plain or kernel "
                               "TLS channels can be handed off");
  a->refuse_plain_data = 0;
  a->skew_ms = 5;
  r = answer(a);
  assert_false(r.on);
  assert_non_null(strstr(r.why, "test-clock-skew-ms"));
  a->skew_ms = 0;
  a->tls_ctx = NULL; /* the pair's */
  qmig_agent_free(a);
  psk_pair_free(&pp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decision),        cmocka_unit_test(test_user_fallback),
    cmocka_unit_test(test_nothing_pending), cmocka_unit_test(test_handoff_table),
    cmocka_unit_test(test_agent_answer),    cmocka_unit_test(test_ktls_switch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
