/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fwd_tls.c - the forwarder's directions when the remote side is TLS 1.3:
 * OpenSSL reads and writes the non-blocking remote socket itself
 * (sockbio.c), and io_uring only tells when it is ready (POLL_ADD):
 *
 *   out: local --recv--> pbuf --SSL_write: copy into OpenSSL's record
 *        buffer, encrypt in place, append to wire--> wire --send--> remote
 *   in:  remote --SSL_read: recv() up to 256 KiB of records into OpenSSL's
 *        read buffer (read-ahead), decrypt in place, copy out--> pbuf
 *        --send--> local
 *
 * Per byte that is the kernel's copies in and out, the cipher, and one
 * memcpy inside OpenSSL each way (3.0 copies plaintext into its record
 * buffer before sealing it, and out of it after opening), plus (out) the
 * record's copy into wire, which buys one io_uring send per 256 KiB
 * instead of a syscall per 16 KiB record.  The memory BIOs this replaced
 * cost two more copies each way (docs/TUNNEL.md, "The TLS data path").
 *
 * A local EOF becomes close_notify after the data; the peer's close_notify
 * becomes a half-close towards local QEMU, and a peer that closes without
 * one fails the forwarder (a truncation would look like an orderly end). */
#include <errno.h>
#include <poll.h>
#include <openssl/err.h>

#include "transport/fwd_int.h"

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

/* An SSL call of direction d returned r <= 0: wait for the socket, or fail.
 * Both directions share the SSL, and either may want either readiness (a
 * KeyUpdate read can want to write); each waits with its own poll_req. */
static int tls_wait(struct tp_fwd *f, struct tp_dir *d, int r, const char *what)
{
  int e = SSL_get_error(f->remote->ssl, r);
  if (e == SSL_ERROR_WANT_READ)
    return tp_fwd_poll(f, d, POLLIN);
  if (e == SSL_ERROR_WANT_WRITE)
    return tp_fwd_poll(f, d, POLLOUT);
  unsigned long last = ERR_peek_last_error();
  if ((e == SSL_ERROR_SYSCALL && !last) ||
      (ERR_GET_LIB(last) == ERR_LIB_SSL &&
       ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    tp_fwd_fail(f, "connection closed by the peer without TLS close_notify");
    return -EPIPE;
  }
  return tls_fail(f, what, e);
}

/* ---- TLS out: local plaintext -> SSL_write -> the peer ---- */

/* Send the records SSL staged in wire (sockbio.c); 1 when there were none. */
static int tls_out_flush(struct tp_fwd *f, struct tp_dir *d)
{
  size_t n = tp_sock_bio_staged(SSL_get_wbio(f->remote->ssl));
  return n ? tp_fwd_send_buf(f, d, d->wire, n) : 1;
}

/* Hand pbuf[pdone, plen) to SSL (a retry after "want write" passes the same
 * pointer and length, as OpenSSL requires), sending the staged records
 * whenever wire is full and at the end; then receive more or, after the
 * local EOF, send close_notify.  With split_last the chunk's last byte goes
 * in a record of its own. */
static int tls_out_push(struct tp_fwd *f, struct tp_dir *d)
{
  SSL *ssl = f->remote->ssl;
  int r;
  while (d->pdone < d->plen) {
    size_t end =
        f->remote->split_last && d->plen > 1 && d->pdone < d->plen - 1 ? d->plen - 1 : d->plen;
    size_t w = 0;
    ERR_clear_error();
    if ((r = SSL_write_ex(ssl, d->pbuf + d->pdone, end - d->pdone, &w)) != 1) {
      int fl = SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE ? tls_out_flush(f, d) : 1;
      return fl <= 0 ? fl : tls_wait(f, d, r, "TLS"); /* unstaged: poll the socket */
    }
    d->pdone += w;
  }
  if (d->eof_seen && !d->shut) {
    ERR_clear_error();
    if ((r = SSL_shutdown(ssl)) < 0) { /* >= 0: our close_notify is out (staged) */
      int fl = SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE ? tls_out_flush(f, d) : 1;
      return fl <= 0 ? fl : tls_wait(f, d, r, "TLS close_notify");
    }
    d->shut = true;
  }
  if ((r = tls_out_flush(f, d)) <= 0)
    return r;
  if (!d->eof_seen)
    return d->ops->recv(f, d);
  tp_fwd_finish_dir(d);
  return 0;
}

static int tls_out_got(struct tp_fwd *f, struct tp_dir *d, size_t n)
{
  d->plen = n;
  d->pdone = 0;
  return tls_out_push(f, d);
}

static int tls_out_eof(struct tp_fwd *f, struct tp_dir *d)
{
  d->plen = d->pdone = 0;
  return tls_out_push(f, d); /* eof_seen: close_notify goes after the data */
}

static int tls_out_sent(struct tp_fwd *f, struct tp_dir *d)
{
  tp_sock_bio_sent(SSL_get_wbio(f->remote->ssl), d->len);
  return tls_out_push(f, d);
}

static int tls_out_ready(struct tp_fwd *f, struct tp_dir *d, unsigned revents)
{
  (void)revents; /* errors and hang-ups show in the retried call */
  return tls_out_push(f, d);
}

const struct tp_dir_ops tp_fwd_tls_out = {
  .start = tp_fwd_copy_recv,
  .recv = tp_fwd_copy_recv,
  .send = tp_fwd_copy_send,
  .got = tls_out_got,
  .eof = tls_out_eof,
  .sent = tls_out_sent,
  .ready = tls_out_ready,
};

/* ---- TLS in: the peer -> SSL_read -> local plaintext ---- */

/* Decrypt what SSL has or the socket holds into pbuf; send it to local
 * QEMU, or wait for the socket. */
static int tls_in_drain(struct tp_fwd *f, struct tp_dir *d)
{
  SSL *ssl = f->remote->ssl;
  size_t got = 0;
  int r = 1;
  while (got + 16384 <= BUF_SIZE) {
    size_t n = 0;
    ERR_clear_error();
    if ((r = SSL_read_ex(ssl, d->pbuf + got, BUF_SIZE - got, &n)) != 1)
      break;
    got += n;
  }
  if (got)
    return tp_fwd_send_buf(f, d, d->pbuf, got);
  if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN) { /* close_notify: the peer's EOF */
    tp_fwd_finish_dir(d);
    return 0;
  }
  return tls_wait(f, d, r, "TLS");
}

static int tls_in_wait(struct tp_fwd *f, struct tp_dir *d)
{
  return tp_fwd_poll(f, d, POLLIN);
}

static int tls_in_ready(struct tp_fwd *f, struct tp_dir *d, unsigned revents)
{
  (void)revents;
  return tls_in_drain(f, d);
}

/* start: the setup phase's last SSL_read may have left plaintext in SSL,
 * so decrypt before asking the socket. */
const struct tp_dir_ops tp_fwd_tls_in = {
  .start = tls_in_drain,
  .recv = tls_in_wait,
  .send = tp_fwd_copy_send,
  .got = NULL, /* SSL reads the socket */
  .eof = NULL,
  .sent = tls_in_drain,
  .ready = tls_in_ready,
};
