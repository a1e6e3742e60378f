/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tunnel's authentication (wire protocol 2): the challenge and response
 * parsers, the HMAC (a known answer computed independently with Python's
 * hmac module, and every input it covers), the control-line and session
 * reply JSON, and over real loopback TCP: both ends of a TLS 1.3 PSK
 * connection export the same session key, a data connection holding it is
 * accepted, one without it is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/psk_fixture.h"

#include "transport/transport.h"

static const struct tp_hello mfd3 = {
  .version = TP_HELLO_VERSION,
  .kind = TP_K_MULTIFD,
  .index = 3,
  .session = { 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115 },
};

static void fill(uint8_t *b, size_t n, uint8_t start, uint8_t step)
{
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)(start + i * step);
}

static void test_challenge_response(void **state)
{
  (void)state;
  uint8_t nonce[TP_NONCE_LEN], got[TP_NONCE_LEN], b[TP_AUTH_LEN + 1];
  char err[256] = "";
  fill(nonce, sizeof nonce, 9, 3);
  tp_challenge_encode(nonce, b);
  assert_true(tp_is_challenge(b, TP_AUTH_LEN));
  assert_int_equal(tp_challenge_parse(b, TP_AUTH_LEN, got, err, sizeof err), 0);
  assert_memory_equal(got, nonce, sizeof nonce);
  /* A challenge is not a response, and the other way round. */
  assert_int_equal(tp_response_parse(b, TP_AUTH_LEN, got, err, sizeof err), -1);
  assert_non_null(strstr(err, "magic"));
  assert_int_equal(tp_challenge_parse(b, TP_AUTH_LEN - 1, got, err, sizeof err), -1);
  assert_non_null(strstr(err, "bytes"));
  assert_int_equal(tp_challenge_parse(b, TP_AUTH_LEN + 1, got, err, sizeof err), -1);
  b[4] = 1;
  assert_int_equal(tp_challenge_parse(b, TP_AUTH_LEN, got, err, sizeof err), -1);
  assert_non_null(strstr(err, "version 1"));
  tp_response_encode(nonce, b);
  assert_false(tp_is_challenge(b, TP_AUTH_LEN));
  assert_int_equal(tp_response_parse(b, TP_AUTH_LEN, got, err, sizeof err), 0);
  b[6] = 1;
  assert_int_equal(tp_response_parse(b, TP_AUTH_LEN, got, err, sizeof err), -1);
  assert_non_null(strstr(err, "reserved"));
  /* A refusal reply where a challenge could be: told apart by its magic. */
  size_t n = tp_reply_encode(TP_ST_UNKNOWN_SESSION, "no", b, sizeof b);
  assert_false(tp_is_challenge(b, n));
}

static void test_hmac(void **state)
{
  (void)state;
  /* python3: hmac.new(bytes(range(32)), b'qmig-chan-v2' + b'\xa5'*32 +
   * bytes([4]) + (3).to_bytes(2,'big') + bytes(range(100,116)), sha256) */
  static const char want_hex[] = "c677c2ff85de8ff232956a48400f49c8802dbf3c563905e75a9917edf5366f76";
  uint8_t key[TP_KEY_LEN], nonce[TP_NONCE_LEN], mac[TP_MAC_LEN];
  char hex[2 * TP_MAC_LEN + 1];
  fill(key, sizeof key, 0, 1);
  memset(nonce, 0xa5, sizeof nonce);
  assert_int_equal(tp_auth_mac(key, nonce, &mfd3, mac), 0);
  tp_hex(mac, sizeof mac, hex);
  assert_string_equal(hex, want_hex);
  assert_true(tp_auth_verify(key, nonce, &mfd3, mac));

  /* Every input counts: a changed key, nonce, kind, index, session or MAC
   * is refused. */
  struct tp_hello h = mfd3;
  key[31] ^= 1;
  assert_false(tp_auth_verify(key, nonce, &h, mac));
  key[31] ^= 1;
  nonce[0] ^= 0x80;
  assert_false(tp_auth_verify(key, nonce, &h, mac));
  nonce[0] ^= 0x80;
  h.kind = TP_K_MAIN;
  h.index = 0;
  assert_false(tp_auth_verify(key, nonce, &h, mac)); /* a multifd proof reused for main */
  h = mfd3;
  h.index = 4;
  assert_false(tp_auth_verify(key, nonce, &h, mac));
  h = mfd3;
  h.session[15] ^= 1;
  assert_false(tp_auth_verify(key, nonce, &h, mac));
  mac[7] ^= 0x10;
  assert_false(tp_auth_verify(key, nonce, &mfd3, mac));
  mac[7] ^= 0x10;
  assert_true(tp_auth_verify(key, nonce, &mfd3, mac));
}

static void control_bad(const char *line, const char *why)
{
  struct tp_control_msg m;
  char err[256] = "";
  assert_int_equal(tp_control_parse(line, strlen(line), &m, err, sizeof err), -1);
  if (!strstr(err, why))
    fail_msg("'%s': expected '%s' in '%s'", line, why, err);
}

static void test_control_parse(void **state)
{
  (void)state;
  struct tp_control_msg m;
  char err[256];
  const char *ok = "{\"op\":\"clock\",\"t1\":1700000000123456}";
  assert_int_equal(tp_control_parse(ok, strlen(ok), &m, err, sizeof err), 0);
  assert_int_equal(m.op, TP_CTL_CLOCK);
  assert_true(m.t1 == 1700000000123456LL);
  /* Only the line's bytes count: what follows is not read. */
  const char *two = "{\"op\":\"clock\",\"t1\":5}GARBAGE";
  assert_int_equal(tp_control_parse(two, strlen(two) - 7, &m, err, sizeof err), 0);
  assert_int_equal(tp_control_parse(two, strlen(two), &m, err, sizeof err), -1);
  control_bad("{\"op\":\"clock\"}", "t1");
  control_bad("{\"op\":\"clock\",\"t1\":\"5\"}", "not an integer");
  control_bad("{\"op\":\"shell\",\"cmd\":\"id\"}", "unknown control operation");
  control_bad("{\"t1\":5}", "no 'op'");
  const char *ho = "{\"op\":\"handoff\"}";
  assert_int_equal(tp_control_parse(ho, strlen(ho), &m, err, sizeof err), 0);
  assert_int_equal(m.op, TP_CTL_HANDOFF);
  control_bad("[1,2]", "not a JSON object");
  control_bad("{\"op\":\"clock\",", "not JSON");
  control_bad("{\"op\":\"clock\",\"op\":\"x\",\"t1\":1}", "not JSON"); /* duplicate key */
  int64_t t[3];
  const char *reply = "{\"t1\":1,\"t2\":2,\"t3\":3}";
  assert_int_equal(tp_clock_reply_parse(reply, strlen(reply), t, err, sizeof err), 0);
  assert_true(t[0] == 1 && t[1] == 2 && t[2] == 3);
  const char *short_reply = "{\"t1\":1,\"t2\":2}";
  assert_int_equal(tp_clock_reply_parse(short_reply, strlen(short_reply), t, err, sizeof err), -1);
  assert_non_null(strstr(err, "t3"));
}

static void session_bad(const char *json, const char *why)
{
  struct tp_session_info s;
  char err[256] = "";
  assert_int_equal(tp_session_parse(json, strlen(json), &s, err, sizeof err), -1);
  if (!strstr(err, why))
    fail_msg("'%s': expected '%s' in '%s'", json, why, err);
}

static void test_session_reply(void **state)
{
  (void)state;
  struct tp_session_info s = { .plain_data = true }, got;
  char msg[TP_REPLY_MAX_MSG + 1], err[256];
  fill(s.session, sizeof s.session, 0xf0, 1);
  snprintf(s.incoming, sizeof s.incoming, "unix:/run/x/incoming-f0f1f2f3.sock");
  snprintf(s.nbd, sizeof s.nbd, "unix:/run/x/nbd \"quoted\".sock");
  snprintf(s.agent, sizeof s.agent, "qmig 0.1.0");
  snprintf(s.auth, sizeof s.auth, "psk");
  assert_int_equal(tp_session_encode(&s, msg, sizeof msg), 0);
  assert_int_equal(tp_session_parse(msg, strlen(msg), &got, err, sizeof err), 0);
  assert_memory_equal(got.session, s.session, TP_SESSION_LEN);
  assert_string_equal(got.nbd, s.nbd);
  assert_string_equal(got.auth, "psk");
  assert_true(got.plain_data);
  assert_false(got.handoff);
  s.handoff = true;
  assert_int_equal(tp_session_encode(&s, msg, sizeof msg), 0);
  assert_int_equal(tp_session_parse(msg, strlen(msg), &got, err, sizeof err), 0);
  assert_true(got.handoff);
  /* An agent before handoff sends no "handoff": parsed as false. */
  const char *old = "{\"session\":\"00112233445566778899aabbccddeeff\",\"incoming\":\"unix:/a\","
                    "\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\",\"plain_data\":true}";
  assert_int_equal(tp_session_parse(old, strlen(old), &got, err, sizeof err), 0);
  assert_false(got.handoff);
  session_bad("{\"session\":\"00112233445566778899aabbccddeeff\",\"incoming\":\"unix:/a\","
              "\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\",\"plain_data\":true,"
              "\"handoff\":1}",
              "'handoff' is not a boolean");
  /* The agent's answer to op handoff. */
  struct tp_handoff_reply hr;
  const char *yes = "{\"handoff\":true}", *no = "{\"handoff\":false,\"why\":\"skew\"}";
  assert_int_equal(tp_handoff_reply_parse(yes, strlen(yes), &hr, err, sizeof err), 0);
  assert_true(hr.on);
  /* An agent before kernel TLS handoff sends no "offload". */
  assert_int_equal(hr.offload, TP_OFFLOAD_UNKNOWN);
  assert_int_equal(tp_handoff_reply_parse(no, strlen(no), &hr, err, sizeof err), 0);
  assert_false(hr.on);
  assert_string_equal(hr.why, "skew");
  assert_int_equal(tp_handoff_reply_parse("{}", 2, &hr, err, sizeof err), -1);
  assert_non_null(strstr(err, "'handoff' is missing"));
  const char *k = "{\"handoff\":true,\"offload\":\"ktls\"}";
  assert_int_equal(tp_handoff_reply_parse(k, strlen(k), &hr, err, sizeof err), 0);
  assert_true(hr.on);
  assert_int_equal(hr.offload, TP_OFFLOAD_KTLS);
  assert_string_equal(hr.offload_why, "");
  const char *u = "{\"handoff\":true,\"offload\":\"user\",\"offload_why\":\"no ULP\"}";
  assert_int_equal(tp_handoff_reply_parse(u, strlen(u), &hr, err, sizeof err), 0);
  assert_int_equal(hr.offload, TP_OFFLOAD_USER);
  assert_string_equal(hr.offload_why, "no ULP");
  const char *bad = "{\"handoff\":true,\"offload\":\"kernel\"}";
  assert_int_equal(tp_handoff_reply_parse(bad, strlen(bad), &hr, err, sizeof err), -1);
  assert_non_null(strstr(err, "'offload' is neither"));
  assert_int_equal(tp_session_encode(&s, msg, 20), -1); /* does not fit */

  session_bad("{\"incoming\":\"unix:/a\",\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\","
              "\"plain_data\":true}",
              "no session id");
  session_bad("{\"session\":\"00112233445566778899AABBCCDDEEFF\",\"incoming\":\"unix:/a\"}",
              "lower-case hex");
  session_bad("{\"session\":\"00112233445566778899aabbccddeeff\",\"incoming\":\"tcp:1.2.3.4:5\","
              "\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\",\"plain_data\":true}",
              "'incoming'");
  session_bad("{\"session\":\"00112233445566778899aabbccddeeff\",\"incoming\":\"unix:/a\","
              "\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\"}",
              "plain_data");
  session_bad("{\"session\":\"00112233445566778899aabbccddeeff\",\"incoming\":\"unix:/a\\u0000/x\","
              "\"nbd\":\"unix:/b\",\"agent\":\"q\",\"auth\":\"psk\",\"plain_data\":true}",
              "NUL"); /* an embedded NUL would cut the path */
}

/* ---- over loopback: the key export and a data connection's proof ---- */

struct srv {
  int lfd;
  struct tp_tls *tls;
  uint8_t session[TP_SESSION_LEN];
  uint8_t key[TP_KEY_LEN]; /* exported from the control connection */
  int rc;                  /* of the data connection's proof */
  char why[256];
};

static int port_of(int lfd, char *hp, size_t len)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &sl);
  return snprintf(hp, len, "127.0.0.1:%u", ntohs(sa.sin_port));
}

/* Like the agent: a TLS control connection (key export), then a plain data
 * connection that must prove the session. */
static void *agent_side(void *p)
{
  struct srv *s = p;
  struct tp_conn *c = tp_conn_new(tp_accept(s->lfd, 5000, NULL, 0), s->tls, NULL, "control");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  assert_int_equal(tp_conn_export_key(c, s->session, s->key), 0);
  assert_int_equal(tp_reply_send(c, TP_ST_OK, "{}", 5000), 0);
  int fd = tp_accept(s->lfd, 5000, NULL, 0);
  assert_int_equal(tp_peek_tls(fd, 5000), 0); /* the data connection is plain */
  struct tp_conn *d = tp_conn_new(fd, NULL, NULL, "data");
  uint8_t b[TP_HELLO_LEN];
  struct tp_hello h;
  assert_int_equal(tp_conn_read_exact(d, b, sizeof b, 5000), 0);
  assert_int_equal(tp_hello_parse(b, sizeof b, &h, s->why, sizeof s->why), 0);
  s->rc = tp_auth_challenge(d, &h, s->key, 5000, s->why, sizeof s->why);
  tp_reply_send(d, s->rc == 0 ? TP_ST_OK : TP_ST_UNKNOWN_SESSION, s->rc == 0 ? "ok" : s->why, 5000);
  tp_conn_free(d);
  tp_conn_free(c);
  return NULL;
}

/* One session: the engine's side with `tamper` flipping a key bit. */
static void session_run(struct tp_tls *ctls, struct tp_tls *stls, bool tamper)
{
  char err[256], hp[64], msg[64];
  struct srv s = { .tls = stls };
  fill(s.session, sizeof s.session, 100, 1);
  s.lfd = tp_tcp_listen("127.0.0.1:0", err, sizeof err);
  assert_true(s.lfd >= 0);
  port_of(s.lfd, hp, sizeof hp);
  pthread_t t;
  pthread_create(&t, NULL, agent_side, &s);

  struct tp_conn *c = tp_conn_new(tp_tcp_connect(hp, 5000, err, sizeof err), ctls, NULL, "ctl");
  assert_int_equal(tp_conn_handshake(c, 5000), 0);
  uint8_t key[TP_KEY_LEN], other[TP_KEY_LEN];
  assert_int_equal(tp_conn_read_exact(c, msg, TP_REPLY_HDR + 2, 5000), 0);
  assert_int_equal(tp_conn_export_key(c, s.session, key), 0);
  uint8_t ctx2[TP_SESSION_LEN] = { 1 };
  assert_int_equal(tp_conn_export_key(c, ctx2, other), 0);
  assert_memory_not_equal(key, other, TP_KEY_LEN); /* bound to the session id */
  if (tamper)
    key[0] ^= 1;

  struct tp_conn *d = tp_conn_new(tp_tcp_connect(hp, 5000, err, sizeof err), NULL, NULL, "data");
  assert_int_equal(tp_conn_export_key(d, s.session, other), -1); /* plain: no key */
  struct tp_hello h = mfd3;
  memcpy(h.session, s.session, TP_SESSION_LEN);
  int rc = tp_hello_exchange(d, &h, key, msg, sizeof msg, 5000);
  const char *derr = tp_conn_error(d);
  pthread_join(t, NULL);
  if (tamper) {
    assert_int_equal(rc, -1);
    assert_int_equal(s.rc, -1);
    assert_non_null(strstr(s.why, "authentication failed"));
    assert_non_null(strstr(derr, "refused by the agent: authentication failed"));
    assert_true(tp_conn_auth_refused(d)); /* the engine reports it as auth */
  } else {
    if (rc < 0 || s.rc < 0)
      fail_msg("engine: %s; agent: %s", derr, s.why);
    assert_memory_equal(key, s.key, TP_KEY_LEN);
    assert_string_equal(msg, "ok");
  }
  tp_conn_free(d);
  tp_conn_free(c);
  close(s.lfd);
}

static void test_session_key_and_proof(void **state)
{
  (void)state;
  struct psk_pair k;
  psk_pair_new(&k, NULL);
  session_run(k.client, k.server, false);
  session_run(k.client, k.server, true);
  psk_pair_free(&k);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_challenge_response),    cmocka_unit_test(test_hmac),
    cmocka_unit_test(test_control_parse),         cmocka_unit_test(test_session_reply),
    cmocka_unit_test(test_session_key_and_proof),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
