/* scenario.c - scenarios: parsed from JSON, checked knob by knob before
 * anything runs, turned into lab options and qmig_set() calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "lab/lab.h"

/* Knobs of the lab pair; every other knob is a qmig_set() key or
 * "transport".  link-rate and netns wait for the two-namespace lab. */
const struct bench_lab_knob bench_lab_knobs[] = {
  { "mem", "guest RAM, MiB (default fill + 32)" },
  { "fill", "MiB of guest RAM filled with verifiable random data (default 64)" },
  { "dirty", "MiB/s the guest rewrites while it is migrated (default 0)" },
  { "dirty-pattern", "how the guest dirties memory: sequential (the lab guest's only one)" },
  { "heartbeat", "the guest's heartbeat period, ms (default 2)" },
  { "cpu", "-cpu MODEL of both QEMUs" },
  { "exact-mem", "on|off: RAM exactly mem MiB (TCG pairs otherwise get 8 KiB more)" },
  { "disk", "MiB of shared disk the guest fills and rewrites (0 = none)" },
  { "disk-format", "raw|qcow2" },
  { "disk-write", "KiB/s the guest rewrites its disk" },
  { "disk-cache", "none|writeback" },
  { "disk-copy", "on|off: the destination has its own empty disk (copy it with "
                 "copy-all-disks); default off, both share one image" },
  { "netns", "on|off: source and destination in two network namespaces joined by a veth "
             "(198.18.0.1/.2)" },
  { "link-rate", "rate of that link, tc tbf (1gbit, 200mbit); implies netns" },
  { "transport", "native|qemu-tls|tunnel|tunnel-tls|stunnel: how the stream travels "
                 "(tunnel: authenticated plaintext data; tunnel-tls: TLS data)" },
  { NULL, NULL },
};

/* Set by the bench for every run; a scenario may not set them. */
static const char *const owned[] = { "src", "dst", "lab", "src-serial", "dst-serial", NULL };

static bool is_lab_knob(const char *k)
{
  for (size_t i = 0; bench_lab_knobs[i].key; i++)
    if (!strcmp(bench_lab_knobs[i].key, k))
      return true;
  return false;
}

const char *bench_knob(const struct bench_scenario *s, const char *key)
{
  return json_string_value(json_object_get(s->knobs, key));
}

int bench_scenario_put(struct bench_scenario *s, const char *key, const char *value)
{
  return json_object_set_new(s->knobs, key, json_string(value));
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

static int parse_uint(const char *v, unsigned long max, unsigned *out)
{
  char *end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 10);
  if (*v == '\0' || *v == '-' || *end || errno || x > max)
    return -1;
  *out = (unsigned)x;
  return 0;
}

static bool one_of(const char *v, const char *const *choices)
{
  for (size_t i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i]))
      return true;
  return false;
}

/* Why a lab knob's value is refused, or NULL when it is fine. */
static const char *lab_value_problem(const char *k, const char *v)
{
  static const char *const formats[] = { "raw", "qcow2", NULL };
  static const char *const caches[] = { "none", "writeback", NULL };
  static const char *const bools[] = { "on", "off", NULL };
  static const char *const transports[] = { "native", "qemu-tls", "tunnel", "tunnel-tls",
                                             "stunnel", NULL };
  unsigned u;
  if (!strcmp(k, "mem") || !strcmp(k, "fill"))
    return parse_uint(v, 65536, &u) ? "not a number of MiB (0-65536)" : NULL;
  if (!strcmp(k, "dirty"))
    return parse_uint(v, 100000, &u) ? "not a rate in MiB/s (0-100000)" : NULL;
  if (!strcmp(k, "heartbeat"))
    return parse_uint(v, 10000, &u) || u == 0 ? "not a period in ms (1-10000)" : NULL;
  if (!strcmp(k, "disk"))
    return parse_uint(v, 65536, &u) ? "not a number of MiB (0-65536)" : NULL;
  if (!strcmp(k, "disk-write"))
    return parse_uint(v, 32768, &u) ? "not a rate in KiB/s (0-32768)" : NULL;
  if (!strcmp(k, "disk-format"))
    return one_of(v, formats) ? NULL : "not raw or qcow2";
  if (!strcmp(k, "disk-cache"))
    return one_of(v, caches) ? NULL : "not none or writeback";
  if (!strcmp(k, "exact-mem") || !strcmp(k, "disk-copy") || !strcmp(k, "netns"))
    return one_of(v, bools) ? NULL : "not on or off";
  if (!strcmp(k, "cpu"))
    return v[0] ? NULL : "empty";
  if (!strcmp(k, "dirty-pattern"))
    return strcmp(v, "sequential") ? "not available: the lab guest rewrites its pages in order "
                                     "(sequential) and has no other pattern"
                                   : NULL;
  uint64_t bps;
  if (!strcmp(k, "link-rate"))
    return lab_parse_rate(v, &bps) < 0 ? "not a rate (tc units: 1gbit, 200mbit)" : NULL;
  if (!strcmp(k, "transport")) {
    if (!one_of(v, transports))
      return "not native, qemu-tls, tunnel, tunnel-tls or stunnel";
    if (!strcmp(v, "tunnel") && !qmig_option_help("tunnel"))
      return "transport tunnel: not available in this build";
    if (!strcmp(v, "tunnel-tls") && !qmig_option_help("tunnel-tls"))
      return "transport tunnel-tls: not available in this build";
    if (!strcmp(v, "stunnel") && !bench_stunnel_available())
      return "transport stunnel: stunnel is not installed (Debian package stunnel4)";
  }
  return NULL;
}

int bench_apply_migration(const struct bench_scenario *s, struct qmig_migration *m,
                          const struct bench_transport *tp, char *err, size_t errlen)
{
  const char *k;
  json_t *v;
  json_object_foreach(s->knobs, k, v) {
    const char *val = json_string_value(v);
    if (is_lab_knob(k))
      continue;
    if (one_of(k, owned)) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s': set by the bench for each run",
                  s->name, k);
      return -1;
    }
    if (!qmig_option_help(k)) {
      errbuf_setf(err, errlen,
                  "scenario '%s': unknown knob '%s' (neither a lab knob nor a migration "
                  "option; see qmig bench --help)", s->name, k);
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
    errbuf_setf(err, errlen, "scenario '%s': knob 'transport' = '%s': not with netns or "
                "link-rate in qmig bench (its processes would run outside the namespaces)",
                s->name, t);
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(s->knobs, k, v) {
    if (!is_lab_knob(k))
      continue;
    const char *why = lab_value_problem(k, json_string_value(v));
    if (why) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s' = '%s': %s", s->name, k,
                  json_string_value(v), why);
      return -1;
    }
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
  static const struct {
    const char *key;
    size_t off;
  } nums[] = {
    { "mem", offsetof(struct qmig_lab_options, mem_mib) },
    { "fill", offsetof(struct qmig_lab_options, fill_mib) },
    { "dirty", offsetof(struct qmig_lab_options, dirty_mibps) },
    { "heartbeat", offsetof(struct qmig_lab_options, heartbeat_ms) },
    { "disk", offsetof(struct qmig_lab_options, disk_mib) },
    { "disk-write", offsetof(struct qmig_lab_options, disk_write_kibps) },
  };
  o->fill_mib = 64;
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    const char *v = bench_knob(s, nums[i].key);
    if (v && parse_uint(v, 100000, (unsigned *)((char *)o + nums[i].off)) < 0) {
      errbuf_setf(err, errlen, "scenario '%s': knob '%s' = '%s': not a number", s->name,
                  nums[i].key, v);
      return -1;
    }
  }
  o->cpu = bench_knob(s, "cpu");
  o->disk_format = bench_knob(s, "disk-format");
  o->disk_cache = bench_knob(s, "disk-cache");
  const char *x = bench_knob(s, "exact-mem");
  o->exact_mem = x && !strcmp(x, "on");
  x = bench_knob(s, "netns");
  o->link_rate = bench_knob(s, "link-rate");
  o->netns = (x && !strcmp(x, "on")) || o->link_rate;
  x = bench_knob(s, "disk-copy");
  o->disk_copy = x && !strcmp(x, "on");
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
    json_object_foreach(src, k, v) {
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

int bench_scenarios_parse(const char *text, const char *where, struct bench_scenario **v,
                          size_t *n, char *err, size_t errlen)
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
    json_object_foreach(root, k, x)
      if (strcmp(k, "base") && strcmp(k, "scenarios")) {
        errbuf_setf(err, errlen, "%s: unknown top-level key '%s' (base, scenarios)", where, k);
        json_decref(root);
        return -1;
      }
    if ((base && !json_is_object(base)) || !json_is_array(list)) {
      errbuf_setf(err, errlen, "%s: \"base\" must be an object and \"scenarios\" an array",
                  where);
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
