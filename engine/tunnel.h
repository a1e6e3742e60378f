/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine/tunnel.h - inside the tunnel session (option `tunnel`), the
 * engine/session.h implementation of tunnel.c (the session: control
 * connection, clock, QMP relay, blame, end and its report) and
 * tunnel_chan.c (its channels: the source QEMU's connections classified and
 * forwarded, migrate-incoming and post-copy's migrate-recover, NBD). */
#ifndef QMIG_ENGINE_TUNNEL_H
#define QMIG_ENGINE_TUNNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/internal.h"
#include "transport/transport.h"

#define MAX_CH 300

struct chan {
  unsigned kind, index;
  size_t prefix;      /* header bytes sent before the forwarder ran */
  struct tp_fwd *fwd; /* NULL: handed off, nothing to forward */
  struct tp_fwd_stats st;
  char why[300]; /* forwarded: why not handed off */
};

struct eng_tunnel {
  const struct eng_tunnel_cfg *opts; /* the tunnel options, given by the pick */
  struct tp_tls *tls;
  const char *agent;               /* option tunnel: HOST:PORT */
  bool data_plain;                 /* tunnel-data plain: main/multifd/nbd without TLS */
  uint8_t session[TP_SESSION_LEN]; /* issued by the agent */
  uint8_t key[TP_KEY_LEN];         /* exported from the control connection's TLS */
  bool have_key;                   /* false only with tunnel-insecure-no-auth */
  char session_hex[2 * TP_SESSION_LEN + 1];
  struct tp_conn *control;
  char incoming[256];         /* the agent's URI for migrate-incoming */
  char nbd[256];              /* the agent's socket for QEMU's NBD server */
  char nbd_path[96];          /* ours, that the source's NBD client uses */
  struct eng_nbdfwd *nbd_fwd; /* its acceptor (engine/nbdfwd.c) */
  char tls_desc[160];
  char auth[16]; /* the agent's: psk, x509, none */
  int timeout_ms;
  double offset_ms, uncertainty_ms;
  unsigned samples;
  char dir[64], path[96];
  int lfd;
  pthread_t acceptor;
  bool acceptor_started;
  bool resume;              /* post-copy resume: the source's one connection is main */
  bool agent_handoff;       /* the agent offers socket handoff (session reply) */
  char fwd_why[300];        /* why the stream's channels are forwarded */
  struct tp_conn *pre_main; /* main channel the agent took, that our side forwards */
  char src_fd[40];          /* getfd name given to the source, until `migrate` took it */
  atomic_bool stop;
  pthread_mutex_t lock; /* ch, nch, error */
  struct chan ch[MAX_CH];
  unsigned nch;
  char error[512];         /* first channel that could not be opened */
  unsigned n_ktls, n_user; /* TLS channels the kernel / the forwarder encrypts */
  char offload_why[200];   /* the first reason for "user" */
};

/* tunnel_handoff.c: socket handoff (docs/TUNNEL.md "Socket handoff"). */
/* Everything the per-channel handoff decision reads, so that its table can
 * be tested without QEMUs (tests/unit/test_ktls.c). */
struct eng_handoff_in {
  int handoff;                 /* enum eng_handoff */
  unsigned kind;               /* TP_K_* */
  bool tls;                    /* the channel's data is TLS (tunnel-data tls) */
  bool src_ktls;               /* our side can be kernel TLS (tp_ktls_available) */
  const char *src_offload_why; /* !src_ktls: why not */
  /* The agent's handoff reply, NULL before it was asked: its offload is
   * the destination's side. */
  const struct tp_handoff_reply *dst;
  bool multifd; /* multifd-channels > 0 */
  /* Why not with multifd, from what the source QEMU offers; NULL: a
   * general reason.  Called only when multifd decides. */
  void (*multifd_why)(void *user_data, char *why, size_t whylen);
  void *user_data;
  const char *src_qmp; /* the source's QMP address: handoff needs unix: */
  bool agent_handoff;  /* the agent offers handoff (session reply) */
  const char *agent;   /* its address, for messages */
};
/* Whether such a channel can be handed to QEMU on both hosts: a TLS channel
 * only when kernel TLS does it on both ends (then it is a plain socket to
 * QEMU), else as a plain one.  true, or false with the reason in why.  The
 * tunnel-handoff mode only switches it off: whether `on` makes false an
 * error is the caller's. */
bool eng_handoff_decide(const struct eng_handoff_in *in, char *why, size_t whylen);
/* eng_handoff_decide for a channel of `kind` of this run; dst as there. */
bool eng_tunnel_can_hand_off(struct qmig_migration *m, unsigned kind,
                             const struct tp_handoff_reply *dst, char *why, size_t whylen);
/* The incoming phase with handoff asked for: the agent starts the
 * destination's incoming migration on our main channel (handing it to its
 * QEMU, or forwarding it), and we give the same socket to the source
 * (getfd; m->uri = fd:NAME).  0 done; 1 not attempted (t->fwd_why: the
 * caller forwards as before); -1 failed (recorded on m).  When only our
 * side cannot, t->pre_main keeps the channel for the acceptor, which
 * forwards the source's connection into it. */
int eng_tunnel_handoff(struct qmig_migration *m);
/* Before the stream ran: take back a descriptor the source was given but
 * never used (its migrate failed or was not sent). */
void eng_tunnel_handoff_unused(struct qmig_migration *m);

/* tunnel_chan.c */
/* Keep the first channel failure (for blame and the report). */
void eng_tunnel_record(struct eng_tunnel *t, const char *msg);
/* Count channel c as kernel TLS or user-space TLS (tp_tls_offload_ktls). */
void eng_tunnel_note_offload(struct eng_tunnel *t, struct tp_conn *c);
/* Count a channel whose TLS the agent's side does in user space, why. */
void eng_tunnel_note_user(struct eng_tunnel *t, const char *why);
/* Track a started forwarder (aborted when there is no room), or with f NULL
 * a handed-off channel; why: why it is forwarded (NULL/"": handed off). */
void eng_tunnel_add_chan(struct eng_tunnel *t, unsigned kind, unsigned index, size_t prefix,
                         struct tp_fwd *f, const char *why);
/* A new channel of the session: TCP, TLS (QMP always; the others per
 * tunnel-data), hello, the session proof.  NULL with a message in err. */
struct tp_conn *eng_tunnel_open_channel(struct eng_tunnel *t, unsigned kind, unsigned index,
                                        char *err, size_t errlen);
/* The same, with the agent's OK reply text in msg. */
struct tp_conn *eng_tunnel_open_channel_msg(struct eng_tunnel *t, unsigned kind, unsigned index,
                                            char *msg, size_t msglen, char *err, size_t errlen);
/* One line from the control connection: 0, or -1. */
int eng_tunnel_control_line(struct eng_tunnel *t, char *buf, size_t len);
/* The session's incoming, resume and nbd hooks (engine/session.h). */
int eng_tunnel_incoming(struct qmig_migration *m);
int eng_tunnel_resume(struct qmig_migration *m, char *uri, size_t ulen, char *why, size_t wlen);
int eng_tunnel_nbd(struct qmig_migration *m);
/* tunnel.c: the end hook (the forwarders joined, the "tunnel" report
 * section written, the session freed). */
void eng_tunnel_end(struct qmig_migration *m);

#endif
