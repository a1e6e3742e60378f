/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/opttab.h - typed option tables: one row per option (key, type,
 * offset into the handle's struct, range or choices, help, default) from
 * which every handle (migration, agent, lab, bench) gets its "key=value"
 * setter, its defaults, its help lines, its command-line keys and the JSON
 * of its values.  Engine, agent, lab and bench each keep one table; nothing
 * else describes their options.
 *
 * Errors: opt_set returns an enum opt_err and writes why a value is
 * refused into a buffer, without the handle's prefix ("not a number from 1
 * to 99"), so that each handle keeps its own message form ("option 'K':
 * 'V' is WHY", "knob 'K' = 'V': WHY"). */
#ifndef QMIG_COMMON_OPTTAB_H
#define QMIG_COMMON_OPTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "qmig.h"

enum opt_type {
  OPT_BOOL,   /* bool: on|off (yes|no, true|false, 1|0) */
  OPT_UINT,   /* unsigned, min..max */
  OPT_INT,    /* int, min..max; a negative value (only as default) means
                 unset and is JSON null */
  OPT_U64,    /* uint64_t, min..max */
  OPT_SIZE,   /* uint64_t with a K/M/G/T suffix (binary; B, iB accepted) */
  OPT_STR,    /* char *, owned: copied, freed by opt_free */
  OPT_CSTR,   /* const char *, borrowed: points at the value given, which
                 must outlive the struct (command lines, scenario JSON) */
  OPT_ENUM,   /* int: the index of the value in choices "a|b|c" */
  OPT_ADDR,   /* char *, owned: an address of a kind in `addr` */
  OPT_CUSTOM, /* parse and json callbacks do it all */
};

/* OPT_ADDR kinds (a bit set). */
#define OPT_A_UNIX 1u     /* unix:PATH */
#define OPT_A_TCP 2u      /* tcp:HOST:PORT */
#define OPT_A_TLS 4u      /* tls:HOST:PORT */
#define OPT_A_HOSTPORT 8u /* HOST:PORT without a scheme */

/* Row flags. */
#define OPT_F_FLAG 1u   /* command line: --KEY alone, meaning on (OPT_BOOL) */
#define OPT_F_NOJSON 2u /* left out of opt_json */
#define OPT_F_BENCH 4u  /* lab: also a bench scenario knob */

struct opt_row {
  const char *key;
  enum opt_type type;
  size_t off;          /* of the field in the handle's struct */
  uint64_t min, max;   /* numbers: the accepted range */
  const char *choices; /* OPT_ENUM: "a|b|c" */
  unsigned addr;       /* OPT_ADDR: OPT_A_* kinds accepted */
  const char *def;     /* default as a value, set by opt_defaults
                          (unchecked); NULL: the field stays zero */
  const char *arg;     /* help: name of the value ("MiB"); NULL: none */
  const char *help;    /* help text, lines separated by '\n'; NULL:
                          left out of the help */
  unsigned flags;      /* OPT_F_* */
  const char *bad;     /* why any bad value is refused, instead of the
                          type's own words ("not allow or refuse") */
  /* More checks of a value the type accepted (NULL: none): 0, or -1 with
   * why in the buffer. */
  int (*check)(const char *v, char *why, size_t len);
  /* OPT_CUSTOM: set the handle `obj` from v (0, or -1 with why), and its
   * value as JSON (new reference; NULL: the row is left out). */
  int (*parse)(void *obj, const char *v, char *why, size_t len);
  json_t *(*json)(const void *obj);
  const char *label; /* help: instead of "--KEY ARG" */
  const char *note;  /* help: a line after the row, from column 0 */
};

/* How numbers out of range are worded: "not a number from 1 to 99" or
 * "not a number in 1-99". */
enum opt_range_style { OPT_RANGE_FROM_TO, OPT_RANGE_DASH };

struct opt_table {
  const struct opt_row *rows;
  size_t n;
  enum opt_range_style range;
  int help_col; /* help: the column the text starts in */
};

enum opt_err {
  OPT_OK = 0,
  OPT_E_UNKNOWN = -1, /* no such key */
  OPT_E_EMPTY = -2,   /* a string value that is empty */
  OPT_E_VALUE = -3,   /* refused: why says so */
  OPT_E_NOMEM = -4,
};

const struct opt_row *opt_find(const struct opt_table *t, const char *key);
/* Set key to value in obj.  OPT_OK, or an opt_err with why (OPT_E_VALUE:
 * "not a number from 1 to 99", without the key or value). */
enum opt_err opt_set(const struct opt_table *t, void *obj, const char *key, const char *value,
                     char *why, size_t len);
/* opt_set with the whole refusal in err, as every handle words it: "unknown
 * WHAT 'K'", "WHAT 'K': empty value", "WHAT 'K': 'V' is WHY", "out of
 * memory" (what: "option", "agent option", "bench setting").  0 or -1. */
int opt_set_msg(const struct opt_table *t, void *obj, const char *key, const char *value,
                const char *what, char *err, size_t len);
/* opt_set into a size-tagged options struct of the public API (its first
 * member `size_t size`, set by TYPE's _INIT macro), with the refusals the
 * pingpong and calibrate setters give: "option 'K' needs a value", "WHO
 * option 'K': struct TYPE has size N (start from INIT)", "unknown WHO
 * option 'K'", "option 'K': empty value", "option 'K': 'V' is WHY".
 * obj may be NULL (refused).  0 or -1. */
int opt_set_sized(const struct opt_table *t, void *obj, const char *key, const char *value,
                  const char *who, const char *type, const char *init, char *err, size_t len);
/* Every row's default into obj (whose other fields are left alone). */
void opt_defaults(const struct opt_table *t, void *obj);
/* Free the owned strings (OPT_STR, OPT_ADDR) of obj and NULL them. */
void opt_free(const struct opt_table *t, void *obj);
/* Every row's value as a JSON object keyed by the row keys in snake_case
 * (opt_json_key: "multifd-channels" is "multifd_channels"; every JSON
 * document qmig writes has one key case) (new reference; NULL when out of
 * memory). */
json_t *opt_json(const struct opt_table *t, const void *obj);
void opt_json_key(const char *key, char *buf, size_t len);
/* The help lines of the rows that have help: "  --KEY ARG" (or the
 * row's label) padded to help_col, one space after it when it is as long,
 * then the help, its further lines indented to help_col; a help whose
 * first line is empty starts on the next line.  Each row's note after it. */
void opt_help(const struct opt_table *t, FILE *f);
/* The same into a string (caller frees; NULL when out of memory). */
char *opt_help_text(const struct opt_table *t);
/* The keys, NULL-terminated, into keys[] (at least t->n + 1 long). */
void opt_keys(const struct opt_table *t, const char **keys);
/* The keys and whether each is a flag, ending with a NULL key, into keys[]
 * (at least t->n + 1 long), for a handle's public key list; returns keys. */
const struct qmig_optkey *opt_cli_keys(const struct opt_table *t, struct qmig_optkey *keys);
/* The keys, ", "-separated, into buf (truncated). */
void opt_key_list(const struct opt_table *t, char *buf, size_t len);

/* Value parsers the rows use, for handles with their own rules: a decimal
 * (with suffix: K/M/G/T, B, iB), 0 or -1 on junk or overflow; on|off
 * words, 0 or -1. */
int opt_parse_u64(const char *s, bool suffix, uint64_t *out);
int opt_parse_bool(const char *s, bool *out);
/* *p = a copy of v, the old value freed; -1 (and *p unchanged) when out of
 * memory. */
int opt_replace_str(char **p, const char *v);
/* Whether a is an address of one of the kinds. */
bool opt_addr_ok(const char *a, unsigned kinds);

#endif
