/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls.c - kernel TLS for the tunnel's channels: whether it can work here,
 * and whether a connection got it.
 *
 * OpenSSL does the switch itself (SSL_OP_ENABLE_KTLS on a BIO_s_socket:
 * once the TLS 1.3 handshake has made the traffic keys it installs them
 * with setsockopt(TCP_ULP "tls", TLS_TX/TLS_RX)); we only decide whether to
 * ask, and afterwards check what it did.  Asking needs the kernel's tls ULP
 * and an OpenSSL that offloads both directions of TLS 1.3: 3.0 and 3.1 only
 * offload sending (receive came with 3.2, openssl commit 7c78932b), and a
 * socket QEMU is to use must be kernel TLS both ways.  Anything less is
 * "user": the forwarder does the TLS in user space (fwd_tls.c).  A "ktls"
 * socket with nothing pending inside OpenSSL (tp_tls_offload_ktls) is what
 * socket handoff gives to QEMU like a plain one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/errbuf.h"
#include "transport/conn_int.h"

#define ULP_FILE "/proc/sys/net/ipv4/tcp_available_ulp"

bool tp_ktls_possible(const char *ulps, unsigned long ssl_version, char *why, size_t len)
{
#ifdef OPENSSL_NO_KTLS
  (void)ulps;
  (void)ssl_version;
  errbuf_setf(why, len, "OpenSSL was built without kTLS");
  return false;
#else
  bool tls = false;
  if (ulps) {
    char list[256];
    snprintf(list, sizeof list, "%s", ulps);
    for (char *save = NULL, *w = strtok_r(list, " \t\n", &save); w && !tls;
         w = strtok_r(NULL, " \t\n", &save))
      tls = !strcmp(w, "tls");
  }
  if (!tls) {
    char shown[128] = "unreadable";
    if (ulps) { /* the file's one line, without its newline */
      const char *p = ulps + strspn(ulps, " \t\n");
      snprintf(shown, sizeof shown, "%.*s", (int)strcspn(p, "\n"), p);
      if (!shown[0])
        snprintf(shown, sizeof shown, "empty");
    }
    errbuf_setf(why, len, "the kernel has no tls ULP (%s: %s)", ULP_FILE, shown);
    return false;
  }
  if (ssl_version < 0x30200000UL) {
    errbuf_setf(why, len,
                "OpenSSL %lu.%lu offloads only sending for TLS 1.3 (kTLS receive needs 3.2)",
                ssl_version >> 28, (ssl_version >> 20) & 0xff);
    return false;
  }
  why[0] = '\0';
  return true;
#endif
}

bool tp_ktls_available(char *why, size_t len)
{
  char ulps[256] = "";
  FILE *f = fopen(ULP_FILE, "re");
  if (f) {
    if (!fgets(ulps, sizeof ulps, f))
      ulps[0] = '\0';
    fclose(f);
  }
  return tp_ktls_possible(f ? ulps : NULL, OpenSSL_version_num(), why, len);
}

/* What OpenSSL still holds on c that the next user of the fd would miss
 * or trip over: NULL when nothing, else the reason in why. */
static const char *pending(const struct tp_conn *c, char *why, size_t len)
{
  SSL *s = c->ssl;
  /* (A scheduled key update also makes the handshake "not finished".) */
  if (SSL_get_key_update_type(s) != SSL_KEY_UPDATE_NONE)
    return errbuf_setf(why, len, "a TLS key update is scheduled and not sent yet"), why;
  if (!SSL_is_init_finished(s))
    return errbuf_setf(why, len, "the TLS handshake has not finished"), why;
  if (SSL_version(s) != TLS1_3_VERSION)
    return errbuf_setf(why, len, "%s, not TLSv1.3", SSL_get_version(s)), why;
  /* A TLS 1.3 server sends its tickets after the handshake: they would
   * reach the peer's QEMU as records that are not application data.  The
   * contexts ask for none (tls.c); a client cannot see them coming, so the
   * server's check stands for both ends. */
  if (SSL_is_server(s) && SSL_get_num_tickets(s) != 0)
    return errbuf_setf(why, len,
                       "the TLS server side sends %zu session ticket(s) after the "
                       "handshake (num_tickets must be 0)",
                       SSL_get_num_tickets(s)),
           why;
  /* Plaintext or records OpenSSL already took off the socket would be lost
   * to the next reader of the fd. */
  if (SSL_pending(s) > 0)
    return errbuf_setf(why, len, "OpenSSL holds %d received byte(s) not read yet", SSL_pending(s)),
           why;
  if (SSL_has_pending(s) || BIO_pending(SSL_get_rbio(s)) > 0)
    return errbuf_setf(why, len, "OpenSSL holds received TLS records not processed yet"), why;
  BIO *w = SSL_get_wbio(s);
  if (SSL_want_write(s) || BIO_wpending(w) > 0 || tp_sock_bio_staged(w) > 0)
    return errbuf_setf(why, len, "OpenSSL has TLS records not sent yet"), why;
  return NULL;
}

int tp_tls_offload_ktls(const struct tp_conn *c, char *why, size_t len)
{
  if (!c->ssl)
    return errbuf_setf(why, len, "not a TLS connection");
  /* Pending state first: it is what could corrupt a handed-off stream even
   * where the kernel has kTLS. */
  if (pending(c, why, len))
    return -1;
  if (!c->ktls_wanted) {
    if (tp_ktls_available(why, len))
      errbuf_setf(why, len, "kTLS was not requested for this connection");
    return -1;
  }
#ifdef OPENSSL_NO_KTLS
  return errbuf_setf(why, len, "OpenSSL was built without kTLS");
#else
  bool tx = BIO_get_ktls_send(SSL_get_wbio(c->ssl)), rx = BIO_get_ktls_recv(SSL_get_rbio(c->ssl));
  if (!tx || !rx)
    return errbuf_setf(why, len, "OpenSSL did not switch the socket to kernel TLS for %s",
                       !tx && !rx ? "either direction"
                       : !tx      ? "sending"
                                  : "receiving");
  why[0] = '\0';
  return 0;
#endif
}
