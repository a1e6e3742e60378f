/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* opttab.c - the typed option tables of common/opttab.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errbuf.h"
#include "common/opttab.h"

const struct opt_row *opt_find(const struct opt_table *t, const char *key)
{
  for (size_t i = 0; key && i < t->n; i++)
    if (strcmp(t->rows[i].key, key) == 0)
      return &t->rows[i];
  return NULL;
}

int opt_parse_u64(const char *s, bool suffix, uint64_t *out)
{
  char *end;
  if (*s == '\0' || *s == '-')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s)
    return -1;
  unsigned shift = 0;
  if (suffix && *end) {
    switch (*end) {
    case 'k':
    case 'K': shift = 10; break;
    case 'm':
    case 'M': shift = 20; break;
    case 'g':
    case 'G': shift = 30; break;
    case 't':
    case 'T': shift = 40; break;
    case 'b':
    case 'B': break;
    default: return -1;
    }
    if (shift)
      end++;
    if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
      return -1;
  } else if (*end) {
    return -1;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

int opt_parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = { "on", "yes", "true", "1" };
  static const char *const no[] = { "off", "no", "false", "0" };
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

/* HOST:PORT with a port in 1-65535 (HOST not empty). */
static bool hostport_ok(const char *a)
{
  const char *colon = strrchr(a, ':');
  uint64_t port;
  return colon && colon > a && opt_parse_u64(colon + 1, false, &port) == 0 && port >= 1 &&
         port <= 65535;
}

bool opt_addr_ok(const char *a, unsigned kinds)
{
  if (strncmp(a, "unix:", 5) == 0)
    return (kinds & OPT_A_UNIX) && a[5] != '\0';
  if (strncmp(a, "tcp:", 4) == 0)
    return (kinds & OPT_A_TCP) && hostport_ok(a + 4);
  if (strncmp(a, "tls:", 4) == 0)
    return (kinds & OPT_A_TLS) && hostport_ok(a + 4);
  return (kinds & OPT_A_HOSTPORT) && hostport_ok(a);
}

/* The index of v in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *v)
{
  size_t vl = strlen(v);
  int idx = 0;
  for (const char *c = choices; *c; idx++) {
    size_t n = strcspn(c, "|");
    if (n == vl && strncmp(c, v, n) == 0)
      return idx;
    c += n;
    if (*c)
      c++;
  }
  return -1;
}

int opt_replace_str(char **p, const char *v)
{
  char *d = strdup(v);
  if (!d)
    return -1;
  free(*p);
  *p = d;
  return 0;
}

static enum opt_err refuse(const struct opt_table *t, const struct opt_row *r, char *why,
                           size_t len)
{
  if (r->bad) {
    errbuf_setf(why, len, "%s", r->bad);
    return OPT_E_VALUE;
  }
  const char *what = r->type == OPT_SIZE ? "size" : "number";
  switch (r->type) {
  case OPT_BOOL: errbuf_setf(why, len, "not on or off"); break;
  case OPT_ENUM: errbuf_setf(why, len, "not one of %s", r->choices); break;
  case OPT_UINT:
  case OPT_INT:
  case OPT_U64:
  case OPT_SIZE:
    if (t->range == OPT_RANGE_DASH)
      errbuf_setf(why, len, "not a %s in %" PRIu64 "-%" PRIu64, what, r->min, r->max);
    else
      errbuf_setf(why, len, "not a %s from %" PRIu64 " to %" PRIu64, what, r->min, r->max);
    break;
  default: errbuf_setf(why, len, "not a valid value");
  }
  return OPT_E_VALUE;
}

/* Set row r of obj from v; with range false (defaults) the range is not
 * checked. */
static enum opt_err set_row(const struct opt_table *t, const struct opt_row *r, void *obj,
                            const char *v, bool range, char *why, size_t len)
{
  void *field = (char *)obj + r->off;
  uint64_t u;
  bool b;
  switch (r->type) {
  case OPT_BOOL:
    if (opt_parse_bool(v, &b) < 0)
      return refuse(t, r, why, len);
    *(bool *)field = b;
    return OPT_OK;
  case OPT_INT:
    if (!range && v[0] == '-') { /* a default: unset */
      *(int *)field = -1;
      return OPT_OK;
    }
    /* fall through */
  case OPT_UINT:
  case OPT_U64:
  case OPT_SIZE:
    if (opt_parse_u64(v, r->type == OPT_SIZE, &u) < 0 || (range && (u < r->min || u > r->max)))
      return refuse(t, r, why, len);
    if (r->type == OPT_UINT)
      *(unsigned *)field = (unsigned)u;
    else if (r->type == OPT_INT)
      *(int *)field = (int)u;
    else
      *(uint64_t *)field = u;
    return OPT_OK;
  case OPT_ENUM: {
    int i = choice_index(r->choices, v);
    if (i < 0)
      return refuse(t, r, why, len);
    *(int *)field = i;
    return OPT_OK;
  }
  case OPT_STR:
  case OPT_CSTR:
  case OPT_ADDR:
    if (*v == '\0')
      return OPT_E_EMPTY;
    if (r->type == OPT_ADDR && !opt_addr_ok(v, r->addr))
      return refuse(t, r, why, len);
    if (r->check && r->check(v, why, len) < 0)
      return OPT_E_VALUE;
    if (r->type == OPT_CSTR) {
      *(const char **)field = v;
      return OPT_OK;
    }
    return opt_replace_str(field, v) < 0 ? OPT_E_NOMEM : OPT_OK;
  case OPT_CUSTOM: return r->parse(obj, v, why, len) < 0 ? OPT_E_VALUE : OPT_OK;
  }
  return refuse(t, r, why, len);
}

int opt_set_msg(const struct opt_table *t, void *obj, const char *key, const char *value,
                const char *what, char *err, size_t len)
{
  char why[256];
  switch (opt_set(t, obj, key, value, why, sizeof why)) {
  case OPT_OK: return 0;
  case OPT_E_UNKNOWN: return errbuf_setf(err, len, "unknown %s '%s'", what, key ? key : "(null)");
  case OPT_E_EMPTY: return errbuf_setf(err, len, "%s '%s': empty value", what, key);
  case OPT_E_NOMEM: return errbuf_setf(err, len, "out of memory");
  case OPT_E_VALUE: break;
  }
  return errbuf_setf(err, len, "%s '%s': '%s' is %s", what, key, value ? value : "", why);
}

int opt_set_sized(const struct opt_table *t, void *obj, const char *key, const char *value,
                  const char *who, const char *type, const char *init, char *err, size_t len)
{
  char why[256];
  size_t size = 0;
  if (key && !value)
    return errbuf_setf(err, len, "option '%s' needs a value", key);
  if (obj)
    memcpy(&size, obj, sizeof size);
  const struct opt_row *r = opt_find(t, key);
  if (!obj || size < sizeof size || (r && r->off >= size))
    return errbuf_setf(err, len, "%s option '%s': struct %s has size %zu (start from %s)", who,
                       key ? key : "(null)", type, size, init);
  enum opt_err e = opt_set(t, obj, key, value, why, sizeof why);
  if (e == OPT_OK)
    return 0;
  if (e == OPT_E_UNKNOWN)
    return errbuf_setf(err, len, "unknown %s option '%s'", who, key ? key : "(null)");
  if (e == OPT_E_EMPTY)
    return errbuf_setf(err, len, "option '%s': empty value", key);
  return errbuf_setf(err, len, "option '%s': '%s' is %s", key, value,
                     e == OPT_E_NOMEM ? "out of memory" : why);
}

enum opt_err opt_set(const struct opt_table *t, void *obj, const char *key, const char *value,
                     char *why, size_t len)
{
  const struct opt_row *r = opt_find(t, key);
  if (!r)
    return OPT_E_UNKNOWN;
  if (!value) {
    errbuf_setf(why, len, "no value");
    return OPT_E_VALUE;
  }
  enum opt_err e = set_row(t, r, obj, value, true, why, len);
  /* A check of the type's value (numbers, words): after it was parsed. */
  if (e == OPT_OK && r->check && r->type != OPT_STR && r->type != OPT_CSTR && r->type != OPT_ADDR &&
      r->check(value, why, len) < 0)
    return OPT_E_VALUE;
  return e;
}

void opt_defaults(const struct opt_table *t, void *obj)
{
  char why[8];
  for (size_t i = 0; i < t->n; i++)
    if (t->rows[i].def)
      (void)set_row(t, &t->rows[i], obj, t->rows[i].def, false, why, sizeof why);
}

void opt_free(const struct opt_table *t, void *obj)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->rows[i].type == OPT_STR || t->rows[i].type == OPT_ADDR) {
      char **p = (char **)((char *)obj + t->rows[i].off);
      free(*p);
      *p = NULL;
    }
}

static json_t *row_json(const struct opt_row *r, const void *obj)
{
  const void *f = (const char *)obj + r->off;
  switch (r->type) {
  case OPT_BOOL: return json_boolean(*(const bool *)f);
  case OPT_UINT: return json_integer(*(const unsigned *)f);
  case OPT_INT: return *(const int *)f < 0 ? json_null() : json_integer(*(const int *)f);
  case OPT_U64:
  case OPT_SIZE: return json_integer((json_int_t) * (const uint64_t *)f);
  case OPT_STR:
  case OPT_CSTR:
  case OPT_ADDR: {
    const char *s = *(const char *const *)f;
    return s ? json_string(s) : json_null();
  }
  case OPT_ENUM: {
    const char *c = r->choices;
    for (int k = *(const int *)f; k > 0 && *c; k--) {
      c += strcspn(c, "|");
      if (*c)
        c++;
    }
    return json_stringn(c, strcspn(c, "|"));
  }
  case OPT_CUSTOM: return r->json ? r->json(obj) : NULL;
  }
  return NULL;
}

void opt_json_key(const char *key, char *buf, size_t len)
{
  size_t i = 0;
  for (; key[i] && i + 1 < len; i++)
    buf[i] = key[i] == '-' ? '_' : key[i];
  if (len)
    buf[i] = '\0';
}

json_t *opt_json(const struct opt_table *t, const void *obj)
{
  json_t *o = json_object();
  for (size_t i = 0; o && i < t->n; i++) {
    if (t->rows[i].flags & OPT_F_NOJSON)
      continue;
    json_t *v = row_json(&t->rows[i], obj);
    char key[128];
    opt_json_key(t->rows[i].key, key, sizeof key);
    if (v && json_object_set_new(o, key, v) < 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* "  --KEY ARG" padded to help_col - at least one space when it is as
 * long; a help whose first line is empty starts under the label. */
void opt_help(const struct opt_table *t, FILE *f)
{
  int w = t->help_col - 2;
  for (size_t i = 0; i < t->n; i++) {
    const struct opt_row *r = &t->rows[i];
    if (!r->help)
      continue;
    char label[128];
    if (r->label)
      snprintf(label, sizeof label, "%s", r->label);
    else
      snprintf(label, sizeof label, "--%s%s%s", r->key, r->arg ? " " : "", r->arg ? r->arg : "");
    const char *h = r->help;
    size_t n = strcspn(h, "\n");
    if (n == 0)
      fprintf(f, "  %s\n", label);
    else
      fprintf(f, "  %-*s%s%.*s\n", w, label, (int)strlen(label) >= w ? " " : "", (int)n, h);
    for (h += n; *h; h += n) {
      h++; /* the '\n' */
      n = strcspn(h, "\n");
      fprintf(f, "%*s%.*s\n", t->help_col, "", (int)n, h);
    }
    if (r->note)
      fprintf(f, "%s\n", r->note);
  }
}

char *opt_help_text(const struct opt_table *t)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if (!f)
    return NULL;
  opt_help(t, f);
  if (fclose(f) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

void opt_keys(const struct opt_table *t, const char **keys)
{
  for (size_t i = 0; i < t->n; i++)
    keys[i] = t->rows[i].key;
  keys[t->n] = NULL;
}

const struct qmig_optkey *opt_cli_keys(const struct opt_table *t, struct qmig_optkey *keys)
{
  for (size_t i = 0; i < t->n; i++)
    keys[i] = (struct qmig_optkey){ t->rows[i].key, (t->rows[i].flags & OPT_F_FLAG) != 0 };
  keys[t->n] = (struct qmig_optkey){ NULL, false };
  return keys;
}

void opt_key_list(const struct opt_table *t, char *buf, size_t len)
{
  size_t at = 0;
  if (len)
    buf[0] = '\0';
  for (size_t i = 0; i < t->n && at < len; i++) {
    int w = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", t->rows[i].key);
    if (w < 0)
      break;
    at += (size_t)w;
  }
}
