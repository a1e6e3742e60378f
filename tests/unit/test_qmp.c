/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp.c - the QMP client against a scripted fake server on
 * a socketpair (for the cases a real QEMU will not produce: garbage, split
 * and oversized messages, hangs, drops), and connecting by address.  The
 * same client against a real QEMU: test_qmp_qemu.c.
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

static void script_handshake(struct fake *f)
{
  fake_handshake(f);
}

static void test_handshake(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_handshake);
  const struct qmp_version *v = qmp_version(c);
  assert_int_equal(v->major, 7);
  assert_int_equal(v->minor, 2);
  assert_int_equal(v->micro, 22);
  assert_string_equal(v->package, "Debian 1:7.2+dfsg-7");
  assert_string_equal(qmp_name(c), "test");
  assert_false(qmp_broken(c));
  assert_true(qmp_fd(c) >= 0);
  fx_finish(FX);
}

static void script_ids(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-status") < 0)
    return;
  fake_say(f, "{\"return\": {\"status\": \"stale\"}, \"id\": \"qmig-0\"}\r\n"
              "{\"return\": {\"status\": \"no id\"}}\r\n"
              "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, "
              "\"id\": \"other\"}\r\n"
              "{\"return\": {\"status\": \"numeric id\"}, \"id\": 2}\r\n");
  sleep_ms(20); /* let the client see those alone first */
  fake_say(f,
           "{\"id\": \"%s\", \"return\": {\"status\": \"running\", "
           "\"running\": true}}\r\n",
           f->id);
  if (fake_recv(f, "query-name") == 0)
    fake_reply(f, "{}");
}

static void test_id_correlation(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_ids);
  json_t *ret = NULL;
  assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T), 0);
  assert_non_null(ret);
  assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
  assert_true(json_is_true(json_object_get(ret, "running")));
  json_decref(ret);
  assert_int_equal(qmp_execute(c, "query-name", NULL, NULL, T), 0);
  fx_finish(FX);
  /* Every command got its own id. */
  assert_int_equal(FX->f.nids, 3);
  assert_string_not_equal(FX->f.ids[0], FX->f.ids[1]);
  assert_string_not_equal(FX->f.ids[1], FX->f.ids[2]);
}

static void script_events(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "migrate") < 0)
    return;
  fake_say(f, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": "
              "123456}, \"event\": \"STOP\"}\r\n");
  fake_say(f, "{\"timestamp\": {\"seconds\": 1700000001, \"microseconds\": "
              "1}, \"event\": \"MIGRATION\", \"data\": {\"status\": "
              "\"active\"}}\r\n");
  fake_say(f, "{\"event\": \"NO_TIMESTAMP\", \"data\": {}}\r\n");
  fake_reply(f, "{}");
}

static void test_events_between_command_and_reply(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_events);
  json_t *args = json_pack("{s:s}", "uri", "unix:/tmp/x");
  assert_int_equal(qmp_execute(c, "migrate", args, NULL, T), 0);

  struct qmp_event ev;
  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "STOP");
  assert_null(ev.data);
  assert_int_equal(ev.wall_us, INT64_C(1700000000123456));
  qmp_event_clear(&ev);

  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "MIGRATION");
  assert_int_equal(ev.wall_us, INT64_C(1700000001000001));
  assert_string_equal(json_string_value(json_object_get(ev.data, "status")), "active");
  qmp_event_clear(&ev);

  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "NO_TIMESTAMP");
  assert_int_equal(ev.wall_us, 0);
  qmp_event_clear(&ev);

  assert_false(qmp_next_event(c, &ev));
  assert_int_equal(qmp_events_dropped(c), 0);
  fx_finish(FX);
  /* The arguments went out as given. */
  json_t *a = json_object_get(FX->f.last, "arguments");
  assert_string_equal(json_string_value(json_object_get(a, "uri")), "unix:/tmp/x");
}

static void script_error(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "nope") < 0)
    return;
  fake_say(f,
           "{\"id\": \"%s\", \"error\": {\"class\": \"CommandNotFound\", "
           "\"desc\": \"The command nope has not been found\"}}\r\n",
           f->id);
  if (fake_recv(f, "query-status") == 0)
    fake_reply(f, "{\"status\": \"running\"}");
}

static void test_error_reply(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_error);
  json_t *ret = (json_t *)1;
  assert_int_equal(qmp_execute(c, "nope", NULL, &ret, T), -1);
  assert_null(ret);
  assert_string_equal(qmp_error_class(c), "CommandNotFound");
  assert_string_equal(qmp_error(c), "test: nope: The command nope has not been found");
  assert_false(qmp_broken(c));

  assert_int_equal(qmp_cmd(c, &ret, T, "query-status", NULL), 0);
  assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
  json_decref(ret);
  assert_string_equal(qmp_error_class(c), "");
  fx_finish(FX);
}

/* Cuts inside every kind of token: literals, numbers, escapes, UTF-8. */
#define TRICKY_RETURN                                                     \
  "{\"t\": true, \"f\": false, \"n\": null, \"x\": 1.5e3, \"neg\": -12, " \
  "\"s\": \"a\\\"}{[\\\\\", \"u\": \"\\u00e9\", \"r\": \"\xc3\xa9\", "    \
  "\"arr\": [1, [2, {\"k\": []}]]}"

static void script_bytewise(struct fake *f)
{
  if (fake_say_bytewise(f, GREETING) < 0 || fake_recv(f, "qmp_capabilities") < 0)
    return;
  char *s;
  if (asprintf(&s, "{\"return\": {}, \"id\": \"%s\"}\r\n", f->id) < 0)
    return;
  fake_say_bytewise(f, s);
  free(s);
  if (fake_recv(f, "query-tricky") < 0 ||
      asprintf(&s, "{\"return\": " TRICKY_RETURN ", \"id\": \"%s\"}", f->id) <
          0) /* no CRLF: the client may be gone after '}' */
    return;
  fake_say_bytewise(f, s);
  free(s);
}

static void test_split_byte_by_byte(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_bytewise);
  assert_int_equal(qmp_version(c)->major, 7);
  json_t *ret = NULL;
  assert_int_equal(qmp_execute(c, "query-tricky", NULL, &ret, T), 0);
  json_error_t err;
  json_t *want = json_loads(TRICKY_RETURN, 0, &err);
  assert_non_null(want);
  assert_true(json_equal(ret, want));
  assert_string_equal(json_string_value(json_object_get(ret, "s")), "a\"}{[\\");
  assert_string_equal(json_string_value(json_object_get(ret, "u")), "\xc3\xa9");
  json_decref(want);
  json_decref(ret);
  fx_finish(FX);
}

static void script_batched(struct fake *f)
{
  if (fake_recv(f, "qmp_capabilities") < 0)
    return;
  /* Reply and events in one write, with and without separators. */
  fake_say(f,
           "{\"event\": \"A\"}{\"return\": {\"n\": 1}, \"id\": \"%s\"}\n"
           "{\"event\": \"B\"}\r\n\r\n  {\"event\": \"C\"}",
           f->id);
}

static void test_several_messages_in_one_write(void **state)
{
  struct fx *x = FX;
  fx_start(x, script_batched);
  /* Greeting and the first event arrive together with nothing else. */
  assert_int_equal(
      send(x->f.fd, GREETING "{\"event\": \"EARLY\"}", strlen(GREETING) + 18, MSG_NOSIGNAL),
      (ssize_t)strlen(GREETING) + 18);
  char err[256];
  x->c = qmp_open_fd("test", x->client_fd, T, err, sizeof err);
  x->client_fd = -1;
  assert_non_null(x->c);
  /* Everything already arrived: pump must not block. */
  long t0 = now_ms();
  assert_int_equal(qmp_pump(x->c, 2000), 4);
  assert_true(now_ms() - t0 < 1000);
  const char *want[] = { "EARLY", "A", "B", "C" };
  for (int i = 0; i < 4; i++) {
    struct qmp_event ev;
    assert_true(qmp_next_event(x->c, &ev));
    assert_string_equal(ev.name, want[i]);
    qmp_event_clear(&ev);
  }
  assert_int_equal(qmp_pump(x->c, 0), 0);
  fx_finish(x);
}

static void script_pump(struct fake *f)
{
  if (fake_handshake(f) < 0)
    return;
  sleep_ms(50);
  fake_say(f, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 5, "
              "\"microseconds\": 6}}\r\n{\"event\": \"SHUTDOWN\", \"data\": "
              "{\"guest\": true}");
  sleep_ms(20);
  fake_say(f, ", \"timestamp\": {\"seconds\": 7, \"microseconds\": 8}}\r\n");
}

static void test_pump(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_pump);
  assert_int_equal(qmp_pump(c, 0), 0);
  int n = 0;
  for (long end = now_ms() + T; n < 2 && now_ms() < end;) {
    n = qmp_pump(c, 1000);
    assert_true(n >= 0);
  }
  assert_int_equal(n, 2);
  struct qmp_event ev;
  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "RESUME");
  assert_int_equal(ev.wall_us, 5000006);
  qmp_event_clear(&ev);
  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "SHUTDOWN");
  assert_int_equal(ev.wall_us, 7000008);
  assert_true(json_is_true(json_object_get(ev.data, "guest")));
  qmp_event_clear(&ev);
  /* Nothing more: a short pump times out quietly. */
  assert_int_equal(qmp_pump(c, 20), 0);
  assert_false(qmp_broken(c));
  fx_finish(FX);
}

static void script_flood(struct fake *f)
{
  if (fake_handshake(f) < 0)
    return;
  size_t cap = 5000 * 64, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return;
  for (int i = 0; i < 5000; i++)
    len += (size_t)snprintf(buf + len, cap - len, "{\"event\": \"E\", \"data\": {\"n\": %d}}\n", i);
  fake_write(f, buf, len, false);
  free(buf);
}

static void test_event_queue_cap(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_flood);
  for (long end = now_ms() + T; now_ms() < end;) {
    assert_true(qmp_pump(c, 500) >= 0);
    if (qmp_events_dropped(c) == 5000 - QMP_MAX_EVENTS)
      break;
  }
  assert_int_equal(qmp_events_dropped(c), 5000 - QMP_MAX_EVENTS);
  struct qmp_event ev;
  int n = 0, first = -1, last = -1;
  while (qmp_next_event(c, &ev)) {
    int k = (int)json_integer_value(json_object_get(ev.data, "n"));
    if (first < 0)
      first = k;
    else if (k != last + 1)
      fail_msg("event %d after %d", k, last);
    last = k;
    n++;
    qmp_event_clear(&ev);
  }
  assert_int_equal(n, QMP_MAX_EVENTS);
  assert_int_equal(first, 5000 - QMP_MAX_EVENTS); /* oldest were dropped */
  assert_int_equal(last, 4999);
  fx_finish(FX);
}

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

static void script_getfd(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "getfd") < 0)
    return;
  const char *name =
      json_string_value(json_object_get(json_object_get(f->last, "arguments"), "fdname"));
  if (!name || strcmp(name, "mig") != 0) {
    fake_fail(f, "getfd without fdname");
    return;
  }
  if (f->passed_fd < 0) {
    fake_fail(f, "no fd received");
    return;
  }
  ssize_t n = read(f->passed_fd, f->fd_data, sizeof f->fd_data - 1);
  if (n < 0)
    fake_fail(f, "read passed fd: %s", strerror(errno));
  fake_reply(f, "{}");
}

static void test_scm_rights(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_getfd);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  const char msg[] = "hello through SCM_RIGHTS";
  assert_int_equal(write(p[1], msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
  close(p[1]);
  /* A bad fd is the caller's error, not the connection's. */
  assert_int_equal(qmp_execute_fd(c, "getfd", NULL, -1, NULL, T), -1);
  assert_false(qmp_broken(c));
  int r = qmp_execute_fd(c, "getfd", json_pack("{s:s}", "fdname", "mig"), p[0], NULL, T);
  close(p[0]);
  assert_int_equal(r, 0);
  fx_finish(FX);
  assert_string_equal(FX->f.fd_data, msg);
}

/* Socket handoff: a connected stream socket passed with getfd works both
 * ways in the receiver (QEMU's migration stream and its return path). */
static void script_getfd_socket(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "getfd") < 0)
    return;
  if (f->passed_fd < 0) {
    fake_fail(f, "no fd received");
    return;
  }
  ssize_t n = read(f->passed_fd, f->fd_data, sizeof f->fd_data - 1);
  if (n <= 0 || write(f->passed_fd, "return path", 11) != 11)
    fake_fail(f, "passed socket: %s", n < 0 ? strerror(errno) : "no data / write failed");
  fake_reply(f, "{}");
}

static void test_scm_rights_socket(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_getfd_socket);
  int sv[2];
  char back[32] = "";
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(write(sv[0], "QEVM stream", 11), 11);
  int r = qmp_execute_fd(c, "getfd", json_pack("{s:s}", "fdname", "mig"), sv[1], NULL, T);
  close(sv[1]); /* ours: the receiver holds its own copy */
  assert_int_equal(r, 0);
  assert_int_equal(read(sv[0], back, sizeof back - 1), 11);
  assert_string_equal(back, "return path");
  close(sv[0]);
  fx_finish(FX);
  assert_string_equal(FX->f.fd_data, "QEVM stream");
}

static void script_cmd(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "migrate-set-parameters") < 0)
    return;
  json_t *a = json_object_get(f->last, "arguments");
  if (json_integer_value(json_object_get(a, "downtime-limit")) != 300 ||
      !json_is_true(json_object_get(a, "x")))
    fake_fail(f, "wrong arguments");
  fake_reply(f, "{}");
}

static void test_qmp_cmd_args(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_cmd);
  /* Caller mistakes: reported, connection intact, nothing sent. */
  assert_int_equal(qmp_cmd(c, NULL, T, "x", "{s:s}", "k", NULL), -1);
  assert_non_null(strstr(qmp_error(c), "test: x: bad arguments"));
  assert_int_equal(qmp_execute(c, "x", json_integer(1), NULL, T), -1);
  assert_string_equal(qmp_error(c), "test: x: arguments must be a JSON object");
  assert_false(qmp_broken(c));
  assert_int_equal(
      qmp_cmd(c, NULL, T, "migrate-set-parameters", "{s:i, s:b}", "downtime-limit", 300, "x", 1),
      0);
  assert_string_equal(qmp_error(c), "");
  fx_finish(FX);
}

/* ---- connecting by address ---- */

static void test_connect_errors(void **state)
{
  (void)state;
  char err[512];
  assert_null(qmp_connect("source", "unix:/nonexistent-qmig/x.qmp", 1000, err, sizeof err));
  assert_string_equal(err, "source QMP unix:/nonexistent-qmig/x.qmp: connect: "
                           "No such file or directory");
  assert_null(qmp_connect("source", "udp:1.2.3.4:5", 1000, err, sizeof err));
  assert_non_null(strstr(err, "source QMP udp:1.2.3.4:5: unsupported address"));
  assert_null(qmp_connect("dst", "tcp:nocolon", 1000, err, sizeof err));
  assert_non_null(strstr(err, "dst QMP tcp:nocolon: expected tcp:HOST:PORT"));
  /* QMP_TIMEOUT_DEFAULT would otherwise mean "no bound" at connect. */
  assert_null(
      qmp_connect("dst", "unix:/nonexistent-qmig/x.qmp", QMP_TIMEOUT_DEFAULT, err, sizeof err));
  assert_non_null(strstr(err, "no default timeout"));
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_null(qmp_open_fd("dst", sv[0], QMP_TIMEOUT_DEFAULT, err, sizeof err));
  assert_non_null(strstr(err, "no default timeout"));
  close(sv[1]);
  /* (A bad service name fails locally; a bad host name would ask DNS.) */
  assert_null(qmp_connect("dst", "tcp:127.0.0.1:no-such-service", 1000, err, sizeof err));
  assert_non_null(strstr(err, "dst QMP tcp:127.0.0.1:no-such-service: getaddrinfo: "));

  /* A port nobody listens on: bind one, don't listen. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof sin;
  assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", ntohs(sin.sin_port));
  struct qmp_conn *c = qmp_connect("dst", addr, 1000, err, sizeof err);
  close(s);
  assert_null(c);
  assert_non_null(strstr(err, "connect: Connection refused"));
}

/* Listen on `sa`, connect to `addr`, handshake. */
static void connect_to(void **state, const struct sockaddr *sa, socklen_t sl, const char *addr)
{
  struct fx *x = FX;
  x->f.listen_fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(x->f.listen_fd >= 0);
  assert_int_equal(bind(x->f.listen_fd, sa, sl), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  assert_int_equal(qmp_version(x->c)->major, 7);
  fx_finish(x);
}

static int port_of(int fd)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
}

/* connect_to() with a port chosen by the kernel: listen first, then name. */
static void test_connect_tcp(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  x->f.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(x->f.listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:localhost:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  assert_int_equal(qmp_version(x->c)->minor, 2);
  fx_finish(x);
}

/* Descriptors travel only on unix sockets: over TCP the call fails at once
 * with a clear message, sends nothing and leaves the connection usable. */
static void test_fd_needs_unix(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  x->f.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(x->f.listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64], err[512] = "";
  snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(qmp_execute_fd(x->c, "getfd", json_pack("{s:s}", "fdname", "m"), p[0], NULL, T),
                   -1);
  close(p[0]);
  close(p[1]);
  assert_non_null(strstr(qmp_error(x->c), "getfd: passing a file descriptor needs a unix socket"));
  assert_false(qmp_broken(x->c));
  fx_finish(x);
}

static void test_connect_tcp6(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  x->f.listen_fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (x->f.listen_fd < 0 || bind(x->f.listen_fd, (struct sockaddr *)&s6, sizeof s6) < 0) {
    print_message("skipping: no IPv6 loopback (%s)\n", strerror(errno));
    skip();
  }
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:[::1]:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net6", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  fx_finish(x);
}

static void test_connect_unix(void **state)
{
  char dir[] = "/tmp/qmig-test-qmp-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s/qmp.sock", dir);
  char addr[160];
  snprintf(addr, sizeof addr, "unix:%s", sun.sun_path);
  connect_to(state, (struct sockaddr *)&sun, sizeof sun, addr);
  unlink(sun.sun_path);
  rmdir(dir);
}

#define FXT(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
#define FXP(t, p) cmocka_unit_test_prestate_setup_teardown(t, fx_setup, fx_teardown, (void *)(p))

int main(void)
{
  const struct CMUnitTest tests[] = {
    FXT(test_handshake),
    FXT(test_id_correlation),
    FXT(test_events_between_command_and_reply),
    FXT(test_error_reply),
    FXT(test_split_byte_by_byte),
    FXT(test_several_messages_in_one_write),
    FXT(test_pump),
    FXT(test_event_queue_cap),
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
    FXT(test_scm_rights),
    FXT(test_scm_rights_socket),
    FXT(test_fd_needs_unix),
    FXT(test_qmp_cmd_args),
    cmocka_unit_test(test_connect_errors),
    FXT(test_connect_tcp),
    FXT(test_connect_tcp6),
    FXT(test_connect_unix),
  };
  return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
