/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* scenario.c - scenarios: parsed from JSON, checked knob by knob before
 * anything runs (each knob a row of the lab's, the bench's or the engine's
 * option table), turned into lab options and qmig_set() calls. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "common/opttab.h"
#include "lab/lab.h"

/* A scenario's knobs: the lab's (the rows of its option table flagged
 * OPT_F_BENCH, lab/options.c), the bench's own below, and every other one a
 * qmig_set() key.  Checking a knob is setting it, on scratch structs. */
struct bench_knobs {
  const char *transport;
  int dirty_pattern;
  int mode;
  int guest;
  int probe;
};

static int check_transport(const char *v, char *why, size_t len)
{
  static const char *const transports[] = { "native",     "qemu-tls", "tunnel",
                                            "tunnel-tls", "stunnel",  NULL };
  const char *problem = "not native, qemu-tls, tunnel, tunnel-tls or stunnel";
  for (size_t i = 0; transports[i]; i++)
    if (!strcmp(v, transports[i]))
      problem = NULL;
  if (!problem && !strcmp(v, "tunnel") && !qmig_option_help("tunnel"))
    problem = "transport tunnel: not available in this build";
  if (!problem && !strcmp(v, "tunnel-tls") && !qmig_option_help("tunnel-tls"))
    problem = "transport tunnel-tls: not available in this build";
  if (!problem && !strcmp(v, "stunnel") && !bench_stunnel_available())
    problem = "transport stunnel: stunnel is not installed (Debian package stunnel4)";
  if (problem)
    errbuf_setf(why, len, "%s", problem);
  return problem ? -1 : 0;
}

/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row knob_rows[] = {
  { .key = "transport", .type = OPT_CSTR, .off = offsetof(struct bench_knobs, transport),
    .check = check_transport,
    .help = "native|qemu-tls|tunnel|tunnel-tls|stunnel: how the stream travels (tunnel: "
            "authenticated plaintext data; tunnel-tls: TLS data)" },
  { .key = "dirty-pattern", .type = OPT_ENUM, .off = offsetof(struct bench_knobs, dirty_pattern),
    .choices = "sequential",
    .bad = "not available: the lab guest rewrites its pages in order (sequential) and has no "
           "other pattern",
    .help = "how the guest dirties memory: sequential (the lab guest's only one)" },
  { .key = "mode", .type = OPT_ENUM, .off = offsetof(struct bench_knobs, mode),
    .choices = "migrate|update",
    .help = "migrate|update: to the lab's destination QEMU, or a live update to a new process "
            "on the same host (qmig update: only the source runs; with ram-share the RAM stays)" },
  { .key = "guest", .type = OPT_ENUM, .off = offsetof(struct bench_knobs, guest),
    .choices = "lab|linux",
    .help = "lab|linux: qmig's test guest (or bench --guest), or the Linux lab guest (a Debian "
            "kernel and qmig's initramfs, make deps; it checks its own memory)" },
  { .key = "probe", .type = OPT_ENUM, .off = offsetof(struct bench_knobs, probe),
    .choices = "off|udp|icmp",
    .help = "off|udp|icmp: echo requests at probe-rate Hz to the Linux guest from the "
            "switched L2's client namespace over the whole run (the report's network section; "
            "needs guest linux and netns)" },
};
/* clang-format on */
static const struct opt_table knob_table = { knob_rows, sizeof knob_rows / sizeof knob_rows[0],
                                             OPT_RANGE_FROM_TO, 26 };

/* The table a knob is a row of (the lab's or the bench's), or NULL: a
 * migration option. */
static const struct opt_table *table_of(const char *k)
{
  const struct opt_row *r = opt_find(&lab_opt_table, k);
  if (r && (r->flags & OPT_F_BENCH))
    return &lab_opt_table;
  return opt_find(&knob_table, k) ? &knob_table : NULL;
}

const char *const *qmig_bench_knob_keys(void)
{
  static const char *keys[64];
  size_t n = 0;
  for (size_t i = 0; i < lab_opt_table.n && n + 1 < sizeof keys / sizeof keys[0]; i++)
    if (lab_opt_table.rows[i].flags & OPT_F_BENCH)
      keys[n++] = lab_opt_table.rows[i].key;
  for (size_t i = 0; i < knob_table.n && n + 1 < sizeof keys / sizeof keys[0]; i++)
    keys[n++] = knob_table.rows[i].key;
  keys[n] = NULL;
  return keys;
}

const char *qmig_bench_knob_help(const char *key)
{
  const struct opt_table *t = table_of(key);
  return t ? opt_find(t, key)->help : NULL;
}

/* Set by the bench for every run; a scenario may not set them. */
static const char *const owned[] = { "src", "dst", "lab", "src-serial", "dst-serial", NULL };

const char *bench_knob(const struct bench_scenario *s, const char *key)
{
  return json_string_value(json_object_get(s->knobs, key));
}

int bench_scenario_put(struct bench_scenario *s, const char *key, const char *value)
{
  /* Knobs are option keys ("multifd-channels"); the bench's lines write
   * them in snake_case like every JSON key (bench_knobs_json), and either
   * spelling is read back. */
  char k[128];
  size_t i = 0;
  for (; key[i] && i + 1 < sizeof k; i++)
    k[i] = key[i] == '_' ? '-' : key[i];
  k[i] = '\0';
  return json_object_set_new(s->knobs, k, json_string(value));
}

json_t *bench_knobs_json(const json_t *knobs, bool snake)
{
  json_t *o = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)knobs, k, v)
  {
    char key[128];
    size_t i = 0;
    for (; k[i] && i + 1 < sizeof key; i++)
      key[i] = snake && k[i] == '-' ? '_' : !snake && k[i] == '_' ? '-' : k[i];
    key[i] = '\0';
    if (!o || json_object_set(o, key, v) < 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

void bench_scenario_clear(struct bench_scenario *s)
{
  if (!s)
    return;
  free(s->name);
  json_decref(s->knobs);
  s->name = NULL;
  s->knobs = NULL;
}

/* Knob value from JSON: strings as they are, integers, reals, booleans
 * as on/off; anything else refused. */
static int knob_string(json_t *v, char *out, size_t len)
{
  if (json_is_string(v))
    snprintf(out, len, "%s", json_string_value(v));
  else if (json_is_integer(v))
    snprintf(out, len, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    snprintf(out, len, "%.17g", json_real_value(v));
  else if (json_is_boolean(v))
    snprintf(out, len, "%s", json_is_true(v) ? "on" : "off");
  else
    return -1;
  return 0;
}

static bool one_of(const char *v, const char *const *choices)
{
  for (size_t i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i]))
      return true;
  return false;
}

int bench_apply_migration(const struct bench_scenario *s, struct qmig_migration *m,
                          const struct bench_transport *tp, char *err, size_t errlen)
{
  const char *k;
  json_t *v;
  json_object_foreach(s->knobs, k, v)
  {
    const char *val = json_string_value(v);
    if (table_of(k))
      continue;
    if (one_of(k, owned)) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s': set by the bench for each run", s->name,
                  k);
      return -1;
    }
    if (!qmig_option_help(k)) {
      errbuf_setf(err, errlen,
                  "scenario '%s': unknown knob '%s' (neither a lab knob nor a migration "
                  "option; see qmig bench --help)",
                  s->name, k);
      return -1;
    }
    if (qmig_set(m, k, val) < 0) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s' = '%s': %s", s->name, k, val,
                  qmig_error(m));
      return -1;
    }
  }
  const char *t = bench_knob(s, "transport");
  int rc = 0;
  if (t && !strcmp(t, "qemu-tls"))
    rc = qmig_set(m, "tls", "psk") || qmig_set(m, "tls-dir", tp ? tp->tls_dir : "/") ||
         qmig_set(m, "tls-psk-user", "qmig");
  else if (t && !strcmp(t, "stunnel"))
    rc = qmig_set(m, "data-uri", tp ? tp->data_uri : "tcp:127.0.0.1:1") ||
         qmig_set(m, "data-connect", tp ? tp->data_connect : "tcp:127.0.0.1:2");
  else if (t && !strncmp(t, "tunnel", 6))
    rc = qmig_set(m, "tunnel", tp ? tp->tunnel : "127.0.0.1:1");
  /* Both tunnels authenticate with the run's PSK (control and QMP over TLS);
   * "tunnel" carries the migration channels in authenticated plaintext. */
  if (rc == 0 && t && !strncmp(t, "tunnel", 6))
    rc = qmig_set(m, "tunnel-tls", "psk") ||
         qmig_set(m, "tunnel-psk-file", tp ? tp->psk_file : "/bench/keys.psk") ||
         qmig_set(m, "tunnel-psk-identity", "qmig") ||
         qmig_set(m, "tunnel-data", strcmp(t, "tunnel-tls") ? "plain" : "tls");
  if (rc) {
    errbuf_setf(err, errlen, "scenario '%s': knob 'transport' = '%s': %s", s->name, t,
                qmig_error(m));
    return -1;
  }
  return 0;
}

int bench_scenario_check(const struct bench_scenario *s, char *err, size_t errlen)
{
  /* stunnel and the tunnel's agent run in the bench's own namespace on
   * 127.0.0.1: with the pair in two namespaces they would not sit on the
   * shaped link (QEMU-native TLS does). */
  const char *t = bench_knob(s, "transport"), *ns = bench_knob(s, "netns");
  if (t && (!strcmp(t, "stunnel") || !strncmp(t, "tunnel", 6)) &&
      (bench_knob(s, "link-rate") || (ns && !strcmp(ns, "on")))) {
    errbuf_setf(err, errlen,
                "scenario '%s': knob 'transport' = '%s': not with netns or "
                "link-rate in qmig bench (its processes would run outside the namespaces)",
                s->name, t);
    return -1;
  }
  const char *k;
  json_t *v;
  struct qmig_lab_options lab = QMIG_LAB_OPTIONS_INIT;
  struct bench_knobs own = { 0 };
  json_object_foreach(s->knobs, k, v)
  {
    const struct opt_table *tab = table_of(k);
    char why[512];
    enum opt_err e = tab ? opt_set(tab, tab == &knob_table ? (void *)&own : (void *)&lab, k,
                                   json_string_value(v), why, sizeof why)
                         : OPT_OK;
    if (e != OPT_OK) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s' = '%s': %s", s->name, k,
                  json_string_value(v), lab_opt_why(e, why));
      return -1;
    }
  }
  /* The probe runs from the client namespace of the Linux guest's switched
   * L2: only a netns lab has one.  Without the guest knob the bench's own
   * --guest may be linux (the run says so if it is not). */
  if (own.probe && ((bench_knob(s, "guest") && !own.guest) || !(lab.netns || lab.link_rate))) {
    errbuf_setf(err, errlen,
                "scenario '%s': knob 'probe' = '%s': needs guest linux and netns on (the probe "
                "runs from the client namespace of the Linux guest's switch)",
                s->name, bench_knob(s, "probe"));
    return -1;
  }
  struct qmig_migration *m = qmig_new();
  if (!m) {
    errbuf_setf(err, errlen, "scenario '%s': out of memory", s->name);
    return -1;
  }
  int rc = bench_apply_migration(s, m, NULL, err, errlen);
  /* The rules between options too (what qmig_run() checks first), with
   * stand-ins for what each run's lab supplies. */
  if (rc == 0 && (qmig_set(m, "src", "unix:/bench/src.qmp") < 0 ||
                  qmig_set(m, "dst", "unix:/bench/dst.qmp") < 0 || qmig_validate(m) < 0)) {
    errbuf_setf(err, errlen, "scenario '%s': %s", s->name, qmig_error(m));
    rc = -1;
  }
  qmig_free(m);
  return rc;
}

int bench_lab_options(const struct bench_scenario *s, struct qmig_lab_options *o, char *err,
                      size_t errlen)
{
  o->fill_mib = 64;
  const char *k;
  json_t *v;
  json_object_foreach(s->knobs, k, v)
  {
    char why[512];
    enum opt_err e = table_of(k) == &lab_opt_table
                         ? opt_set(&lab_opt_table, o, k, json_string_value(v), why, sizeof why)
                         : OPT_OK;
    if (e != OPT_OK) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s' = '%s': %s", s->name, k,
                  json_string_value(v), lab_opt_why(e, why));
      return -1;
    }
  }
  o->netns = o->netns || o->link_rate; /* a shaped link is between two namespaces */
  return 0;
}

/* One scenario object into *out (with base's knobs under its own). */
static int parse_one(json_t *obj, json_t *base, size_t index, const char *where,
                     struct bench_scenario *out, char *err, size_t errlen)
{
  char name[256];
  if (!json_is_object(obj)) {
    errbuf_setf(err, errlen, "%s: scenario %zu is not a JSON object", where, index + 1);
    return -1;
  }
  json_t *jn = json_object_get(obj, "name");
  if (jn && (!json_is_string(jn) || !json_string_value(jn)[0])) {
    errbuf_setf(err, errlen, "%s: scenario %zu: \"name\" is not a non-empty string", where,
                index + 1);
    return -1;
  }
  snprintf(name, sizeof name, "%s", jn ? json_string_value(jn) : "");
  if (!name[0])
    snprintf(name, sizeof name, "s%zu", index + 1);
  out->name = strdup(name);
  out->knobs = json_object();
  if (!out->name || !out->knobs)
    goto oom;
  for (int pass = 0; pass < 2; pass++) {
    json_t *src = pass == 0 ? base : obj;
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
      char val[512];
      if (!strcmp(k, "name"))
        continue;
      if (knob_string(v, val, sizeof val) < 0) {
        errbuf_setf(err, errlen,
                    "%s: scenario '%s': knob '%s': value must be a string, number or boolean",
                    where, name, k);
        return -1;
      }
      if (bench_scenario_put(out, k, val) < 0)
        goto oom;
    }
  }
  return 0;
oom:
  errbuf_setf(err, errlen, "%s: out of memory", where);
  return -1;
}

int bench_scenarios_parse(const char *text, const char *where, struct bench_scenario **v, size_t *n,
                          char *err, size_t errlen)
{
  json_error_t je;
  json_t *root = json_loads(text, 0, &je);
  if (!root) {
    errbuf_setf(err, errlen, "%s: line %d: %s", where, je.line, je.text);
    return -1;
  }
  json_t *base = NULL, *list = root;
  if (json_is_object(root) && json_object_get(root, "scenarios")) {
    base = json_object_get(root, "base");
    list = json_object_get(root, "scenarios");
    const char *k;
    json_t *x;
    json_object_foreach(root, k, x) if (strcmp(k, "base") && strcmp(k, "scenarios"))
    {
      errbuf_setf(err, errlen, "%s: unknown top-level key '%s' (base, scenarios)", where, k);
      json_decref(root);
      return -1;
    }
    if ((base && !json_is_object(base)) || !json_is_array(list)) {
      errbuf_setf(err, errlen, "%s: \"base\" must be an object and \"scenarios\" an array", where);
      json_decref(root);
      return -1;
    }
  }
  size_t count = json_is_array(list) ? json_array_size(list) : 1;
  if (count == 0 || count > 10000) {
    errbuf_setf(err, errlen, "%s: %zu scenarios (1-10000 allowed)", where, count);
    json_decref(root);
    return -1;
  }
  struct bench_scenario *nv = realloc(*v, (*n + count) * sizeof **v);
  if (!nv) {
    errbuf_setf(err, errlen, "%s: out of memory", where);
    json_decref(root);
    return -1;
  }
  *v = nv;
  int rc = 0;
  size_t first = *n;
  for (size_t i = 0; i < count && rc == 0; i++) {
    json_t *obj = json_is_array(list) ? json_array_get(list, i) : list;
    struct bench_scenario *s = &nv[*n];
    memset(s, 0, sizeof *s);
    rc = parse_one(obj, base, i, where, s, err, errlen);
    if (rc == 0) {
      for (size_t j = 0; j < *n && rc == 0; j++)
        if (!strcmp(nv[j].name, s->name)) {
          errbuf_setf(err, errlen, "%s: two scenarios are named '%s'", where, s->name);
          rc = -1;
        }
      char why[1024];
      if (rc == 0 && (rc = bench_scenario_check(s, why, sizeof why)) < 0)
        errbuf_setf(err, errlen, "%s: %s", where, why);
    }
    if (rc == 0)
      (*n)++;
    else
      bench_scenario_clear(s);
  }
  /* All or nothing: a refused file adds no scenario. */
  while (rc < 0 && *n > first)
    bench_scenario_clear(&nv[--*n]);
  json_decref(root);
  return rc;
}
