/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockbio.c - the BIO that TLS connections read and write through: the
 * connection's own non-blocking TCP socket, with MSG_NOSIGNAL (OpenSSL's
 * BIO_s_socket writes with write(), and a peer that went away would kill an
 * embedder that does not ignore SIGPIPE).
 *
 * Reads go straight from the socket into OpenSSL's read buffer.  Writes
 * go straight to the socket too, unless the forwarder gave a staging buffer
 * (tp_sock_bio_stage): then each record OpenSSL finished is appended there,
 * and a full buffer answers "retry" until the forwarder has sent it with
 * one io_uring send (one send per ~256 KiB of records instead of one
 * syscall per 16 KiB record; docs/TUNNEL.md, "The TLS data path").  The
 * kTLS path uses BIO_s_socket instead (OpenSSL offloads only through it). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/conn_int.h"

static BIO_METHOD *method;
static int method_type;

struct sockbio {
  int fd;
  uint8_t *stage; /* NULL: write to the socket */
  size_t len, cap;
};

static int sock_write(BIO *b, const char *p, int n)
{
  struct sockbio *s = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (s->stage) {
    if ((size_t)n > s->cap - s->len) { /* whole records only: flush first */
      BIO_set_retry_write(b);
      return -1;
    }
    memcpy(s->stage + s->len, p, (size_t)n);
    s->len += (size_t)n;
    return n;
  }
  ssize_t r = send(s->fd, p, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    BIO_set_retry_write(b);
  return (int)r;
}

static int sock_read(BIO *b, char *p, int n)
{
  struct sockbio *s = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t r = recv(s->fd, p, (size_t)n, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    BIO_set_retry_read(b);
  return (int)r;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
  (void)b;
  (void)num;
  (void)ptr;
  return cmd == BIO_CTRL_FLUSH || cmd == BIO_CTRL_DUP; /* nothing else applies */
}

static int sock_destroy(BIO *b)
{
  free(BIO_get_data(b)); /* the fd stays: the tp_conn owns it */
  BIO_set_data(b, NULL);
  return 1;
}

static void make_method(void)
{
  method_type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
  BIO_METHOD *m = BIO_meth_new(method_type, "qmig socket");
  if (m && (!BIO_meth_set_write(m, sock_write) || !BIO_meth_set_read(m, sock_read) ||
            !BIO_meth_set_ctrl(m, sock_ctrl) || !BIO_meth_set_destroy(m, sock_destroy))) {
    BIO_meth_free(m);
    m = NULL;
  }
  method = m; /* kept for the process's life, as OpenSSL's own methods */
}

BIO *tp_sock_bio_new(int fd)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, make_method);
  struct sockbio *s = calloc(1, sizeof *s);
  BIO *b = method && s ? BIO_new(method) : NULL;
  if (!b) {
    free(s);
    return NULL;
  }
  s->fd = fd;
  BIO_set_data(b, s);
  BIO_set_init(b, 1);
  return b;
}

static struct sockbio *ours(BIO *b)
{
  return method && BIO_method_type(b) == method_type ? BIO_get_data(b) : NULL;
}

bool tp_sock_bio_stage(BIO *b, uint8_t *buf, size_t cap)
{
  struct sockbio *s = ours(b);
  if (s) {
    s->stage = buf;
    s->cap = cap;
    s->len = 0;
  }
  return s != NULL;
}

size_t tp_sock_bio_staged(BIO *b)
{
  struct sockbio *s = ours(b);
  return s ? s->len : 0;
}

void tp_sock_bio_sent(BIO *b, size_t n)
{
  struct sockbio *s = ours(b);
  if (!s || n > s->len)
    return;
  /* Anything staged after the send was queued (a record SSL_read wrote,
   * say a KeyUpdate answer) moves to the front; normally nothing. */
  memmove(s->stage, s->stage + n, s->len - n);
  s->len -= n;
}
