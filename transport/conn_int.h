/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* transport/ private: the connection object shared by conn.c, tls.c and
 * fwd.c.  Nothing outside transport/ includes this. */
#ifndef QMIG_TRANSPORT_CONN_INT_H
#define QMIG_TRANSPORT_CONN_INT_H

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport/transport.h"

struct tp_conn;

/* OpenSSL's read buffer: records the forwarder takes per read(). */
#define TP_TLS_READ_BUF (256u << 10)

/* What differs between plain TCP and TLS for the blocking setup I/O
 * (handshake, hello, control messages).  Deadlines are tp_mono_ms() values. */
struct tp_ops {
  const char *name;
  int (*handshake)(struct tp_conn *c, int64_t deadline);
  int (*write_all)(struct tp_conn *c, const void *p, size_t n, int64_t deadline);
  ssize_t (*read_some)(struct tp_conn *c, void *p, size_t n, int64_t deadline);
};

struct tp_conn {
  const struct tp_ops *ops;
  int fd;
  SSL *ssl; /* TLS only, on fd itself (sockbio.c, or kTLS: BIO_s_socket) */
  bool tls_mode_psk;
  bool ktls_wanted; /* SSL_OP_ENABLE_KTLS was set (ktls.c decided it may work) */
  bool split_last;  /* fwd.c: last byte of each chunk in a record of its own */
  char label[160];
  char err[512];
  bool auth_refused; /* the failure recorded in err refused our credential */
};

extern const struct tp_ops tp_plain_ops, tp_tls_ops;

/* tls.c: a new SSL for c, client or server per the context. */
int tp_tls_attach(struct tp_conn *c, struct tp_tls *t, const char *peer_host);
/* Why the TLS layer of c failed: OpenSSL's error queue and the verify
 * result, translated into a cause a user can act on, as "WHAT: cause" in
 * out (no label: the caller records it where it belongs). */
void tp_tls_why(const struct tp_conn *c, const char *what, char *out, size_t len);
/* sockbio.c: a BIO on the non-blocking socket fd (not closed with it);
 * NULL out of memory. */
BIO *tp_sock_bio_new(int fd);
/* Records written to B go into buf[0, cap) instead of the socket, whole
 * records only; a full buffer makes SSL_write want to write.  false: B is
 * not ours (kTLS's BIO_s_socket), it writes to the socket. */
bool tp_sock_bio_stage(BIO *b, uint8_t *buf, size_t cap);
/* Bytes staged in B; and: the first n of them were sent. */
size_t tp_sock_bio_staged(BIO *b);
void tp_sock_bio_sent(BIO *b, size_t n);
/* conn.c: set c->err to "LABEL: ..." and return -1. */
int tp_conn_fail(struct tp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
