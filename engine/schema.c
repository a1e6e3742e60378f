/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* schema.c - looking things up in what QEMU answers as arrays of objects:
 * query-qmp-schema's entities and their members, query-migrate-capabilities,
 * query-machines.  Features are chosen by these lookups (features.c,
 * tunnel_handoff.c, update_probe.c), never by QEMU's version.
 *
 * query-qmp-schema's answer is 200-240 KB of JSON (QEMU 7.2-10.0) of which
 * qmig reads a handful of entities; jansson builds the whole of it into ~3 MB
 * of objects, 13-20 ms of CPU in a fresh process (page faults on memory never
 * touched before) and 4-6 ms warm, once per QEMU and migration: the largest
 * item of the engine's fixed CPU.  So the schema stays text
 * (qmp_execute_text): its entities are cut apart with the same scan the QMP
 * framer uses (strings, escapes, brackets), and an entity is parsed by
 * jansson only when a lookup may want it: the ones whose text contains the
 * name sought as a JSON string.  QEMU writes names (identifiers or masked
 * numbers) unescaped, and a parsed candidate is checked by its "name"
 * member, so a lookup finds exactly what a walk of the parsed array would;
 * an entity jansson refuses is treated as absent. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

struct eng_schema {
  char *text; /* the JSON array, NUL-terminated */
  size_t len;
  size_t n, cap;        /* objects in the array, room in start/end */
  size_t *start, *end;  /* object i is text[start[i], end[i]) */
  json_t **parsed;      /* object i parsed, once a lookup wanted it */
  unsigned char *state; /* per object: 0 not parsed, 1 parsed, 2 refused */
};

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

void eng_schema_free(struct eng_schema *s)
{
  if (!s)
    return;
  for (size_t i = 0; s->parsed && i < s->n; i++)
    json_decref(s->parsed[i]);
  free(s->parsed);
  free(s->state);
  free(s->start);
  free(s->end);
  free(s->text);
  free(s);
}

static int add_item(size_t start, size_t end, void *opaque)
{
  struct eng_schema *s = opaque;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 1024;
    size_t *ns = realloc(s->start, cap * sizeof *ns);
    if (ns)
      s->start = ns;
    size_t *ne = realloc(s->end, cap * sizeof *ne);
    if (ne)
      s->end = ne;
    if (!ns || !ne)
      return -1;
    s->cap = cap;
  }
  s->start[s->n] = start;
  s->end[s->n++] = end;
  return 0;
}

/* Cut the array's top-level objects apart: -1 when text is not a
 * well-bracketed array or out of memory. */
static int split(struct eng_schema *s)
{
  if (qmp_text_array_items(s->text, s->len, add_item, s) < 0)
    return -1;
  s->parsed = calloc(s->n ? s->n : 1, sizeof *s->parsed);
  s->state = calloc(s->n ? s->n : 1, 1);
  return s->parsed && s->state ? 0 : -1;
}

struct eng_schema *eng_schema_from_text(char *text, size_t len)
{
  struct eng_schema *s = calloc(1, sizeof *s);
  if (!s) {
    free(text);
    return NULL;
  }
  s->text = text;
  s->len = len;
  if (!text || split(s) < 0) {
    eng_schema_free(s);
    return NULL;
  }
  return s;
}

struct eng_schema *eng_schema_query(struct qmp_conn *c)
{
  char *text = NULL;
  size_t len = 0;
  if (qmp_execute_text(c, "query-qmp-schema", NULL, &text, &len, QMP_TIMEOUT_DEFAULT) < 0)
    return NULL;
  return eng_schema_from_text(text, len);
}

/* Object i, parsed on first use; NULL when jansson refuses it. */
static json_t *object_at(struct eng_schema *s, size_t i)
{
  if (s->state[i] == 0) {
    s->parsed[i] = json_loadb(s->text + s->start[i], s->end[i] - s->start[i], 0, NULL);
    s->state[i] = s->parsed[i] ? 1 : 2;
  }
  return s->parsed[i];
}

/* The object containing byte `off`, or s->n when none does. */
static size_t object_of(const struct eng_schema *s, size_t off)
{
  size_t lo = 0, hi = s->n;
  while (lo < hi) { /* first object ending after off */
    size_t mid = lo + (hi - lo) / 2;
    if (s->end[mid] <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->n && s->start[lo] <= off ? lo : s->n;
}

json_t *eng_schema_entity(struct eng_schema *s, const char *name)
{
  char needle[256];
  size_t nl = name ? strlen(name) : 0;
  if (!s || !nl || nl + 2 >= sizeof needle)
    return NULL;
  for (size_t k = 0; k < nl; k++) /* what JSON would write escaped */
    if ((unsigned char)name[k] < 0x20 || (unsigned char)name[k] > 0x7e || name[k] == '"' ||
        name[k] == '\\')
      return NULL;
  needle[0] = '"';
  memcpy(needle + 1, name, nl);
  needle[nl + 1] = '"';
  nl += 2;
  size_t off = 0;
  const char *hit;
  while (off < s->len && (hit = memmem(s->text + off, s->len - off, needle, nl))) {
    size_t i = object_of(s, (size_t)(hit - s->text));
    if (i == s->n) {
      off = (size_t)(hit - s->text) + 1;
      continue;
    }
    const char *got = json_string_value(json_object_get(object_at(s, i), "name"));
    if (got && !strcmp(got, name))
      return s->parsed[i];
    off = s->end[i]; /* the rest of this object cannot name it */
  }
  return NULL;
}

json_t *eng_schema_member(struct eng_schema *s, const char *type, const char *member)
{
  return eng_json_find(json_object_get(eng_schema_entity(s, type), "members"), "name", member);
}

bool eng_schema_cmd_has_arg(struct eng_schema *s, const char *cmd, const char *arg)
{
  json_t *c = eng_schema_entity(s, cmd);
  const char *mt = json_string_value(json_object_get(c, "meta-type"));
  if (!mt || strcmp(mt, "command"))
    return false;
  return eng_schema_member(s, json_string_value(json_object_get(c, "arg-type")), arg);
}

bool eng_schema_cmd_branch_member(struct eng_schema *s, const char *cmd, const char *branch,
                                  const char *member)
{
  json_t *c = eng_schema_entity(s, cmd);
  const char *mt = json_string_value(json_object_get(c, "meta-type"));
  if (!mt || strcmp(mt, "command"))
    return false;
  json_t *arg = eng_schema_entity(s, json_string_value(json_object_get(c, "arg-type")));
  json_t *v = eng_json_find(json_object_get(arg, "variants"), "case", branch);
  return eng_schema_member(s, json_string_value(json_object_get(v, "type")), member);
}
