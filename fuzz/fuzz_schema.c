/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_schema.c - libFuzzer target: whatever a (buggy, hostile or
 * future) QEMU answers to query-qmp-schema, the engine's schema kept as
 * text (engine/schema.c: the array cut into objects by a scan, objects
 * parsed as lookups want them) must not crash, read out of bounds or leak,
 * and a lookup only ever returns an object of that name.  The input is
 * also taken as a whole QMP message whose "return" array is cut out before
 * parsing (qmp_frame_return_array, qmp_frame_parse_cut): bounds inside it,
 * a parsed message exactly when VALUE is returned.
 *
 *   make fuzz-schema && build-fuzz/fuzz_schema -max_total_time=60 fuzz/corpus/schema
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "qmp/qmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(struct eng_schema *s, const char *name)
{
  json_t *e = eng_schema_entity(s, name);
  const char *got = json_string_value(json_object_get(e, "name"));
  if (e && (!got || strcmp(got, name)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t a0, a1;
  if (qmp_frame_return_array((const char *)data, size, &a0, &a1) &&
      (a0 >= a1 || a1 > size || data[a0] != '[' || data[a1 - 1] != ']'))
    abort();
  json_t *msg = NULL;
  char *cut = NULL, why[256];
  size_t cutlen = 0;
  int r = qmp_frame_parse_cut((const char *)data, size, &msg, &cut, &cutlen, why, sizeof why);
  if ((r == QMP_FRAME_VALUE) != (msg != NULL) || (cut && (cutlen > size || strlen(cut) > cutlen)))
    abort();
  json_decref(msg);
  free(cut);
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  struct eng_schema *s = eng_schema_from_text(text, size);
  if (!s)
    return 0;
  static const char *const names[] = {
    "migrate", "migrate-incoming", "block-job-change", "0", "1", "2", "a", "str"
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    lookup(s, names[i]);
  eng_schema_cmd_has_arg(s, "migrate", "channels");
  eng_schema_cmd_branch_member(s, "block-job-change", "mirror", "copy-mode");
  eng_schema_free(s);
  return 0;
}
