/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* follow.c - from `migrate` to completion: one poll loop over both QMP
 * sockets and the cancel pipe, QMP events for state changes and timestamps,
 * query-migrate samples for progress, the watchdog and the policies.
 *
 * What is timed comes from events, never from a sample: STOP, RESUME and
 * MIGRATION carry QEMU's own timestamp (the pause, the destination's tail),
 * a MIGRATION_PASS is sampled the moment it is read (mark_pass), and the
 * loop sleeps in poll() on both QMP sockets, so an event is read as soon as
 * it arrives whatever the sampling period.  The period can therefore be
 * long where nothing is decided (eng_sample_next_ns): a sample costs a QMP
 * round trip, a JSON parse and two context switches, the bulk of the
 * engine's CPU while the stream moves (docs/DESIGN.md). */
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/probe.h"
#include "engine/mirror.h"
#include "engine/session.h"

static uint64_t jnum(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  if (json_is_integer(v))
    return (uint64_t)json_integer_value(v);
  /* A real outside uint64_t's range would be undefined to convert. */
  if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 0x1p64)
    return (uint64_t)json_real_value(v);
  return 0;
}

static int64_t jopt(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

int eng_query_stats(struct qmig_migration *m, struct eng_stats *st)
{
  json_t *r = NULL;
  if (qmp_cmd(m->src, &r, QMP_TIMEOUT_DEFAULT, "query-migrate", NULL) < 0)
    return eng_errorf(m, "%s", qmp_error(m->src));
  eng_stats_parse(r, st);
  json_decref(r);
  return 0;
}

void eng_stats_parse(json_t *r, struct eng_stats *st)
{
  memset(st, 0, sizeof *st);
  snprintf(st->status, sizeof st->status, "%s",
           json_string_value(json_object_get(r, "status")) ?: "none");
  st->total_ms = jopt(r, "total-time");
  st->setup_ms = jopt(r, "setup-time");
  st->downtime_ms = jopt(r, "downtime");
  st->expected_downtime_ms = jopt(r, "expected-downtime");
  json_t *ram = json_object_get(r, "ram");
  st->transferred = jnum(ram, "transferred");
  st->remaining = jnum(ram, "remaining");
  st->total = jnum(ram, "total");
  st->dirty_pages_rate = jnum(ram, "dirty-pages-rate");
  st->page_size = jnum(ram, "page-size");
  if (st->page_size == 0)
    st->page_size = 4096;
  st->dirty_sync_count = jnum(ram, "dirty-sync-count");
  st->downtime_bytes = jnum(ram, "downtime-bytes");
  st->postcopy_bytes = jnum(ram, "postcopy-bytes");
  st->postcopy_requests = jnum(ram, "postcopy-requests");
  json_t *mbps = json_object_get(ram, "mbps");
  st->mbps = json_is_number(mbps) ? json_number_value(mbps) : 0;
  snprintf(st->error_desc, sizeof st->error_desc, "%s",
           json_string_value(json_object_get(r, "error-desc")) ?: "");
}

static void report_progress(struct qmig_migration *m, const struct eng_stats *st)
{
  if (!m->progress_fn)
    return;
  struct qmig_progress p = {
    .elapsed_s = (eng_mono_ns() - m->facts.migrate_mono_ns) / 1e9,
    .status = st->status,
    .pass = (unsigned)st->dirty_sync_count,
    .transferred_bytes = st->transferred,
    .total_bytes = st->total,
    .remaining_bytes = st->remaining,
    .rate_bytes_per_s = st->mbps * 1e6 / 8,
    .dirty_bytes_per_s = (double)st->dirty_pages_rate * (double)st->page_size,
    .expected_downtime_ms = (double)st->expected_downtime_ms,
  };
  m->progress_fn(m->progress_ud, &p);
}

static bool src_terminal(const char *s)
{
  return !strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

/* A MIGRATION_PASS event: remember where the pass started.  After STOP the
 * source answers QMP only when stop-and-copy is over, so the last pass is
 * not sampled (its bytes come from the final statistics). */
static void mark_pass(struct qmig_migration *m, unsigned pass, int64_t wall_us)
{
  struct eng_stats st;
  if (m->facts.nmarks >= sizeof m->facts.marks / sizeof m->facts.marks[0])
    return;
  if (m->facts.stop_seen) {
    m->facts.marks[m->facts.nmarks++] = (struct eng_pass_mark){ pass, wall_us, UINT64_MAX, 0 };
    return;
  }
  if (eng_query_stats(m, &st) < 0)
    return;
  m->facts.marks[m->facts.nmarks++] =
      (struct eng_pass_mark){ pass, wall_us, st.transferred,
                              (double)st.dirty_pages_rate * (double)st.page_size };
  m->facts.pass_remaining = st.remaining;
  m->facts.pass_pending = pass;
}

/* Handle queued events of both sides.  Returns the source's terminal
 * migration status if one was seen ("" otherwise) in `term`, and whether
 * the source's migration status changed (a MIGRATION event): worth a
 * sample at once (post-copy paused, say). */
static bool drain_events(struct qmig_migration *m, char *term, size_t len)
{
  struct qmp_event ev;
  bool changed = false;
  while (qmp_next_event(m->src, &ev)) {
    const char *st = json_string_value(json_object_get(ev.data, "status"));
    /* Not at the switchover: the source answers only after it. */
    changed |= !strcmp(ev.name, "MIGRATION") && st && strcmp(st, "device") != 0 &&
               strcmp(st, "pre-switchover") != 0;
    if (!strcmp(ev.name, "STOP") && !m->facts.stop_seen) {
      m->facts.stop_seen = true;
      m->facts.stop_wall_us = ev.wall_us;
    } else if (!strcmp(ev.name, "MIGRATION_PASS")) {
      mark_pass(m, (unsigned)jnum(ev.data, "pass"), ev.wall_us);
    } else if (!strncmp(ev.name, "BLOCK_JOB_", 10)) {
      eng_mirror_event(m, &ev);
    } else if (!strcmp(ev.name, "MIGRATION") && st && !strcmp(st, "pre-switchover")) {
      m->facts.switchover_pending = true;
    } else if (!strcmp(ev.name, "MIGRATION") && st && !strcmp(st, "postcopy-active")) {
      m->policy.postcopy_started = true;
      m->policy.postcopy_start_wall_us = ev.wall_us;
    } else if (!strcmp(ev.name, "MIGRATION") && st && src_terminal(st)) {
      snprintf(term, len, "%s", st);
      m->facts.src_done_wall_us = ev.wall_us;
    }
    qmp_event_clear(&ev);
  }
  while (qmp_next_event(m->dst, &ev)) {
    const char *st = json_string_value(json_object_get(ev.data, "status"));
    if (!strcmp(ev.name, "RESUME") && !m->facts.resume_seen) {
      m->facts.resume_seen = true;
      m->facts.resume_wall_us = ev.wall_us;
    } else if (!strcmp(ev.name, "MIGRATION") && st) {
      snprintf(m->facts.dst_status, sizeof m->facts.dst_status, "%s", st);
    }
    qmp_event_clear(&ev);
  }
  return changed;
}

/* Wait for events on both sides (and cancel) for at most timeout_ms. */
static int wait_io(struct qmig_migration *m, int timeout_ms)
{
  struct pollfd p[3] = {
    { .fd = qmp_fd(m->src), .events = POLLIN },
    { .fd = qmp_fd(m->dst), .events = POLLIN },
    { .fd = m->cancel_pipe[0], .events = POLLIN },
  };
  if (poll(p, 3, timeout_ms < 0 ? 0 : timeout_ms) < 0)
    return 0; /* EINTR: a signal; the cancel pipe tells if it mattered */
  if (p[0].revents && qmp_pump(m->src, 0) < 0)
    return eng_errorf(m, "lost the source QMP connection: %s", qmp_error(m->src));
  if (p[1].revents && qmp_pump(m->dst, 0) < 0)
    return eng_errorf(m, "destination QEMU went away (QMP: %s)", qmp_error(m->dst));
  return 0;
}

/* After completion: final statistics (7.2 race: wait for postmigrate
 * first), the destination's RESUME, and a first heartbeat from it. */
static int complete(struct qmig_migration *m)
{
  int t = qmp_timeout(m->dst);
  int64_t give_up = eng_mono_ns() + (int64_t)t * 1000000;
  char rs[32] = "", term[32] = "";
  for (;;) {
    if (eng_status(m, m->src, "query-status", rs, sizeof rs) < 0)
      return eng_errorf(m, "after completion: %s", qmp_error(m->src));
    if (!strcmp(rs, "postmigrate") || !m->facts.src_was_running || eng_mono_ns() > give_up)
      break;
    usleep(2000);
  }
  if (eng_query_stats(m, &m->facts.final) < 0)
    return -1;

  /* The destination: completed, and running (cont it if it was started
   * with -S and the guest was running before). */
  bool cont_sent = false;
  while (!m->facts.resume_seen && m->facts.src_was_running) {
    if (eng_mono_ns() > give_up)
      return eng_errorf(m,
                        "destination did not resume within %d ms after completion "
                        "(its migration status: %s)",
                        t, m->facts.dst_status[0] ? m->facts.dst_status : "?");
    if (!strcmp(m->facts.dst_status, "completed") && !cont_sent) {
      char ds[32];
      if (eng_status(m, m->dst, "query-status", ds, sizeof ds) < 0)
        return eng_errorf(m, "destination after completion: %s", qmp_error(m->dst));
      bool paused = !strcmp(ds, "paused");
      if (paused && qmp_cmd(m->dst, NULL, t, "cont", NULL) < 0)
        return eng_errorf(m, "destination cont: %s", qmp_error(m->dst));
      cont_sent = paused;
    }
    if (wait_io(m, 20) < 0)
      return -1;
    drain_events(m, term, sizeof term);
  }
  if (eng_announce(m) < 0) /* the guest has moved: a warning, not a failure */
    eng_warn(m, m->err);
  if (m->hb && eng_hb_wait_dst(m->hb, 1, 2000)) {
    /* Some time after the resume for the stall timeline: a post-copy
     * guest faulting on its pages, or one slow to get going. */
    unsigned period = m->cfg.heartbeat_ms ? m->cfg.heartbeat_ms : 10;
    unsigned after_ms = period * ENG_HB_AFTER_PERIODS > 250 ? period * ENG_HB_AFTER_PERIODS : 250;
    int64_t t0 = eng_mono_ns();
    eng_hb_wait_dst(m->hb, 1 + after_ms / period, (int)after_ms * 2 + 500);
    m->facts.hb_after_ns = eng_mono_ns() - t0;
  }
  if (m->probe) { /* the guest answers again (announce off: maybe seconds) */
    int64_t resume = eng_probe_wall_to_mono(m->facts.resume_wall_us - m->facts.dst_clock_offset_us);
    eng_probe_settle(m->probe, resume, 200,
                     eng_mono_ns() + (int64_t)m->cfg.probe.wait_s * 1000000000);
  }
  if (m->cfg.quit_source && qmp_cmd(m->src, NULL, t, "quit", NULL) < 0 && !qmp_broken(m->src))
    return eng_errorf(m, "quitting the source after success: %s", qmp_error(m->src));
  return 0;
}

int eng_follow(struct qmig_migration *m)
{
  const struct eng_config *cf = &m->cfg;
  m->facts.migrate_mono_ns = eng_mono_ns();
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  m->facts.migrate_wall_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
  double cpu0_s = eng_cpu_s();
  const char *to = cf->stream.connect ? cf->stream.connect : m->uri;
  if (qmp_execute(m->src, "migrate", eng_migrate_args(m, to), NULL, QMP_TIMEOUT_DEFAULT) < 0)
    return eng_errorf(m, "%s", qmp_error(m->src));
  m->facts.migrate_issued = true;
  eng_policy_start(m);

  int64_t timeout_at =
      cf->timeout_s ? m->facts.migrate_mono_ns + (int64_t)cf->timeout_s * 1000000000 : 0;
  int64_t next_sample = m->facts.migrate_mono_ns;
  /* Watchdog: a dead link leaves QEMU blocked in send() for the kernel's
   * retransmission timeout (~15 min) with status "active" and
   * ram.transferred frozen; cancelling shuts the socket down. */
  int64_t moved_ns = m->facts.migrate_mono_ns;
  uint64_t moved = 0;
  char term[32] = "";
  for (;;) {
    if (drain_events(m, term, sizeof term))
      next_sample = eng_mono_ns(); /* the status changed: look now */
    if (term[0])
      break;
    if (m->mirror && m->mirror->failed)
      return -1;                       /* a disk's mirror failed: error recorded */
    if (m->facts.switchover_pending) { /* stopped before the switchover: disks */
      m->facts.switchover_pending = false;
      if (eng_mirror_switchover(m) < 0)
        return -1;
    }
    if (m->facts.pass_pending) { /* policy decisions at a pass boundary */
      unsigned pass = m->facts.pass_pending;
      m->facts.pass_pending = 0;
      if (eng_policy_pass(m, pass, m->facts.pass_remaining) < 0)
        return -1;
    }
    int64_t now = eng_mono_ns();
    bool stop = atomic_load(&m->cancel_requested) || (timeout_at && now >= timeout_at);
    if (stop && m->policy.postcopy_started) {
      /* QEMU cannot cancel post-copy: the guest already runs on the
       * destination and needs the rest of its pages from the source. */
      eng_warn(m, "cancel or timeout during post-copy ignored: the guest already runs on "
                  "the destination");
      char drain[64];
      while (read(m->cancel_pipe[0], drain, sizeof drain) > 0)
        ; /* else poll() would wake at once, forever */
      atomic_store(&m->cancel_requested, 0);
      timeout_at = 0;
    } else if (atomic_load(&m->cancel_requested)) {
      eng_errorc(m, QMIG_E_CANCELLED, "cancelled on request");
      return 1;
    } else if (timeout_at && now >= timeout_at) {
      eng_errorc(m, QMIG_E_TIMEOUT, "timed out after %u s", cf->timeout_s);
      return 1;
    }
    if (now >= next_sample) {
      struct eng_stats st;
      if (eng_query_stats(m, &st) < 0)
        return -1;
      report_progress(m, &st);
      bool watched = !strcmp(st.status, "active") || !strcmp(st.status, "postcopy-active");
      bool stalled = cf->stall_timeout_s && watched && st.transferred == moved &&
                     now - moved_ns >= (int64_t)cf->stall_timeout_s * 1000000000;
      if (!strcmp(st.status, "postcopy-paused") || (stalled && m->policy.postcopy_started)) {
        char cause[160];
        if (stalled)
          snprintf(cause, sizeof cause, "the stream stalled, no progress for %u s",
                   cf->stall_timeout_s);
        else
          snprintf(cause, sizeof cause, "QEMU paused post-copy%s%s", st.error_desc[0] ? ": " : "",
                   st.error_desc);
        if (eng_postcopy_relink(m, cause) < 0)
          return -1;
        moved = 0;
        moved_ns = eng_mono_ns();
        next_sample = moved_ns;
        continue;
      }
      if (st.transferred != moved || !watched) {
        moved = st.transferred;
        moved_ns = now;
      } else if (stalled) {
        const char *agent = m->session->agent(m);
        eng_errorc(m, QMIG_E_TIMEOUT,
                   "stream stalled: no progress for %u s (ram.transferred stayed at %llu "
                   "bytes, status active): the link to %s%s is down or blocked",
                   cf->stall_timeout_s, (unsigned long long)moved, agent ? "the agent at " : "",
                   agent ? agent : m->uri);
        return 1;
      }
      if (eng_mirror_mode_tick(m, &st) < 0) /* copy-mode auto */
        return -1;
      int pr = eng_policy_tick(m, &st);
      if (pr != 0)
        return pr;
      if (src_terminal(st.status) && !term[0])
        snprintf(term, sizeof term, "%s", st.status);
      next_sample = eng_sample_next_ns(&m->cfg, &st, now, eng_policy_due_ns(m));
      continue;
    }
    int wait_ms = (int)((next_sample - now) / 1000000) + 1;
    if (wait_io(m, wait_ms) < 0)
      return -1;
  }
  m->facts.cpu_stream_s = eng_cpu_s() - cpu0_s;
  if (strcmp(term, "completed") != 0) {
    struct eng_stats st;
    const char *why = eng_query_stats(m, &st) == 0 && st.error_desc[0] ? st.error_desc : "";
    return eng_errorf(m, "migration %s on the source%s%s", term, why[0] ? ": " : "", why);
  }
  eng_set_state(m, QMIG_S_COMPLETING, NULL);
  return complete(m);
}
