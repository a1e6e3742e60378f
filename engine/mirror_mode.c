/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mirror_mode.c - copy-mode auto: the mirrors start in background, where
 * the guest's writes never wait for the link while the bulk of the disks
 * is copied, and are moved to write-blocking (`block-job-change`, QEMU
 * 8.2+, probed by features.c from the source's schema) near the end, so
 * that what is left to copy when the source stops at pre-switchover stays
 * small: from then on every guest write reaches the destination before it
 * completes.  QEMU allows only background -> write-blocking.
 *
 * Near the end is the first of: the RAM migration is in its later passes
 * (dirty-sync-count 2 or more: any bitmap sync may now end it) or expects
 * to finish within the lead time; or, all along, the disks' remaining copy
 * would not fit in the downtime limit at the rate the bulk was copied, for
 * ENG_CM_BEHIND_MS in a row (background mode is not converging).  The
 * decision is pure (eng_cm_decide, tests/unit/test_mirror_mode.c); the
 * tick runs once per progress sample of the follow loop.  A refusal is a
 * warning: the mirrors stay background and the migration goes on. */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/mirror.h"

void eng_cm_track_init(struct eng_cm_track *t)
{
  t->behind_since_ms = -1;
}

enum eng_cm_verdict eng_cm_decide(const struct eng_cm_in *in, struct eng_cm_track *t)
{
  if (!in->all_ready || !in->ram_active) {
    t->behind_since_ms = -1;
    return ENG_CM_WAIT;
  }
  if (in->ram_pass >= 2)
    return ENG_CM_RAM_NEAR_END;
  if (in->ram_rate > 0 && (double)in->ram_remaining / in->ram_rate * 1e3 <= in->lead_ms)
    return ENG_CM_RAM_NEAR_END;
  bool behind =
      in->disk_rate > 0 && (double)in->disk_remaining / in->disk_rate * 1e3 > in->downtime_limit_ms;
  if (!behind) {
    t->behind_since_ms = -1;
    return ENG_CM_WAIT;
  }
  if (t->behind_since_ms < 0)
    t->behind_since_ms = in->now_ms;
  return in->now_ms - t->behind_since_ms >= ENG_CM_BEHIND_MS ? ENG_CM_DISK_BEHIND : ENG_CM_WAIT;
}

const char *eng_cm_switch_name(enum eng_cm_switch s)
{
  static const char *const n[] = { "none", "lacked", "not-reached", "switched", "refused" };
  return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "none";
}

void eng_mirror_mode_start(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  eng_cm_track_init(&mi->cm_track);
  mi->cm_switch_ms = -1;
  if (m->cfg.disks.copy_mode != ENG_COPY_AUTO) {
    mi->cm_switch = ENG_CMS_NONE;
  } else if (eng_feature_src_has(m, ENG_FEAT_BLOCK_JOB_CHANGE)) {
    mi->cm_switch = ENG_CMS_NOT_REACHED;
  } else {
    mi->cm_switch = ENG_CMS_LACKED;
    snprintf(mi->cm_why, sizeof mi->cm_why,
             "the source QEMU has no block-job-change: the mirrors stay in background mode "
             "(copy-mode write-blocking chooses it at the start)");
  }
}

/* The decision's inputs from the jobs just polled and the sample st. */
static void cm_inputs(const struct qmig_migration *m, const struct eng_stats *st,
                      struct eng_cm_in *in)
{
  const struct eng_mirror *mi = m->mirror;
  int64_t now = eng_mono_ns();
  *in = (struct eng_cm_in){ .all_ready = true, .ram_active = !strcmp(st->status, "active") };
  in->ram_pass = st->dirty_sync_count;
  in->ram_remaining = st->remaining;
  double since_s = (now - m->facts.migrate_mono_ns) / 1e9;
  in->ram_rate = st->mbps > 0 ? st->mbps * 1e6 / 8 : since_s > 0 ? st->transferred / since_s : 0;
  for (size_t i = 0; i < mi->n; i++) {
    const struct eng_mirror_disk *md = &mi->d[i];
    if (!md->copy)
      continue;
    in->all_ready &= md->ready;
    in->disk_remaining += md->len > md->offset ? md->len - md->offset : 0;
    double s = (md->ready_mono_ns - md->start_mono_ns) / 1e9;
    if (md->ready && s > 0)
      in->disk_rate += md->ready_bytes / s;
  }
  in->downtime_limit_ms =
      (double)(m->policy.limit_ms ? m->policy.limit_ms : m->cfg.stream.downtime_limit_ms);
  in->lead_ms = 3.0 * m->cfg.poll_ms > 1000 ? 3.0 * m->cfg.poll_ms : 1000;
  in->now_ms = now / 1000000;
}

/* block-job-change of every copied disk's mirror; 0 switched, 1 refused
 * (why in cm_why, warned), -1 QMP broke. */
static int switch_all(struct qmig_migration *m)
{
  struct eng_mirror *mi = m->mirror;
  for (size_t i = 0; i < mi->n; i++) {
    char job[32];
    if (!mi->d[i].copy)
      continue;
    snprintf(job, sizeof job, ENG_MIRROR_JOB "%zu", i);
    if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "block-job-change", "{s:s,s:s,s:s}", "id", job,
                "type", "mirror", "copy-mode", "write-blocking") == 0)
      continue;
    if (qmp_broken(m->src))
      return eng_errorf(m, "block-job-change of %s: %s", job, qmp_error(m->src));
    snprintf(mi->cm_why, sizeof mi->cm_why, "mirror %s (disk %s): %s", job, mi->d[i].src.name,
             qmp_error(m->src));
    char w[400];
    snprintf(w, sizeof w,
             "copy-mode auto: the source QEMU refused to move the mirrors to write-blocking "
             "(%s); they go on in background mode",
             mi->cm_why);
    eng_warn(m, w);
    return 1;
  }
  return 0;
}

int eng_mirror_mode_tick(struct qmig_migration *m, const struct eng_stats *st)
{
  struct eng_mirror *mi = m->mirror;
  if (!mi || mi->finished || mi->failed || mi->at_switchover ||
      !eng_feature_src_has(m, ENG_FEAT_BLOCK_JOB_CHANGE))
    return 0;
  /* Such a QEMU also reports actively-synced: keep the last value seen. */
  if (eng_mirror_poll(m) < 0)
    return -1;
  if (mi->failed || mi->cm_switch != ENG_CMS_NOT_REACHED)
    return 0;
  struct eng_cm_in in;
  cm_inputs(m, st, &in);
  enum eng_cm_verdict v = eng_cm_decide(&in, &mi->cm_track);
  if (v == ENG_CM_WAIT)
    return 0;
  double mib = 1048576.0;
  char why[sizeof mi->cm_why];
  if (v == ENG_CM_RAM_NEAR_END)
    snprintf(why, sizeof why, "RAM migration near its end (pass %llu, %.1f MiB left)",
             (unsigned long long)in.ram_pass, in.ram_remaining / mib);
  else
    snprintf(why, sizeof why,
             "disk copy not converging (%.1f MiB left at %.1f MiB/s, above the %.0f ms downtime "
             "limit for %d s)",
             in.disk_remaining / mib, in.disk_rate / mib, in.downtime_limit_ms,
             ENG_CM_BEHIND_MS / 1000);
  int rc = switch_all(m);
  if (rc < 0)
    return -1;
  if (rc > 0) {
    mi->cm_switch = ENG_CMS_REFUSED;
    return 0;
  }
  mi->cm_switch = ENG_CMS_SWITCHED;
  mi->cm_switch_ms = (eng_mono_ns() - m->facts.migrate_mono_ns) / 1e6;
  snprintf(mi->cm_why, sizeof mi->cm_why, "%s", why);
  eng_feature_mark_used(m, ENG_FEAT_BLOCK_JOB_CHANGE);
  eng_log(m, "copy-mode auto: mirrors now write-blocking at %.0f ms: %s", mi->cm_switch_ms, why);
  return eng_mirror_poll(m); /* actively-synced as it is right after */
}

void eng_mirror_mode_report(const struct qmig_migration *m, struct qmig_report_storage *o)
{
  static const char *const mode[] = { "auto", "background", "write-blocking" };
  const struct eng_mirror *mi = m->mirror;
  int cm = m->cfg.disks.copy_mode;
  o->copy_mode = (unsigned)cm < 3 ? mode[cm] : "auto";
  o->copy_mode_start = cm == ENG_COPY_WRITE_BLOCKING ? "write-blocking" : "background";
  o->copy_mode_switch = eng_cm_switch_name(mi->cm_switch);
  o->copy_mode_switch_ms = mi->cm_switch == ENG_CMS_SWITCHED ? mi->cm_switch_ms : -1;
  snprintf(o->copy_mode_switch_why, sizeof o->copy_mode_switch_why, "%s", mi->cm_why);
}
