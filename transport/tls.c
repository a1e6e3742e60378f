/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tls.c - TLS 1.3 contexts for the tunnel: mutual x509 (CA, certificate,
 * key; the server's name or address verified) or external PSK (QEMU's
 * keys.psk format).  AES-128-GCM first, full 16 KiB records, no session
 * tickets (nothing resumes; and no post-handshake bytes to flush). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/errbuf.h"
#include "common/files.h"
#include "transport/conn_int.h"

#define CIPHERS "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define MAX_PSK 64

struct tp_tls {
  SSL_CTX *ctx;
  int mode;
  bool server;
  bool ktls; /* ask OpenSSL for kernel TLS (ktls.c said it can work here) */
  char *peer_name;
  /* PSK: the client's one key, or every key of the file (server) */
  struct tp_psk psk[MAX_PSK];
  size_t npsk;
};

static const char *ssl_err(void)
{
  static __thread char b[256];
  unsigned long e = ERR_peek_last_error();
  if (!e)
    return "unknown TLS error";
  ERR_error_string_n(e, b, sizeof b);
  const char *r = ERR_reason_error_string(e);
  return r ? r : b;
}

/* One PSK session for `p`, bound to TLS_AES_128_GCM_SHA256. */
static SSL_SESSION *psk_session(SSL *ssl, const struct tp_psk *p)
{
  static const unsigned char aes128gcm[] = { 0x13, 0x01 };
  const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm);
  SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
  if (s &&
      (!SSL_SESSION_set1_master_key(s, p->key, p->keylen) || !SSL_SESSION_set_cipher(s, cipher) ||
       !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION))) {
    SSL_SESSION_free(s);
    s = NULL;
  }
  return s;
}

static struct tp_tls *ctx_tls(SSL *ssl)
{
  return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

static int psk_use_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                      SSL_SESSION **sess)
{
  struct tp_tls *t = ctx_tls(ssl);
  SSL_SESSION *s = psk_session(ssl, &t->psk[0]);
  if (!s)
    return 0;
  if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
    SSL_SESSION_free(s); /* another hash was negotiated: offer no PSK */
    *sess = NULL;
    return 1;
  }
  *id = (const unsigned char *)t->psk[0].id;
  *idlen = strlen(t->psk[0].id);
  *sess = s;
  return 1;
}

static int psk_find_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
  struct tp_tls *t = ctx_tls(ssl);
  *sess = NULL;
  for (size_t i = 0; i < t->npsk; i++)
    if (strlen(t->psk[i].id) == idlen && memcmp(t->psk[i].id, id, idlen) == 0) {
      *sess = psk_session(ssl, &t->psk[i]);
      return *sess ? 1 : 0;
    }
  return 1; /* unknown identity: no PSK, the handshake fails */
}

/* A file we read a secret from: group/other access refused as ssh does
 * (common/files.c); the one place tls.c checks key files. */
static int secret_ok(const char *file, const char *what, char *err, size_t errlen)
{
  char why[PATH_MAX + 160];
  if (files_check_secret(file, why, sizeof why) == 0)
    return 0;
  errbuf_setf(err, errlen, "%s: %s", what, why);
  return -1;
}

/* keys.psk: "identity:hexkey" lines.  A client keeps only `want`. */
static int load_psk(struct tp_tls *t, const char *file, const char *want, char *err, size_t errlen)
{
  if (secret_ok(file, "PSK file", err, errlen) < 0)
    return -1;
  FILE *f = fopen(file, "re");
  if (!f) {
    errbuf_setf(err, errlen, "PSK file %s: %s", file, strerror(errno));
    return -1;
  }
  /* A keys.psk is a few lines: anything past 64 KiB is not one. */
  enum { PSK_FILE_MAX = 64 << 10 };
  char *text = malloc(PSK_FILE_MAX + 1);
  size_t len = text ? fread(text, 1, PSK_FILE_MAX + 1, f) : 0;
  int rc = -1;
  char why[256];
  if (!text)
    errbuf_setf(err, errlen, "PSK file %s: out of memory", file);
  else if (ferror(f))
    errbuf_setf(err, errlen, "PSK file %s: read error", file);
  else if (len > PSK_FILE_MAX)
    errbuf_setf(err, errlen, "PSK file %s: larger than %d bytes", file, PSK_FILE_MAX);
  else if ((rc = tp_psk_parse(text, len, want, t->psk, MAX_PSK, &t->npsk, why, sizeof why)) < 0)
    errbuf_setf(err, errlen, "PSK file %s %s", file, why);
  fclose(f);
  if (text)
    OPENSSL_cleanse(text, len);
  free(text);
  return rc;
}

static int load_x509(struct tp_tls *t, const char *dir, char *err, size_t errlen)
{
  char ca[4096], cert[4096], key[4096];
  const char *who = t->server ? "server" : "client";
  snprintf(ca, sizeof ca, "%s/ca-cert.pem", dir);
  snprintf(cert, sizeof cert, "%s/%s-cert.pem", dir, who);
  snprintf(key, sizeof key, "%s/%s-key.pem", dir, who);
  if (secret_ok(key, "private key", err, errlen) < 0)
    return -1;
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
    errbuf_setf(err, errlen, "CA certificate %s: %s", ca, ssl_err());
    return -1;
  }
  if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
    errbuf_setf(err, errlen, "certificate %s: %s", cert, ssl_err());
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(t->ctx) != 1) {
    errbuf_setf(err, errlen, "private key %s: %s", key, ssl_err());
    return -1;
  }
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  return 0;
}

struct tp_tls *tp_tls_new(const struct tp_tls_opts *o, char *err, size_t errlen)
{
  if (o->mode == TP_TLS_NONE)
    return NULL;
  struct tp_tls *t = calloc(1, sizeof *t);
  if (!t) {
    errbuf_setf(err, errlen, "out of memory");
    return NULL;
  }
  t->mode = o->mode;
  t->server = o->server;
  t->ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
  if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(t->ctx, CIPHERS)) {
    errbuf_setf(err, errlen, "TLS context: %s", ssl_err());
    goto fail;
  }
  SSL_CTX_set_app_data(t->ctx, t);
  SSL_CTX_set_num_tickets(t->ctx, 0);
  SSL_CTX_set_max_send_fragment(t->ctx, 16384);
  SSL_CTX_clear_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
  /* Room for many records per read() once the forwarder turns read-ahead
   * on (fwd_tls.c); the setup phase reads record by record. */
  SSL_CTX_set_default_read_buffer_len(t->ctx, TP_TLS_READ_BUF);
  char why[200];
  if ((t->ktls = tp_ktls_available(why, sizeof why)))
    SSL_CTX_set_options(t->ctx, SSL_OP_ENABLE_KTLS);
  if (o->peer_name && !(t->peer_name = strdup(o->peer_name))) {
    errbuf_setf(err, errlen, "out of memory");
    goto fail;
  }
  if (o->mode == TP_TLS_X509) {
    if (!o->dir) {
      errbuf_setf(err, errlen, "x509 TLS needs a credentials directory");
      goto fail;
    }
    if (load_x509(t, o->dir, err, errlen) < 0)
      goto fail;
  } else {
    if (!o->psk_file) {
      errbuf_setf(err, errlen, "PSK TLS needs a PSK file");
      goto fail;
    }
    if (load_psk(t, o->psk_file, o->server ? NULL : (o->psk_identity ?: "qemu"), err, errlen) < 0)
      goto fail;
    if (o->server)
      SSL_CTX_set_psk_find_session_callback(t->ctx, psk_find_cb);
    else
      SSL_CTX_set_psk_use_session_callback(t->ctx, psk_use_cb);
  }
  return t;
fail:
  tp_tls_free(t);
  return NULL;
}

void tp_tls_free(struct tp_tls *t)
{
  if (!t)
    return;
  SSL_CTX_free(t->ctx);
  free(t->peer_name);
  OPENSSL_cleanse(t->psk, sizeof t->psk);
  free(t);
}

int tp_tls_attach(struct tp_conn *c, struct tp_tls *t, const char *peer_host)
{
  c->tls_mode_psk = t->mode == TP_TLS_PSK;
  c->ktls_wanted = t->ktls;
  /* OpenSSL reads and writes the socket itself, non-blocking: conn.c waits
   * for readiness with poll(), the forwarder with io_uring. */
  int fl = fcntl(c->fd, F_GETFL);
  if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return tp_conn_fail(c, "TLS: making the socket non-blocking: %s", strerror(errno));
  c->ssl = SSL_new(t->ctx);
  if (!c->ssl)
    return tp_conn_fail(c, "TLS: out of memory");
  /* kTLS only works through OpenSSL's own socket BIO. */
  BIO *b = t->ktls ? BIO_new_socket(c->fd, BIO_NOCLOSE) : tp_sock_bio_new(c->fd);
  if (!b) {
    SSL_free(c->ssl);
    c->ssl = NULL;
    return tp_conn_fail(c, "TLS: out of memory");
  }
  SSL_set_bio(c->ssl, b, b);
  if (t->server) {
    SSL_set_accept_state(c->ssl);
    return 0;
  }
  SSL_set_connect_state(c->ssl);
  const char *name = t->peer_name ? t->peer_name : peer_host;
  if (t->mode == TP_TLS_X509 && name) {
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    unsigned char bin[16];
    bool ip = inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1;
    int ok =
        ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
           : X509_VERIFY_PARAM_set1_host(vp, name, 0) && SSL_set_tlsext_host_name(c->ssl, name);
    if (!ok)
      return tp_conn_fail(c, "TLS: cannot verify against name '%s'", name);
  }
  return 0;
}

int tp_conn_export_key(struct tp_conn *c, const uint8_t session[TP_SESSION_LEN],
                       uint8_t key[TP_KEY_LEN])
{
  static const char label[] = "EXPORTER-qmig-session";
  if (!c->ssl || !SSL_is_init_finished(c->ssl))
    return tp_conn_fail(c, "no session key: the connection is not TLS");
  ERR_clear_error();
  if (SSL_export_keying_material(c->ssl, key, TP_KEY_LEN, label, sizeof label - 1, session,
                                 TP_SESSION_LEN, 1) != 1)
    return tp_conn_fail(c, "TLS key export failed: %s", ssl_err());
  return 0;
}

void tp_tls_why(const struct tp_conn *c, const char *what, char *out, size_t len)
{
  long v = SSL_get_verify_result(c->ssl);
  unsigned long e = ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  char hint[160] = "";
  if (v != X509_V_OK && !c->tls_mode_psk) {
    const char *h = v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH
                        ? "name mismatch: the peer's certificate is not for the name or "
                          "address we expect"
                    : v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                            v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                            v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                        ? "unknown CA: the peer's certificate is not signed by our CA"
                        : "certificate rejected";
    snprintf(hint, sizeof hint, "%s (%s)", h, X509_verify_cert_error_string(v));
  } else if (reason && (strstr(reason, "binder") || strstr(reason, "decrypt"))) {
    snprintf(hint, sizeof hint, "bad PSK: the peers' keys differ");
  } else if (reason && strstr(reason, "unknown ca")) {
    snprintf(hint, sizeof hint, "unknown CA: the peer does not trust our certificate");
  } else if (reason && (strstr(reason, "wrong version") || strstr(reason, "http") ||
                        strstr(reason, "packet length") || strstr(reason, "record layer"))) {
    snprintf(hint, sizeof hint, "plaintext peer: it does not speak TLS");
  } else if (reason && c->tls_mode_psk &&
             (strstr(reason, "no shared cipher") || strstr(reason, "handshake failure") ||
              strstr(reason, "illegal parameter"))) {
    /* The peer's alert is all we learn: its log says which of the two. */
    snprintf(hint, sizeof hint, "bad PSK: the peer rejected our key or identity");
  }
  errbuf_setf(out, len, "%s: %s%s%s", what, hint[0] ? hint : "", hint[0] && reason ? "; " : "",
              reason ? reason : (hint[0] ? "" : "connection closed"));
  ERR_clear_error();
}
