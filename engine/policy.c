/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy.c - convergence while the migration runs: the downtime policy
 * (fixed; stepped like Nova/VDSM; doubling like Proxmox), the deadline and
 * its action, and when to switch to post-copy.  The follow loop calls
 * eng_policy_tick() every sample and eng_policy_pass() at every pass;
 * every change made is recorded for the report ("policy", "postcopy"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static uint64_t max_downtime(const struct eng_config *c)
{
  return c->policy.max_downtime_ms ? c->policy.max_downtime_ms : c->stream.downtime_limit_ms;
}

static const char *const action_names[] = { "cancel", "pause", "postcopy" };

/* Record a change of downtime-limit for the report.  The list grows with
 * the policy's steps (an option); out of memory the step goes unrecorded,
 * the limit is set all the same. */
static void add_step(struct eng_policy *p, double at_ms, uint64_t ms, const char *why)
{
  if (p->nsteps == p->cap_steps) {
    size_t cap = p->cap_steps ? 2 * p->cap_steps : 8;
    struct qmig_policy_step *n = reallocarray(p->steps, cap, sizeof *n);
    if (!n)
      return;
    p->steps = n;
    p->cap_steps = cap;
  }
  struct qmig_policy_step *st = &p->steps[p->nsteps++];
  st->at_ms = at_ms;
  st->downtime_limit_ms = ms;
  snprintf(st->why, sizeof st->why, "%s", why);
}

/* Set the source's downtime-limit (never above max-downtime) and record
 * the step. */
static int set_limit(struct qmig_migration *m, uint64_t ms, const char *why)
{
  struct eng_policy *p = &m->policy;
  uint64_t cap = max_downtime(&m->cfg);
  if (ms > cap)
    ms = cap;
  if (ms == p->limit_ms)
    return 0;
  if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "migrate-set-parameters", "{s:I}",
              "downtime-limit", (json_int_t)ms) < 0)
    return eng_errorf(m, "raising downtime-limit: %s", qmp_error(m->src));
  p->limit_ms = ms;
  add_step(p, (eng_mono_ns() - m->facts.migrate_mono_ns) / 1e6, ms, why);
  return 0;
}

void eng_policy_start(struct qmig_migration *m)
{
  struct eng_policy *p = &m->policy;
  p->nsteps = 0;
  p->limit_ms = m->cfg.stream.downtime_limit_ms;
  p->next_step_ns = m->facts.migrate_mono_ns + (int64_t)m->cfg.policy.step_delay_ms * 1000000;
  add_step(p, 0.0, p->limit_ms, "initial");
}

/* Switch to post-copy now.  QEMU stops the source and starts the guest on
 * the destination: from here a failure cannot bring it back to the source. */
static int start_postcopy(struct qmig_migration *m, const char *why)
{
  struct eng_policy *p = &m->policy;
  if (p->postcopy_requested)
    return 0;
  if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "migrate-start-postcopy", NULL) < 0)
    return eng_errorf(m, "migrate-start-postcopy: %s", qmp_error(m->src));
  p->postcopy_requested = true;
  p->postcopy_request_ms = (eng_mono_ns() - m->facts.migrate_mono_ns) / 1e6;
  snprintf(p->postcopy_reason, sizeof p->postcopy_reason, "%s", why);
  return 0;
}

/* A pass began with `remaining` bytes left.  Stalled = not fewer than at
 * the start of the previous pass. */
int eng_policy_pass(struct qmig_migration *m, unsigned pass, uint64_t remaining)
{
  struct eng_policy *p = &m->policy;
  const struct eng_config *c = &m->cfg;
  bool stalled = pass > 2 && p->last_remaining && remaining >= p->last_remaining;
  p->last_remaining = remaining;
  char why[96];
  if (stalled && c->policy.kind == ENG_POLICY_DOUBLING && p->limit_ms < max_downtime(c)) {
    snprintf(why, sizeof why, "pass %u: remaining did not shrink, doubling", pass);
    if (set_limit(m, p->limit_ms * 2, why) < 0)
      return -1;
  }
  if (c->policy.postcopy_after == ENG_AFTER_PASSES && pass > c->policy.postcopy_after_n) {
    snprintf(why, sizeof why, "after %u passes", c->policy.postcopy_after_n);
    return start_postcopy(m, why);
  }
  if (c->policy.postcopy_after == ENG_AFTER_STALL && stalled)
    return start_postcopy(m, "stall: remaining did not shrink");
  return 0;
}

int eng_policy_tick(struct qmig_migration *m, const struct eng_stats *st)
{
  struct eng_policy *p = &m->policy;
  const struct eng_config *c = &m->cfg;
  int64_t now = eng_mono_ns();
  double elapsed_s = (now - m->facts.migrate_mono_ns) / 1e9;
  if (strcmp(st->status, "active") != 0)
    return 0; /* nothing to steer in setup, post-copy or completion */

  if (c->policy.kind == ENG_POLICY_STEPPED && now >= p->next_step_ns && p->step < c->policy.steps) {
    /* Linear from the initial limit to max-downtime over the steps. */
    p->step++;
    uint64_t base = c->stream.downtime_limit_ms, top = max_downtime(c);
    char why[64];
    snprintf(why, sizeof why, "step %u of %u", p->step, c->policy.steps);
    if (set_limit(m, base + (top - base) * p->step / c->policy.steps, why) < 0)
      return -1;
    p->next_step_ns = now + (int64_t)c->policy.step_delay_ms * 1000000;
  }
  if (c->policy.postcopy_after == ENG_AFTER_SECONDS && elapsed_s >= c->policy.postcopy_after_n) {
    char why[64];
    snprintf(why, sizeof why, "after %u s", c->policy.postcopy_after_n);
    if (start_postcopy(m, why) < 0)
      return -1;
  }
  if (c->policy.deadline_s && elapsed_s >= c->policy.deadline_s && !p->deadline_reached) {
    p->deadline_reached = true;
    switch (c->policy.deadline_action) {
    case ENG_DEADLINE_CANCEL:
      eng_errorf(m, "not converged by the deadline of %u s: cancelled (deadline-action cancel)",
                 c->policy.deadline_s);
      return 1;
    case ENG_DEADLINE_PAUSE:
      /* A paused guest dirties nothing: the rest is sent and it resumes on
       * the destination (the pause is in the report's vCPU pause). */
      if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "stop", NULL) < 0)
        return eng_errorf(m, "pausing the guest at the deadline: %s", qmp_error(m->src));
      break;
    case ENG_DEADLINE_POSTCOPY:
      if (start_postcopy(m, "deadline") < 0)
        return -1;
      break;
    }
  }
  return 0;
}

int64_t eng_policy_due_ns(const struct qmig_migration *m)
{
  const struct eng_policy *p = &m->policy;
  const struct eng_config *c = &m->cfg;
  int64_t due = INT64_MAX, t0 = m->facts.migrate_mono_ns;
  if (c->policy.kind == ENG_POLICY_STEPPED && p->step < c->policy.steps)
    due = p->next_step_ns;
  if (c->policy.postcopy_after == ENG_AFTER_SECONDS && !p->postcopy_requested) {
    int64_t at = t0 + (int64_t)c->policy.postcopy_after_n * 1000000000;
    due = at < due ? at : due;
  }
  if (c->policy.deadline_s && !p->deadline_reached) {
    int64_t at = t0 + (int64_t)c->policy.deadline_s * 1000000000;
    due = at < due ? at : due;
  }
  return due;
}

int64_t eng_sample_next_ns(const struct eng_config *cf, const struct eng_stats *st, int64_t now,
                           int64_t due)
{
  int64_t fast = (int64_t)cf->poll_ms * 1000000, slow = 4 * fast;
  if (slow > 1000000000)
    slow = fast > 1000000000 ? fast : 1000000000;
  double rate = st->mbps * 1e6 / 8; /* bytes/s */
  if (!cf->poll_adaptive || strcmp(st->status, "active") != 0 || rate <= 0 ||
      (double)st->remaining / rate * 1e9 < 2.0 * (double)slow)
    return now + fast;
  if (due - now < slow)
    return due - now > fast ? due : now + fast;
  return now + slow;
}

void eng_policy_report(struct qmig_migration *m)
{
  struct eng_policy *p = &m->policy;
  const struct eng_config *c = &m->cfg;
  static const char *const names[] = { "fixed", "stepped", "doubling" };
  struct qmig_report_policy *r = ENG_SECTION(m, policy);
  if (r)
    *r = (struct qmig_report_policy){
      .downtime_policy = names[c->policy.kind],
      .max_downtime_ms = max_downtime(c),
      .final_downtime_limit_ms = p->limit_ms,
      .nsteps = p->nsteps,
      .steps = p->steps,
      .deadline_s = c->policy.deadline_s,
      .deadline_action = action_names[c->policy.deadline_action],
      .deadline_reached = p->deadline_reached,
    };
  if (!c->policy.postcopy)
    return;
  struct qmig_report_postcopy *pc = ENG_SECTION(m, postcopy);
  if (!pc)
    return;
  const struct eng_stats *f = &m->facts.final;
  int64_t end = m->facts.src_done_wall_us ? m->facts.src_done_wall_us : 0;
  *pc = (struct qmig_report_postcopy){
    .started = p->postcopy_started,
    .requested = p->postcopy_requested,
    .requested_at_ms = p->postcopy_request_ms,
    .duration_ms = end > p->postcopy_start_wall_us ? (end - p->postcopy_start_wall_us) / 1e3 : -1,
    .bytes = f->postcopy_bytes,
    .page_requests = f->postcopy_requests,
  };
  snprintf(pc->reason, sizeof pc->reason, "%s", p->postcopy_reason);
  pc->npauses = m->facts.npc_pauses;
  memcpy(pc->pauses, m->facts.pc_pauses, sizeof pc->pauses);
}
