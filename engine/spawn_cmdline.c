/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn_cmdline.c - QEMU's command-line syntax as the argv rewrite
 * (spawn_argv.c) reads and writes it, pure: a growable argv, which options
 * take no argument, "a=b,c=d" option strings (a key's value, the first item,
 * a value replaced) and the "OLD=NEW,..." disk path map. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spawn.h"

int eng_strv_push(struct eng_strv *s, const char *str)
{
  if (s->n + 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v)
      return -1;
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n] = strdup(str)))
    return -1;
  s->v[++s->n] = NULL;
  return 0;
}

void eng_strv_free(struct eng_strv *s)
{
  for (size_t i = 0; s && i < s->n; i++)
    free(s->v[i]);
  if (s)
    free(s->v);
  if (s)
    *s = (struct eng_strv){ 0 };
}

/* Options that take no argument (QEMU's qemu-options.hx, HAS_ARG unset). */
bool eng_cmdline_is_flag(const char *o)
{
  static const char *const flags[] = {
    "S",
    "daemonize",
    "nodefaults",
    "no-user-config",
    "nographic",
    "enable-kvm",
    "no-reboot",
    "no-shutdown",
    "snapshot",
    "no-hpet",
    "no-acpi",
    "full-screen",
    "s",
    "preconfig",
    "only-migratable",
    "no-fd-bootchk",
    "win2k-hack",
    "semihosting",
    "usb",
    "no-quit",
    "alt-grab",
    "ctrl-grab",
    "portrait",
    "enable-fips",
    "curses",
    "sdl",
    "mem-prealloc",
    "enable-sync-profile",
    "no-frame",
    "version",
    "help",
    "h",
  };
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (!strcmp(o, flags[i]))
      return true;
  return false;
}

/* The value of KEY in a QEMU "a=b,c=d" option string, commas doubled
 * undone, into out; the offset and length of the raw value in *at and *len.
 * 1 found, 0 not.  The first item may be a bare word (a backend). */
int eng_cmdline_opt_get(const char *s, const char *key, char *out, size_t olen, size_t *at,
                        size_t *len)
{
  size_t kl = strlen(key), i = 0;
  while (s[i]) {
    size_t start = i, end = i;
    while (s[end] && !(s[end] == ',' && s[end + 1] != ',')) /* ",," is a comma */
      end += s[end] == ',' ? 2 : 1;
    if (end - start > kl && !strncmp(s + start, key, kl) && s[start + kl] == '=') {
      size_t o = 0;
      for (size_t k = start + kl + 1; k < end && o + 1 < olen; k++) {
        out[o++] = s[k];
        if (s[k] == ',')
          k++;
      }
      if (olen)
        out[o] = '\0';
      if (at)
        *at = start + kl + 1;
      if (len)
        *len = end - (start + kl + 1);
      return 1;
    }
    i = s[end] ? end + 1 : end;
  }
  return 0;
}

/* The first item (the backend word) of an option string into out. */
void eng_cmdline_opt_first(const char *s, char *out, size_t olen)
{
  size_t n = strcspn(s, ",=");
  if (s[n] == '=')
    n = 0;
  snprintf(out, olen, "%.*s", (int)n, s);
}

/* s with its bytes [at, at+len) replaced by val (commas doubled), malloc'd. */
char *eng_cmdline_splice(const char *s, size_t at, size_t len, const char *val)
{
  size_t vl = strlen(val), commas = 0;
  for (size_t i = 0; i < vl; i++)
    commas += val[i] == ',';
  size_t n = strlen(s) - len + vl + commas + 1;
  char *o = malloc(n), *p = o;
  if (!o)
    return NULL;
  memcpy(p, s, at);
  p += at;
  for (size_t i = 0; i < vl; i++) {
    *p++ = val[i];
    if (val[i] == ',')
      *p++ = ',';
  }
  strcpy(p, s + at + len);
  return o;
}

/* The map's NEW for path (equal to OLD, or below OLD/) into out: 1; 0 when
 * no entry applies. */
int eng_cmdline_map_path(const char *map, const char *path, char *out, size_t olen)
{
  while (map && *map) {
    const char *end = strchr(map, ','), *eq = strchr(map, '=');
    size_t n = end ? (size_t)(end - map) : strlen(map);
    if (eq && eq < map + n) {
      size_t ol = (size_t)(eq - map);
      if (ol && !strncmp(path, map, ol) && (path[ol] == '\0' || path[ol] == '/')) {
        snprintf(out, olen, "%.*s%s", (int)(map + n - eq - 1), eq + 1, path + ol);
        return 1;
      }
    }
    map += n + (end ? 1 : 0);
  }
  return 0;
}
