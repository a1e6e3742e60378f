/* fwd.c - the forwarder: one thread, one io_uring, both directions of one
 * tunnel connection (local plaintext socket <-> remote plain or TLS).
 *
 * The loop follows liburing's examples/proxy.c: submit and wait with a
 * timeout, walk the completions in a batch, advance once.  Each SQE's
 * user_data points at a struct req whose first field says what it is.  Per
 * direction there is at most one receive or one send in flight, so bytes
 * stay in order; short sends are resubmitted for the rest.
 *
 *   out: local --recv--> pbuf [--SSL_write--> wbio --> wire] --send--> remote
 *   in:  remote --recv--> [wire --> rbio --SSL_read-->] pbuf --send--> local
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
#include <openssl/err.h>

#include "common/errbuf.h"
#include "transport/conn_int.h"

#define BUF_SIZE (256u << 10)
#define WIRE_SIZE (BUF_SIZE + (BUF_SIZE / 16384 + 1) * 64)
#define RING_DEPTH 8

enum req_kind { REQ_RECV, REQ_SEND };

struct req {
  enum req_kind kind; /* first: what user_data points at */
  struct dir *d;
};

struct dir {
  const char *name;   /* "to the peer" / "to local QEMU" */
  bool out;           /* local -> remote */
  int from, to;
  struct req recv_req, send_req;
  uint8_t *pbuf;      /* plaintext */
  uint8_t *wire;      /* TLS records */
  size_t len, off;    /* what is being sent, and how far */
  bool sending_wire;
  bool eof_seen, done;
  int pipe[2];        /* splice mode: the kernel moves the bytes via this */
};

struct tp_fwd {
  pthread_t thread;
  struct tp_conn *remote;
  int local;
  struct io_uring ring;
  struct dir out, in;
  bool ring_ok;
  unsigned inflight;  /* SQEs not yet completed: buffers stay until 0 */
  atomic_bool stop, finished;
  bool joined;        /* the thread was joined (tp_fwd_wait) */
  _Atomic uint64_t bytes_out, bytes_in;
  pthread_mutex_t lock;
  struct tp_fwd_stats st;
};

static void fail(struct tp_fwd *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct tp_fwd *f, const char *fmt, ...)
{
  char m[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&f->lock);
  if (!f->st.failed) {
    f->st.failed = true;
    snprintf(f->st.error, sizeof f->st.error, "%s: %s", f->remote->label, m);
  }
  pthread_mutex_unlock(&f->lock);
}

static int sqe_recv(struct tp_fwd *f, struct dir *d, void *buf, size_t n)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
  if (!sqe)
    return -EBUSY;
  io_uring_prep_recv(sqe, d->from, buf, n, 0);
  io_uring_sqe_set_data(sqe, &d->recv_req);
  f->inflight++;
  return 0;
}

static bool spliced(const struct dir *d) { return d->pipe[0] >= 0; }

static int sqe_send(struct tp_fwd *f, struct dir *d)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
  if (!sqe)
    return -EBUSY;
  if (spliced(d)) {
    io_uring_prep_splice(sqe, d->pipe[0], -1, d->to, -1, (unsigned)(d->len - d->off),
                         SPLICE_F_MOVE);
    io_uring_sqe_set_data(sqe, &d->send_req);
    f->inflight++;
    return 0;
  }
  const uint8_t *p = (d->sending_wire ? d->wire : d->pbuf) + d->off;
  io_uring_prep_send(sqe, d->to, p, d->len - d->off, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, &d->send_req);
  f->inflight++;
  return 0;
}

static bool tls(const struct tp_fwd *f) { return f->remote->ssl != NULL; }

/* Start receiving for d: plaintext from local, or records from the remote. */
static int start_recv(struct tp_fwd *f, struct dir *d)
{
  if (spliced(d)) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
    if (!sqe)
      return -EBUSY;
    io_uring_prep_splice(sqe, d->from, -1, d->pipe[1], -1, BUF_SIZE, SPLICE_F_MOVE);
    io_uring_sqe_set_data(sqe, &d->recv_req);
    f->inflight++;
    return 0;
  }
  if (!d->out && tls(f))
    return sqe_recv(f, d, d->wire, WIRE_SIZE);
  return sqe_recv(f, d, d->pbuf, BUF_SIZE);
}

static void finish_dir(struct dir *d)
{
  shutdown(d->to, SHUT_WR);
  d->done = true;
}

/* out, TLS: send what SSL put into wbio; when empty, receive or finish. */
static int out_flush(struct tp_fwd *f, struct dir *d)
{
  int n = BIO_read(f->remote->wbio, d->wire, WIRE_SIZE);
  if (n > 0) {
    d->sending_wire = true;
    d->len = (size_t)n;
    d->off = 0;
    return sqe_send(f, d);
  }
  if (d->eof_seen) {
    finish_dir(d);
    return 0;
  }
  return start_recv(f, d);
}

/* in, TLS: decrypt what rbio holds into pbuf; send it, or receive more. */
static int in_drain(struct tp_fwd *f, struct dir *d)
{
  SSL *ssl = f->remote->ssl;
  size_t got = 0;
  int e = SSL_ERROR_NONE;
  while (got + 16384 <= BUF_SIZE) {
    ERR_clear_error();
    int r = SSL_read(ssl, d->pbuf + got, (int)(BUF_SIZE - got));
    if (r <= 0) {
      e = SSL_get_error(ssl, r);
      break;
    }
    got += (size_t)r;
  }
  if (got) {
    d->sending_wire = false;
    d->len = got;
    d->off = 0;
    return sqe_send(f, d);
  }
  if (e == SSL_ERROR_WANT_READ)
    return start_recv(f, d);
  if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the peer's EOF */
    finish_dir(d);
    return 0;
  }
  tp_tls_why(f->remote, "TLS");
  fail(f, "%s (SSL error %d)", f->remote->err + strlen(f->remote->label) + 2, e);
  return -EPROTO;
}

static const char *peer_what(const struct dir *d, bool reading)
{
  return d->out == reading ? "local QEMU socket" : "tunnel peer";
}

static int on_recv(struct tp_fwd *f, struct dir *d, int res)
{
  if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS)
    return start_recv(f, d);
  if (res < 0) {
    fail(f, "receiving from the %s: %s", peer_what(d, true), strerror(-res));
    return res;
  }
  if (res == 0) {
    d->eof_seen = true;
    if (d->out && tls(f)) { /* local EOF: close_notify goes after the data */
      SSL_shutdown(f->remote->ssl);
      return out_flush(f, d);
    }
    if (!d->out && tls(f)) {
      fail(f, "connection closed by the peer without TLS close_notify");
      return -EPIPE;
    }
    finish_dir(d);
    return 0;
  }
  if (d->out)
    atomic_fetch_add(&f->bytes_out, (uint64_t)res);
  if (d->out && tls(f)) {
    /* The memory BIO takes everything: SSL_write never waits here.  With
     * split_last the chunk's last byte goes in a record of its own. */
    int body = f->remote->split_last && res > 1 ? res - 1 : res;
    for (int done = 0, w; done < res; done += w) {
      ERR_clear_error();
      int end = done < body ? body : res;
      if ((w = SSL_write(f->remote->ssl, d->pbuf + done, end - done)) <= 0) {
        tp_tls_why(f->remote, "TLS");
        fail(f, "%s", f->remote->err + strlen(f->remote->label) + 2);
        return -EPROTO;
      }
    }
    return out_flush(f, d);
  }
  if (!d->out && tls(f)) {
    BIO_write(f->remote->rbio, d->wire, res);
    return in_drain(f, d);
  }
  d->sending_wire = false;
  d->len = (size_t)res;
  d->off = 0;
  return sqe_send(f, d);
}

static int on_send(struct tp_fwd *f, struct dir *d, int res)
{
  if (res == -EINTR || res == -EAGAIN)
    return sqe_send(f, d);
  if (res <= 0) {
    fail(f, "sending to the %s: %s", peer_what(d, false), res ? strerror(-res) : "sent nothing");
    return res ? res : -EPIPE;
  }
  d->off += (size_t)res;
  if (d->off < d->len) /* short send: the rest */
    return sqe_send(f, d);
  if (!d->out && !d->sending_wire)
    atomic_fetch_add(&f->bytes_in, d->len);
  if (d->out && tls(f))
    return out_flush(f, d);
  if (!d->out && tls(f))
    return in_drain(f, d);
  return start_recv(f, d);
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
  int rc = start_recv(f, &f->out);
  /* TLS: the setup phase may have read records past the agent's reply (one
   * TCP read can hold the reply and the first forwarded bytes); they wait
   * in the rbio, so decrypt those before asking the socket for more. */
  if (rc == 0)
    rc = tls(f) ? in_drain(f, &f->in) : start_recv(f, &f->in);
  while (rc == 0 && !(f->out.done && f->in.done)) {
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_sec = 1 };
    int w = io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &ts, NULL);
    if (atomic_load(&f->stop)) {
      fail(f, "stopped");
      break;
    }
    if (w < 0 && w != -ETIME && w != -EINTR) {
      fail(f, "io_uring: %s", strerror(-w));
      break;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&f->ring, head, cqe) {
      struct req *r = io_uring_cqe_get_data(cqe);
      seen++;
      f->inflight--;
      if (rc == 0)
        rc = r->kind == REQ_RECV ? on_recv(f, r->d, cqe->res) : on_send(f, r->d, cqe->res);
    }
    io_uring_cq_advance(&f->ring, seen);
  }
  if (rc < 0 && !f->st.failed)
    fail(f, "%s", strerror(-rc));
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

static void init_dir(struct dir *d, bool out, int from, int to)
{
  d->pipe[0] = d->pipe[1] = -1;
  d->out = out;
  d->from = from;
  d->to = to;
  d->recv_req = (struct req){ REQ_RECV, d };
  d->send_req = (struct req){ REQ_SEND, d };
}

static void close_pipe(struct dir *d)
{
  if (spliced(d)) {
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
  free(f->in.wire);
  close(f->local);
  tp_conn_free(f->remote);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

static atomic_bool use_splice;

void tp_fwd_set_splice(bool on) { atomic_store(&use_splice, on); }

struct tp_fwd *tp_fwd_start(int local_fd, struct tp_conn *remote, char *err, size_t errlen)
{
  struct tp_fwd *f = calloc(1, sizeof *f);
  if (!f) {
    close(local_fd);
    tp_conn_free(remote);
    errbuf_setf(err, errlen, "out of memory");
    return NULL;
  }
  f->local = local_fd;
  f->remote = remote;
  pthread_mutex_init(&f->lock, NULL);
  init_dir(&f->out, true, local_fd, remote->fd);
  init_dir(&f->in, false, remote->fd, local_fd);
  f->out.pbuf = malloc(BUF_SIZE);
  f->in.pbuf = malloc(BUF_SIZE);
  f->out.wire = malloc(WIRE_SIZE);
  f->in.wire = malloc(WIRE_SIZE);
  int rc = io_uring_queue_init(RING_DEPTH, &f->ring, 0);
  f->ring_ok = rc == 0;
  /* Plain channels may move bytes with splice through a pipe instead of
   * copying them through user space (tp_fwd_set_splice; docs/TUNNEL.md has
   * the measurement that chose the default). */
  if (rc == 0 && !remote->ssl && atomic_load(&use_splice))
    for (struct dir *d = &f->out; d && rc == 0; d = d == &f->out ? &f->in : NULL) {
      if (pipe2(d->pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        d->pipe[0] = d->pipe[1] = -1;
      } else {
        fcntl(d->pipe[1], F_SETPIPE_SZ, (int)BUF_SIZE); /* best effort */
      }
    }
  if (rc < 0 || !f->out.pbuf || !f->in.pbuf || !f->out.wire || !f->in.wire) {
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

bool tp_fwd_done(struct tp_fwd *f) { return atomic_load(&f->finished); }

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
