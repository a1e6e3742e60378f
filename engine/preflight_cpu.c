/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preflight_cpu.c - can the destination's vCPU carry the source's guest?
 *
 * Fast path: the realized vCPUs' "feature-words" (every CPUID feature bit
 * the guest sees, after -cpu flags and host filtering) are equal on both
 * sides: nothing is missing.  Otherwise the features get names: each side's
 * model is the first vCPU's QOM type less "-TARGET-cpu" ("Westmere-x86_64-
 * cpu" -> "Westmere"), its features the model's *static* expansion on that
 * side (which includes -cpu +flag/-flag: QEMU turns them into global
 * properties of the type) less what that host cannot run
 * (query-cpu-definitions' unavailable-features; QEMU filters those out of a
 * running vCPU, the expansion does not).  Static rather than full
 * expansion: it lists exactly the CPUID features under their canonical
 * names (the full one adds aliases such as sse4_1 and non-CPUID properties
 * such as legacy-cache).  x86 QEMU has no query-cpu-model-comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* Time allowed for the "closest model" search (one expansion each). */
#define CLOSEST_BUDGET_NS 1000000000LL

struct side {
  struct qmp_conn *c;
  char model[128];
  json_t *words; /* the vCPU's feature-words */
  json_t *feat;  /* set (object name -> true) of the model's features */
  json_t *defs;  /* query-cpu-definitions, NULL until needed */
  char why[300]; /* why a query failed (not a QMP error) */
};

static json_t *ask(struct qmp_conn *c, const char *cmd, json_t *args)
{
  json_t *r = NULL;
  return qmp_execute(c, cmd, args, &r, QMP_TIMEOUT_DEFAULT) < 0 ? NULL : r;
}

/* The vCPU model name of one side into s->model; -1 (QMP error on s->c). */
static int vcpu_model(struct side *s)
{
  json_t *cpus = ask(s->c, "query-cpus-fast", NULL);
  if (!cpus) {
    snprintf(s->why, sizeof s->why, "%s", qmp_error(s->c));
    return -1;
  }
  json_t *cpu0 = json_array_get(cpus, 0);
  const char *path = json_string_value(json_object_get(cpu0, "qom-path"));
  const char *target = json_string_value(json_object_get(cpu0, "target"));
  char suffix[64];
  snprintf(suffix, sizeof suffix, "-%s-cpu", target ? target : "x86_64");
  json_t *type =
      path ? ask(s->c, "qom-get", json_pack("{s:s,s:s}", "path", path, "property", "type")) : NULL;
  const char *t = json_string_value(type);
  size_t n = t ? strlen(t) : 0, sn = strlen(suffix);
  if (t && n > sn && strcmp(t + n - sn, suffix) == 0)
    snprintf(s->model, sizeof s->model, "%.*s", (int)(n - sn), t);
  else if (path && !type)
    snprintf(s->why, sizeof s->why, "%s", qmp_error(s->c));
  else
    snprintf(s->why, sizeof s->why, "%s: vCPU type '%s' is not MODEL%s", qmp_name(s->c),
             t ? t : "?", suffix);
  if (s->model[0])
    s->words =
        ask(s->c, "qom-get", json_pack("{s:s,s:s}", "path", path, "property", "feature-words"));
  json_decref(cpus);
  json_decref(type);
  return s->model[0] ? 0 : -1;
}

/* The set of features (true booleans) of `model`'s static expansion on c. */
static json_t *expand(struct qmp_conn *c, const char *model)
{
  json_t *r = ask(c, "query-cpu-model-expansion",
                  json_pack("{s:s,s:{s:s}}", "type", "static", "model", "name", model));
  json_t *props = json_object_get(json_object_get(r, "model"), "props");
  if (!props) {
    json_decref(r);
    return NULL;
  }
  json_t *set = json_object(), *v;
  const char *k;
  json_object_foreach(props, k, v) if (json_is_true(v)) json_object_set_new(set, k, json_true());
  json_decref(r);
  return set;
}

/* `model`'s unavailable-features in a query-cpu-definitions reply (borrowed),
 * NULL if that QEMU does not know the model. */
static json_t *unavailable(json_t *defs, const char *model)
{
  size_t i;
  json_t *d;
  json_array_foreach(defs, i, d)
  {
    const char *n = json_string_value(json_object_get(d, "name"));
    if (n && strcmp(n, model) == 0)
      return json_object_get(d, "unavailable-features") ?: json_array();
  }
  return NULL;
}

static void drop_all(json_t *set, json_t *names)
{
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) if (json_is_string(v)) json_object_del(set, json_string_value(v));
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of `set` sorted and space-separated into out. */
static void join(json_t *set, char *out, size_t len)
{
  size_t n = json_object_size(set), i = 0, used = 0;
  const char **names = calloc(n ? n : 1, sizeof *names);
  const char *k;
  json_t *v;
  out[0] = '\0';
  if (!names)
    return;
  json_object_foreach(set, k, v) names[i++] = k;
  qsort(names, n, sizeof *names, cmp_str);
  for (i = 0; i < n && used + 1 < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", names[i]);
  free(names);
}

/* Is every member of a in b? */
static bool subset(json_t *a, json_t *b)
{
  const char *k;
  json_t *v;
  json_object_foreach(a, k, v) if (!json_object_get(b, k)) return false;
  return true;
}

/* The migration-safe model runnable on both hosts whose features (on the
 * destination) are all the source guest's and are the most; "none". */
static void closest(struct side *d, json_t *src_defs, json_t *src_feat, char *out, size_t len)
{
  int64_t end = eng_mono_ns() + CLOSEST_BUDGET_NS;
  size_t i, best_n = 0, tried = 0;
  json_t *def;
  snprintf(out, len, "none");
  json_array_foreach(d->defs, i, def)
  {
    const char *n = json_string_value(json_object_get(def, "name"));
    json_t *su = n ? unavailable(src_defs, n) : NULL;
    if (!n || !json_is_true(json_object_get(def, "migration-safe")) ||
        json_array_size(json_object_get(def, "unavailable-features")) || !su || json_array_size(su))
      continue;
    if (eng_mono_ns() > end) {
      snprintf(out + strlen(out), len - strlen(out), " (search cut after %zu models)", tried);
      return;
    }
    tried++;
    json_t *f = expand(d->c, n);
    size_t k = json_object_size(f);
    /* Ties: the shorter name (the alias "Westmere" over "Westmere-v1"). */
    if (f && subset(f, src_feat) &&
        (k > best_n || (k == best_n && best_n && strlen(n) < strcspn(out, " ")))) {
      best_n = k;
      snprintf(out, len, "%s", n);
    }
    json_decref(f);
  }
}

static void report(struct qmig_report_preflight *arr, struct side *s, struct side *d,
                   json_t *src_defs, json_t *missing, json_t *host)
{
  char list[600], best[160] = "";
  size_t nmiss = json_object_size(missing);
  if (nmiss == 0) {
    eng_pf_add(arr, "cpu", ENG_PF_OK, "destination vCPU %s has every feature of the source's %s",
               d->model, s->model);
  } else {
    join(missing, list, sizeof list);
    /* Same model: -cpu flags or the destination's host remove them.  The
     * destination host runs all the source guest has of its model: that
     * model is the answer.  Else search. */
    if (strcmp(s->model, d->model) == 0)
      snprintf(best, sizeof best,
               "; both run %s: the destination's -cpu flags or its host "
               "leave them out",
               s->model);
    else if (host && json_object_size(host) == 0)
      snprintf(best, sizeof best,
               "; closest model both hosts can run: %s (start the "
               "destination with it)",
               s->model);
    else {
      snprintf(best, sizeof best, "; closest model both hosts can run: ");
      closest(d, src_defs, s->feat, best + strlen(best), sizeof best - strlen(best));
    }
    eng_pf_add(arr, "cpu", ENG_PF_FAIL,
               "destination vCPU %s lacks %zu feature%s of the source's "
               "%s: %s%s",
               d->model, nmiss, nmiss == 1 ? "" : "s", s->model, list, best);
  }
  if (!host)
    eng_pf_add(arr, "cpu-host", ENG_PF_FAIL, "destination QEMU has no CPU model %s", s->model);
  else if (json_object_size(host) == 0)
    eng_pf_add(arr, "cpu-host", ENG_PF_OK, "destination host can run the source's %s", s->model);
  else {
    join(host, list, sizeof list);
    eng_pf_add(arr, "cpu-host", ENG_PF_FAIL,
               "destination host (accelerator) cannot run the source's %s: unavailable "
               "features %s",
               s->model, list);
  }
}

/* Set of the names in a JSON array of strings. */
static json_t *set_of(json_t *names)
{
  json_t *set = json_object(), *v;
  size_t i;
  json_array_foreach(names, i, v) if (json_is_string(v))
      json_object_set_new(set, json_string_value(v), json_true());
  return set;
}

/* Name what differs: the findings, or the side whose query failed. */
static struct qmp_conn *analyse(struct qmig_report_preflight *arr, struct side *s, struct side *d)
{
  if (!(s->feat = expand(s->c, s->model)))
    return s->c;
  if (!(d->feat = expand(d->c, d->model)) || !(d->defs = ask(d->c, "query-cpu-definitions", NULL)))
    return d->c;
  /* Missing: the source model's features the destination vCPU lacks (its
   * model's, less what its host filters). */
  json_t *missing = json_deep_copy(s->feat), *v, *tmp, *du;
  const char *k;
  drop_all(d->feat, unavailable(d->defs, d->model));
  json_object_foreach_safe(missing, tmp, k, v) if (json_object_get(d->feat, k))
      json_object_del(missing, k);
  du = unavailable(d->defs, s->model);
  json_t *host = du ? set_of(du) : NULL;
  /* The source's host may have filtered some out of its guest too: those
   * are not missing.  Asked only now, as it costs ~15 ms under TCG. */
  if (json_object_size(missing) || json_object_size(host)) {
    if (!(s->defs = ask(s->c, "query-cpu-definitions", NULL))) {
      json_decref(missing);
      json_decref(host);
      return s->c;
    }
    json_t *su = unavailable(s->defs, s->model);
    drop_all(missing, su);
    drop_all(s->feat, su);
    if (host)
      drop_all(host, su);
  }
  report(arr, s, d, s->defs, missing, host);
  json_decref(missing);
  json_decref(host);
  return NULL;
}

int eng_pf_cpu(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  struct side s = { .c = m->src }, d = { .c = m->dst };
  struct qmp_conn *bad = NULL;
  int rc = 0;
  if (vcpu_model(&s) < 0)
    bad = s.c;
  else if (vcpu_model(&d) < 0)
    bad = d.c;
  else if (s.words && json_equal(s.words, d.words)) {
    eng_pf_add(arr, "cpu", ENG_PF_OK,
               "destination vCPU %s has the same CPUID features as the "
               "source's %s",
               d.model, s.model);
    eng_pf_add(arr, "cpu-host", ENG_PF_OK,
               "destination host runs every feature of the "
               "source's guest");
  } else {
    bad = analyse(arr, &s, &d);
  }
  if (bad && qmp_broken(bad))
    rc = eng_errorf(m, "preflight: %s", qmp_error(bad));
  else if (bad)
    eng_pf_add(arr, "cpu", ENG_PF_SKIP, "not checked: %s",
               s.why[0]   ? s.why
               : d.why[0] ? d.why
                          : qmp_error(bad));
  json_t *own[] = { s.words, d.words, s.feat, d.feat, s.defs, d.defs };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    json_decref(own[i]);
  return rc;
}
