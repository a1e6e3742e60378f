/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* transport/ private: the forwarder's insides shared by fwd.c (the io_uring
 * loop, plain directions, lifecycle) and fwd_tls.c (the TLS directions).
 * Nothing outside transport/ includes this.  Functions here return 0 or
 * -errno, as the liburing code around them does, after recording the
 * failure with tp_fwd_fail(). */
#ifndef QMIG_TRANSPORT_FWD_INT_H
#define QMIG_TRANSPORT_FWD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <liburing.h>

#include "transport/conn_int.h"

#define BUF_SIZE (256u << 10)
/* TLS out: the records of one BUF_SIZE chunk, sent at once */
#define WIRE_SIZE (BUF_SIZE + (BUF_SIZE / 16384 + 2) * 256)
#define RING_DEPTH 8

enum req_kind { REQ_RECV, REQ_SEND, REQ_POLL };

struct req {
  enum req_kind kind; /* first: what user_data points at */
  struct tp_dir *d;
};

struct tp_fwd;
struct tp_dir;

/* What one direction does with its bytes, chosen once in tp_fwd_start (the
 * loop never asks whether the remote side is TLS): copied through a user
 * buffer, spliced through a pipe, encrypted into records (out, TLS) or
 * decrypted from them (in, TLS).  Each hook queues the next SQE (at most one
 * per direction) or finishes the direction; 0, or -errno after tp_fwd_fail(). */
struct tp_dir_ops {
  int (*start)(struct tp_fwd *f, struct tp_dir *d);         /* first step */
  int (*recv)(struct tp_fwd *f, struct tp_dir *d);          /* queue a receive */
  int (*send)(struct tp_fwd *f, struct tp_dir *d);          /* queue sbuf[off, len) */
  int (*got)(struct tp_fwd *f, struct tp_dir *d, size_t n); /* n > 0 received */
  int (*eof)(struct tp_fwd *f, struct tp_dir *d);           /* the sender closed */
  int (*sent)(struct tp_fwd *f, struct tp_dir *d);          /* all of sbuf went out */
  /* TLS: the remote socket became ready (revents) after tp_fwd_poll. */
  int (*ready)(struct tp_fwd *f, struct tp_dir *d, unsigned revents);
};

struct tp_dir {
  const struct tp_dir_ops *ops;
  bool out; /* local -> remote */
  int from, to;
  struct req recv_req, send_req, poll_req;
  uint8_t *pbuf;       /* plaintext */
  uint8_t *wire;       /* TLS out: records staged by SSL_write (sockbio.c) */
  const uint8_t *sbuf; /* what is being sent (pbuf or wire) */
  size_t len, off;     /* its length, and how far it went */
  size_t plen, pdone;  /* TLS out: plaintext in pbuf, and how much SSL took */
  bool eof_seen, done;
  bool shut;   /* TLS out: close_notify written */
  int pipe[2]; /* splice: the kernel moves the bytes via this */
};

struct tp_fwd {
  pthread_t thread;
  struct tp_conn *remote;
  int local;
  struct io_uring ring;
  struct tp_dir out, in;
  bool ring_ok;
  unsigned inflight; /* SQEs not yet completed: buffers stay until 0 */
  atomic_bool stop, finished;
  bool joined; /* the thread was joined (tp_fwd_wait) */
  _Atomic uint64_t bytes_out, bytes_in;
  pthread_mutex_t lock;
  struct tp_fwd_stats st;
};

/* Record the first failure as "LABEL: what" (the remote connection's label). */
void tp_fwd_fail(struct tp_fwd *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send buf[0, n) next (through d->ops->send). */
int tp_fwd_send_buf(struct tp_fwd *f, struct tp_dir *d, const uint8_t *buf, size_t n);
/* The direction is over: half-close its destination. */
void tp_fwd_finish_dir(struct tp_dir *d);
/* Queue a receive from d->from into buf, or into pbuf (copy_recv). */
int tp_fwd_recv_into(struct tp_fwd *f, struct tp_dir *d, uint8_t *buf, size_t n);
int tp_fwd_copy_recv(struct tp_fwd *f, struct tp_dir *d);
/* Queue a send of sbuf[off, len) to d->to. */
int tp_fwd_copy_send(struct tp_fwd *f, struct tp_dir *d);
/* Wait (one-shot) for EVENTS on the remote socket; then d->ops->ready. */
int tp_fwd_poll(struct tp_fwd *f, struct tp_dir *d, unsigned events);

/* fwd_tls.c: the directions of a TLS remote. */
extern const struct tp_dir_ops tp_fwd_tls_out, tp_fwd_tls_in;

#endif
