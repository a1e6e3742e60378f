/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* predict.c - the guest's dirty rate and what it means for precopy: total
 * time, downtime, convergence.
 *
 * The rate comes from QEMU's calc-dirty-rate in page-sampling mode (QEMU
 * hashes random guest pages, waits, hashes them again and scales the share
 * that changed to the RAM size); "dirty-ring" needs KVM's dirty ring, and
 * "dirty-bitmap" crashed QEMU 7.2 under TCG here (segfault), so qmig
 * never asks for them.  The model simulates QEMU 7.2's
 * own precopy loop (eng_predict_model); docs/REPORT.md, "prediction". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"

#define STEP_S \
  0.1                     /* one iteration of QEMU's migration loop: its
                             rate-limit window (BUFFER_DELAY, 100 ms) */
#define MAX_SIM_S 86400.0 /* more than a day of precopy: "does not converge" */
#define SAMPLES_WANTED \
  4096                /* pages sampled per measurement: a dirty share
                         p is then known to ±sqrt(p(1-p)/4096); guests
                         under 256 MiB get fewer (SPG_MAX) */
#define SPG_MIN 512   /* QEMU's default sample pages per GiB */
#define SPG_MAX 16384 /* QEMU's maximum */

static double dmin(double a, double b)
{
  return a < b ? a : b;
}

/* QEMU 7.2's precopy, step by step (migration_iteration_run and
 * ram_state_pending):
 * - setup syncs the dirty bitmap once (MIGRATION_PASS 1): every page is
 *   pending;
 * - each iteration sends up to one rate-limit window's worth of pages;
 * - only when fewer than threshold = bandwidth x downtime-limit bytes are
 *   pending does QEMU sync the bitmap again (another MIGRATION_PASS),
 *   adding the pages dirtied since the previous sync; if still below the
 *   threshold it stops the guest and sends the rest without rate limit
 *   (one last sync: the final MIGRATION_PASS).
 * Zero pages cost QEMU a few header bytes each, so the first pass sends
 * in_use bytes, not all of RAM; the pages dirtied between two syncs are
 * min(dirty x time, in_use) (a sweep over the guest's data: no page counted
 * twice, none beyond what holds data).  When the guest dirties at least as
 * fast as QEMU sends, the pending bytes never fall below the threshold
 * after a sync: it converges only if all the data fits under it. */
void eng_predict_model(const struct eng_pred_in *in, struct eng_pred_out *out)
{
  double thr = in->bw * in->limit_s, cap = in->in_use;
  double pending = in->in_use, dirtied = 0, t = 0;
  memset(out, 0, sizeof *out);
  out->passes = 1;
  /* The first check sees all of RAM pending, zero pages included. */
  bool sync = in->ram < thr;
  if (!sync && in->dirty >= in->bw && cap >= thr) {
    out->passes = 0; /* never below the threshold after a sync */
    return;
  }
  while (t < MAX_SIM_S) {
    if (sync) {
      out->passes++;
      pending = dmin(pending + dirtied, cap);
      dirtied = 0;
      if (pending < thr) {
        out->passes++; /* the final sync, at the stop */
        out->converges = true;
        out->downtime_s = pending / in->stop_bw;
        out->total_s = t + out->downtime_s;
        return;
      }
    }
    double dt = dmin(STEP_S, pending / in->bw);
    pending -= in->bw * dt;
    dirtied = dmin(dirtied + in->dirty * dt, cap);
    t += dt;
    sync = pending < thr;
  }
  out->passes = 0;
}

static int guest_ram(struct qmig_migration *m, uint64_t *ram)
{
  json_t *r = NULL;
  if (qmp_cmd(m->src, &r, QMP_TIMEOUT_DEFAULT, "query-memory-size-summary", NULL) < 0)
    return eng_errorf(m, "dirty rate: %s", qmp_error(m->src));
  json_int_t base = json_integer_value(json_object_get(r, "base-memory"));
  json_int_t plugged = json_integer_value(json_object_get(r, "plugged-memory"));
  json_decref(r);
  if (base <= 0 || plugged < 0)
    return eng_errorf(m, "dirty rate: source reports no guest RAM size");
  *ram = (uint64_t)base + (uint64_t)plugged;
  return 0;
}

/* calc-dirty-rate on the source, then query-dirty-rate until "measured"
 * (at most calc-time + 5 s).  QEMU answers in whole MiB/s, rounded down
 * (*qemu_mibps); *rate takes the middle of that interval unless QEMU said 0
 * (then no sampled page changed, or almost none). */
static int measure(struct qmig_migration *m, uint64_t ram, unsigned *spg, unsigned *calc_s,
                   int64_t *qemu_mibps, double *rate)
{
  unsigned secs = m->cfg.predict.dirty_rate_time_s;
  uint64_t want = ((uint64_t)SAMPLES_WANTED << 30) / ram;
  *spg = (unsigned)(want < SPG_MIN ? SPG_MIN : want > SPG_MAX ? SPG_MAX : want);
  if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "calc-dirty-rate", "{s:I,s:I}", "calc-time",
              (json_int_t)secs, "sample-pages", (json_int_t)*spg) < 0)
    return eng_errorf(m, "calc-dirty-rate on the source: %s", qmp_error(m->src));
  int64_t give_up = eng_mono_ns() + (int64_t)(secs + 5) * 1000000000;
  for (;;) {
    usleep(50000);
    if (atomic_load(&m->cancel_requested))
      return eng_errorf(m, "cancelled while measuring the dirty rate");
    json_t *r = NULL;
    if (qmp_cmd(m->src, &r, QMP_TIMEOUT_DEFAULT, "query-dirty-rate", NULL) < 0)
      return eng_errorf(m, "query-dirty-rate on the source: %s", qmp_error(m->src));
    const char *st = json_string_value(json_object_get(r, "status"));
    json_t *dr = json_object_get(r, "dirty-rate");
    bool done = st && !strcmp(st, "measured") && json_is_integer(dr);
    if (done) {
      *qemu_mibps = json_integer_value(dr);
      *rate = *qemu_mibps > 0 ? ((double)*qemu_mibps + 0.5) * 1048576.0 : 0;
      *calc_s = (unsigned)json_integer_value(json_object_get(r, "calc-time"));
    }
    json_decref(r);
    if (done)
      return 0;
    if (eng_mono_ns() > give_up)
      return eng_errorf(m, "dirty rate: QEMU still '%s' %u s after calc-dirty-rate", st ? st : "?",
                        secs + 5);
  }
}

int qmig_set_ram_in_use_hint(struct qmig_migration *m, uint64_t bytes, const char *from)
{
  if (!from || !*from || strlen(from) >= sizeof m->ram_hint_from)
    return eng_errorf(m, "ram-in-use hint: its origin must be 1 to %zu characters",
                      sizeof m->ram_hint_from - 1);
  m->ram_hint = bytes;
  snprintf(m->ram_hint_from, sizeof m->ram_hint_from, "%s", from);
  return 0;
}

/* What the first pass must send: the ram-in-use option, else the caller's
 * hint (a lab: what its guest fills, the rest of its RAM being zero pages),
 * else all of RAM. */
static uint64_t ram_in_use(struct qmig_migration *m, uint64_t ram, const char **from)
{
  uint64_t u = 0;
  if (m->cfg.predict.ram_in_use) {
    u = m->cfg.predict.ram_in_use;
    *from = "ram-in-use";
  } else if (m->ram_hint) {
    u = m->ram_hint;
    *from = m->ram_hint_from;
  }
  if (u == 0 || u > ram) {
    u = ram;
    *from = "all of guest RAM";
  }
  return u;
}

int eng_predict(struct qmig_migration *m)
{
  const struct eng_config *c = &m->cfg;
  uint64_t ram = 0;
  unsigned spg = 0, calc_s = c->predict.dirty_rate_time_s;
  double rate = 0;
  int64_t qemu_mibps = 0;
  if (guest_ram(m, &ram) < 0 || measure(m, ram, &spg, &calc_s, &qemu_mibps, &rate) < 0)
    return -1;
  const char *in_use_from = "";
  uint64_t in_use = ram_in_use(m, ram, &in_use_from);

  /* Precopy runs at the lower of the link and max-bandwidth; QEMU lifts
   * the limit for stop-and-copy, which then runs at the link's speed. */
  uint64_t link = c->predict.link_bandwidth, cap = c->stream.max_bandwidth;
  uint64_t bw = link && cap ? (cap < link ? cap : link) : link ? link : cap;
  const char *bw_from = bw == 0 ? NULL : bw == cap ? "max-bandwidth" : "link-bandwidth";
  struct eng_pred_in in = {
    .ram = (double)ram,
    .in_use = (double)in_use,
    .dirty = rate,
    .bw = (double)bw,
    .stop_bw = (double)(link ? link : bw),
    .limit_s = (double)c->stream.downtime_limit_ms / 1000.0,
  };
  struct eng_pred_out o = { 0 };
  const char *note = NULL;
  if (bw == 0)
    note = "bandwidth unknown: give link-bandwidth or max-bandwidth";
  else {
    eng_predict_model(&in, &o);
    if (!o.converges)
      note = rate >= (double)bw ? "the guest dirties memory at least as fast as precopy sends it"
                                : "would take more than a day";
    else if (!link)
      note = "downtime assumes stop-and-copy at the precopy rate (QEMU lifts the limit "
             "then): give link-bandwidth";
  }

  struct qmig_report_prediction *p = ENG_SECTION(m, prediction);
  if (!p)
    return eng_errorf(m, "prediction: out of memory");
  *p = (struct qmig_report_prediction){
    .dirty_rate_bytes_per_s = (int64_t)rate,
    .qemu_dirty_rate_mib_per_s = qemu_mibps,
    .measure_s = calc_s,
    .sample_pages_per_gib = spg,
    .ram_bytes = ram,
    .ram_in_use_bytes = in_use,
    .ram_in_use_from = in_use_from,
    .bandwidth_bytes_per_s = bw,
    .bandwidth_from = bw_from,
    .stop_copy_bytes_per_s = bw ? (uint64_t)in.stop_bw : 0,
    .downtime_limit_ms = c->stream.downtime_limit_ms,
    .converges = bw ? o.converges : -1,
    .passes = o.converges ? o.passes : 0,
    .total_ms = o.converges ? o.total_s * 1000.0 : -1,
    .downtime_ms = o.converges ? o.downtime_s * 1000.0 : -1,
    .note = note,
  };
  return 0;
}

enum qmig_outcome qmig_dirty_rate(struct qmig_migration *m)
{
  if (eng_begin(m) < 0)
    return QMIG_USAGE;
  enum qmig_outcome out = QMIG_MIGRATED;
  char e[512];
  if (!m->cfg.src) {
    eng_errorf(m, "a source QMP address (src, or lab) is needed");
    out = QMIG_USAGE;
  } else {
    eng_set_state(m, QMIG_S_CONNECTING, NULL);
    m->src = eng_qmp_connect(m, "source", m->cfg.src, e, sizeof e);
    if (!m->src) {
      eng_errorf(m, "%s", e);
      out = QMIG_NOT_STARTED;
    } else {
      eng_set_state(m, QMIG_S_PROBING, NULL);
      if (eng_predict(m) < 0)
        out = QMIG_NOT_STARTED;
    }
  }
  if (out != QMIG_MIGRATED)
    eng_set_state(m, QMIG_S_FAILED, m->err);
  return eng_end(m, out);
}
