/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent/ - the destination side of a tunnelled migration (`qmig agent`):
 * agent.c (listener, sessions), options.c (the option table), serve.c
 * (one accepted connection: TLS, hello, its channel), skew.c (the test-only clock skew of relayed QMP
 * events).  Errors: 0/-1 with a message in the agent (agt_errorf) or logged
 * for the connection that failed. */
#ifndef QMIG_AGENT_H
#define QMIG_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "qmig.h"
#include "transport/transport.h"

#define AGT_INSECURE_WARNING                                                           \
  "WARNING: insecure-no-auth: no credential, no TLS; anyone who can connect gets the " \
  "destination's QMP"

/* limits.c: the bounds (docs/TUNNEL.md "Bounds"). */
enum { AGT_B_CONNS, AGT_B_QMP, AGT_B_MAIN, AGT_B_MULTIFD, AGT_B_NBD, AGT_B_IDLE, AGT_B_N };

#define AGT_MAX_RELAYS 16 /* qmp channels usable for handoff at once */
struct agt_qmp_relay;

struct agt_session {
  bool active;                /* its control connection is open */
  uint8_t id[TP_SESSION_LEN]; /* issued by the agent (RAND_bytes) */
  uint8_t key[TP_KEY_LEN];    /* exported from the control TLS; zero when insecure */
  char hex[2 * TP_SESSION_LEN + 1];
  char incoming[256];          /* QEMU's listening socket path */
  char nbd[256];               /* QEMU's NBD server socket path (disk copy) */
  bool main_connected;         /* main channel connected to QEMU */
  bool handoff;                /* the engine asked for socket handoff (op handoff):
                                  we start the incoming migration on main */
  unsigned open[TP_K_MAX + 1]; /* its data channels open now, by kind */
};

struct qmig_agent {
  char *listen, *qmp, *run_dir, *tls_dir, *psk_file;
  int tls;               /* enum tp_tls_mode: the credential */
  bool insecure;         /* insecure-no-auth: no credential, anyone is served */
  int refuse_plain_data; /* plain-data: 0 allow, 1 refuse */
  bool once, made_run_dir;
  unsigned handshake_ms;
  long skew_ms;                    /* TEST ONLY: 0 unless QMIG_TEST_HOOKS */
  char *qemu_tls_dir;              /* the only dir QEMU's TLS objects may use */
  unsigned bound[AGT_B_N];         /* limits.c; idle in ms */
  unsigned accept_fails, over_cap; /* the current episode of each, for one log line */
  qmig_log_fn log_fn;
  void *log_ud;
  int stop_pipe[2];
  struct tp_tls *tls_ctx;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t cond;
  struct agt_session s;
  unsigned sessions_ended;
  unsigned handlers; /* connection threads running */
  int control_fd;    /* the session's control socket, -1 */
  bool stopping;
  struct tp_fwd **fwd; /* running forwarders, for stop (limits.c) */
  unsigned nfwd;
  struct agt_relay_ref { /* the qmp channels' relays (handoff.c) */
    struct agt_qmp_relay *q;
    uint8_t session[TP_SESSION_LEN];
    unsigned users; /* threads using q: its channel waits for 0 before freeing */
  } relay[AGT_MAX_RELAYS];
  char err[512];
  enum qmig_error_code err_code; /* the kind of err (agt_errorc) */
};

void agt_log(struct qmig_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Thread body for one accepted connection (takes fd). */
void agt_serve(struct qmig_agent *a, int fd);
#ifdef QMIG_TEST_HOOKS
/* skew.c, only in the tests' build (Makefile: build/tests/qmig-testhooks):
 * a socket that relays `qmp_fd` with every event timestamp moved by skew_ms
 * (takes qmp_fd; a thread runs until either side closes).  -1 on failure. */
int agt_skew_qmp(int qmp_fd, long skew_ms, char *err, size_t errlen);
#else
/* libqmig has no test-clock-skew-ms: skew_ms stays 0 and nothing is relayed. */
static inline int agt_skew_qmp(int qmp_fd, long skew_ms, char *err, size_t errlen)
{
  (void)skew_ms;
  (void)err;
  (void)errlen;
  return qmp_fd;
}
#endif

/* handoff.c: socket handoff (docs/TUNNEL.md "Socket handoff").  Why this
 * agent cannot hand sockets to its QEMU at all, or NULL. */
const char *agt_handoff_refusal(const struct qmig_agent *a);
/* The answer to op handoff (docs/TUNNEL.md "Control connection"):
 * {"handoff":BOOL[,"why":..],"offload":"ktls"|"user"[,"offload_why":..]},
 * *on whether it is yes.  NULL out of memory; the caller owns it. */
json_t *agt_handoff_answer(const struct qmig_agent *a, bool *on);
/* A qmp channel's relay of session `id` becomes usable for our own
 * commands / stops being so (remove waits until no thread uses it). */
void agt_relay_add(struct qmig_agent *a, const uint8_t *id, struct agt_qmp_relay *q);
void agt_relay_remove(struct qmig_agent *a, struct agt_qmp_relay *q);
/* The session's main channel c (authenticated) with handoff asked for: the
 * destination's incoming migration started by us, on c's socket passed to
 * QEMU (getfd + migrate-incoming fd:) when it can be, else on the session's
 * incoming socket (migrate-incoming unix:) for the caller to forward to.
 * 1 handed off (the caller only closes its copy), 0 forward (why: the
 * reason), -1 neither worked (why). */
int agt_handoff_main(struct qmig_agent *a, struct tp_conn *c, const uint8_t *id, const char *hex,
                     const char *incoming, char *why, size_t whylen);

/* options.c: every option's default into a new agent; its owned strings
 * freed. */
void agt_options_init(struct qmig_agent *a);
void agt_options_free(struct qmig_agent *a);
/* The agent's message (a->err); returns -1. */
int agt_errorf(struct qmig_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* agt_errorf with the kind of the error (agt_errorf: QMIG_E_SYSTEM). */
int agt_errorc(struct qmig_agent *a, enum qmig_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* limits.c */
int agt_limits_prepare(struct qmig_agent *a); /* before listening; -1 out of memory */
void agt_limits_free(struct qmig_agent *a);
/* An accepted connection: false when over max-connections (fd closed,
 * logged once per episode). */
bool agt_admit(struct qmig_agent *a, int fd);
/* accept4 failed with err: back off (descriptors exhausted) without
 * spinning, logging once per episode. */
void agt_accept_failed(struct qmig_agent *a, int err);
/* A data channel of session `id` opens / ends.  enter: -1 when that kind is
 * at its bound (why says so).  Take the lock themselves. */
int agt_channel_enter(struct qmig_agent *a, const uint8_t *id, unsigned kind, unsigned index,
                      char *why, size_t len);
void agt_channel_leave(struct qmig_agent *a, const uint8_t *id, unsigned kind);
/* The control connection of a session has been silent for the idle bound:
 * true to keep it (a data channel is open). */
bool agt_session_busy(struct qmig_agent *a);
/* The running forwarders: add returns a slot (or -1: the agent is stopping
 * and f was aborted at once); remove before tp_fwd_join frees f, so that
 * the stop path (agt_fwd_abort_all, lock held) never touches a freed one. */
int agt_fwd_add(struct qmig_agent *a, struct tp_fwd *f);
void agt_fwd_remove(struct qmig_agent *a, int slot);
void agt_fwd_abort_all(struct qmig_agent *a);

#endif
