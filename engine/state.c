/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.c - the migration object's life: creation, the state transition
 * function (the only place m->state changes), errors, cancel. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "engine/internal.h"
#include "engine/probe.h"
#include "engine/mirror.h"
#include "engine/session.h"

static const char *const state_names[] = {
  [QMIG_S_INIT] = "init",           [QMIG_S_CONNECTING] = "connecting",
  [QMIG_S_PROBING] = "probing",     [QMIG_S_CONFIGURING] = "configuring",
  [QMIG_S_MIRRORING] = "mirroring", [QMIG_S_INCOMING] = "incoming",
  [QMIG_S_ACTIVE] = "active",       [QMIG_S_COMPLETING] = "completing",
  [QMIG_S_COMPLETED] = "completed", [QMIG_S_CANCELLING] = "cancelling",
  [QMIG_S_FAILED] = "failed",       [QMIG_S_UNCERTAIN] = "uncertain",
};

static enum qmig_error_code state_code(enum qmig_state s);

const char *qmig_state_name(enum qmig_state s)
{
  if ((unsigned)s < sizeof state_names / sizeof state_names[0] && state_names[s])
    return state_names[s];
  return "?";
}

/* Allowed transitions: forward along the happy path, into CANCELLING from
 * any working state, and to the end states from CANCELLING (or FAILED
 * straight from a state in which nothing has moved yet). */
static bool allowed(enum qmig_state from, enum qmig_state to)
{
  switch (to) {
  case QMIG_S_CONNECTING: return from == QMIG_S_INIT;
  case QMIG_S_PROBING: return from == QMIG_S_CONNECTING;
  case QMIG_S_CONFIGURING: return from == QMIG_S_PROBING;
  case QMIG_S_MIRRORING: return from == QMIG_S_CONFIGURING;
  case QMIG_S_INCOMING: return from == QMIG_S_CONFIGURING || from == QMIG_S_MIRRORING;
  case QMIG_S_ACTIVE: return from == QMIG_S_INCOMING;
  case QMIG_S_COMPLETING: return from == QMIG_S_ACTIVE || from == QMIG_S_CANCELLING;
  case QMIG_S_COMPLETED: return from == QMIG_S_COMPLETING;
  case QMIG_S_CANCELLING: return from >= QMIG_S_CONNECTING && from <= QMIG_S_COMPLETING;
  case QMIG_S_FAILED:
  case QMIG_S_UNCERTAIN:
    return from == QMIG_S_CANCELLING || from == QMIG_S_COMPLETING ||
           (from >= QMIG_S_INIT && from <= QMIG_S_PROBING);
  case QMIG_S_INIT: return false;
  }
  return false;
}

void eng_set_state(struct qmig_migration *m, enum qmig_state to, const char *why)
{
  enum qmig_state from = m->state;
  if (from == to)
    return;
  if (!allowed(from, to)) {
    /* A bug in the engine, never the user's fault: record it loudly (the
     * earlier message kept) and force the uncertain state so the caller
     * looks at the guest. */
    char prev[sizeof m->err];
    snprintf(prev, sizeof prev, "%s", m->err);
    snprintf(m->err, sizeof m->err, "internal error: state %s -> %s not allowed; %s",
             qmig_state_name(from), qmig_state_name(to), prev);
    to = QMIG_S_UNCERTAIN;
    why = m->err;
    m->err_code = QMIG_E_INTERNAL;
  }
  if ((to == QMIG_S_FAILED || to == QMIG_S_UNCERTAIN) && m->err[0] == '\0' && why != m->err) {
    snprintf(m->err, sizeof m->err, "%s", why ? why : "failed without a recorded cause");
    if (m->err_code == QMIG_E_NONE)
      m->err_code = why ? state_code(from) : QMIG_E_INTERNAL;
  }
  if (to == QMIG_S_CANCELLING && m->report.failed_state[0] == '\0')
    snprintf(m->report.failed_state, sizeof m->report.failed_state, "%s", qmig_state_name(from));
  m->state = to;
  if (m->state_fn)
    m->state_fn(m->state_ud, from, to, why ? why : "");
}

static void set_code(struct qmig_migration *m, enum qmig_error_code code)
{
  bool failing = m->state >= QMIG_S_CANCELLING;
  if (!(failing && m->err_code != QMIG_E_NONE))
    m->err_code = code;
}

static enum qmig_error_code state_code(enum qmig_state s)
{
  switch (s) {
  case QMIG_S_INIT: return QMIG_E_OPTION;
  case QMIG_S_CONNECTING: return QMIG_E_QMP_CONNECT;
  case QMIG_S_PROBING:
  case QMIG_S_CONFIGURING:
  case QMIG_S_MIRRORING:
  case QMIG_S_INCOMING: return QMIG_E_QMP;
  default: return QMIG_E_MIGRATION;
  }
}

int eng_errorc(struct qmig_migration *m, enum qmig_error_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  set_code(m, code);
  return -1;
}

int eng_errorf(struct qmig_migration *m, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vsetf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  set_code(m, state_code(m->state));
  return -1;
}

const char *qmig_error(const struct qmig_migration *m)
{
  return m->err;
}

enum qmig_error_code qmig_error_code(const struct qmig_migration *m)
{
  return m->err_code;
}

const char *qmig_error_code_name(enum qmig_error_code c)
{
  static const char *const names[] = {
    [QMIG_E_NONE] = "none",
    [QMIG_E_OPTION] = "option",
    [QMIG_E_QMP_CONNECT] = "qmp_connect",
    [QMIG_E_QMP] = "qmp",
    [QMIG_E_UNSUPPORTED] = "unsupported",
    [QMIG_E_PREFLIGHT] = "preflight",
    [QMIG_E_AUTH] = "auth",
    [QMIG_E_TIMEOUT] = "timeout",
    [QMIG_E_MIGRATION] = "migration",
    [QMIG_E_CANCELLED] = "cancelled",
    [QMIG_E_SYSTEM] = "system",
    [QMIG_E_INTERNAL] = "internal",
  };
  if ((unsigned)c < sizeof names / sizeof names[0] && names[c])
    return names[c];
  return "?";
}

int64_t eng_mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double eng_cpu_s(void)
{
  /* The calling thread's alone: an embedder's other threads are not ours
   * (RUSAGE_SELF counted the whole process). */
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
    return 0;
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct qmig_migration *qmig_new(void)
{
  struct qmig_migration *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  if (pipe2(m->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    free(m);
    return NULL;
  }
  eng_config_init(&m->cfg);
  m->state = QMIG_S_INIT;
  return m;
}

void qmig_free(struct qmig_migration *m)
{
  if (!m)
    return;
  eng_hb_stop(m->hb, NULL);
  eng_probe_stop(m->probe, NULL, NULL);
  qmp_close(m->src);
  qmp_close(m->dst);
  eng_qmp_end(m);
  if (m->session)
    m->session->end(m);
  eng_sections_free(&m->sec);
  eng_update_free(m);
  eng_mirror_free(m->mirror);
  free(m->policy.steps);
  json_decref(m->caps[0]);
  json_decref(m->caps[1]);
  eng_config_free(&m->cfg);
  close(m->cancel_pipe[0]);
  close(m->cancel_pipe[1]);
  free(m);
}

void qmig_on_progress(struct qmig_migration *m, qmig_progress_fn fn, void *ud)
{
  m->progress_fn = fn;
  m->progress_ud = ud;
}

void qmig_on_state(struct qmig_migration *m, qmig_state_fn fn, void *ud)
{
  m->state_fn = fn;
  m->state_ud = ud;
}

/* Async-signal-safe: an atomic store and a write(2). */
void qmig_cancel(struct qmig_migration *m)
{
  atomic_store(&m->cancel_requested, 1);
  char b = 'c';
  ssize_t r = write(m->cancel_pipe[1], &b, 1);
  (void)r; /* a full pipe already holds a wake-up */
}

const struct qmig_report *qmig_report(const struct qmig_migration *m)
{
  return &m->report;
}
