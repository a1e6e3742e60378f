/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* transport/ private: the connection object shared by conn.c, tls.c and
 * fwd.c.  Nothing outside transport/ includes this. */
#ifndef QMIG_TRANSPORT_CONN_INT_H
#define QMIG_TRANSPORT_CONN_INT_H

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport/transport.h"

struct tp_conn;

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
  SSL *ssl; /* TLS only: bytes in through rbio, out through wbio */
  BIO *rbio, *wbio;
  bool tls_mode_psk;
  bool split_last; /* fwd.c: last byte of each chunk in a record of its own */
  char label[160];
  char err[512];
};

extern const struct tp_ops tp_plain_ops, tp_tls_ops;

/* tls.c: a new SSL for c, client or server per the context. */
int tp_tls_attach(struct tp_conn *c, struct tp_tls *t, const char *peer_host);
/* Why the TLS layer of c failed: OpenSSL's error queue and the verify
 * result, translated into a cause a user can act on, as "WHAT: cause" in
 * out (no label: the caller records it where it belongs). */
void tp_tls_why(const struct tp_conn *c, const char *what, char *out, size_t len);
/* conn.c: set c->err to "LABEL: ..." and return -1. */
int tp_conn_fail(struct tp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
