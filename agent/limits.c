/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* limits.c - what bounds an agent's resources: connections at once, data
 * channels per session and kind, how long a control connection may stay
 * silent before its session started, back-off when descriptors run out,
 * and the set of running forwarders that stopping aborts.  The bound
 * options are rows of the agent's option table (options.c), documented in
 * docs/TUNNEL.md "Bounds". */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define BACKOFF_MS 100

int agt_limits_prepare(struct qmig_agent *a)
{
  /* One forwarder per connection thread at most: a slot each. */
  free(a->fwd);
  a->nfwd = a->bound[AGT_B_CONNS];
  a->fwd = calloc(a->nfwd, sizeof *a->fwd);
  return a->fwd ? 0 : -1;
}

void agt_limits_free(struct qmig_agent *a)
{
  free(a->fwd);
}

bool agt_admit(struct qmig_agent *a, int fd)
{
  if (a->accept_fails) { /* the listener's own field */
    agt_log(a, "accept works again (%u failed attempts)", a->accept_fails);
    a->accept_fails = 0;
  }
  pthread_mutex_lock(&a->lock);
  unsigned running = a->handlers, cap = a->bound[AGT_B_CONNS];
  bool ok = running < cap;
  unsigned refused = a->over_cap;
  a->over_cap = ok ? 0 : refused + 1;
  pthread_mutex_unlock(&a->lock);
  if (ok) {
    if (refused)
      agt_log(a, "accepting connections again (closed %u over max-connections %u)", refused, cap);
    return true;
  }
  if (!refused)
    agt_log(a,
            "refused connections: %u are being served (max-connections %u); closing new "
            "ones at once until one ends",
            running, cap);
  close(fd);
  return false;
}

void agt_accept_failed(struct qmig_agent *a, int err)
{
  if (err == EINTR || err == EAGAIN || err == ECONNABORTED)
    return;
  if (a->accept_fails++ == 0)
    agt_log(a, "accept: %s; retrying every %d ms until it works (one line per episode)",
            strerror(err), BACKOFF_MS);
  /* Sleep, but wake for qmig_agent_stop. */
  struct pollfd p = { .fd = a->stop_pipe[0], .events = POLLIN };
  poll(&p, 1, BACKOFF_MS);
}

static unsigned *count(struct qmig_agent *a, const uint8_t *id, unsigned kind)
{
  if (!a->s.active || memcmp(a->s.id, id, TP_SESSION_LEN) != 0 || kind > TP_K_MAX)
    return NULL;
  return &a->s.open[kind];
}

int agt_channel_enter(struct qmig_agent *a, const uint8_t *id, unsigned kind, unsigned index,
                      char *why, size_t len)
{
  static const int which[TP_K_MAX + 1] = { [TP_K_QMP] = AGT_B_QMP,
                                           [TP_K_MAIN] = AGT_B_MAIN,
                                           [TP_K_MULTIFD] = AGT_B_MULTIFD,
                                           [TP_K_NBD] = AGT_B_NBD };
  int rc = 0;
  pthread_mutex_lock(&a->lock);
  unsigned *n = count(a, id, kind);
  unsigned cap = kind <= TP_K_MAX && which[kind] ? a->bound[which[kind]] : 0;
  if (!n || !cap) {
    snprintf(why, len, "no such session or channel kind");
    rc = -1;
  } else if (kind == TP_K_MULTIFD && index >= cap) {
    snprintf(why, len,
             "multifd channel %u: this agent takes channels 0-%u (max-multifd-channels %u)", index,
             cap - 1, cap);
    rc = -1;
  } else if (*n >= cap) {
    snprintf(why, len, "the session already has %u %s channels open (max-%s-channels %u)", *n,
             tp_kind_name(kind), tp_kind_name(kind), cap);
    rc = -1;
  } else {
    ++*n;
  }
  pthread_mutex_unlock(&a->lock);
  return rc;
}

void agt_channel_leave(struct qmig_agent *a, const uint8_t *id, unsigned kind)
{
  pthread_mutex_lock(&a->lock);
  unsigned *n = count(a, id, kind); /* NULL: that session ended meanwhile */
  if (n && *n)
    --*n;
  pthread_mutex_unlock(&a->lock);
}

bool agt_session_busy(struct qmig_agent *a)
{
  unsigned n = 0;
  pthread_mutex_lock(&a->lock);
  for (int k = 0; k <= TP_K_MAX; k++)
    n += a->s.open[k];
  pthread_mutex_unlock(&a->lock);
  return n > 0;
}

int agt_fwd_add(struct qmig_agent *a, struct tp_fwd *f)
{
  int slot = -1;
  pthread_mutex_lock(&a->lock);
  for (unsigned i = 0; !a->stopping && i < a->nfwd && slot < 0; i++)
    if (!a->fwd[i]) {
      a->fwd[i] = f;
      slot = (int)i;
    }
  /* Stopping (or, impossible with a slot per connection, no slot): a
   * forwarder the stop path cannot reach must not run. */
  if (slot < 0)
    tp_fwd_abort(f);
  pthread_mutex_unlock(&a->lock);
  return slot;
}

void agt_fwd_remove(struct qmig_agent *a, int slot)
{
  if (slot < 0)
    return;
  pthread_mutex_lock(&a->lock);
  a->fwd[slot] = NULL;
  pthread_mutex_unlock(&a->lock);
}

void agt_fwd_abort_all(struct qmig_agent *a)
{
  for (unsigned i = 0; i < a->nfwd; i++)
    tp_fwd_abort(a->fwd[i]);
}
