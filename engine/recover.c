/* recover.c - after a failure, cancel or timeout: make sure exactly one side
 * runs the guest, and say which.  The rules, in order:
 *  1. Cancel the source's migration if it is still moving; wait for it to
 *     end (bounded).
 *  2. Learn both sides' run states (reconnecting once to a side whose QMP
 *     connection broke or did not answer; "connection refused" on a unix
 *     socket means gone, a QMP that does not answer means "unreachable").
 *  3. If the destination runs the guest, the source must not: never `cont`
 *     the source then.  If the source completed and the destination is
 *     gone, the guest runs nowhere: get it back on the source; if it is
 *     only unreachable it may run the guest: uncertain, the source stays.
 *  4. Otherwise stop the destination (quit it if it is still there) and make
 *     sure the source runs if it ran before.
 * Anything we cannot establish ends in QMIG_UNCERTAIN with a loud message. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"

#define RECOVER_WAIT_MS 30000

static bool moving(const char *s)
{
  return strcmp(s, "none") && strcmp(s, "completed") && strcmp(s, "failed") &&
         strcmp(s, "cancelled");
}

/* Run state of one side into `out`: "gone" when nothing answers a new
 * connection, "unreachable" when a connection is there but its QMP does not
 * answer (a timeout, garbage): that QEMU may well run the guest.  A side
 * whose connection broke or failed the query gets one fresh connection. */
static void side_state(struct qmig_migration *m, struct qmp_conn **c, const char *name,
                       const char *addr, char *out, size_t len)
{
  int t = (int)m->cfg.qmp_timeout_ms;
  /* An unreachable side is a fact here, not a new error: keep the message
   * that says why we are recovering. */
  char why[sizeof m->err];
  snprintf(why, sizeof why, "%s", m->err);
  snprintf(out, len, "gone");
  for (int attempt = 0; attempt < 2; attempt++) {
    if (*c && (attempt > 0 || qmp_broken(*c))) {
      qmp_close(*c);
      /* Tunnelled: the destination is reached through the agent only. */
      *c = m->cfg.tunnel && c == &m->dst ? eng_tunnel_qmp(m) : qmp_connect(name, addr, t, NULL, 0);
    }
    if (!*c)
      break;
    if (eng_status(m, *c, "query-status", out, len) == 0)
      break;
    snprintf(out, len, "unreachable");
  }
  snprintf(m->err, sizeof m->err, "%s", why);
}

static void append(struct qmig_migration *m, const char *fmt, const char *arg)
{
  size_t n = strlen(m->err);
  snprintf(m->err + n, sizeof m->err - n, fmt, arg);
}

static enum qmig_outcome end(struct qmig_migration *m, enum qmig_state st,
                             enum qmig_outcome out)
{
  eng_set_state(m, st, m->err);
  return out;
}

enum qmig_outcome eng_recover(struct qmig_migration *m)
{
  int t = (int)m->cfg.qmp_timeout_ms;
  char mstat[32] = "none", src[32], dst[32];
  struct eng_stats st;

  /* 1. Stop the stream. */
  if (m->migrate_issued && m->src && !qmp_broken(m->src) && eng_query_stats(m, &st) == 0) {
    snprintf(mstat, sizeof mstat, "%s", st.status);
    if (moving(mstat) && !m->policy.postcopy_started) {
      qmp_cmd(m->src, NULL, t, "migrate_cancel", NULL);
      for (int i = 0; i < RECOVER_WAIT_MS / 10 && moving(mstat); i++) {
        usleep(10000);
        if (eng_query_stats(m, &st) < 0)
          break;
        snprintf(mstat, sizeof mstat, "%s", st.status);
      }
    }
    m->final = st;
  }

  /* 2. Where is the guest? */
  side_state(m, &m->src, "source", m->cfg.src, src, sizeof src);
  side_state(m, &m->dst, "destination", m->cfg.dst, dst, sizeof dst);

  /* After the post-copy switchover the destination holds the only current
   * copy of the guest's state: the source must never run it again. */
  if (m->policy.postcopy_started && strcmp(mstat, "completed") != 0) {
    append(m, "; failed after the post-copy switchover: the guest lives on the destination "
              "(now '%s') and may miss pages; the source was NOT resumed", dst);
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }

  /* 3. The guest already lives on the destination. */
  if (!strcmp(dst, "running")) {
    if (!strcmp(src, "running")) {
      append(m, "; BOTH sides report running (%s): the engine paused nothing, look now", "");
      return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
    }
    if (!strcmp(mstat, "completed")) {
      append(m, "; but the migration had already %s: the guest runs on the destination",
             "completed");
      if (m->cfg.quit_source && qmp_cmd(m->src, NULL, t, "quit", NULL) < 0 && !qmp_broken(m->src))
        append(m, "; could not quit the source: %s", qmp_error(m->src));
      eng_set_state(m, QMIG_S_COMPLETING, "completed before the cancel took effect");
      eng_set_state(m, QMIG_S_COMPLETED, NULL);
      return QMIG_MIGRATED;
    }
    append(m, "; the destination runs the guest but the source says '%s'", mstat);
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }
  if (!strcmp(src, "gone")) {
    append(m, "; the source QEMU cannot be reached and the destination is '%s': "
              "the guest may be running nowhere", dst);
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }
  /* The source sent everything: a destination we cannot ask may run the
   * guest, so the source must not. */
  if (!strcmp(mstat, "completed") && !strcmp(dst, "unreachable")) {
    append(m, "; the source completed but the destination's QMP does not answer: it may "
              "run the guest%s, the source was NOT resumed", "");
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }
  if (moving(mstat)) {
    append(m, "; the source's migration did not end after cancel (still '%s')", mstat);
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }

  /* 4. The destination must not run: stop it if we made it listen or it
   * received anything.  It is not running (checked above). */
  if (!strcmp(dst, "gone") && m->incoming_issued)
    append(m, "; the destination QEMU is %s (QEMU exits when an incoming migration fails)",
           "gone");
  if (strcmp(dst, "gone") != 0 && (m->incoming_issued || m->migrate_issued)) {
    if (qmp_cmd(m->dst, NULL, t, "quit", NULL) < 0 && !qmp_broken(m->dst)) {
      append(m, "; could not quit the destination: %s", qmp_error(m->dst));
      return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
    }
    append(m, "; destination QEMU %s", "stopped");
  }
  if (strcmp(src, "running") != 0 && m->src_was_running) {
    if (qmp_cmd(m->src, NULL, t, "cont", NULL) < 0) {
      append(m, "; the source guest is paused and cont failed: %s", qmp_error(m->src));
      return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
    }
    side_state(m, &m->src, "source", m->cfg.src, src, sizeof src);
    append(m, "; source guest resumed (%s)", src);
  }
  if (m->src_was_running && strcmp(src, "running") != 0) {
    append(m, "; the source guest is '%s', not running", src);
    return end(m, QMIG_S_UNCERTAIN, QMIG_UNCERTAIN);
  }
  append(m, "; the guest runs on the source%s", m->src_was_running ? "" : " (paused, as before)");
  return end(m, QMIG_S_FAILED, QMIG_NOT_MIGRATED);
}
