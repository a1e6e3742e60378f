/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp_faults.c - the QMP client against a scripted fake
 * server that misbehaves (the cases a real QEMU will not produce): garbage
 * and a bad greeting, large and oversized messages, a peer that drops
 * mid-reply or mid-handshake, a peer that stays silent (timeouts).  A broken
 * connection must be detected, not waited out, and say what failed.
 *
 * The fake server and fixture live in fake_qmp.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "qmp/qmp.h"

#include "tests/unit/fake_qmp.h"

/* ---- tests ---- */

/* Prestate: the bytes the fake sends instead of a reply. */
static void script_garbage(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-status") < 0)
    return;
  fake_say(f, "%s", (const char *)f->param);
}

static void test_malformed(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_garbage);
  long t0 = now_ms();
  assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T), -1);
  assert_true(now_ms() - t0 < T / 2); /* detected, not timed out */
  assert_true(qmp_broken(c));
  const char *e = qmp_error(c);
  print_message("    -> %s\n", e);
  assert_true(strncmp(e, "malformed JSON from test: ", 26) == 0);
  assert_string_equal(qmp_error_class(c), "");
  /* Broken: fails at once with the same message. */
  char first[1024];
  snprintf(first, sizeof first, "%s", e);
  assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T), -1);
  assert_string_equal(qmp_error(c), first);
  assert_int_equal(qmp_pump(c, 0), -1);
  fx_finish(FX);
}

static void script_bad_greeting(struct fake *f)
{
  fake_say(f, "%s", (const char *)f->param);
}

static void test_bad_greeting(void **state)
{
  char err[512];
  fx_start(FX, script_bad_greeting);
  struct qmp_conn *c = qmp_open_fd("test", FX->client_fd, T, err, sizeof err);
  FX->client_fd = -1;
  assert_null(c);
  print_message("    -> %s\n", err);
  assert_true(strncmp(err, "test QMP: ", 10) == 0);
  fx_finish(FX);
}

static void script_big(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-big") < 0)
    return;
  size_t n = (size_t)f->param;
  char *s = malloc(n);
  if (!s)
    return;
  memset(s, 'x', n);
  bool complete = n < QMP_MAX_MESSAGE;
  fake_say(f, "{\"return\": \"");
  /* Oversized: the client hangs up mid-way, so writes may fail. */
  if (fake_write(f, s, n, !complete) == 0 && complete)
    fake_say(f, "\", \"id\": \"%s\"}\r\n", f->id);
  free(s);
}

static void test_large_reply(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_big);
  json_t *ret = NULL;
  assert_int_equal(qmp_execute(c, "query-big", NULL, &ret, T), 0);
  assert_int_equal(json_string_length(ret), (size_t)FX->f.param);
  json_decref(ret);
  fx_finish(FX);
}

static void test_oversized(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_big);
  assert_int_equal(qmp_execute(c, "query-big", NULL, NULL, 10000), -1);
  assert_true(qmp_broken(c));
  assert_string_equal(qmp_error(c), "test: message exceeds 16777216 bytes");
  fx_finish(FX);
}

static void script_drop(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-status") < 0)
    return;
  fake_say(f, "{\"event\": \"SHUTDOWN\"}\r\n{\"return\": {\"sta");
  f->hangup = true;
}

static void test_peer_disconnect_mid_reply(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_drop);
  assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T), -1);
  assert_true(qmp_broken(c));
  assert_string_equal(qmp_error(c), "test: connection closed by peer while "
                                    "waiting for reply to 'query-status'");
  /* The event that came before the hang-up is still there. */
  struct qmp_event ev;
  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "SHUTDOWN");
  qmp_event_clear(&ev);
  assert_int_equal(qmp_cmd(c, NULL, T, "cont", NULL), -1);
  assert_string_equal(qmp_error(c), "test: connection closed by peer while "
                                    "waiting for reply to 'query-status'");
  fx_finish(FX);
}

static void script_drop_in_handshake(struct fake *f)
{
  fake_say(f, GREETING);
  fake_recv(f, "qmp_capabilities");
  f->hangup = true;
}

static void test_peer_disconnect_in_handshake(void **state)
{
  char err[512];
  fx_start(FX, script_drop_in_handshake);
  struct qmp_conn *c = qmp_open_fd("src", FX->client_fd, T, err, sizeof err);
  FX->client_fd = -1;
  assert_null(c);
  assert_string_equal(err, "src QMP: connection closed by peer while waiting "
                           "for reply to 'qmp_capabilities'");
  fx_finish(FX);
}

static void script_silent(struct fake *f)
{
  if (fake_handshake(f) == 0)
    fake_recv(f, "query-status");
}

static void test_timeout(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_silent);
  long t0 = now_ms();
  assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, 200), -1);
  long dt = now_ms() - t0;
  assert_true(dt >= 195 && dt < 2000);
  assert_true(qmp_broken(c));
  assert_string_equal(qmp_error(c), "test: timed out after 200 ms waiting "
                                    "for reply to 'query-status'");
  t0 = now_ms();
  assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, 200), -1);
  assert_true(now_ms() - t0 < 100);
  assert_string_equal(qmp_error(c), "test: timed out after 200 ms waiting "
                                    "for reply to 'query-status'");
  fx_finish(FX);
}

static void script_mute(struct fake *f)
{
  (void)f;
}

static void test_greeting_timeout(void **state)
{
  char err[512];
  fx_start(FX, script_mute);
  long t0 = now_ms();
  struct qmp_conn *c = qmp_open_fd("dst", FX->client_fd, 150, err, sizeof err);
  FX->client_fd = -1;
  assert_null(c);
  assert_true(now_ms() - t0 < 2000);
  assert_string_equal(err, "dst QMP: timed out after 150 ms waiting for "
                           "greeting");
  fx_finish(FX);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    FXP(test_malformed, "hello world\r\n"),
    FXP(test_malformed, "{\"return\": tru}\r\n"),
    FXP(test_malformed, "{\"return\": {}]\r\n"),
    FXP(test_malformed, "}\r\n"),
    FXP(test_malformed, "{\"return\": \"\xff\xfe\"}\r\n"),
    FXP(test_malformed, "{\"return\": {\"a\" 1}}\r\n"),
    FXP(test_bad_greeting, "\x01\x02garbage"),
    FXP(test_bad_greeting, "{\"QMP\": {\"version\": {}}}"),
    FXP(test_large_reply, (size_t)3 << 20),
    FXP(test_oversized, (size_t)QMP_MAX_MESSAGE + (256u << 10)),
    FXT(test_peer_disconnect_mid_reply),
    FXT(test_peer_disconnect_in_handshake),
    FXT(test_timeout),
    FXT(test_greeting_timeout),
  };
  return cmocka_run_group_tests_name("qmp_faults", tests, NULL, NULL);
}
