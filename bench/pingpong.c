/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pingpong.c - qmig_pingpong_run(): the guest of a running QEMU migrated
 * back and forth on this host, each leg a normal run of the engine through
 * qmig.h (dst-spawn: a new process from the running one's command line,
 * quit-source), the next leg's source the process the last one started.
 * A bench module: like the bench it drives whole migrations and keeps
 * their reports for statistics (pingpong_json.c). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/errbuf.h"
#include "common/opttab.h"

/* ---- options ---- */

/* "A,B": two distinct names a file name can start with. */
static int check_names(const char *v, char *why, size_t len)
{
  const char *comma = strchr(v, ',');
  size_t a = comma ? (size_t)(comma - v) : 0, b = comma ? strlen(comma + 1) : 0;
  bool ok = comma && a && b && a < 64 && b < 64 && !strchr(comma + 1, ',') &&
            !(a == b && !strncmp(v, comma + 1, a)) && v[0] != '.' && comma[1] != '.';
  for (const char *s = v; ok && *s; s++)
    ok = *s == ',' || *s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
         (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z');
  if (!ok)
    errbuf_setf(why, len, "not two distinct names A,B (letters, digits, '-', '_', '.')");
  return ok ? 0 : -1;
}

#define O(f) offsetof(struct qmig_pingpong_options, f)
/* clang-format off */
static const struct opt_row rows[] = {
  { .key = "repeat", .type = OPT_UINT, .off = O(repeat), .min = 1, .max = QMIG_PINGPONG_MAX_LEGS,
    .arg = "N", .help = "legs: migrations, each to a new QEMU made from the running one\n"
                        "(default 2: there and back; at most 1000)" },
  { .key = "names", .type = OPT_CSTR, .off = O(names), .check = check_names, .arg = "A,B",
    .help = "the new processes' names in spawn-dir, odd and even legs:\n"
            "DIR/A.qmp, .serial, .pid, .log (default pp-1,pp-2; with --lab\n"
            "dst,src, the lab's own)" },
  { .key = "quit-wait", .type = OPT_UINT, .off = O(quit_wait_ms), .min = 100, .max = 600000,
    .arg = "MS", .help = "how long a quit source may take to exit (default 60000)" },
  { .key = "resamples", .type = OPT_UINT, .off = O(resamples), .min = 1, .max = 100000,
    .arg = "N", .help = "bootstrap resamples of the statistics (default 2000)" },
};
/* clang-format on */
#define NROWS (sizeof rows / sizeof rows[0])
static const struct opt_table pp_table = { rows, NROWS, OPT_RANGE_FROM_TO, 18 };

int qmig_pingpong_set(struct qmig_pingpong_options *o, const char *key, const char *value,
                      char *err, size_t errlen)
{
  return opt_set_sized(&pp_table, o, key, value, "pingpong", "qmig_pingpong_options",
                       "QMIG_PINGPONG_OPTIONS_INIT", err, errlen);
}

static struct qmig_optkey public_keys[NROWS + 1];
const struct qmig_optkey *qmig_pingpong_option_keys(void)
{
  return opt_cli_keys(&pp_table, public_keys);
}

char *qmig_pingpong_help(void)
{
  return opt_help_text(&pp_table);
}

/* ---- the handle ---- */

struct qmig_pingpong *qmig_pingpong_new(void)
{
  return calloc(1, sizeof(struct qmig_pingpong));
}

void qmig_pingpong_free(struct qmig_pingpong *p)
{
  if (!p)
    return;
  for (unsigned i = 0; i < p->nlegs; i++)
    qmig_free(p->legs[i]);
  free(p->legs);
  free(p);
}

void qmig_pingpong_on_leg(struct qmig_pingpong *p, qmig_pingpong_leg_fn fn, void *user_data)
{
  p->leg_fn = fn;
  p->leg_ud = user_data;
}

void qmig_pingpong_cancel(struct qmig_pingpong *p)
{
  atomic_store(&p->cancelled, 1);
  struct qmig_migration *m = atomic_load(&p->current);
  if (m)
    qmig_cancel(m);
}

const char *qmig_pingpong_error(const struct qmig_pingpong *p)
{
  return p->err;
}

enum qmig_error_code qmig_pingpong_error_code(const struct qmig_pingpong *p)
{
  return p->code;
}

unsigned qmig_pingpong_legs(const struct qmig_pingpong *p)
{
  return p->nlegs;
}

const struct qmig_migration *qmig_pingpong_leg(const struct qmig_pingpong *p, unsigned i)
{
  return i < p->nlegs ? p->legs[i] : NULL;
}

unsigned qmig_pingpong_failed_leg(const struct qmig_pingpong *p)
{
  return p->failed_leg;
}

const char *qmig_pingpong_guest_qmp(const struct qmig_pingpong *p)
{
  return p->guest_qmp;
}

int qmig_pingpong_guest_pid(const struct qmig_pingpong *p)
{
  return p->guest_pid;
}

const struct qmig_pingpong_stats *qmig_pingpong_stats(const struct qmig_pingpong *p)
{
  return &p->stats;
}

static enum qmig_outcome failf(struct qmig_pingpong *p, enum qmig_outcome out,
                               enum qmig_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum qmig_outcome failf(struct qmig_pingpong *p, enum qmig_outcome out,
                               enum qmig_error_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  p->code = code;
  p->outcome = out;
  return out;
}

/* ---- processes ---- */

static int64_t mono_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Whether pid runs (a zombie does not); reaps it when it is our child (the
 * processes earlier legs started are). */
static bool proc_alive(pid_t pid)
{
  if (pid <= 0)
    return false;
  if (waitpid(pid, NULL, WNOHANG) == pid)
    return false;
  char path[64], st[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t n = fread(st, 1, sizeof st - 1, f);
  fclose(f);
  st[n] = '\0';
  const char *s = strrchr(st, ')');
  return s && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X';
}

/* Wait at most ms for pid to be gone; true when it is. */
static bool wait_gone(pid_t pid, unsigned ms)
{
  int64_t until = mono_ms() + ms;
  while (proc_alive(pid)) {
    if (mono_ms() >= until)
      return false;
    usleep(20000);
  }
  return true;
}

/* End a process this run started (by its pid): SIGTERM, SIGKILL after 5 s. */
static void end_started(pid_t pid)
{
  if (!proc_alive(pid))
    return;
  kill(pid, SIGTERM);
  if (!wait_gone(pid, 5000)) {
    kill(pid, SIGKILL);
    wait_gone(pid, 5000);
  }
}

/* Whether pid is a process an earlier leg started (our child). */
static bool started_here(const struct qmig_pingpong *p, int pid)
{
  for (unsigned i = 0; pid > 0 && i < p->nlegs; i++) {
    const struct qmig_report_update *u = qmig_report_update(p->legs[i]);
    if (u && u->new_pid == pid)
      return true;
  }
  return false;
}

/* ---- the legs ---- */

/* The options of every leg that the loop sets itself. */
static bool loop_key(const char *k)
{
  static const char *const own[] = { "src",       "dst",        "src-serial", "dst-serial",
                                     "dst-spawn", "spawn-name", "quit-source" };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (!strcmp(k, own[i]))
      return true;
  return false;
}

/* Leg `leg`'s migration: the template's options, then the loop's. */
static struct qmig_migration *leg_new(struct qmig_pingpong *p, const struct qmig_migration *tmpl,
                                      unsigned leg, const char *src, const char *serial)
{
  struct qmig_migration *m = qmig_new();
  if (!m) {
    failf(p, QMIG_NOT_STARTED, QMIG_E_SYSTEM, "leg %u: out of memory", leg);
    return NULL;
  }
  for (const char *const *k = qmig_option_keys(); *k; k++) {
    /* The lab names the first pair: later legs' recovery hints name their
     * own processes (src/dst), not the lab's sides. */
    if (loop_key(*k) || (leg > 1 && !strcmp(*k, "lab")))
      continue;
    /* Only what the template changed: an option left at its default may
     * read back as a value its setter refuses (0 for "unset"). */
    char *v = qmig_get(tmpl, *k), *def = qmig_get(m, *k);
    int rc = v && (!def || strcmp(v, def)) ? qmig_set(m, *k, v) : 0;
    free(def);
    if (rc < 0)
      failf(p, QMIG_USAGE, QMIG_E_OPTION, "leg %u: option '%s' = '%s': %s", leg, *k, v,
            qmig_error(m));
    free(v);
    if (rc < 0) {
      qmig_free(m);
      return NULL;
    }
  }
  const char *set[][2] = { { "src", src },
                           { "src-serial", serial },
                           { "dst-spawn", "on" },
                           { "spawn-name", p->names[(leg - 1) % 2] },
                           { "quit-source", "on" } };
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    if (set[i][1] && qmig_set(m, set[i][0], set[i][1]) < 0) {
      failf(p, QMIG_USAGE, QMIG_E_OPTION, "leg %u: %s", leg, qmig_error(m));
      qmig_free(m);
      return NULL;
    }
  return m;
}

/* After a failed leg: who holds the guest, what was ended, the message. */
static enum qmig_outcome leg_failed(struct qmig_pingpong *p, unsigned leg, struct qmig_migration *m,
                                    enum qmig_outcome out)
{
  const struct qmig_report_update *u = qmig_report_update(m);
  int new_pid = u ? u->new_pid : 0;
  char src[4300];
  snprintf(src, sizeof src, "%s", p->guest_qmp);
  p->failed_leg = leg;
  enum qmig_error_code code = qmig_error_code(m);
  if (code == QMIG_E_NONE)
    code = QMIG_E_MIGRATION;
  if (out == QMIG_UNCERTAIN) {
    p->guest_qmp[0] = '\0';
    p->guest_pid = 0;
    return failf(p, out, code,
                 "leg %u of %u failed, guest state uncertain: %s; both QEMUs were left as they "
                 "are: the source %s (pid %d) and the new process %s (pid %d)",
                 leg, p->repeat, qmig_error(m), src, u ? u->old_pid : 0,
                 u && u->new_qmp[0] ? u->new_qmp : "(none)", new_pid);
  }
  /* The engine ends the new process of a failed run; one still there holds
   * nothing (the guest stayed on the source), and this run started it. */
  char ended[96] = "";
  if (new_pid > 0 && proc_alive(new_pid)) {
    end_started(new_pid);
    snprintf(ended, sizeof ended, " (its new process, pid %d, ended)", new_pid);
  }
  /* Its pid is unknown when the leg failed before it was read (a usage
   * error, an unreachable source): nothing to check then. */
  if (p->guest_pid > 0 && !proc_alive(p->guest_pid)) {
    p->guest_qmp[0] = '\0';
    p->guest_pid = 0;
    return failf(p, QMIG_UNCERTAIN, code,
                 "leg %u of %u failed: %s; and its source %s is no longer running: look", leg,
                 p->repeat, qmig_error(m), src);
  }
  if (p->guest_pid <= 0)
    return failf(p, out, code, "leg %u of %u failed%s: %s", leg, p->repeat, ended, qmig_error(m));
  return failf(p, out, code, "leg %u of %u failed, the guest runs on its source %s (pid %d)%s: %s",
               leg, p->repeat, src, p->guest_pid, ended, qmig_error(m));
}

/* After a migrated leg: the new process runs, the old one is gone. */
static enum qmig_outcome leg_done(struct qmig_pingpong *p, unsigned leg, struct qmig_migration *m,
                                  unsigned quit_wait_ms)
{
  const struct qmig_report_update *u = qmig_report_update(m);
  char *dst = qmig_get(m, "dst");
  if (!u || u->new_pid <= 0 || !dst) {
    free(dst);
    p->failed_leg = leg;
    return failf(p, QMIG_UNCERTAIN, QMIG_E_INTERNAL,
                 "leg %u of %u: migrated, but the new process is not known", leg, p->repeat);
  }
  snprintf(p->guest_qmp, sizeof p->guest_qmp, "%s", dst);
  free(dst);
  p->guest_pid = u->new_pid;
  if (!proc_alive(u->new_pid)) {
    p->failed_leg = leg;
    p->guest_qmp[0] = '\0';
    p->guest_pid = 0;
    return failf(p, QMIG_UNCERTAIN, QMIG_E_MIGRATION,
                 "leg %u of %u: migrated, but the new QEMU (pid %d, %s) is no longer running: "
                 "the guest is lost",
                 leg, p->repeat, u->new_pid, u->new_qmp);
  }
  if (wait_gone(u->old_pid, quit_wait_ms))
    return QMIG_MIGRATED;
  if (started_here(p, u->old_pid)) { /* quit but still there: ours to end */
    end_started(u->old_pid);
    if (!proc_alive(u->old_pid))
      return QMIG_MIGRATED;
  }
  p->failed_leg = leg;
  return failf(p, QMIG_UNCERTAIN, QMIG_E_TIMEOUT,
               "leg %u of %u: migrated to %s (pid %d), but the old source (pid %d) did not exit "
               "within %u ms of its quit: two QEMUs run, the guest on the new one",
               leg, p->repeat, p->guest_qmp, p->guest_pid, u->old_pid, quit_wait_ms);
}

enum qmig_outcome qmig_pingpong_run(struct qmig_pingpong *p, const struct qmig_migration *tmpl,
                                    const struct qmig_pingpong_options *o)
{
  if (p->ran)
    return failf(p, QMIG_USAGE, QMIG_E_OPTION, "qmig_pingpong_run: a ping-pong runs once");
  p->ran = true;
  struct qmig_pingpong_options opt = { 0 };
  if (!tmpl || !o || o->size < sizeof o->size)
    return failf(p, QMIG_USAGE, QMIG_E_OPTION, "qmig_pingpong_run: %s",
                 !tmpl ? "no template migration"
                       : "struct qmig_pingpong_options without its size "
                         "(start from QMIG_PINGPONG_OPTIONS_INIT)");
  memcpy(&opt, o, o->size < sizeof opt ? o->size : sizeof opt);
  p->repeat = opt.repeat ? opt.repeat : 2;
  if (p->repeat > QMIG_PINGPONG_MAX_LEGS)
    return failf(p, QMIG_USAGE, QMIG_E_OPTION, "option 'repeat': %u is not a number from 1 to %u",
                 p->repeat, QMIG_PINGPONG_MAX_LEGS);
  const char *names = opt.names ? opt.names : "pp-1,pp-2";
  char why[128];
  if (check_names(names, why, sizeof why) < 0)
    return failf(p, QMIG_USAGE, QMIG_E_OPTION, "option 'names': '%s' is %s", names, why);
  size_t a = strcspn(names, ",");
  snprintf(p->names[0], sizeof p->names[0], "%.*s", (int)a, names);
  snprintf(p->names[1], sizeof p->names[1], "%s", names + a + 1);
  unsigned quit_wait = opt.quit_wait_ms ? opt.quit_wait_ms : 60000;
  char *src = qmig_get(tmpl, "src"), *serial = qmig_get(tmpl, "src-serial");
  p->legs = calloc(p->repeat, sizeof *p->legs);
  enum qmig_outcome out = QMIG_MIGRATED;
  if (!src)
    out = failf(p, QMIG_USAGE, QMIG_E_OPTION,
                "option src: the first source's QMP (unix:PATH on this host) is needed");
  else if (!p->legs)
    out = failf(p, QMIG_NOT_STARTED, QMIG_E_SYSTEM, "out of memory");
  else
    snprintf(p->guest_qmp, sizeof p->guest_qmp, "%s", src);
  for (unsigned leg = 1; out == QMIG_MIGRATED && leg <= p->repeat; leg++) {
    if (atomic_load(&p->cancelled)) {
      out = failf(p, QMIG_NOT_MIGRATED, QMIG_E_CANCELLED,
                  "cancelled before leg %u of %u; the guest runs on %s (pid %d)", leg, p->repeat,
                  p->guest_qmp, p->guest_pid);
      break;
    }
    struct qmig_migration *m = leg_new(p, tmpl, leg, src, serial);
    if (!m) {
      out = p->outcome;
      p->failed_leg = leg;
      break;
    }
    p->legs[p->nlegs++] = m;
    if (p->leg_fn)
      p->leg_fn(p->leg_ud, leg, p->repeat, m, false);
    atomic_store(&p->current, m);
    if (atomic_load(&p->cancelled)) /* a cancel between the two stores */
      qmig_cancel(m);
    enum qmig_outcome r = qmig_run(m);
    atomic_store(&p->current, NULL);
    const struct qmig_report_update *u = qmig_report_update(m);
    if (leg == 1 && u)
      p->guest_pid = u->old_pid;
    if (p->leg_fn)
      p->leg_fn(p->leg_ud, leg, p->repeat, m, true);
    out = r == QMIG_MIGRATED ? leg_done(p, leg, m, quit_wait) : leg_failed(p, leg, m, r);
    if (out != QMIG_MIGRATED)
      break;
    free(src);
    src = qmig_get(m, "dst");
    if (serial) {
      free(serial);
      serial = qmig_get(m, "dst-serial");
    }
  }
  free(src);
  free(serial);
  p->outcome = out;
  /* Out of memory here changes nothing of the guest: no statistics then. */
  if (bench_pingpong_stats(p, opt.resamples ? opt.resamples : 2000) < 0 && !p->err[0])
    errbuf_setf(p->err, sizeof p->err, "statistics: out of memory");
  return out;
}
