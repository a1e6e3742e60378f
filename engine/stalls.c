/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stalls.c - the guest's stall timeline: every gap in its heartbeat longer
 * than a threshold, with the phase of the migration it fell in.  Pure: the
 * reader thread (heartbeat.c) feeds each side's lines here, the report
 * (report.c) builds the timeline from the gaps and the run's marks, and
 * tests/unit/test_stalls.c feeds both with synthetic times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

void eng_hb_feed(struct eng_hb_track *t, int64_t now_ns, uint32_t seq)
{
  if (t->lines == 0) {
    t->first_seq = seq;
    t->first_ns = now_ns;
  } else {
    int64_t gap = now_ns - t->last_ns;
    if (gap > t->max_gap_ns)
      t->max_gap_ns = gap;
    if (gap > t->gap_ns) {
      struct eng_hb_gap g = { t->last_ns, now_ns, t->last_seq, seq };
      t->total_gaps++;
      if (t->ngaps < ENG_HB_MAX_GAPS) {
        t->gaps[t->ngaps++] = g;
      } else { /* full: the smallest one makes room for a larger one */
        unsigned min = 0;
        for (unsigned i = 1; i < t->ngaps; i++)
          if (t->gaps[i].to_ns - t->gaps[i].from_ns < t->gaps[min].to_ns - t->gaps[min].from_ns)
            min = i;
        if (gap > t->gaps[min].to_ns - t->gaps[min].from_ns)
          t->gaps[min] = g;
      }
    }
  }
  t->lines++;
  t->last_seq = seq;
  t->last_ns = now_ns;
}

double eng_stall_across_ms(int64_t from_ns, uint32_t from_seq, int64_t to_ns, uint32_t to_seq,
                           double period_ms)
{
  if (to_seq <= from_seq || period_ms <= 0)
    return -1;
  return (to_ns - from_ns) / 1e6 - (double)(to_seq - from_seq - 1) * period_ms;
}

const struct eng_hb_gap *eng_hb_gap_at(const struct eng_hb_track *t, int64_t t_ns)
{
  for (unsigned i = 0; i < t->ngaps; i++)
    if (t->gaps[i].from_ns <= t_ns && t_ns < t->gaps[i].to_ns)
      return &t->gaps[i];
  return NULL;
}

/* Whether the gap [s, e] contains time x. */
static bool spans(double s, double e, double x)
{
  return x >= 0 && s < x && x <= e;
}

unsigned eng_stall_phase(const struct eng_stall_marks *mk, double s, double e, char *phase,
                         size_t len)
{
  /* The pause: a gap that reaches into STOP..RESUME (the last source line
   * comes before STOP; a final dirty sync can freeze the guest earlier).
   * Without a RESUME (the run failed after STOP) it ends with the run. */
  double resume = mk->resume_ms >= 0 ? mk->resume_ms : mk->end_ms >= 0 ? mk->end_ms : 1e300;
  if (mk->stop_ms >= 0 && s < resume && e > mk->stop_ms) {
    snprintf(phase, len, "switchover");
    return 0;
  }
  double setup_end = mk->setup_end_ms;
  if (setup_end < 0 && mk->npass)
    setup_end = mk->pass_ms[0];
  if (s < 0 || (setup_end >= 0 && s < setup_end)) {
    snprintf(phase, len, "setup");
    return 0;
  }
  if (mk->resume_ms >= 0 && s >= mk->resume_ms) {
    bool pc = mk->postcopy_ms >= 0 && (mk->end_ms < 0 || s < mk->end_ms);
    snprintf(phase, len, pc ? "postcopy" : "after_resume");
    return 0;
  }
  if (mk->end_ms >= 0 && s >= mk->end_ms) {
    snprintf(phase, len, "after_end");
    return 0;
  }
  /* A pass starts with a dirty-bitmap sync and QEMU sends its event after
   * it: a gap holding a pass's event is that pass's sync. */
  unsigned pass = 0;
  for (unsigned i = 0; i < mk->npass; i++) /* the last pass started */
    if (mk->pass_ms[i] <= s)
      pass = mk->pass[i];
  for (unsigned i = mk->npass; i-- > 0;) /* the first pass whose event it holds */
    if (spans(s, e, mk->pass_ms[i]))
      pass = mk->pass[i];
  if (!pass) {
    snprintf(phase, len, "setup");
    return 0;
  }
  snprintf(phase, len, "pass_%u", pass);
  return pass;
}

struct cand {
  double start_ms, duration_ms, end_ms;
};

static int by_duration_desc(const void *a, const void *b)
{
  const struct cand *x = a, *y = b;
  return x->duration_ms < y->duration_ms ? 1 : x->duration_ms > y->duration_ms ? -1 : 0;
}

static int by_start(const void *a, const void *b)
{
  const struct qmig_stall *x = a, *y = b;
  return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

/* One gap as a candidate: its start and length in ms since `migrate`, less
 * one period per heartbeat missing in it (a line cut in two by a stop:
 * the guest ran then). */
static bool candidate(const struct eng_stall_marks *mk, const struct eng_hb_gap *g,
                      double period_ms, double threshold_ms, struct cand *c)
{
  if (g->to_ns <= mk->migrate_ns)
    return false; /* before `migrate` */
  double d = (g->to_ns - g->from_ns) / 1e6;
  if (g->to_seq > g->from_seq + 1)
    d -= (double)(g->to_seq - g->from_seq - 1) * period_ms;
  if (d <= threshold_ms)
    return false;
  c->start_ms = (g->from_ns - mk->migrate_ns) / 1e6;
  c->end_ms = (g->to_ns - mk->migrate_ns) / 1e6;
  c->duration_ms = d;
  return true;
}

int eng_stalls_build(const struct eng_stall_marks *mk, const struct eng_hb_track *src,
                     const struct eng_hb_track *dst, double period_ms, double threshold_ms,
                     struct qmig_report_stalls *out)
{
  memset(out, 0, sizeof *out);
  out->threshold_ms = threshold_ms;
  out->period_ms = period_ms;
  out->max_stall_ms = -1;
  out->stop_at_ms = mk->stop_ms;
  out->resume_at_ms = mk->resume_ms;
  size_t cap = (size_t)src->ngaps + dst->ngaps + 1;
  struct cand *c = calloc(cap, sizeof *c);
  if (!c)
    return -1;
  size_t n = 0;
  for (unsigned i = 0; i < src->ngaps; i++)
    n += candidate(mk, &src->gaps[i], period_ms, threshold_ms, &c[n]);
  for (unsigned i = 0; i < dst->ngaps; i++)
    n += candidate(mk, &dst->gaps[i], period_ms, threshold_ms, &c[n]);
  /* Across the switchover: the source's last line to the destination's
   * first (the source sends none once stopped). */
  if (src->lines && dst->lines && src->last_ns < dst->first_ns) {
    struct eng_hb_gap x = { src->last_ns, dst->first_ns, src->last_seq, dst->first_seq };
    n += candidate(mk, &x, period_ms, threshold_ms, &c[n]);
  }
  out->total = (unsigned)n + (src->total_gaps - src->ngaps) + (dst->total_gaps - dst->ngaps);
  qsort(c, n, sizeof *c, by_duration_desc);
  for (size_t i = 0; i < n && out->nstalls < QMIG_MAX_STALLS; i++) {
    struct qmig_stall *st = &out->stalls[out->nstalls++];
    st->start_ms = c[i].start_ms;
    st->duration_ms = c[i].duration_ms;
    st->pass = eng_stall_phase(mk, c[i].start_ms, c[i].end_ms, st->phase, sizeof st->phase);
    if (i == 0) {
      out->max_stall_ms = st->duration_ms;
      snprintf(out->max_stall_phase, sizeof out->max_stall_phase, "%s", st->phase);
    }
  }
  qsort(out->stalls, out->nstalls, sizeof out->stalls[0], by_start);
  free(c);
  return 0;
}

unsigned eng_stall_threshold_ms(const struct eng_config *c)
{
  if (c->stall_threshold_ms)
    return c->stall_threshold_ms;
  return 2 * (c->heartbeat_ms ? c->heartbeat_ms : 10);
}
