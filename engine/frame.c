/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* frame.c - the frame of every entry point (qmig_run, qmig_check,
 * qmig_recover, qmig_dirty_rate, qmig_create_disks): eng_begin once per
 * object, which also picks the transport session (engine/session.h), and
 * eng_end, which fills the report and lets go of every connection; with
 * them the report's warnings, which any phase may add to. */
#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/mirror.h"
#include "engine/session.h"

/* The one place that looks at the mode: native, or through the agent of
 * option `tunnel` (whose options the tunnel keeps from here on). */
static int session_pick(struct qmig_migration *m)
{
  const struct eng_tunnel_cfg *tc = &m->cfg.tunnel;
  if (!tc->agent && !tc->ssh) {
    m->session = &eng_native_session;
    return 0;
  }
  m->session = &eng_tunnel_session;
  return eng_tunnel_new(m, tc, (int)m->cfg.qmp.timeout_ms);
}

int eng_begin(struct qmig_migration *m)
{
  if (m->ran)
    return eng_errorf(m, "this migration has already run; create a new one");
  m->ran = true;
  m->facts.t0_mono_ns = eng_mono_ns();
  m->facts.cpu0_s = eng_cpu_s();
  return session_pick(m);
}

/* Fill the report and free the QMP sockets: they take one client at a
 * time, and whoever looks at the guests next needs them.  The session ends
 * after QMP is closed (a tunnel's QMP relay ends with it). */
enum qmig_outcome eng_end(struct qmig_migration *m, enum qmig_outcome out)
{
  m->facts.end_mono_ns = eng_mono_ns();
  m->report.outcome = out;
  eng_mirror_report(m);
  eng_report_fill(m);
  qmp_close(m->src);
  qmp_close(m->dst);
  m->src = m->dst = NULL;
  eng_qmp_end(m);
  if (m->session)
    m->session->end(m);
  /* cpu_s: the run's thread (eng_report_fill) and the tunnel's forwarder
   * threads, whose CPU the session's end has just summed. */
  const struct qmig_report_tunnel *t = qmig_report_tunnel(m);
  if (t)
    m->report.cpu_s += t->forwarder_cpu_s;
  eng_ssh_stop(m);
  return out;
}

void eng_warn(struct qmig_migration *m, const char *msg)
{
  errbuf_appendf(m->report.warnings, sizeof m->report.warnings, "%s", msg);
}
