/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pclink.c - post-copy across a broken link.  Once the guest runs on the
 * destination, a failed migration loses it: so when the stream stops moving
 * during post-copy (a dead link leaves QEMU blocked in send() for the
 * kernel's retransmission timeout) or QEMU paused post-copy itself, both
 * sides are put in postcopy-paused (migrate-pause) and the stream is opened
 * again (migrate-recover on the destination, `migrate` with resume on the
 * source) as soon as the link is back, within postcopy-recover-window
 * seconds.  Every attempt and wait is bounded by that window. */
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/session.h"

#define RETRY_MS 1000        /* between two `migrate resume` attempts */
#define LEAVE_PAUSED_MS 3000 /* for the source to leave postcopy-paused */

static bool is(const char *a, const char *b)
{
  return !strcmp(a, b);
}

/* The side's migration status into st ("gone" when its QMP is lost). */
static void mig_status(struct qmig_migration *m, struct qmp_conn *c, char *st, size_t len)
{
  if (!c || qmp_broken(c) || eng_status(m, c, "query-migrate", st, len) < 0)
    snprintf(st, len, "gone");
}

/* migrate-pause where the side is still postcopy-active.  The destination
 * may not notice a dead link for minutes: pause it too. */
static void pause_side(struct qmig_migration *m, struct qmp_conn *c)
{
  char st[32];
  mig_status(m, c, st, sizeof st);
  if (is(st, "postcopy-active"))
    (void)qmp_cmd(c, NULL, QMP_TIMEOUT_DEFAULT, "migrate-pause", NULL);
}

/* Wait (until `until`) while the source is in `from`; its status in st. */
static void wait_src_leaves(struct qmig_migration *m, const char *from, int64_t until, char *st,
                            size_t len)
{
  for (;;) {
    mig_status(m, m->src, st, len);
    if (!is(st, from) || eng_mono_ns() >= until)
      return;
    usleep(50 * 1000);
  }
}

/* A fresh destination QMP when its connection broke with the link. */
static void redial_dst(struct qmig_migration *m, char *why, size_t len)
{
  if (m->dst && !qmp_broken(m->dst))
    return;
  struct qmp_conn *c = m->session->reconnect_dst(m, why, len);
  if (c) {
    qmp_close(m->dst);
    m->dst = c;
  }
}

int eng_postcopy_relink(struct qmig_migration *m, const char *cause)
{
  struct eng_facts *f = &m->facts;
  struct qmig_postcopy_pause spare, *p = &spare;
  if (f->npc_pauses < QMIG_MAX_PC_PAUSES)
    p = &f->pc_pauses[f->npc_pauses++];
  int64_t t0 = eng_mono_ns();
  *p = (struct qmig_postcopy_pause){ .start_ms = (t0 - f->migrate_mono_ns) / 1e6 };
  snprintf(p->cause, sizeof p->cause, "%s", cause);
  unsigned window = m->cfg.policy.recover_window_s;
  int64_t until = t0 + (int64_t)window * 1000000000;
  eng_log(m, "post-copy: %s: pausing both sides, resuming once the link is back (within %u s)",
          cause, window);

  char ss[32], ds[32], why[512] = "", uri[300] = "";
  pause_side(m, m->src);
  pause_side(m, m->dst);
  wait_src_leaves(m, "postcopy-active", t0 + (int64_t)qmp_timeout(m->src) * 1000000, ss, sizeof ss);
  if (!is(ss, "postcopy-paused")) {
    p->duration_ms = (eng_mono_ns() - t0) / 1e6;
    return eng_errorf(m, "post-copy: %s, and the source did not pause (migration '%s')", cause, ss);
  }
  while (eng_mono_ns() < until) {
    redial_dst(m, why, sizeof why);
    mig_status(m, m->dst, ds, sizeof ds);
    /* The destination listens again (migrate-recover) once per pause: a
     * second call is refused while it listens, and its URI still holds. */
    if (!uri[0] && is(ds, "postcopy-paused") &&
        m->session->resume(m, uri, sizeof uri, why, sizeof why) < 0)
      uri[0] = '\0';
    if (uri[0]) {
      p->attempts++;
      if (qmp_cmd(m->src, NULL, QMP_TIMEOUT_DEFAULT, "migrate", "{s:s,s:b}", "uri", uri, "resume",
                  1) < 0)
        snprintf(why, sizeof why, "source migrate resume: %s", qmp_error(m->src));
      wait_src_leaves(m, "postcopy-paused", eng_mono_ns() + LEAVE_PAUSED_MS * 1000000LL, ss,
                      sizeof ss);
      if (is(ss, "postcopy-recover"))
        wait_src_leaves(m, "postcopy-recover", until, ss, sizeof ss);
      if (is(ss, "postcopy-active") || is(ss, "completed")) {
        p->resumed = true;
        p->duration_ms = (eng_mono_ns() - t0) / 1e6;
        snprintf(m->uri, sizeof m->uri, "%s", uri);
        eng_log(m, "post-copy resumed over %s after %.0f ms paused (%u attempts)", uri,
                p->duration_ms, p->attempts);
        return 0;
      }
      if (is(ss, "gone") || strncmp(ss, "postcopy", 8) != 0)
        break; /* failed, cancelled, or the source is gone: no resume */
      if (!why[0])
        snprintf(why, sizeof why, "the source stayed in '%s'", ss);
      /* A destination that accepted and lost the stream again listens no
       * more; migrate-recover tells (it refuses while listening). */
      mig_status(m, m->dst, ds, sizeof ds);
      if (is(ds, "postcopy-paused") &&
          m->session->resume(m, uri, sizeof uri, why, sizeof why) < 0 &&
          !strstr(why, "triggered already"))
        uri[0] = '\0';
    }
    int64_t left = (until - eng_mono_ns()) / 1000000;
    usleep((useconds_t)(left < RETRY_MS ? (left > 0 ? left : 0) : RETRY_MS) * 1000);
  }
  p->duration_ms = (eng_mono_ns() - t0) / 1e6;
  return eng_errorf(m,
                    "post-copy paused (%s) and not resumed within postcopy-recover-window %u s "
                    "(resume attempts: %u%s%s)",
                    cause, window, p->attempts, why[0] ? ", the last: " : "", why);
}
