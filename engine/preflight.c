/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preflight.c - what `qmig check` reports and `qmig migrate` runs before it
 * changes anything: every check, all problems at once, nothing touched on
 * either QEMU.  Runs after eng_probe() (both QMP connections open, run
 * states and capabilities already verified).  Findings go to the report's
 * "preflight" section (struct qmig_finding): check, ok, detail, and skipped
 * when a check could not be made (it passes: the user may know better). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define NULL_UUID "00000000-0000-0000-0000-000000000000"

void eng_pf_add(struct qmig_report_preflight *arr, const char *check, enum eng_pf r,
                const char *fmt, ...)
{
  if (arr->nfindings == QMIG_MAX_FINDINGS) /* a check per finding: more cannot come */
    return;
  struct qmig_finding *f = &arr->findings[arr->nfindings++];
  snprintf(f->check, sizeof f->check, "%s", check);
  f->ok = r != ENG_PF_FAIL;
  f->skipped = r == ENG_PF_SKIP;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->detail, sizeof f->detail, fmt, ap);
  va_end(ap);
}

/* `cmd` (args stolen, may be NULL) on both sides into r[0], r[1] (caller
 * decrefs).  0 when both answered; 1 when one refused (finding `check`
 * recorded as not checked); -1 when a connection broke (error recorded). */
static int ask_both(struct qmig_migration *m, struct qmig_report_preflight *arr, const char *check,
                    const char *cmd, json_t *args, json_t *r[2])
{
  struct qmp_conn *c[2] = { m->src, m->dst };
  r[0] = r[1] = NULL;
  for (int i = 0; i < 2; i++) {
    if (qmp_execute(c[i], cmd, args ? json_incref(args) : NULL, &r[i], QMP_TIMEOUT_DEFAULT) == 0)
      continue;
    json_decref(args);
    json_decref(r[0]);
    r[0] = NULL;
    if (qmp_broken(c[i]))
      return eng_errorf(m, "preflight: %s", qmp_error(c[i]));
    eng_pf_add(arr, check, ENG_PF_SKIP, "not checked: %s", qmp_error(c[i]));
    return 1;
  }
  json_decref(args);
  return 0;
}

static void check_versions(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  const struct qmp_version *s = qmp_version(m->src), *d = qmp_version(m->dst);
  if (d->major < s->major || (d->major == s->major && d->minor < s->minor))
    eng_pf_add(arr, "versions", ENG_PF_FAIL,
               "destination QEMU %s is older than the source's %s: "
               "QEMU migrates only to the same or a newer version",
               m->report.dst_version, m->report.src_version);
  else
    eng_pf_add(arr, "versions", ENG_PF_OK, "source QEMU %s, destination %s", m->report.src_version,
               m->report.dst_version);
}

static int check_machine(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  json_t *r[2];
  int rc = ask_both(m, arr, "machine", "qom-get",
                    json_pack("{s:s,s:s}", "path", "/machine", "property", "type"), r);
  if (rc)
    return rc < 0 ? -1 : 0;
  const char *a = json_string_value(r[0]) ?: "?", *b = json_string_value(r[1]) ?: "?";
  size_t n = strlen(a), sn = strlen("-machine");
  if (strcmp(a, b) == 0)
    eng_pf_add(arr, "machine", ENG_PF_OK, "%s on both sides", a);
  else /* QOM type "pc-i440fx-7.2-machine" is -machine pc-i440fx-7.2 */
    eng_pf_add(arr, "machine", ENG_PF_FAIL,
               "machine types differ: source %s, destination %s "
               "(start the destination with -machine %.*s)",
               a, b, (int)(n > sn && strcmp(a + n - sn, "-machine") == 0 ? n - sn : n), a);
  json_decref(r[0]);
  json_decref(r[1]);
  return 0;
}

/* QEMU 7.2's source hangs without reporting failure when the -uuid differ
 * (docs: qemu-migration notes). */
static int check_uuid(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  json_t *r[2];
  int rc = ask_both(m, arr, "uuid", "query-uuid", NULL, r);
  if (rc)
    return rc < 0 ? -1 : 0;
  const char *a = json_string_value(json_object_get(r[0], "UUID")) ?: "?";
  const char *b = json_string_value(json_object_get(r[1], "UUID")) ?: "?";
  if (strcmp(a, b) != 0)
    eng_pf_add(arr, "uuid", ENG_PF_FAIL,
               "-uuid differs: source %s, destination %s (QEMU 7.2's "
               "source can hang; start both with the same -uuid or neither with one)",
               a, b);
  else if (strcmp(a, NULL_UUID) == 0)
    eng_pf_add(arr, "uuid", ENG_PF_OK, "neither side has a -uuid");
  else
    eng_pf_add(arr, "uuid", ENG_PF_OK, "same -uuid on both sides (%s)", a);
  json_decref(r[0]);
  json_decref(r[1]);
  return 0;
}

/* ---- Memory ---- */

static uint64_t mem_available(void)
{
  FILE *f = fopen("/proc/meminfo", "re");
  char line[256];
  unsigned long long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib > UINT64_MAX >> 10 ? 0 : (uint64_t)kib << 10;
}

static const char *size_str(uint64_t b, char *out, size_t len)
{
  if (b % (1 << 20) == 0)
    snprintf(out, len, "%llu MiB", (unsigned long long)(b >> 20));
  else
    snprintf(out, len, "%.2f MiB", b / 1048576.0);
  return out;
}

/* RAM sizes must match; the destination host's free memory is information
 * (its QEMU exists already and fills its RAM only as the stream arrives). */
static int check_memory(struct qmig_migration *m, struct qmig_report_preflight *arr)
{
  json_t *r[2];
  int rc = ask_both(m, arr, "memory", "query-memory-size-summary", NULL, r);
  if (rc)
    return rc < 0 ? -1 : 0;
  uint64_t sz[2];
  for (int i = 0; i < 2; i++)
    sz[i] = (uint64_t)json_integer_value(json_object_get(r[i], "base-memory")) +
            (uint64_t)json_integer_value(json_object_get(r[i], "plugged-memory"));
  char a[32], b[32], avail[200] = "";
  uint64_t free_b = eng_pf_dst_local(&m->cfg) ? mem_available() : 0;
  if (free_b)
    snprintf(avail, sizeof avail, "; destination host MemAvailable %s%s",
             size_str(free_b >> 20 << 20, b, sizeof b),
             free_b < sz[1]
                 ? " (less than the guest's RAM: the destination may swap or be OOM-killed)"
                 : "");
  if (free_b && free_b < sz[1])
    eng_warn(m, avail + 2);
  if (sz[0] != sz[1])
    eng_pf_add(arr, "memory", ENG_PF_FAIL,
               "guest RAM differs: source %s, destination %s (start "
               "the destination with the source's -m)%s",
               size_str(sz[0], a, sizeof a), size_str(sz[1], b, sizeof b), avail);
  else
    eng_pf_add(arr, "memory", ENG_PF_OK, "guest RAM %s on both sides%s",
               size_str(sz[0], a, sizeof a), avail);
  json_decref(r[0]);
  json_decref(r[1]);
  return 0;
}

/* ---- All of it ---- */

int eng_preflight(struct qmig_migration *m)
{
  struct qmig_report_preflight *arr = ENG_SECTION(m, preflight);
  if (!arr)
    return eng_errorc(m, QMIG_E_SYSTEM, "preflight: out of memory");
  check_versions(m, arr);
  eng_pf_add(arr, "source", ENG_PF_OK, "guest %s, no migration under way",
             m->facts.src_was_running ? "running" : "paused");
  eng_pf_add(arr, "destination", ENG_PF_OK,
             "waiting for a migration (inmigrate: started with "
             "-incoming defer), none started");
  if (check_machine(m, arr) < 0 || check_uuid(m, arr) < 0)
    return -1;
  eng_pf_add(arr, "capabilities", ENG_PF_OK,
             "every migration capability and parameter the "
             "options need exists on both sides");
  if (m->cfg.stream.multifd_channels)
    eng_pf_add(arr, "multifd", ENG_PF_OK,
               "%u channels on both sides (qmig sets "
               "multifd-channels on each)",
               m->cfg.stream.multifd_channels);
  else
    eng_pf_add(arr, "multifd", ENG_PF_OK, "off on both sides");
  if (eng_pf_cpu(m, arr) < 0 || check_memory(m, arr) < 0)
    return -1;
  eng_pf_port(m, arr);

  char msg[sizeof m->err] = "";
  size_t nfail = 0, used = 0;
  for (unsigned i = 0; i < arr->nfindings; i++) {
    const struct qmig_finding *f = &arr->findings[i];
    if (f->ok)
      continue;
    int n = snprintf(msg + used, sizeof msg - used, "%s%s: %s", nfail++ ? "; " : "", f->check,
                     f->detail);
    used = n < 0 || (size_t)n >= sizeof msg - used ? sizeof msg - 1 : used + (size_t)n;
  }
  if (nfail)
    return eng_errorc(m, QMIG_E_PREFLIGHT, "preflight: %zu problem%s: %s", nfail,
                      nfail == 1 ? "" : "s", msg);
  return 0;
}
