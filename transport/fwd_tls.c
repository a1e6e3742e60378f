/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fwd_tls.c - the forwarder's directions when the remote side is TLS 1.3
 * over OpenSSL memory BIOs (fwd.c chooses them once, in tp_fwd_start):
 *
 *   out: local --recv--> pbuf --SSL_write--> wbio --> wire --send--> remote
 *   in:  remote --recv--> wire --> rbio --SSL_read--> pbuf --send--> local
 *
 * A local EOF becomes close_notify after the data; the peer's close_notify
 * becomes a half-close towards local QEMU, and a peer that closes without
 * one fails the forwarder (a truncation would look like an orderly end). */
#include <errno.h>
#include <openssl/err.h>

#include "transport/fwd_int.h"

/* ---- TLS out: local plaintext -> SSL_write -> wbio -> records to the peer ---- */

/* Send what SSL put into wbio; when empty, receive more or finish. */
static int tls_out_flush(struct tp_fwd *f, struct tp_dir *d)
{
  int n = BIO_read(f->remote->wbio, d->wire, WIRE_SIZE);
  if (n > 0)
    return tp_fwd_send_buf(f, d, d->wire, (size_t)n);
  if (d->eof_seen) {
    tp_fwd_finish_dir(d);
    return 0;
  }
  return d->ops->recv(f, d);
}

static int tls_fail(struct tp_fwd *f, const char *what, int ssl_error)
{
  char why[300];
  tp_tls_why(f->remote, what, why, sizeof why);
  if (ssl_error)
    tp_fwd_fail(f, "%s (SSL error %d)", why, ssl_error);
  else
    tp_fwd_fail(f, "%s", why);
  return -EPROTO;
}

static int tls_out_got(struct tp_fwd *f, struct tp_dir *d, size_t n)
{
  /* The memory BIO takes everything: SSL_write never waits here.  With
   * split_last the chunk's last byte goes in a record of its own. */
  SSL *ssl = f->remote->ssl;
  int res = (int)n;
  int body = f->remote->split_last && res > 1 ? res - 1 : res;
  for (int done = 0, w; done < res; done += w) {
    ERR_clear_error();
    int end = done < body ? body : res;
    if ((w = SSL_write(ssl, d->pbuf + done, end - done)) <= 0)
      return tls_fail(f, "TLS", 0);
  }
  return tls_out_flush(f, d);
}

static int tls_out_eof(struct tp_fwd *f, struct tp_dir *d)
{
  SSL_shutdown(f->remote->ssl); /* close_notify goes after the data */
  return tls_out_flush(f, d);
}

const struct tp_dir_ops tp_fwd_tls_out = {
  .start = tp_fwd_copy_recv,
  .recv = tp_fwd_copy_recv,
  .send = tp_fwd_copy_send,
  .got = tls_out_got,
  .eof = tls_out_eof,
  .sent = tls_out_flush,
};

/* ---- TLS in: records from the peer -> rbio -> SSL_read -> local plaintext ---- */

/* Decrypt what rbio holds into pbuf; send it, or receive more. */
static int tls_in_drain(struct tp_fwd *f, struct tp_dir *d)
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
  if (got)
    return tp_fwd_send_buf(f, d, d->pbuf, got);
  if (e == SSL_ERROR_WANT_READ)
    return d->ops->recv(f, d);
  if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the peer's EOF */
    tp_fwd_finish_dir(d);
    return 0;
  }
  return tls_fail(f, "TLS", e);
}

static int tls_in_recv(struct tp_fwd *f, struct tp_dir *d)
{
  return tp_fwd_recv_into(f, d, d->wire, WIRE_SIZE);
}

static int tls_in_got(struct tp_fwd *f, struct tp_dir *d, size_t n)
{
  BIO_write(f->remote->rbio, d->wire, (int)n);
  return tls_in_drain(f, d);
}

static int tls_in_eof(struct tp_fwd *f, struct tp_dir *d)
{
  (void)d;
  tp_fwd_fail(f, "connection closed by the peer without TLS close_notify");
  return -EPIPE;
}

/* start: the setup phase may have read records past the agent's reply (one
 * TCP read can hold the reply and the first forwarded bytes); they wait in
 * the rbio, so decrypt those before asking the socket for more. */
const struct tp_dir_ops tp_fwd_tls_in = {
  .start = tls_in_drain,
  .recv = tls_in_recv,
  .send = tp_fwd_copy_send,
  .got = tls_in_got,
  .eof = tls_in_eof,
  .sent = tls_in_drain,
};
