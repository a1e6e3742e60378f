/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client.c - the client side of the tunnel's wire protocol 2, for the
 * engine (engine/tunnel.c) and for tests that speak to a real agent: open
 * one tunnel connection (TCP, TLS, hello, the session proof, the reply), and
 * open a session (a control connection, the session the agent issued, the
 * key exported from the control's TLS). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/errbuf.h"
#include "transport/transport.h"

/* tp_channel_open, and in *auth_refused whether a failure was a credential
 * refused (tp_conn_auth_refused). */
static struct tp_conn *channel_open(const char *hostport, struct tp_tls *tls, const char *label,
                                    const struct tp_hello *h, const uint8_t *key, char *msg,
                                    size_t msglen, int timeout_ms, char *err, size_t errlen,
                                    bool *auth_refused)
{
  *auth_refused = false;
  char host[256], port[16], why[400];
  if (tp_split_hostport(hostport, host, sizeof host, port, sizeof port) < 0) {
    errbuf_setf(err, errlen, "%s: not HOST:PORT", label);
    return NULL;
  }
  int fd = tp_tcp_connect(hostport, timeout_ms, why, sizeof why);
  if (fd < 0) {
    errbuf_setf(err, errlen, "%s: %s", label, why);
    return NULL;
  }
  struct tp_conn *c = tp_conn_new(fd, tls, host, label);
  if (!c || tp_conn_handshake(c, timeout_ms) < 0 ||
      tp_hello_exchange(c, h, key, msg, msglen, timeout_ms) < 0) {
    errbuf_setf(err, errlen, "%s", c ? tp_conn_error(c) : "out of memory");
    *auth_refused = c && tp_conn_auth_refused(c);
    tp_conn_free(c);
    return NULL;
  }
  return c;
}

struct tp_conn *tp_channel_open(const char *hostport, struct tp_tls *tls, const char *label,
                                const struct tp_hello *h, const uint8_t *key, char *msg,
                                size_t msglen, int timeout_ms, char *err, size_t errlen)
{
  bool auth;
  return channel_open(hostport, tls, label, h, key, msg, msglen, timeout_ms, err, errlen, &auth);
}

struct tp_conn *tp_session_open(const char *hostport, struct tp_tls *tls, const char *label,
                                struct tp_session_info *si, uint8_t key[TP_KEY_LEN], int timeout_ms,
                                char *err, size_t errlen)
{
  char msg[TP_REPLY_MAX_MSG + 1], why[256];
  struct tp_hello h = { .version = TP_HELLO_VERSION, .kind = TP_K_CONTROL };
  bool auth;
  struct tp_conn *c =
      channel_open(hostport, tls, label, &h, NULL, msg, sizeof msg, timeout_ms, err, errlen, &auth);
  si->auth_refused = auth;
  if (!c)
    return NULL;
  if (tp_session_parse(msg, strlen(msg), si, why, sizeof why) < 0) {
    errbuf_setf(err, errlen, "%s: %s (reply '%.200s')", label, why, msg);
    tp_conn_free(c);
    return NULL;
  }
  if (tls && tp_conn_export_key(c, si->session, key) < 0) {
    errbuf_setf(err, errlen, "%s", tp_conn_error(c));
    OPENSSL_cleanse(key, TP_KEY_LEN);
    tp_conn_free(c);
    return NULL;
  }
  return c;
}
