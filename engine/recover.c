/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* recover.c - bring a source/destination pair to exactly one running guest:
 * after a failure, cancel or timeout of a run (eng_recover), and after qmig
 * itself died mid-run (qmig_recover, `qmig recover`).
 *
 * Both observe each side (run state, migration state, qmig's mirror jobs,
 * NBD nodes and exports), ask eng_recover_next() (recover_plan.c) what to do,
 * do it, and observe again, until it answers with an end.  A side whose QMP
 * connection broke is reconnected (a few times at most; "connection refused"
 * on a unix socket means the QEMU is gone).  Every wait is bounded: no change
 * at all for RECOVER_WAIT_MS, or the run's timeout option overall. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/recover.h"
#include "engine/session.h"

#define RECOVER_WAIT_MS 30000
#define MAX_STEPS QMIG_MAX_RECOVER_STEPS
#define MAX_RECONNECTS 3

struct side {
  const char *name; /* "source", "destination" */
  struct qmp_conn **c;
  const char *addr;
  unsigned reconnects;
  char run[32], mig[32];
  bool listening;
  unsigned objs; /* mirror jobs + NBD nodes (source), exports (destination) */
  uint64_t transferred;
  char err[300]; /* why it is "gone" */
};

struct rec {
  bool standalone; /* qmig_recover: nothing known but what is observed */
  struct side s, d;
  struct eng_rfacts f;
  struct qmig_report_recover *out; /* the report's "recover"; NULL out of memory */
};

void eng_log(struct qmig_migration *m, const char *fmt, ...)
{
  char line[1200];
  va_list ap;
  if (!m->log_fn)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  m->log_fn(m->log_ud, line);
}

void qmig_on_log(struct qmig_migration *m, qmig_log_fn fn, void *ud)
{
  m->log_fn = fn;
  m->log_ud = ud;
}

/* A usable connection to the side, reconnecting a broken one. */
static struct qmp_conn *conn(struct qmig_migration *m, struct side *sd)
{
  struct qmp_conn **c = sd->c;
  if (*c && !qmp_broken(*c))
    return *c;
  if (sd->reconnects >= MAX_RECONNECTS)
    return NULL;
  sd->reconnects++;
  qmp_close(*c);
  *c = NULL;
  if (c == &m->dst) /* as the session reaches it */
    *c = m->session->reconnect_dst(m, sd->err, sizeof sd->err);
  else
    *c = eng_qmp_connect(m, sd->name, sd->addr, sd->err, sizeof sd->err);
  return *c;
}

static void status_of(struct qmp_conn *c, int t, const char *cmd, char *out, size_t len,
                      bool *listening)
{
  json_t *r = NULL;
  if (qmp_cmd(c, &r, t, cmd, NULL) < 0) {
    snprintf(out, len, "%s", qmp_broken(c) ? "gone" : "?");
    return;
  }
  snprintf(out, len, "%s", json_string_value(json_object_get(r, "status")) ?: "none");
  if (listening)
    *listening = json_object_get(r, "socket-address") != NULL;
  json_decref(r);
}

/* One look at a side; true when its connection broke while being asked
 * (a timeout, garbage): a QMP that misbehaves, not a QEMU known gone. */
static bool observe_once(struct qmig_migration *m, struct rec *r, struct side *sd, bool src)
{
  struct qmp_conn *c = conn(m, sd);
  sd->listening = false;
  sd->objs = 0;
  snprintf(sd->mig, sizeof sd->mig, "none");
  if (!c) {
    /* No QMP greeting: the QEMU is there but another client holds its
     * monitor (QEMU serves one at a time), so its state is unknown, not
     * gone: nothing may be concluded from its absence. */
    snprintf(sd->run, sizeof sd->run, "%s", strstr(sd->err, "greeting") ? "unknown" : "gone");
    return false;
  }
  status_of(c, QMP_TIMEOUT_DEFAULT, "query-status", sd->run, sizeof sd->run, NULL);
  if (src && (r->standalone || m->facts.migrate_issued)) {
    struct eng_stats st;
    char keep[sizeof m->err];
    snprintf(keep, sizeof keep, "%s", m->err); /* an observation is no new error */
    if (eng_query_stats(m, &st) == 0) {
      snprintf(sd->mig, sizeof sd->mig, "%s", st.status);
      sd->transferred = st.transferred;
      m->facts.final = st;
    }
    snprintf(m->err, sizeof m->err, "%s", keep);
  } else if (!src) {
    status_of(c, QMP_TIMEOUT_DEFAULT, "query-migrate", sd->mig, sizeof sd->mig, &sd->listening);
  }
  sd->objs = src ? eng_mirror_found_src(c) : eng_mirror_found_dst(c);
  if (qmp_broken(c)) {
    snprintf(sd->run, sizeof sd->run, "gone");
    snprintf(sd->err, sizeof sd->err, "%s", qmp_error(c));
    return true;
  }
  return false;
}

/* A connection that breaks while being asked is tried once more, fresh; if
 * that breaks too the side is "unknown", never "gone": a destination whose
 * QMP stalls or sends garbage may be running the guest (taking it for gone
 * resumed the source of a completed migration: two running guests, found
 * by tests/faults qmp-garbage x tunnel). */
static void observe_side(struct qmig_migration *m, struct rec *r, struct side *sd, bool src)
{
  if (observe_once(m, r, sd, src) && observe_once(m, r, sd, src))
    snprintf(sd->run, sizeof sd->run, "unknown");
}

static void describe(const struct side *sd, bool src, char *out, size_t len)
{
  if (!strcmp(sd->run, "gone") || !strcmp(sd->run, "unknown")) {
    snprintf(out, len, "%s %s: unreachable (%s)%s", sd->name, sd->addr, sd->err[0] ? sd->err : "?",
             strstr(sd->err, "greeting")
                 ? " - another QMP client holds it: is a qmig migrate of this pair still running?"
                 : "");
    return;
  }
  snprintf(out, len, "%s %s: guest %s, %smigration %s", sd->name, sd->addr, sd->run,
           src ? "" : "incoming ", sd->mig);
  if (src && sd->transferred)
    errbuf_appendf(out, len, "%llu MiB sent", (unsigned long long)(sd->transferred >> 20));
  if (sd->listening)
    errbuf_appendf(out, len, "listening");
  if (sd->objs)
    errbuf_appendf(out, len, "%u qmig %s", sd->objs, src ? "mirror jobs/NBD nodes" : "NBD exports");
  for (char *p = strstr(out, "; "); p; p = strstr(p, "; ")) /* one line, commas */
    p[0] = ',';
}

static void observe(struct qmig_migration *m, struct rec *r)
{
  observe_side(m, r, &r->s, true);
  observe_side(m, r, &r->d, false);
  r->f.src_run = r->s.run;
  r->f.src_mig = r->s.mig;
  r->f.dst_run = r->d.run;
  r->f.dst_mig = r->d.mig;
  r->f.dst_listening = r->d.listening;
  r->f.src_mirror = r->s.objs;
  r->f.dst_exports = r->d.objs;
}

/* A recovery line: inside a migration it says it is the recovery's
 * (`qmig recover` names itself). */
static void rlog(struct qmig_migration *m, const struct rec *r, const char *what, const char *line)
{
  eng_log(m, "%s%s%s", r->standalone ? "" : "recovery: ", what, line);
}

static void say_found(struct qmig_migration *m, struct rec *r)
{
  char a[600], b[600];
  describe(&r->s, true, a, sizeof a);
  describe(&r->d, false, b, sizeof b);
  rlog(m, r, "found: ", a);
  rlog(m, r, "found: ", b);
  if (r->out) {
    r->out->nfound = 2;
    snprintf(r->out->found[0], sizeof r->out->found[0], "%s", a);
    snprintf(r->out->found[1], sizeof r->out->found[1], "%s", b);
  }
}

/* A fresh stream URI for post-copy's resume, from the session (native: a
 * new unix path beside data-uri, or tcp on the data host; tunnel: the
 * agent's socket, ours for the source), then the source's `migrate
 * resume` to it. */
static int postcopy_resume(struct qmig_migration *m, char *why, size_t len)
{
  char uri[300];
  if (m->session->resume(m, uri, sizeof uri, why, len) < 0)
    return -1;
  if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "migrate", "{s:s,s:b}", "uri", uri, "resume", 1) <
      0)
    return snprintf(why, len, "source migrate resume to %s: %s", uri, qmp_error(m->src)), -1;
  snprintf(m->uri, sizeof m->uri, "%s", uri);
  snprintf(why, len, "post-copy resumed over %s", uri);
  return 0;
}

/* Do action a; a short account into `did` (past tense, or why it failed).
 * 0, or -1 when it failed (the plan then sees it tried and the new facts). */
static int act(struct qmig_migration *m, struct rec *r, enum eng_ract a, char *did, size_t len)
{
  bool on_src = a == ENG_R_CANCEL || a == ENG_R_SRC_CONT || a == ENG_R_SRC_QUIT ||
                a == ENG_R_SRC_MIRROR_CLEAN || a == ENG_R_POSTCOPY_RESUME;
  struct qmp_conn *s = on_src ? conn(m, &r->s) : NULL;
  struct qmp_conn *d = !on_src || a == ENG_R_POSTCOPY_RESUME ? conn(m, &r->d) : NULL;
  struct qmp_conn *c = on_src ? s : d;
  const char *who = on_src ? "source" : "destination";
  did[0] = '\0';
  if (!c || (a == ENG_R_POSTCOPY_RESUME && !d))
    return snprintf(did, len, "%s: cannot reach the %s", eng_ract_name(a), c ? "destination" : who),
           -1;
  int rc = 0;
  const char *ok = "";
  switch (a) {
  case ENG_R_CANCEL:
    rc = qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "migrate_cancel", NULL);
    ok = "source migration cancelled (migrate_cancel)";
    break;
  case ENG_R_SRC_CONT:
  case ENG_R_DST_CONT:
    rc = qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "cont", NULL);
    ok = on_src ? "source guest resumed (cont)" : "destination guest resumed (cont)";
    break;
  case ENG_R_SRC_QUIT:
  case ENG_R_DST_QUIT:
    rc = qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "quit", NULL) < 0 && !qmp_broken(c) ? -1 : 0;
    ok = on_src ? "source QEMU stopped (quit)" : "destination QEMU stopped (quit)";
    break;
  case ENG_R_SRC_MIRROR_CLEAN:
    if (!r->standalone && m->mirror && !m->mirror->finished)
      eng_mirror_abort(m); /* knows what it made, on both sides */
    else
      rc = eng_mirror_clean_src(c, did, len);
    ok = "disk mirrors cancelled, NBD client nodes removed on the source";
    break;
  case ENG_R_DST_NBD_CLEAN:
    rc = eng_mirror_clean_dst(c, did, len);
    eng_mirror_sweep_stale(); /* the dead run's socket directory, if here */
    ok = "NBD exports and server removed on the destination";
    break;
  case ENG_R_POSTCOPY_RESUME:
    rc = postcopy_resume(m, did, len);
    ok = did;
    break;
  case ENG_R_WAIT:
  case ENG_R_NACTIONS:
  case ENG_R_END_SRC:
  case ENG_R_END_DST:
  case ENG_R_END_UNCERTAIN: break;
  }
  if (rc == 0 && ok != did)
    snprintf(did, len, "%s", ok);
  else if (rc < 0 && did[0] == '\0')
    snprintf(did, len, "%s: the %s refused: %s", eng_ract_name(a), who, qmp_error(c));
  return rc;
}

/* A fingerprint of what waiting waits for: any change restarts the bound. */
static void fingerprint(const struct rec *r, char *out, size_t len)
{
  snprintf(out, len, "%s/%s/%s/%s/%llu", r->s.run, r->s.mig, r->d.run, r->d.mig,
           (unsigned long long)r->s.transferred);
}

static enum qmig_outcome finish(struct qmig_migration *m, struct rec *r, enum eng_ract end,
                                const char *why)
{
  if (r->out) {
    r->out->result = eng_ract_name(end);
    snprintf(r->out->why, sizeof r->out->why, "%s", why);
  }
  errbuf_appendf(m->err, sizeof m->err, "%s", why);
  rlog(m, r, "", why);
  if (end == ENG_R_END_DST) {
    eng_set_state(m, QMIG_S_COMPLETING, "the guest runs on the destination");
    eng_set_state(m, QMIG_S_COMPLETED, NULL);
    return QMIG_MIGRATED;
  }
  eng_set_state(m, end == ENG_R_END_SRC ? QMIG_S_FAILED : QMIG_S_UNCERTAIN, m->err);
  return end == ENG_R_END_SRC ? QMIG_NOT_MIGRATED : QMIG_UNCERTAIN;
}

/* The loop both entry points share; r->f holds what the caller knows. */
static enum qmig_outcome recover_loop(struct qmig_migration *m, struct rec *r)
{
  char why[600], did[600], fp[200], last_fp[200] = "";
  int64_t start = eng_mono_ns(), changed = start;
  int64_t cap_ns = m->cfg.timeout_s ? (int64_t)m->cfg.timeout_s * 1000000000 : 0;
  int wait_ms = m->cfg.poll_ms < 50 ? 50 : m->cfg.poll_ms > 500 ? 500 : (int)m->cfg.poll_ms;
  r->out = ENG_SECTION(m, recover);
  if (r->out)
    memset(r->out, 0, sizeof *r->out);
  observe(m, r);
  say_found(m, r);
  /* Actions are bounded by MAX_STEPS (each is taken once anyway), waits by
   * time: waited_out. */
  for (int steps = 0; steps < MAX_STEPS;) {
    enum eng_ract a = eng_recover_next(&r->f, why, sizeof why);
    if (a >= ENG_R_END_SRC)
      return finish(m, r, a, why);
    if (a == ENG_R_WAIT) {
      if (strcmp(why, last_fp) != 0) /* say what we wait for, once */
        rlog(m, r, "", why);
      snprintf(last_fp, sizeof last_fp, "%s", why);
      usleep((useconds_t)wait_ms * 1000);
      observe(m, r);
      fingerprint(r, did, sizeof did);
      int64_t now = eng_mono_ns();
      if (strcmp(did, fp) != 0)
        changed = now;
      snprintf(fp, sizeof fp, "%s", did);
      r->f.waited_out =
          now - changed > (int64_t)RECOVER_WAIT_MS * 1000000 || (cap_ns && now - start > cap_ns);
      continue;
    }
    steps++;
    r->f.tried[a] = true;
    int rc = act(m, r, a, did, sizeof did);
    rlog(m, r, "", did);
    if (r->out && r->out->nactions < QMIG_MAX_RECOVER_STEPS) { /* = MAX_STEPS */
      struct qmig_recover_action *ra = &r->out->actions[r->out->nactions++];
      snprintf(ra->did, sizeof ra->did, "%s", did);
      ra->ok = rc == 0;
    }
    errbuf_appendf(m->err, sizeof m->err, "%s", did);
    observe(m, r);
    fingerprint(r, fp, sizeof fp);
    changed = eng_mono_ns();
    r->f.waited_out = false;
  }
  return finish(m, r, ENG_R_END_UNCERTAIN, "recovery took too many steps");
}

/* The destination as messages name it: its QMP address, or tunnel:AGENT. */
static const char *dst_addr(const struct qmig_migration *m, char *buf, size_t len)
{
  const char *agent = m->session->agent(m);
  if (!agent)
    return m->cfg.dst;
  snprintf(buf, len, "tunnel:%s", agent);
  return buf;
}

/* "; if the qmig that ran it died, run: qmig recover ..." with the options
 * that address this pair. */
void eng_recover_hint(const struct qmig_migration *m, char *out, size_t len)
{
  int n = snprintf(out, len,
                   "; if the qmig that started it died, bring the pair to one "
                   "running guest with: qmig recover");
  if (n < 0 || (size_t)n >= len)
    return;
  if (m->cfg.lab)
    snprintf(out + n, len - (size_t)n, " --lab %s", m->cfg.lab);
  else
    m->session->recover_args(m, out + n, len - (size_t)n);
}

enum qmig_outcome eng_recover(struct qmig_migration *m)
{
  char tun[300];
  struct rec r = {
    .s = { .name = "source", .c = &m->src, .addr = m->cfg.src },
    .d = { .name = "destination", .c = &m->dst, .addr = dst_addr(m, tun, sizeof tun) },
    .f = { .postcopy_started = m->policy.postcopy_started,
           .dst_touched = m->facts.incoming_issued || m->facts.migrate_issued,
           .dst_never_ran = !m->facts.resume_seen,
           .src_keep_paused = !m->facts.src_was_running,
           .keep_dst = m->cfg.dst_action == ENG_DST_KEEP,
           .quit_source = m->cfg.quit_source },
  };
  /* The first reconnect of a broken side is the only one (as before). */
  r.s.reconnects = r.d.reconnects = MAX_RECONNECTS - 1;
  return recover_loop(m, &r);
}

/* ---- qmig_recover(): the same, knowing nothing but what is observed ---- */

enum qmig_outcome qmig_recover(struct qmig_migration *m)
{
  if (eng_begin(m) < 0)
    return QMIG_USAGE;
  if (eng_config_check(m) < 0) {
    eng_set_state(m, QMIG_S_FAILED, m->err);
    return eng_end(m, QMIG_USAGE);
  }
  char tun[300];
  struct rec r = {
    .standalone = true,
    .s = { .name = "source", .c = &m->src, .addr = m->cfg.src },
    .d = { .name = "destination", .c = &m->dst, .addr = dst_addr(m, tun, sizeof tun) },
    .f = { .can_resume_postcopy = true,
           .keep_dst = m->cfg.dst_action == ENG_DST_KEEP,
           .quit_source = m->cfg.quit_source },
  };
  eng_set_state(m, QMIG_S_CONNECTING, NULL);
  m->src = eng_qmp_connect(m, "source", m->cfg.src, r.s.err, sizeof r.s.err);
  if (m->session->connect_dst(m) < 0) /* its reason is the side's, not the run's */
    snprintf(r.d.err, sizeof r.d.err, "%s", m->err);
  m->err[0] = '\0';
  r.s.reconnects = r.d.reconnects = 1; /* just tried */
  if (!m->src && !m->dst) {
    eng_errorf(m, "neither side can be reached: source %s: %s; destination %s: %s", m->cfg.src,
               r.s.err, m->cfg.dst, r.d.err);
    eng_set_state(m, QMIG_S_FAILED, m->err);
    return eng_end(m, QMIG_NOT_STARTED);
  }
  eng_set_state(m, QMIG_S_PROBING, NULL);
  eng_set_state(m, QMIG_S_CANCELLING, "recovering");
  return eng_end(m, recover_loop(m, &r));
}
