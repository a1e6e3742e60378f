/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conn.c - a tunnel connection for the blocking setup phase (TLS handshake,
 * hello, control messages): plain TCP and TLS 1.3 behind one ops table.  TLS
 * reads and writes the non-blocking socket itself (sockbio.c) and this file
 * waits for readiness; OpenSSL reads record by record here (no read-ahead),
 * so nothing past the setup messages is taken off the socket: the
 * forwarder (or QEMU, with kTLS) starts at the next record. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/errbuf.h"
#include "transport/conn_int.h"

int tp_conn_fail(struct tp_conn *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errbuf_vlabelf(c->err, sizeof c->err, c->label, fmt, ap);
  va_end(ap);
  return -1;
}

static int tls_fail(struct tp_conn *c, const char *what)
{
  char why[400];
  tp_tls_why(c, what, why, sizeof why);
  return tp_conn_fail(c, "%s", why);
}

/* Wait for `ev` on fd until the deadline; 0 ready, -1 timed out/failed. */
static int wait_fd(struct tp_conn *c, short ev, int64_t deadline, const char *what)
{
  for (;;) {
    int64_t left = deadline - tp_mono_ms();
    if (left <= 0)
      return tp_conn_fail(c, "timed out %s", what);
    struct pollfd p = { .fd = c->fd, .events = ev };
    int rc = poll(&p, 1, (int)left);
    if (rc > 0)
      return 0;
    if (rc < 0 && errno != EINTR)
      return tp_conn_fail(c, "%s: %s", what, strerror(errno));
  }
}

static int raw_send_all(struct tp_conn *c, const void *p, size_t n, int64_t deadline)
{
  while (n > 0) {
    ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r > 0) {
      p = (const char *)p + r;
      n -= (size_t)r;
    } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_fd(c, POLLOUT, deadline, "sending") < 0)
        return -1;
    } else {
      return tp_conn_fail(c, "sending: %s", strerror(errno));
    }
  }
  return 0;
}

/* >0 bytes, 0 on EOF, -1 on error/timeout. */
static ssize_t raw_recv(struct tp_conn *c, void *p, size_t n, int64_t deadline)
{
  for (;;) {
    ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);
    if (r >= 0)
      return r;
    if (errno != EAGAIN && errno != EINTR)
      return tp_conn_fail(c, "receiving: %s", strerror(errno));
    if (wait_fd(c, POLLIN, deadline, "waiting for the peer") < 0)
      return -1;
  }
}

/* ---- plain ---- */

static int plain_handshake(struct tp_conn *c, int64_t deadline)
{
  (void)c;
  (void)deadline;
  return 0;
}

const struct tp_ops tp_plain_ops = { "plain", plain_handshake, raw_send_all, raw_recv };

/* ---- TLS: OpenSSL on the non-blocking socket ---- */

/* After an SSL call returned r <= 0: wait for what it wants and return 0
 * (call again), 1 for the peer's close_notify, or -1 with the failure
 * recorded as "WHAT: cause" (a peer that closed: EOF_MSG).  A TLS-level
 * failure or the peer closing before the handshake finished (a certificate
 * or PSK refused by either side), or an alert from the peer, marks c
 * auth_refused; a timeout or a socket error does not. */
static int ssl_wait(struct tp_conn *c, int r, int64_t deadline, const char *what,
                    const char *eof_msg)
{
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ)
    return wait_fd(c, POLLIN, deadline, "waiting for the peer");
  if (e == SSL_ERROR_WANT_WRITE)
    return wait_fd(c, POLLOUT, deadline, "sending");
  if (e == SSL_ERROR_ZERO_RETURN)
    return 1;
  unsigned long last = ERR_peek_last_error();
  if (e == SSL_ERROR_SYSCALL && !last && errno && errno != EPIPE && errno != ECONNRESET)
    return tp_conn_fail(c, "%s: %s", what, strerror(errno));
  if ((e == SSL_ERROR_SYSCALL && !last) ||
      (ERR_GET_LIB(last) == ERR_LIB_SSL &&
       ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    ERR_clear_error();
    c->auth_refused = !SSL_is_init_finished(c->ssl);
    return tp_conn_fail(c, "%s", eof_msg);
  }
  /* TLS 1.3: a client's certificate is refused by an alert after the
   * client's handshake finished, on its first read. */
  c->auth_refused = !SSL_is_init_finished(c->ssl) || (ERR_GET_LIB(last) == ERR_LIB_SSL &&
                                                      ERR_GET_REASON(last) >= SSL_AD_REASON_OFFSET);
  return tls_fail(c, what);
}

static int tls_handshake(struct tp_conn *c, int64_t deadline)
{
  static const char closed[] = "the peer closed the connection during the TLS handshake "
                               "(it refused our credentials, or does not speak TLS)";
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
      return 0;
    int w = ssl_wait(c, r, deadline, "TLS handshake failed", closed);
    if (w > 0) /* a close_notify mid-handshake: our credential refused */
      c->auth_refused = true;
    if (w != 0)
      return w < 0 ? -1 : tp_conn_fail(c, "%s", closed);
  }
}

static int tls_write_all(struct tp_conn *c, const void *p, size_t n, int64_t deadline)
{
  while (n > 0) {
    size_t w = 0;
    ERR_clear_error();
    int r = SSL_write_ex(c->ssl, p, n, &w);
    if (r == 1) {
      p = (const char *)p + w;
      n -= w;
    } else if (ssl_wait(c, r, deadline, "TLS write failed", "the peer closed the connection") !=
               0) {
      return -1; /* (a close_notify does not end our direction) */
    }
  }
  return 0;
}

static ssize_t tls_read_some(struct tp_conn *c, void *p, size_t n, int64_t deadline)
{
  for (;;) {
    size_t got = 0;
    ERR_clear_error();
    int r = SSL_read_ex(c->ssl, p, n, &got);
    if (r == 1)
      return (ssize_t)got;
    int w = ssl_wait(c, r, deadline, "TLS read failed",
                     "connection closed by the peer without TLS close_notify");
    if (w != 0)
      return w > 0 ? 0 : -1;
  }
}

const struct tp_ops tp_tls_ops = { "tls", tls_handshake, tls_write_all, tls_read_some };

/* ---- the object ---- */

struct tp_conn *tp_conn_new(int fd, struct tp_tls *tls, const char *peer_host, const char *label)
{
  struct tp_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return NULL;
  }
  c->fd = fd;
  c->ops = tls ? &tp_tls_ops : &tp_plain_ops;
  snprintf(c->label, sizeof c->label, "%s", label);
  if (tls && tp_tls_attach(c, tls, peer_host) < 0)
    c->ops = NULL; /* every call fails with the message recorded */
  return c;
}

void tp_conn_free(struct tp_conn *c)
{
  if (!c)
    return;
  SSL_free(c->ssl); /* frees both BIOs */
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

bool tp_conn_auth_refused(const struct tp_conn *c)
{
  return c->auth_refused;
}

int tp_conn_handshake(struct tp_conn *c, int timeout_ms)
{
  return c->ops ? c->ops->handshake(c, tp_mono_ms() + timeout_ms) : -1;
}

int tp_conn_write_all(struct tp_conn *c, const void *p, size_t n, int timeout_ms)
{
  return c->ops ? c->ops->write_all(c, p, n, tp_mono_ms() + timeout_ms) : -1;
}

ssize_t tp_conn_read_some(struct tp_conn *c, void *p, size_t n, int timeout_ms)
{
  return c->ops ? c->ops->read_some(c, p, n, tp_mono_ms() + timeout_ms) : -1;
}

int tp_conn_read_exact(struct tp_conn *c, void *p, size_t n, int timeout_ms)
{
  int64_t deadline = tp_mono_ms() + timeout_ms;
  while (n > 0) {
    if (!c->ops)
      return -1;
    ssize_t r = c->ops->read_some(c, p, n, deadline);
    if (r == 0)
      return tp_conn_fail(c, "connection closed by the peer");
    if (r < 0)
      return -1;
    p = (char *)p + r;
    n -= (size_t)r;
  }
  return 0;
}

void tp_conn_close(struct tp_conn *c, int timeout_ms)
{
  if (c->ssl && c->ops) {
    int64_t deadline = tp_mono_ms() + timeout_ms;
    ERR_clear_error();
    int r; /* close_notify: 0 sent, 1 both ways, <0 the socket is full */
    while ((r = SSL_shutdown(c->ssl)) < 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE &&
           wait_fd(c, POLLOUT, deadline, "sending close_notify") == 0)
      ERR_clear_error();
  }
  shutdown(c->fd, SHUT_WR);
}

const char *tp_conn_error(const struct tp_conn *c)
{
  return c->err;
}
const char *tp_conn_label(const struct tp_conn *c)
{
  return c->label;
}
void tp_conn_split_last_byte(struct tp_conn *c, bool on)
{
  c->split_last = on;
}

void tp_conn_set_label(struct tp_conn *c, const char *label)
{
  snprintf(c->label, sizeof c->label, "%s", label);
}
int tp_conn_fd(const struct tp_conn *c)
{
  return c->fd;
}
bool tp_conn_is_tls(const struct tp_conn *c)
{
  return c->ssl != NULL;
}

bool tp_conn_can_hand_off(const struct tp_conn *c, char *why, size_t whylen)
{
  if (c->ssl)
    return tp_tls_offload_ktls(c, why, whylen) == 0;
  if (c->ops != &tp_plain_ops)
    return errbuf_setf(why, whylen, "%s", c->err[0] ? c->err : "the connection is unusable"), false;
  return true;
}

int tp_peek_tls(int fd, int timeout_ms)
{
  int64_t deadline = tp_mono_ms() + timeout_ms;
  for (;;) {
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 1)
      return b == 0x16; /* TLS record type handshake */
    if (r == 0 || (errno != EAGAIN && errno != EINTR))
      return -1;
    int64_t left = deadline - tp_mono_ms();
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR))
      return -1;
  }
}

void tp_conn_describe(const struct tp_conn *c, char *out, size_t len)
{
  if (!c->ssl)
    snprintf(out, len, "plain");
  else
    snprintf(out, len, "%s %s%s", SSL_get_version(c->ssl),
             SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
             c->tls_mode_psk ? " (psk)" : " (x509)");
}

/* Read the 8 bytes that start a reply or a challenge; the first byte alone
 * first, so that an agent that hung up is told from a short read. */
static int read_hdr(struct tp_conn *c, uint8_t hdr[TP_REPLY_HDR], int timeout_ms)
{
  ssize_t r = c->ops->read_some(c, hdr, 1, tp_mono_ms() + timeout_ms);
  if (r == 0)
    return tp_conn_fail(c, "the agent closed the connection without replying to our hello "
                           "(does it expect TLS, or another credential?)");
  if (r < 0 || tp_conn_read_exact(c, hdr + 1, TP_REPLY_HDR - 1, timeout_ms) < 0)
    return -1;
  return 0;
}

static int answer_challenge(struct tp_conn *c, const struct tp_hello *h, const uint8_t *key,
                            const uint8_t hdr[TP_REPLY_HDR], int timeout_ms)
{
  uint8_t b[TP_AUTH_LEN], nonce[TP_NONCE_LEN], mac[TP_MAC_LEN];
  char why[256];
  memcpy(b, hdr, TP_REPLY_HDR);
  if (tp_conn_read_exact(c, b + TP_REPLY_HDR, sizeof b - TP_REPLY_HDR, timeout_ms) < 0)
    return -1;
  if (tp_challenge_parse(b, sizeof b, nonce, why, sizeof why) < 0)
    return tp_conn_fail(c, "%s", why);
  if (!key) {
    c->auth_refused = true;
    return tp_conn_fail(c, "the agent asks us to prove a session, but we have no session "
                           "key (tunnel-insecure-no-auth against an agent with credentials?)");
  }
  if (tp_auth_mac(key, nonce, h, mac) < 0)
    return tp_conn_fail(c, "computing the challenge response failed");
  tp_response_encode(mac, b);
  OPENSSL_cleanse(mac, sizeof mac);
  return tp_conn_write_all(c, b, sizeof b, timeout_ms);
}

int tp_hello_exchange(struct tp_conn *c, const struct tp_hello *h, const uint8_t *key, char *msg,
                      size_t msglen, int timeout_ms)
{
  uint8_t b[TP_HELLO_LEN], hdr[TP_REPLY_HDR];
  char text[TP_REPLY_MAX_MSG + 1], why[256];
  uint8_t st;
  tp_hello_encode(h, b);
  if (tp_conn_write_all(c, b, sizeof b, timeout_ms) < 0 || read_hdr(c, hdr, timeout_ms) < 0)
    return -1;
  bool challenged = tp_is_challenge(hdr, sizeof hdr);
  if (challenged &&
      (answer_challenge(c, h, key, hdr, timeout_ms) < 0 || read_hdr(c, hdr, timeout_ms) < 0))
    return -1;
  int n = tp_reply_parse_hdr(hdr, &st, why, sizeof why);
  if (n < 0)
    return tp_conn_fail(c, "%s", why);
  if (tp_conn_read_exact(c, text, (size_t)n, timeout_ms) < 0)
    return -1;
  text[n] = '\0';
  if (st != TP_ST_OK) {
    c->auth_refused = st == TP_ST_UNKNOWN_SESSION && challenged; /* our proof refused */
    return tp_conn_fail(c, "refused by the agent: %s", text);
  }
  /* An OK without a challenge would let whoever answers skip the proof. */
  if (key && !challenged)
    return tp_conn_fail(c,
                        "the agent accepted the channel without asking for the session "
                        "proof (not a qmig agent of protocol %d?)",
                        TP_HELLO_VERSION);
  if (msg)
    snprintf(msg, msglen, "%s", text);
  return 0;
}

int tp_auth_challenge(struct tp_conn *c, const struct tp_hello *h, const uint8_t key[TP_KEY_LEN],
                      int timeout_ms, char *why, size_t whylen)
{
  uint8_t b[TP_AUTH_LEN], nonce[TP_NONCE_LEN], mac[TP_MAC_LEN];
  if (RAND_bytes(nonce, sizeof nonce) != 1)
    return errbuf_setf(why, whylen, "no random bytes for a challenge");
  tp_challenge_encode(nonce, b);
  if (tp_conn_write_all(c, b, sizeof b, timeout_ms) < 0 ||
      tp_conn_read_exact(c, b, sizeof b, timeout_ms) < 0)
    return errbuf_setf(why, whylen, "no challenge response: %s", c->err);
  if (tp_response_parse(b, sizeof b, mac, why, whylen) < 0)
    return -1;
  if (!tp_auth_verify(key, nonce, h, mac))
    return errbuf_setf(why, whylen,
                       "authentication failed: wrong session proof (the peer "
                       "does not hold this session's key)");
  return 0;
}

int tp_reply_send(struct tp_conn *c, uint8_t status, const char *msg, int timeout_ms)
{
  uint8_t b[TP_REPLY_HDR + TP_REPLY_MAX_MSG];
  size_t n = tp_reply_encode(status, msg, b, sizeof b);
  return tp_conn_write_all(c, b, n, timeout_ms);
}
