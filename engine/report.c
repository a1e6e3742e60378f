/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report.c - the downtime report: derived from what the run gathered, as a
 * struct (qmig_report); report_json.c writes it and the sections as JSON.
 * docs/REPORT.md describes each field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/probe.h"

static double ms_or_na(int64_t v)
{
  return v < 0 ? -1 : (double)v;
}

/* Passes from the marks taken at each MIGRATION_PASS event.  A mark taken
 * after STOP has no sample (UINT64_MAX): the stop-and-copy pass's bytes are
 * QEMU's ram.downtime-bytes and the pass before it gets the rest. */
static void fill_passes(struct qmig_migration *m, struct qmig_report *r)
{
  const struct eng_stats *f = &m->facts.final;
  r->npasses = 0;
  for (unsigned i = 0; i < m->facts.nmarks && r->npasses < QMIG_MAX_PASSES; i++) {
    const struct eng_pass_mark *a = &m->facts.marks[i];
    const struct eng_pass_mark *b = i + 1 < m->facts.nmarks ? &m->facts.marks[i + 1] : NULL;
    struct qmig_pass *p = &r->passes[r->npasses++];
    p->pass = a->pass;
    p->dirty_bytes_per_s = b && b->dirty_bytes_per_s > 0 ? b->dirty_bytes_per_s : -1;
    int64_t end_us = b ? b->wall_us : m->facts.src_done_wall_us;
    p->duration_ms = end_us > a->wall_us ? (end_us - a->wall_us) / 1000.0 : -1;
    if (a->transferred == UINT64_MAX) /* stop-and-copy */
      p->bytes = f->downtime_bytes;
    else if (b && b->transferred != UINT64_MAX)
      p->bytes = b->transferred - a->transferred;
    else /* up to the end, less what stop-and-copy sent */
      p->bytes = f->transferred > a->transferred + (b ? f->downtime_bytes : 0)
                     ? f->transferred - a->transferred - (b ? f->downtime_bytes : 0)
                     : 0;
  }
}

/* ms since `migrate` of a QEMU event time on our wall clock; -1 unseen. */
static double since_migrate(const struct qmig_migration *m, bool seen, int64_t wall_us)
{
  return seen && m->facts.migrate_wall_us ? (wall_us - m->facts.migrate_wall_us) / 1000.0 : -1;
}

/* The stall timeline (stalls.c), for runs with heartbeats that got as far
 * as `migrate`. */
static void fill_stalls(struct qmig_migration *m)
{
  const struct eng_facts *fa = &m->facts;
  if (!m->cfg.src_serial || !fa->migrate_mono_ns)
    return;
  struct eng_stall_marks mk = { 0 };
  mk.migrate_ns = fa->migrate_mono_ns;
  for (unsigned i = 0; i < fa->nmarks; i++) {
    mk.pass[mk.npass] = fa->marks[i].pass;
    mk.pass_ms[mk.npass++] = since_migrate(m, true, fa->marks[i].wall_us);
  }
  double setup = fa->final.status[0] ? (double)fa->final.setup_ms : -1;
  mk.setup_end_ms = mk.npass && mk.pass_ms[0] > setup ? mk.pass_ms[0] : setup;
  mk.stop_ms = since_migrate(m, fa->stop_seen, fa->stop_wall_us);
  mk.resume_ms = since_migrate(m, fa->resume_seen, fa->resume_wall_us - fa->dst_clock_offset_us);
  mk.postcopy_ms = since_migrate(m, m->policy.postcopy_started, m->policy.postcopy_start_wall_us);
  mk.end_ms = since_migrate(m, fa->src_done_wall_us != 0, fa->src_done_wall_us);
  struct qmig_report_stalls *st = ENG_SECTION(m, stalls);
  if (st && eng_stalls_build(&mk, &fa->hb_result.track[0], &fa->hb_result.track[1],
                             m->cfg.heartbeat_ms, eng_stall_threshold_ms(&m->cfg), st) < 0)
    eng_warn(m, "stall timeline: out of memory");
}

/* The network section: the probe's gaps placed in the run's phases. */
static void probe_report(struct qmig_migration *m)
{
  const struct eng_facts *f = &m->facts;
  struct eng_phase_marks pm = { .migrate_ns = f->migrate_issued ? f->migrate_mono_ns : 0 };
  for (unsigned i = 0; i < f->nmarks && pm.npasses < QMIG_MAX_PASSES + 1; i++) {
    pm.pass[pm.npasses] = f->marks[i].pass;
    pm.pass_ns[pm.npasses++] = eng_probe_wall_to_mono(f->marks[i].wall_us);
  }
  pm.stop_ns = f->stop_seen ? eng_probe_wall_to_mono(f->stop_wall_us) : 0;
  pm.resume_ns =
      f->resume_seen ? eng_probe_wall_to_mono(f->resume_wall_us - f->dst_clock_offset_us) : 0;
  pm.postcopy_ns = m->policy.postcopy_started && m->policy.postcopy_start_wall_us
                       ? eng_probe_wall_to_mono(m->policy.postcopy_start_wall_us)
                       : 0;
  pm.done_ns = f->src_done_wall_us ? eng_probe_wall_to_mono(f->src_done_wall_us) : 0;
  struct qmig_report_network *n = ENG_SECTION(m, network);
  struct qmig_report_network scratch;
  eng_probe_stop(m->probe, &pm, n ? n : &scratch);
  m->probe = NULL;
}

void eng_report_fill(struct qmig_migration *m)
{
  struct qmig_report *r = &m->report;
  const struct eng_stats *f = &m->facts.final;
  snprintf(r->status, sizeof r->status, "%s", f->status[0] ? f->status : qmig_state_name(m->state));
  snprintf(r->error, sizeof r->error, "%s",
           r->outcome == QMIG_MIGRATED && m->state == QMIG_S_COMPLETED &&
                   !atomic_load(&m->cancel_requested)
               ? ""
               : m->err);
  snprintf(r->data_uri, sizeof r->data_uri, "%s", m->uri);
  bool have = f->status[0] != '\0';
  r->setup_ms = have ? ms_or_na(f->setup_ms) : -1;
  r->total_ms = have ? ms_or_na(f->total_ms) : -1;
  r->qemu_downtime_ms = have ? ms_or_na(f->downtime_ms) : -1;
  /* Destination timestamps are its host's wall clock: on ours they are
   * earlier by the measured offset (0 unless tunnelled). */
  int64_t resume_us = m->facts.resume_wall_us - m->facts.dst_clock_offset_us;
  r->pause_ms = m->facts.stop_seen && m->facts.resume_seen
                    ? (resume_us - m->facts.stop_wall_us) / 1000.0
                    : -1;
  r->transferred_bytes = f->transferred;
  r->total_bytes = f->total;
  r->throughput_bytes_per_s = r->total_ms > 0 ? f->transferred / (r->total_ms / 1000.0) : -1;

  if (m->hb) {
    eng_hb_stop(m->hb, &m->facts.hb_result);
    m->hb = NULL;
  }
  const struct eng_hb_result *hb = &m->facts.hb_result;
  r->heartbeats_src = hb->src_lines;
  r->heartbeats_dst = hb->dst_lines;
  r->heartbeat_period_ms = m->cfg.src_serial ? (double)m->cfg.heartbeat_ms : -1.0;
  /* The gap between two consecutive heartbeats across switchover.  When
   * lines went missing (one cut in two), each missing heartbeat is one
   * period the guest ran: take it off.  A destination sequence that does
   * not follow the source's means the lines cannot be trusted: unknown. */
  r->guest_stall_ms = -1;
  if (hb->last_src_mono_ns && hb->first_dst_mono_ns)
    r->guest_stall_ms =
        eng_stall_across_ms(hb->last_src_mono_ns, hb->last_src_seq, hb->first_dst_mono_ns,
                            hb->first_dst_seq, m->cfg.heartbeat_ms);

  fill_stalls(m);

  if (m->probe)
    probe_report(m);

  r->dst_tail_ms = m->facts.resume_seen && m->facts.src_done_wall_us
                       ? (resume_us - m->facts.src_done_wall_us) / 1000.0
                       : -1;
  r->wall_ms = (m->facts.end_mono_ns - m->facts.t0_mono_ns) / 1e6;
  r->engine_overhead_ms =
      r->total_ms >= 0 ? r->wall_ms - r->total_ms - (r->dst_tail_ms > 0 ? r->dst_tail_ms : 0) -
                             (m->mirror ? m->mirror->sync_ms : 0) - m->facts.hb_after_ns / 1e6
                       : -1;
  r->cpu_s = eng_cpu_s() - m->facts.cpu0_s;
  r->cpu_stream_s = m->facts.cpu_stream_s > 0 ? m->facts.cpu_stream_s : -1; /* ended */
  fill_passes(m, r);
  eng_policy_report(m);
}
