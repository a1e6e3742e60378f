/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* summary.c - the short human form of a downtime report. */
#include <string.h>

#include "cli/cli.h"

static void ms(FILE *f, const char *label, double v, const char *what)
{
  if (v < 0)
    fprintf(f, "  %-22s %10s   %s\n", label, "n/a", what);
  else
    fprintf(f, "  %-22s %10.1f ms  %s\n", label, v, what);
}

void cli_print_summary(FILE *f, const struct qmig_report *r)
{
  static const char *const out[] = { "MIGRATED", "NOT MIGRATED (guest runs on the source)",
                                     "USAGE ERROR", "NOT STARTED (nothing moved)",
                                     "GUEST STATE UNCERTAIN - CHECK BOTH SIDES" };
  fprintf(f, "qmig: %s\n", out[r->outcome]);
  if (r->error[0])
    fprintf(f, "  error: %s\n", r->error);
  if (r->warnings[0])
    fprintf(f, "  warning: %s\n", r->warnings);
  if (r->src_version[0])
    fprintf(f, "  QEMU source %s, destination %s; stream %s\n", r->src_version, r->dst_version,
            r->data_uri[0] ? r->data_uri : "-");
  if (r->total_ms < 0 && r->outcome != QMIG_MIGRATED)
    return;
  ms(f, "setup", r->setup_ms, "QEMU setup-time");
  ms(f, "total", r->total_ms, "QEMU total-time");
  ms(f, "QEMU downtime", r->qemu_downtime_ms, "source's view, stop to completion");
  ms(f, "vCPU pause", r->pause_ms, "source STOP event -> destination RESUME event");
  if (r->guest_stall_ms >= 0)
    fprintf(f, "  %-22s %10.1f ms  largest heartbeat gap across switchover (period %.0f ms)\n",
            "guest stall", r->guest_stall_ms, r->heartbeat_period_ms);
  fprintf(f, "  %-22s %10.1f MiB at %.1f MiB/s in %u pass%s\n", "transferred",
          r->transferred_bytes / 1048576.0,
          r->throughput_bytes_per_s > 0 ? r->throughput_bytes_per_s / 1048576.0 : 0.0, r->npasses,
          r->npasses == 1 ? "" : "es");
  for (unsigned i = 0; i < r->npasses && i < 12; i++) {
    const struct qmig_pass *p = &r->passes[i];
    fprintf(f, "    pass %-3u %10.1f MiB %9.1f ms", p->pass, p->bytes / 1048576.0, p->duration_ms);
    if (p->dirty_bytes_per_s >= 0)
      fprintf(f, "  dirtied %.1f MiB/s", p->dirty_bytes_per_s / 1048576.0);
    fputc('\n', f);
  }
  if (r->npasses > 12)
    fprintf(f, "    ... %u more passes in the JSON report\n", r->npasses - 12);
  ms(f, "destination tail", r->dst_tail_ms, "source completed -> destination RESUME");
  ms(f, "qmig wall", r->wall_ms, "whole run: connect .. destination resumed, source quit");
  ms(f, "qmig overhead", r->engine_overhead_ms, "wall - QEMU total - destination tail");
  fprintf(f, "  %-22s %10.3f s   qmig's threads (run + forwarders)\n", "qmig CPU", r->cpu_s);
}

/* The "prediction" section of the report, if any: before the run (the
 * engine has measured, nothing moved yet) and beside the outcome after. */
void cli_print_prediction(FILE *f, const struct qmig_migration *m, bool outcome)
{
  const struct qmig_report_prediction *p = qmig_report_prediction(m);
  if (!p)
    return;
  double mib = 1048576.0;
  fprintf(f, "  prediction: dirty rate %.1f MiB/s, ", p->dirty_rate_bytes_per_s / mib);
  if (p->converges == 1)
    fprintf(f, "converges in %u passes, total %.0f ms, downtime %.0f ms", p->passes, p->total_ms,
            p->downtime_ms);
  else
    fprintf(f, "does not converge");
  const char *note = p->note;
  fprintf(f, "%s%s%s\n", note ? " (" : "", note ? note : "", note ? ")" : "");
  const struct qmig_report *r = qmig_report(m);
  if (outcome && r->total_ms >= 0)
    fprintf(f, "  measured:   total %.0f ms, QEMU downtime %.0f ms in %u passes\n", r->total_ms,
            r->qemu_downtime_ms > 0 ? r->qemu_downtime_ms : 0.0, r->npasses);
}

/* Up to this many stalls are listed one by one; more: only the largest. */
#define FEW_STALLS 8

void cli_print_stalls(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_stalls *s = qmig_report_stalls(m);
  if (!s)
    return;
  if (s->total == 0) {
    fprintf(f, "  %-22s %10s     no heartbeat gap over %.0f ms from migrate to after resume\n",
            "stalls", "none", s->threshold_ms);
    return;
  }
  fprintf(f, "  %-22s %10.1f ms  largest stall, in %s; %u over %.0f ms\n", "max stall",
          s->max_stall_ms, s->max_stall_phase, s->total, s->threshold_ms);
  if (s->total > FEW_STALLS)
    return;
  for (unsigned i = 0; i < s->nstalls; i++)
    fprintf(f, "    stall at %9.1f ms %9.1f ms  %s\n", s->stalls[i].start_ms,
            s->stalls[i].duration_ms, s->stalls[i].phase);
}

void cli_print_postcopy(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_postcopy *p = qmig_report_postcopy(m);
  for (unsigned i = 0; p && i < p->npauses && i < QMIG_MAX_PC_PAUSES; i++) {
    const struct qmig_postcopy_pause *x = &p->pauses[i];
    fprintf(f, "  post-copy paused at %.0f ms for %.0f ms, %s after %u resume attempt%s: %s\n",
            x->start_ms, x->duration_ms, x->resumed ? "resumed" : "NOT resumed", x->attempts,
            x->attempts == 1 ? "" : "s", x->cause);
  }
}

/* The "network" section (option probe), if any: what a client saw. */
void cli_print_network(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_network *n = qmig_report_network(m);
  if (!n)
    return;
  fprintf(f, "  network probe %s (%s, %u Hz): %llu sent, %llu lost, %llu gaps over %.1f ms\n",
          n->target, n->method, n->rate_hz, (unsigned long long)n->sent,
          (unsigned long long)n->lost, (unsigned long long)n->gaps_total, n->threshold_ms);
  if (n->max_gap_ms >= 0)
    fprintf(f, "  %-22s %10.1f ms  largest gap between replies, in %s at %.1f ms\n", "network gap",
            n->max_gap_ms, n->max_gap_phase, n->max_gap_start_ms);
  if (n->first_reply_after_resume_ms >= 0)
    fprintf(f, "  %-22s %10.1f ms  destination RESUME -> first reply\n", "network back",
            n->first_reply_after_resume_ms);
  else
    fprintf(f, "  %-22s %10s     no reply after the destination resumed\n", "network back", "n/a");
}

void cli_print_storage(FILE *f, const struct qmig_migration *m)
{
  const struct qmig_report_storage *s = qmig_report_storage(m);
  if (!s)
    return;
  for (unsigned i = 0; i < s->ndisks && i < QMIG_MAX_DISKS; i++) {
    const struct qmig_storage_disk *d = &s->disks[i];
    if (!d->copy || !d->job_started)
      continue;
    fprintf(f, "  disk %s copied: %.1f MiB, %s%s%s%s\n", d->name, d->bytes / 1048576.0,
            d->completed ? "completed" : "NOT completed",
            d->synced_known ? (d->actively_synced ? ", actively synced" : ", not actively synced")
                            : "",
            d->error[0] ? ": " : "", d->error);
  }
  if (!s->copy_mode || !s->copy_mode_switch)
    return;
  if (!strcmp(s->copy_mode_switch, "none")) {
    fprintf(f, "  copy mode %s\n", s->copy_mode);
    return;
  }
  fprintf(f, "  copy mode %s: started %s", s->copy_mode, s->copy_mode_start);
  if (!strcmp(s->copy_mode_switch, "switched"))
    fprintf(f, ", write-blocking from %.0f ms after migrate (%s)\n", s->copy_mode_switch_ms,
            s->copy_mode_switch_why);
  else if (!strcmp(s->copy_mode_switch, "lacked"))
    fprintf(f, ", stayed background: the source QEMU has no block-job-change\n");
  else if (!strcmp(s->copy_mode_switch, "refused"))
    fprintf(f, ", stayed background: %s\n", s->copy_mode_switch_why);
  else if (!strcmp(s->copy_mode_switch, "not-reached"))
    fprintf(f, ", stayed background: the switchover came before the end was near\n");
}
