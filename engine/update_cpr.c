/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update_cpr.c - a live update by cpr-transfer (QEMU 10+), whose order
 * differs from every other run: the new process, started with a main and a
 * cpr incoming channel, answers QMP only once the source has sent it the
 * cpr state (the RAM's descriptors among it), so the source's `migrate`
 * comes first and the destination's QMP after.  Source: events on,
 * migrate-set-parameters mode=cpr-transfer, `migrate` with channels main
 * and cpr; followed by query-migrate to its end.  A refusal (QEMU's own
 * message relayed) or a failure leaves the source running (resumed if it
 * was paused by the attempt, its mode set back to normal); update.c then
 * ends the new process. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/update.h"

static json_t *channel(const char *type, const char *path)
{
  return json_pack("{s:s,s:{s:s,s:s,s:s}}", "channel-type", type, "addr", "transport", "socket",
                   "type", "unix", "path", path);
}

static void version(const struct qmp_conn *c, char *out, size_t len)
{
  const struct qmp_version *v = qmp_version(c);
  snprintf(out, len, "%d.%d.%d%s%s", v->major, v->minor, v->micro, v->package[0] ? " " : "",
           v->package);
}

static void drain(struct qmig_migration *m)
{
  struct qmp_event ev;
  while (qmp_next_event(m->src, &ev)) {
    if (!strcmp(ev.name, "STOP") && !m->facts.stop_seen) {
      m->facts.stop_seen = true;
      m->facts.stop_wall_us = ev.wall_us;
    }
    qmp_event_clear(&ev);
  }
}

/* The source back as it was: mode normal, running if it ran. */
static void source_back(struct qmig_migration *m)
{
  char s[32];
  qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "migrate-set-parameters", "{s:s}", "mode", "normal");
  if (m->facts.src_was_running && eng_status(m, m->src, "query-status", s, sizeof s) == 0 &&
      strcmp(s, "running") && qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "cont", NULL) < 0)
    errbuf_appendf(m->err, sizeof m->err, "resuming the source: %s", qmp_error(m->src));
}

/* The new process's QMP once it answers, then its guest running. */
static int dst_up(struct qmig_migration *m, int timeout_ms)
{
  char e[512], s[32] = "";
  int64_t until = eng_mono_ns() + (int64_t)timeout_ms * 1000000;
  while (!(m->dst = eng_qmp_connect(m, "new QEMU", m->cfg.dst, e, sizeof e))) {
    if (eng_mono_ns() > until || !eng_spawn_alive(&m->upd->sp))
      return eng_errorf(m, "new QEMU after the transfer: %s", e);
    usleep(5000);
  }
  version(m->dst, m->report.dst_version, sizeof m->report.dst_version);
  bool cont_sent = false;
  for (;;) {
    if (eng_status(m, m->dst, "query-status", s, sizeof s) < 0)
      return eng_errorf(m, "new QEMU: %s", qmp_error(m->dst));
    if (!strcmp(s, "running") || !m->facts.src_was_running)
      return 0;
    if (!strcmp(s, "paused") && !cont_sent) { /* started with -S */
      if (qmp_cmd(m->dst, NULL, QMP_TIMEOUT_DEFAULT, "cont", NULL) < 0)
        return eng_errorf(m, "new QEMU cont: %s", qmp_error(m->dst));
      cont_sent = true;
    }
    if (eng_mono_ns() > until)
      return eng_errorf(m,
                        "the new QEMU's guest is not running %d ms after the transfer "
                        "(status %s)",
                        timeout_ms, s);
    usleep(2000);
  }
}

/* The heartbeats: the new process's serial exists once the cpr state has
 * arrived, so the monitor starts after `migrate`; its first lines may be
 * missed (the stall is then overstated, never understated). */
static void hb_start(struct qmig_migration *m, int timeout_ms)
{
  char e[512];
  if (!m->cfg.src_serial || !m->cfg.dst_serial)
    return;
  int64_t until = eng_mono_ns() + (int64_t)timeout_ms * 1000000;
  int64_t gap_ns = (int64_t)eng_stall_threshold_ms(&m->cfg) * 1000000;
  while (!(m->hb = eng_hb_start(m->cfg.src_serial, m->cfg.dst_serial, gap_ns, e, sizeof e)) &&
         eng_mono_ns() < until && eng_spawn_alive(&m->upd->sp))
    usleep(1000);
  if (!m->hb)
    eng_warn(m, "no heartbeats from the new process's serial");
}

enum qmig_outcome eng_update_cpr(struct qmig_migration *m)
{
  struct eng_upd *u = m->upd;
  char e[512], s[32], ms[32];
  int t = (int)m->cfg.qmp.timeout_ms;
  eng_set_state(m, QMIG_S_CONNECTING, NULL);
  if (!(m->src = eng_qmp_connect(m, "source", m->cfg.src, e, sizeof e))) {
    eng_errorf(m, "%s", e);
    goto not_started;
  }
  version(m->src, m->report.src_version, sizeof m->report.src_version);
  eng_set_state(m, QMIG_S_PROBING, NULL);
  if (eng_status(m, m->src, "query-status", s, sizeof s) < 0 ||
      eng_status(m, m->src, "query-migrate", ms, sizeof ms) < 0)
    goto not_started;
  if (strcmp(s, "running") && strcmp(s, "paused")) {
    eng_errorf(m, "source guest is %s (needs running or paused)", s);
    goto not_started;
  }
  if (strcmp(ms, "none") && strcmp(ms, "completed") && strcmp(ms, "failed") &&
      strcmp(ms, "cancelled")) {
    eng_errorf(m, "source already has a migration under way (%s)", ms);
    goto not_started;
  }
  m->facts.src_was_running = !strcmp(s, "running");
  eng_set_state(m, QMIG_S_CONFIGURING, NULL);
  json_t *caps = json_pack("[{s:s,s:b}]", "capability", "events", "state", 1);
  if (qmp_cmd(m->src, NULL, t, "migrate-set-capabilities", "{s:o}", "capabilities", caps) < 0 ||
      qmp_cmd(m->src, NULL, t, "migrate-set-parameters", "{s:s}", "mode", "cpr-transfer") < 0) {
    eng_errorf(m, "source refused cpr-transfer's settings: %s", qmp_error(m->src));
    goto not_started;
  }
  eng_set_state(m, QMIG_S_INCOMING, NULL);
  eng_set_state(m, QMIG_S_ACTIVE, NULL);
  snprintf(m->uri, sizeof m->uri, "%s", u->main_uri);
  m->facts.migrate_mono_ns = eng_mono_ns();
  json_t *chans = json_pack("[o,o]", channel("main", u->main_path), channel("cpr", u->cpr_path));
  if (qmp_cmd(m->src, NULL, t, "migrate", "{s:o}", "channels", chans) < 0) {
    eng_errorf(m, "the source QEMU refused cpr-transfer: %s", qmp_error(m->src));
    source_back(m);
    goto not_started;
  }
  m->facts.migrate_issued = true;
  hb_start(m, t);
  int64_t until =
      m->cfg.timeout_s ? m->facts.migrate_mono_ns + (int64_t)m->cfg.timeout_s * 1000000000 : 0;
  for (;;) {
    drain(m);
    if (eng_query_stats(m, &m->facts.final) < 0)
      goto failed;
    const char *st = m->facts.final.status;
    if (!strcmp(st, "completed"))
      break;
    if (!strcmp(st, "failed") || !strcmp(st, "cancelled")) {
      eng_errorf(m, "cpr-transfer %s on the source%s%s", st,
                 m->facts.final.error_desc[0] ? ": " : "", m->facts.final.error_desc);
      goto failed;
    }
    if (atomic_load(&m->cancel_requested) || (until && eng_mono_ns() > until)) {
      eng_errorf(m, "%s during cpr-transfer",
                 atomic_load(&m->cancel_requested) ? "cancelled" : "timed out");
      qmp_cmd(m->src, NULL, t, "migrate_cancel", NULL);
      usleep(100000);
      goto failed;
    }
    usleep(2000);
  }
  eng_set_state(m, QMIG_S_COMPLETING, NULL);
  drain(m);
  if (dst_up(m, t) < 0) {
    /* The source completed: its guest state went to the new process.  If
     * that process is gone, nothing runs the guest; say so. */
    eng_set_state(m, QMIG_S_CANCELLING, m->err);
    eng_set_state(m, QMIG_S_UNCERTAIN, m->err);
    return QMIG_UNCERTAIN;
  }
  /* postmigrate first: QEMU 7.2-era total-time race (follow.c). */
  for (int i = 0; i < 500 && eng_status(m, m->src, "query-status", s, sizeof s) == 0 &&
                  strcmp(s, "postmigrate") && m->facts.src_was_running;
       i++)
    usleep(2000);
  eng_query_stats(m, &m->facts.final);
  if (m->hb)
    eng_hb_wait_dst(m->hb, 1, 2000);
  if (m->cfg.quit_source && qmp_cmd(m->src, NULL, t, "quit", NULL) < 0 && !qmp_broken(m->src))
    eng_warn(m, "quitting the old QEMU after the update failed");
  eng_set_state(m, QMIG_S_COMPLETED, NULL);
  return QMIG_MIGRATED;

failed:
  source_back(m);
  eng_set_state(m, QMIG_S_CANCELLING, m->err);
  eng_set_state(m, QMIG_S_FAILED, m->err);
  return QMIG_NOT_MIGRATED;
not_started:
  if (m->state != QMIG_S_CONNECTING && m->state != QMIG_S_PROBING)
    eng_set_state(m, QMIG_S_CANCELLING, m->err);
  eng_set_state(m, QMIG_S_FAILED, m->err);
  return QMIG_NOT_STARTED;
}
