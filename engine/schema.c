/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* schema.c - looking things up in what QEMU answers as arrays of objects:
 * query-qmp-schema's entities and their members, query-migrate-capabilities,
 * query-machines.  Features are chosen by these lookups (features.c,
 * tunnel_handoff.c, update_probe.c), never by QEMU's version. */
#include <string.h>

#include "engine/internal.h"

json_t *eng_json_find(json_t *array, const char *key, const char *value)
{
  size_t i;
  json_t *e;
  if (!value)
    return NULL;
  json_array_foreach(array, i, e)
  {
    const char *s = json_string_value(json_object_get(e, key));
    if (s && !strcmp(s, value))
      return e;
  }
  return NULL;
}

json_t *eng_schema_member(json_t *schema, const char *type, const char *member)
{
  return eng_json_find(json_object_get(eng_json_find(schema, "name", type), "members"), "name",
                       member);
}

bool eng_schema_cmd_branch_member(json_t *schema, const char *cmd, const char *branch,
                                  const char *member)
{
  json_t *c = eng_json_find(schema, "name", cmd);
  const char *mt = json_string_value(json_object_get(c, "meta-type"));
  if (!mt || strcmp(mt, "command"))
    return false;
  json_t *arg = eng_json_find(schema, "name", json_string_value(json_object_get(c, "arg-type")));
  json_t *v = eng_json_find(json_object_get(arg, "variants"), "case", branch);
  return eng_schema_member(schema, json_string_value(json_object_get(v, "type")), member);
}
