/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp.c - the QMP client's messages against a scripted fake
 * server on a socketpair: the handshake, command ids, events around a reply,
 * error replies, messages split byte by byte or batched in one write, the
 * bounded event queue and qmp_cmd's arguments.  Broken peers and limits:
 * test_qmp_faults.c; descriptor passing and connecting by address:
 * test_qmp_connect.c; the same client against a real QEMU: test_qmp_qemu.c.
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

int main(void)
{
  /* clang-format off */
  const struct CMUnitTest tests[] = {
    FXT(test_handshake),
    FXT(test_id_correlation),
    FXT(test_events_between_command_and_reply),
    FXT(test_error_reply),
    FXT(test_split_byte_by_byte),
    FXT(test_several_messages_in_one_write),
    FXT(test_pump),
    FXT(test_event_queue_cap),
    FXT(test_qmp_cmd_args),
  };
  /* clang-format on */
  return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
