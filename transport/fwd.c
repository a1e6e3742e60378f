/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fwd.c - the forwarder: one thread, one io_uring, both directions of one
 * tunnel connection (local plaintext socket <-> remote plain or TLS).
 *
 * The loop follows liburing's examples/proxy.c: submit and wait with a
 * timeout, walk the completions in a batch, advance once.  Each SQE's
 * user_data points at a struct req whose first field says what it is.  Per
 * direction there is at most one receive or one send in flight, so bytes
 * stay in order; short sends are resubmitted for the rest.
 *
 *   out: local --recv--> pbuf [--SSL_write--> wire] --send--> remote
 *   in:  remote [--SSL_read: read(), decrypt-->] pbuf --send--> local
 *
 * What a direction does with its bytes (copy, splice; TLS out and in live
 * in fwd_tls.c) is a struct tp_dir_ops chosen once in tp_fwd_start; the
 * loop only calls hooks (transport/fwd_int.h).
 *
 * EOF is forwarded as a half-close (TLS: close_notify, then SHUT_WR) and the
 * forwarder ends when both directions are done or one failed; failing closes
 * both sockets, so QEMU on either side sees its channel break. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

#include "common/errbuf.h"
#include "transport/fwd_int.h"

void tp_fwd_fail(struct tp_fwd *f, const char *fmt, ...)
{
  pthread_mutex_lock(&f->lock);
  if (!f->st.failed) {
    f->st.failed = true;
    va_list ap;
    va_start(ap, fmt);
    errbuf_vlabelf(f->st.error, sizeof f->st.error, f->remote->label, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&f->lock);
}

static struct io_uring_sqe *sqe_for(struct tp_fwd *f, struct req *r)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
  if (sqe) {
    io_uring_sqe_set_data(sqe, r);
    f->inflight++;
  }
  return sqe;
}

void tp_fwd_finish_dir(struct tp_dir *d)
{
  shutdown(d->to, SHUT_WR);
  d->done = true;
}

/* Send buf[0, n) next. */
int tp_fwd_send_buf(struct tp_fwd *f, struct tp_dir *d, const uint8_t *buf, size_t n)
{
  d->sbuf = buf;
  d->len = n;
  d->off = 0;
  return d->ops->send(f, d);
}

/* ---- plain: through a user buffer ---- */

int tp_fwd_recv_into(struct tp_fwd *f, struct tp_dir *d, uint8_t *buf, size_t n)
{
  struct io_uring_sqe *sqe = sqe_for(f, &d->recv_req);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_recv(sqe, d->from, buf, n, 0);
  return 0;
}

int tp_fwd_copy_recv(struct tp_fwd *f, struct tp_dir *d)
{
  return tp_fwd_recv_into(f, d, d->pbuf, BUF_SIZE);
}

int tp_fwd_copy_send(struct tp_fwd *f, struct tp_dir *d)
{
  struct io_uring_sqe *sqe = sqe_for(f, &d->send_req);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_send(sqe, d->to, d->sbuf + d->off, d->len - d->off, MSG_NOSIGNAL);
  return 0;
}

int tp_fwd_poll(struct tp_fwd *f, struct tp_dir *d, unsigned events)
{
  struct io_uring_sqe *sqe = sqe_for(f, &d->poll_req);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_poll_add(sqe, f->remote->fd, events);
  return 0;
}

static int plain_got(struct tp_fwd *f, struct tp_dir *d, size_t n)
{
  return tp_fwd_send_buf(f, d, d->pbuf, n);
}

static int plain_eof(struct tp_fwd *f, struct tp_dir *d)
{
  (void)f;
  tp_fwd_finish_dir(d);
  return 0;
}

static int plain_sent(struct tp_fwd *f, struct tp_dir *d)
{
  return d->ops->recv(f, d);
}

static const struct tp_dir_ops copy_ops = {
  .start = tp_fwd_copy_recv,
  .recv = tp_fwd_copy_recv,
  .send = tp_fwd_copy_send,
  .got = plain_got,
  .eof = plain_eof,
  .sent = plain_sent,
};

/* ---- plain: splice through a pipe (the bytes stay in the kernel) ---- */

static int splice_recv(struct tp_fwd *f, struct tp_dir *d)
{
  struct io_uring_sqe *sqe = sqe_for(f, &d->recv_req);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_splice(sqe, d->from, -1, d->pipe[1], -1, BUF_SIZE, SPLICE_F_MOVE);
  return 0;
}

static int splice_send(struct tp_fwd *f, struct tp_dir *d)
{
  struct io_uring_sqe *sqe = sqe_for(f, &d->send_req);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_splice(sqe, d->pipe[0], -1, d->to, -1, (unsigned)(d->len - d->off), SPLICE_F_MOVE);
  return 0;
}

static int splice_got(struct tp_fwd *f, struct tp_dir *d, size_t n)
{
  return tp_fwd_send_buf(f, d, NULL, n); /* the bytes are in the pipe */
}

static const struct tp_dir_ops splice_ops = {
  .start = splice_recv,
  .recv = splice_recv,
  .send = splice_send,
  .got = splice_got,
  .eof = plain_eof,
  .sent = plain_sent,
};

/* ---- the loop ---- */

static const char *peer_what(const struct tp_dir *d, bool reading)
{
  return d->out == reading ? "local QEMU socket" : "tunnel peer";
}

static int on_recv(struct tp_fwd *f, struct tp_dir *d, int res)
{
  if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS)
    return d->ops->recv(f, d);
  if (res < 0) {
    tp_fwd_fail(f, "receiving from the %s: %s", peer_what(d, true), strerror(-res));
    return res;
  }
  if (res == 0) {
    d->eof_seen = true;
    return d->ops->eof(f, d);
  }
  if (d->out)
    atomic_fetch_add(&f->bytes_out, (uint64_t)res);
  return d->ops->got(f, d, (size_t)res);
}

static int on_send(struct tp_fwd *f, struct tp_dir *d, int res)
{
  if (res == -EINTR || res == -EAGAIN)
    return d->ops->send(f, d);
  if (res <= 0) {
    tp_fwd_fail(f, "sending to the %s: %s", peer_what(d, false),
                res ? strerror(-res) : "sent nothing");
    return res ? res : -EPIPE;
  }
  d->off += (size_t)res;
  if (d->off < d->len) /* short send: the rest */
    return d->ops->send(f, d);
  if (!d->out) /* plaintext to local QEMU */
    atomic_fetch_add(&f->bytes_in, d->len);
  return d->ops->sent(f, d);
}

static int on_poll(struct tp_fwd *f, struct tp_dir *d, int res)
{
  if (res < 0) {
    tp_fwd_fail(f, "waiting for the tunnel peer: %s", strerror(-res));
    return res;
  }
  return d->ops->ready(f, d, (unsigned)res);
}

static int on_cqe(struct tp_fwd *f, const struct req *r, int res)
{
  switch (r->kind) {
  case REQ_RECV: return on_recv(f, r->d, res);
  case REQ_SEND: return on_send(f, r->d, res);
  default: return on_poll(f, r->d, res);
  }
}

static double thread_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *loop(void *arg)
{
  struct tp_fwd *f = arg;
  int rc = f->out.ops->start(f, &f->out);
  if (rc == 0)
    rc = f->in.ops->start(f, &f->in);
  while (rc == 0 && !(f->out.done && f->in.done)) {
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_sec = 1 };
    int w = io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &ts, NULL);
    if (atomic_load(&f->stop)) {
      tp_fwd_fail(f, "stopped");
      break;
    }
    if (w < 0 && w != -ETIME && w != -EINTR) {
      tp_fwd_fail(f, "io_uring: %s", strerror(-w));
      break;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&f->ring, head, cqe)
    {
      struct req *r = io_uring_cqe_get_data(cqe);
      seen++;
      f->inflight--;
      if (rc == 0)
        rc = on_cqe(f, r, cqe->res);
    }
    io_uring_cq_advance(&f->ring, seen);
  }
  if (rc < 0 && !f->st.failed)
    tp_fwd_fail(f, "%s", strerror(-rc));
  /* Closing both ends tells QEMU (and the peer) at once. */
  shutdown(f->local, SHUT_RDWR);
  shutdown(f->remote->fd, SHUT_RDWR);
  /* In-flight requests point into our buffers: let them complete (the
   * shutdowns make them end at once), bounded. */
  int64_t until = tp_mono_ms() + 2000;
  while (f->inflight > 0 && tp_mono_ms() < until) {
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_nsec = 100000000 };
    if (io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &ts, NULL) >= 0 ||
        io_uring_peek_cqe(&f->ring, &cqe) == 0) {
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&f->ring, head, cqe) seen++;
      io_uring_cq_advance(&f->ring, seen);
      f->inflight -= seen;
    }
  }
  pthread_mutex_lock(&f->lock);
  f->st.cpu_s = thread_cpu_s();
  pthread_mutex_unlock(&f->lock);
  atomic_store(&f->finished, true);
  return NULL;
}

static void init_dir(struct tp_dir *d, bool out, int from, int to)
{
  d->ops = &copy_ops;
  d->pipe[0] = d->pipe[1] = -1;
  d->out = out;
  d->from = from;
  d->to = to;
  d->recv_req = (struct req){ REQ_RECV, d };
  d->send_req = (struct req){ REQ_SEND, d };
  d->poll_req = (struct req){ REQ_POLL, d };
}

static void close_pipe(struct tp_dir *d)
{
  if (d->pipe[0] >= 0) {
    close(d->pipe[0]);
    close(d->pipe[1]);
  }
}

static void fwd_free(struct tp_fwd *f)
{
  close_pipe(&f->out);
  close_pipe(&f->in);
  if (f->ring_ok)
    io_uring_queue_exit(&f->ring);
  free(f->out.pbuf);
  free(f->out.wire);
  free(f->in.pbuf);
  close(f->local);
  tp_conn_free(f->remote);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

static atomic_bool use_splice;

void tp_fwd_set_splice(bool on)
{
  atomic_store(&use_splice, on);
}

/* The hooks of both directions, once: TLS remote, or plain copied or (plain
 * channels, tp_fwd_set_splice; docs/TUNNEL.md has the measurement that chose
 * the default) spliced through a pipe per direction.  0 or -errno. */
static int choose_ops(struct tp_fwd *f)
{
  if (tp_conn_is_tls(f->remote)) {
    f->out.ops = &tp_fwd_tls_out;
    f->in.ops = &tp_fwd_tls_in;
    /* From here on one read() takes as many records as have arrived
     * (the setup phase read record by record: nothing was over-read). */
    SSL_set_read_ahead(f->remote->ssl, 1);
    /* ... and SSL_write's records are sent 256 KiB at a time (not with
     * kTLS's socket BIO: there the kernel takes plaintext). */
    tp_sock_bio_stage(SSL_get_wbio(f->remote->ssl), f->out.wire, WIRE_SIZE);
    return 0;
  }
  if (!atomic_load(&use_splice))
    return 0; /* copy_ops, from init_dir */
  for (struct tp_dir *d = &f->out; d; d = d == &f->out ? &f->in : NULL) {
    if (pipe2(d->pipe, O_CLOEXEC) < 0) {
      d->pipe[0] = d->pipe[1] = -1;
      return -errno;
    }
    fcntl(d->pipe[1], F_SETPIPE_SZ, (int)BUF_SIZE); /* best effort */
    d->ops = &splice_ops;
  }
  return 0;
}

struct tp_fwd *tp_fwd_start(int local_fd, struct tp_conn *remote, char *err, size_t errlen)
{
  struct tp_fwd *f = calloc(1, sizeof *f);
  if (!f) {
    close(local_fd);
    errbuf_setf(err, errlen, "%s: forwarder: out of memory", tp_conn_label(remote));
    tp_conn_free(remote);
    return NULL;
  }
  f->local = local_fd;
  f->remote = remote;
  pthread_mutex_init(&f->lock, NULL);
  init_dir(&f->out, true, local_fd, remote->fd);
  init_dir(&f->in, false, remote->fd, local_fd);
  f->out.pbuf = malloc(BUF_SIZE);
  f->in.pbuf = malloc(BUF_SIZE);
  f->out.wire = tp_conn_is_tls(remote) ? malloc(WIRE_SIZE) : NULL;
  int rc = io_uring_queue_init(RING_DEPTH, &f->ring, 0);
  f->ring_ok = rc == 0;
  if (rc == 0)
    rc = choose_ops(f);
  if (rc < 0 || !f->out.pbuf || !f->in.pbuf || (tp_conn_is_tls(remote) && !f->out.wire)) {
    errbuf_setf(err, errlen, "%s: forwarder: %s", remote->label,
                rc < 0 ? strerror(-rc) : "out of memory");
    goto fail;
  }
  if ((rc = pthread_create(&f->thread, NULL, loop, f)) != 0) {
    errbuf_setf(err, errlen, "%s: forwarder thread: %s", remote->label, strerror(rc));
    goto fail;
  }
  return f;
fail:
  fwd_free(f);
  return NULL;
}

void tp_fwd_abort(struct tp_fwd *f)
{
  if (!f)
    return;
  atomic_store(&f->stop, true);
  shutdown(f->local, SHUT_RDWR);
  shutdown(f->remote->fd, SHUT_RDWR);
}

bool tp_fwd_done(struct tp_fwd *f)
{
  return atomic_load(&f->finished);
}

void tp_fwd_peek(struct tp_fwd *f, struct tp_fwd_stats *st)
{
  pthread_mutex_lock(&f->lock);
  *st = f->st;
  pthread_mutex_unlock(&f->lock);
  st->bytes_out = atomic_load(&f->bytes_out);
  st->bytes_in = atomic_load(&f->bytes_in);
}

void tp_fwd_wait(struct tp_fwd *f)
{
  if (f && !f->joined) {
    pthread_join(f->thread, NULL);
    f->joined = true;
  }
}

void tp_fwd_join(struct tp_fwd *f, struct tp_fwd_stats *st)
{
  if (!f)
    return;
  tp_fwd_wait(f);
  if (st)
    tp_fwd_peek(f, st);
  fwd_free(f);
}
