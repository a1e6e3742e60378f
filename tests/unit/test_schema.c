/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_schema: engine/schema.c's query-qmp-schema kept as text, entities
 * parsed as lookups want them.  The shapes a real QEMU gives are checked
 * entity by entity in test_qmp_qemu.c; here the cases it does not give:
 * names that appear in other entities first, strings with escaped quotes,
 * entities jansson refuses, input that is not an array of objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"

static struct eng_schema *schema_of(const char *text)
{
  return eng_schema_from_text(strdup(text), strlen(text));
}

static const char *name_of(json_t *e)
{
  return json_string_value(json_object_get(e, "name"));
}

static void refuses_what_is_not_an_array(void **state)
{
  (void)state;
  static const char *const bad[] = {
    "", "   ", "{\"name\": \"a\"}", "[{\"name\": \"a\"}", "[{\"name\": \"a]}\"]", "\"[]\"", "[]]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (schema_of(bad[i]))
      fail_msg("accepted %s", bad[i]);
  assert_null(eng_schema_from_text(NULL, 0));
  struct eng_schema *s = schema_of(" [ ] ");
  assert_non_null(s);
  assert_null(eng_schema_entity(s, "a"));
  eng_schema_free(s);
  eng_schema_free(NULL);
}

/* "2" is named by entities before it; a string holds it between escaped
 * quotes; numbers and strings in the array are not entities. */
static const char text[] =
    "[{\"name\": \"migrate\", \"meta-type\": \"command\", \"arg-type\": \"2\"},"
    " 7, \"2\", {\"name\": \"x\\\"2\\\"y\", \"members\": [{\"name\": \"2\"}]},"
    " {\"name\": \"bad\", \"v\": tru, \"w\": \"2\"},"
    " {\"name\": \"2\", \"meta-type\": \"object\", \"members\": [{\"name\": \"uri\", \"type\": "
    "\"str\"}, {\"name\": \"channels\", \"type\": \"[3]\"}]},"
    " {\"meta-type\": \"object\", \"name\": \"bad\"}]";

static void finds_by_name(void **state)
{
  (void)state;
  struct eng_schema *s = schema_of(text);
  assert_non_null(s);
  json_t *two = eng_schema_entity(s, "2");
  assert_non_null(two);
  assert_string_equal(name_of(two), "2");
  assert_string_equal(json_string_value(json_object_get(two, "meta-type")), "object");
  assert_ptr_equal(eng_schema_entity(s, "2"), two); /* parsed once, kept */
  assert_string_equal(name_of(eng_schema_entity(s, "migrate")), "migrate");
  /* The first "bad" is refused by jansson: the next entity of that name. */
  assert_string_equal(json_string_value(json_object_get(eng_schema_entity(s, "bad"), "meta-type")),
                      "object");
  assert_true(eng_schema_cmd_has_arg(s, "migrate", "channels"));
  assert_false(eng_schema_cmd_has_arg(s, "migrate", "no-such"));
  assert_false(eng_schema_cmd_has_arg(s, "2", "uri")); /* not a command */
  assert_string_equal(
      json_string_value(json_object_get(eng_schema_member(s, "2", "channels"), "type")), "[3]");
  /* Names JSON would escape, absent or empty ones. */
  assert_null(eng_schema_entity(s, "x\"2\"y"));
  assert_null(eng_schema_entity(s, "7"));
  assert_null(eng_schema_entity(s, ""));
  assert_null(eng_schema_entity(s, NULL));
  assert_null(eng_schema_entity(NULL, "2"));
  assert_null(eng_schema_member(s, NULL, "uri"));
  eng_schema_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(refuses_what_is_not_an_array),
    cmocka_unit_test(finds_by_name),
  };
  return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
