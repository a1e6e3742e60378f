/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent/qmprelay.h - the QMP relay's state, shared by its two files only:
 * qmprelay.c (the relay's thread: the client's commands through the
 * allow-list, QEMU's bytes back) and qmpinject.c (the agent's own commands
 * on the same QMP connection).  Everyone else uses agent/qmpfilter.h. */
#ifndef QMIG_AGENT_QMPRELAY_H
#define QMIG_AGENT_QMPRELAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "agent/qmpfilter.h"

/* The agent's one command in flight (state under mu). */
enum { INJ_NONE, INJ_POSTED, INJ_SENT, INJ_DONE, INJ_ABANDONED };
struct inject {
  int state;
  char *text; /* the command, id included (POSTED) */
  int fd;     /* passed with it, or -1 */
  char id[32];
  json_t *reply; /* DONE: QEMU's reply; NULL when the relay ended first */
};

struct agt_qmp_relay {
  pthread_t thread;
  int qmp, client;
  char incoming[300], nbd[256], tls_dir[256], label[96];
  struct agt_qmp_rules rules;
  agt_qmp_log_fn log;
  void *ud;
  char *in; /* client bytes not yet a whole object */
  size_t have;
  char *pend; /* our replies waiting for the end of QEMU's message */
  size_t plen;
  bool mid;   /* the last byte relayed from QEMU was not a newline */
  bool fatal; /* malformed input: reply, then end */
  /* the agent's own commands (agt_qmp_relay_exec) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int wake[2];       /* a byte: a command was posted */
  struct inject inj; /* under mu */
  bool ended;        /* under mu: the thread left its loop */
  atomic_bool ready; /* the client's qmp_capabilities went to QEMU */
  unsigned next_id;
  char *line; /* QEMU's current message while a command of ours waits */
  size_t llen, lcap;
};

/* qmprelay.c: all of p to fd; -1 when the peer is gone. */
int agt_qmp_put(int fd, const char *p, size_t n);
/* qmpinject.c, on the relay's thread: a posted command of ours to QEMU
 * (-1: QEMU is gone); QEMU's bytes to the client or to ours (-1: the client
 * is gone). */
int agt_qmp_send_posted(struct agt_qmp_relay *q);
int agt_qmp_from_qemu(struct agt_qmp_relay *q, const char *p, size_t n);

#endif
