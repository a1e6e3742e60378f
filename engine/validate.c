/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* validate.c - the options as an embedder sees them before a run:
 * qmig_validate() (the rules between options qmig_run() checks first) and
 * qmig_get() (a value back as text, the report's config being the source). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opttab.h"
#include "engine/internal.h"

int qmig_validate(struct qmig_migration *m)
{
  return eng_config_check(m);
}

char *qmig_get(const struct qmig_migration *m, const char *key)
{
  json_t *cfg = key ? eng_config_json(&m->cfg) : NULL;
  char jkey[128];
  opt_json_key(key ? key : "", jkey, sizeof jkey);
  json_t *v = json_object_get(cfg, jkey);
  char *out = NULL;
  if (json_is_string(v))
    out = strdup(json_string_value(v));
  else if (json_is_integer(v) && asprintf(&out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
    out = NULL;
  else if (json_is_boolean(v))
    out = strdup(json_is_true(v) ? "on" : "off");
  json_decref(cfg);
  return out;
}
