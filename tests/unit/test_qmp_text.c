/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp_text.c - qmp_execute_text(): a command's "return"
 * array handed over as text, unparsed (query-qmp-schema), against the
 * scripted fake server of fake_qmp.h; and the scan that finds that array
 * (qmp_frame_return_array) on its own. */
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
#include "qmp/qmp_int.h"

#include "tests/unit/fake_qmp.h"

/* Brackets, quotes and the word return inside strings of the array. */
#define ARRAY                                                                                        \
  "[{\"name\": \"a\\\"]}\\\\\", \"x\": \"return\"}, {\"name\": \"b\", \"v\": [1, {\"w\": \"}\"}]}, " \
  "\"\\u00e9\"]"

static void script_text(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-qmp-schema") < 0)
    return;
  /* Before the reply: an event carrying a nested "return" array (not the
   * top level: never cut), and a reply to some other id (cut, dropped). */
  fake_say(f, "{\"event\": \"E1\", \"data\": {\"return\": [1, 2]}, "
              "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
  fake_say(f, "{\"return\": [9, 9], \"id\": \"other\"}\r\n");
  fake_say(f, "{\"id\": \"%s\", \"return\": " ARRAY "}\r\n", f->id);
  /* A return that is not an array: refused, the connection stays. */
  if (fake_recv(f, "query-status") == 0)
    fake_reply(f, "{\"status\": \"running\"}");
  if (fake_recv(f, "query-name") == 0)
    fake_reply(f, "{}");
  /* The array cut when empty, with "return" not the first key. */
  if (fake_recv(f, "query-empty") == 0)
    fake_say(f, "{\"id\": \"%s\", \"return\":[ ]}\r\n", f->id);
}

static void test_text(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_text);
  char *text = (char *)1;
  size_t len = 1;
  assert_int_equal(qmp_execute_text(c, "query-qmp-schema", NULL, &text, &len, T), 0);
  assert_string_equal(text, ARRAY);
  assert_int_equal(len, strlen(ARRAY));
  json_t *parsed = json_loadb(text, len, 0, NULL); /* what the caller does */
  assert_int_equal(json_array_size(parsed), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(parsed, 0), "name")),
                      "a\"]}\\");
  json_decref(parsed);
  free(text);
  /* The event on the way was queued, its nested array intact. */
  struct qmp_event ev;
  assert_true(qmp_next_event(c, &ev));
  assert_string_equal(ev.name, "E1");
  assert_int_equal(json_array_size(json_object_get(ev.data, "return")), 2);
  qmp_event_clear(&ev);
  assert_false(qmp_next_event(c, &ev));

  assert_int_equal(qmp_execute_text(c, "query-status", NULL, &text, &len, T), -1);
  assert_null(text);
  assert_int_equal(len, 0);
  assert_string_equal(qmp_error(c), "test: query-status: the reply's return is not an array");
  assert_false(qmp_broken(c));
  json_t *ret = NULL;
  assert_int_equal(qmp_cmd(c, &ret, T, "query-name", NULL), 0);
  assert_true(json_is_object(ret));
  json_decref(ret);
  assert_int_equal(qmp_execute_text(c, "query-empty", NULL, &text, &len, T), 0);
  assert_string_equal(text, "[ ]");
  free(text);
  fx_finish(FX);
}

static void script_error(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-qmp-schema") < 0)
    return;
  fake_say(f, "{\"id\": \"%s\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}}\r\n",
           f->id);
}

static void test_error(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_error);
  char *text = (char *)1;
  size_t len;
  assert_int_equal(qmp_execute_text(c, "query-qmp-schema", NULL, &text, &len, T), -1);
  assert_null(text);
  assert_string_equal(qmp_error_class(c), "CommandNotFound");
  assert_false(qmp_broken(c));
  fx_finish(FX);
}

/* Outside the array the message is still parsed: bad JSON there breaks the
 * connection as it always does. */
static void script_malformed(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "query-qmp-schema") < 0)
    return;
  fake_say(f, "{\"return\": [{\"name\": \"x\"}], \"id\": \"%s\", \"y\": tru}\r\n", f->id);
  f->hangup = true;
}

static void test_malformed(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_malformed);
  char *text = (char *)1;
  size_t len;
  assert_int_equal(qmp_execute_text(c, "query-qmp-schema", NULL, &text, &len, T), -1);
  assert_null(text);
  assert_true(qmp_broken(c));
  assert_non_null(strstr(qmp_error(c), "malformed JSON"));
  fx_finish(FX);
}

static void return_array_scan(void **state)
{
  (void)state;
  size_t a0 = 0, a1 = 0;
  const char *m = "{\"a\": \"return\", \"return\" : [1, \"]\", [2]], \"id\": \"x\"}";
  assert_true(qmp_frame_return_array(m, strlen(m), &a0, &a1));
  assert_int_equal(a1 - a0, strlen("[1, \"]\", [2]]"));
  assert_memory_equal(m + a0, "[1, \"]\", [2]]", a1 - a0);
  static const char *const none[] = {
    "{\"return\": {\"a\": [1]}}",           /* not an array */
    "{\"x\": {\"return\": [1]}}",           /* not at the top level */
    "{\"a\": \"return\", \"b\": [1]}",      /* "return" is a value */
    "{\"returns\": [1], \"retur\": [2]}",   /* other keys */
    "{\"a\": [\"return\", [1]], \"b\": 1}", /* inside another array */
    "{\"return\": [1, 2}",                  /* never closed */
    "[\"return\", [1]]",                    /* not an object */
  };
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    if (qmp_frame_return_array(none[i], strlen(none[i]), &a0, &a1))
      fail_msg("found an array in %s", none[i]);
}

#define FXT(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    FXT(test_text),
    FXT(test_error),
    FXT(test_malformed),
    cmocka_unit_test(return_array_scan),
  };
  return cmocka_run_group_tests_name("qmp_execute_text", tests, NULL, NULL);
}
