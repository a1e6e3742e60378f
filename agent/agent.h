/* agent/ - the destination side of a tunnelled migration (`qmig agent`):
 * agent.c (options, listener, sessions), serve.c (one accepted connection:
 * TLS, hello, its channel), skew.c (the test-only clock skew of relayed QMP
 * events).  Errors: 0/-1 with a message in the agent (agt_errorf) or logged
 * for the connection that failed. */
#ifndef QMIG_AGENT_H
#define QMIG_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "qmig.h"
#include "transport/transport.h"

#define AGT_MAX_FWD 64
#define AGT_INSECURE_WARNING                                                                  \
  "WARNING: insecure-no-auth: no credential, no TLS; anyone who can connect gets the "       \
  "destination's QMP"


struct agt_session {
  bool active;                  /* its control connection is open */
  uint8_t id[TP_SESSION_LEN];   /* issued by the agent (RAND_bytes) */
  uint8_t key[TP_KEY_LEN];      /* exported from the control TLS; zero when insecure */
  char hex[2 * TP_SESSION_LEN + 1];
  char incoming[256];           /* QEMU's listening socket path */
  char nbd[256];                /* QEMU's NBD server socket path (disk copy) */
  bool main_connected;          /* main channel connected to QEMU */
};

struct qmig_agent {
  char *listen, *qmp, *run_dir, *tls_dir, *psk_file;
  int tls;                      /* enum tp_tls_mode: the credential */
  bool insecure;                /* insecure-no-auth: no credential, anyone is served */
  bool refuse_plain_data;       /* plain-data refuse */
  bool once, made_run_dir;
  unsigned handshake_ms;
  long skew_ms;                 /* TEST ONLY */
  qmig_log_fn log_fn;
  void *log_ud;
  int stop_pipe[2];
  struct tp_tls *tls_ctx;

  pthread_mutex_t lock;         /* guards everything below */
  pthread_cond_t cond;
  struct agt_session s;
  unsigned sessions_ended;
  unsigned handlers;            /* connection threads running */
  int control_fd;               /* the session's control socket, -1 */
  bool stopping;
  struct tp_fwd *fwd[AGT_MAX_FWD]; /* running forwarders, for stop */
  char err[512];
};

void agt_log(struct qmig_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Thread body for one accepted connection (takes fd). */
void agt_serve(struct qmig_agent *a, int fd);
/* skew.c: a socket that relays `qmp_fd` with every event timestamp moved by
 * skew_ms (takes qmp_fd; a thread runs until either side closes).  -1 on
 * failure. */
int agt_skew_qmp(int qmp_fd, long skew_ms, char *err, size_t errlen);

#endif
