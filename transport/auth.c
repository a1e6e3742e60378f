/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auth.c - how a data connection proves it belongs to a session (wire
 * protocol 2, docs/TUNNEL.md): the agent's challenge (a fresh random nonce)
 * and the engine's response, HMAC-SHA256 under the session key over a
 * fixed label, the nonce, the channel's kind and index and the session id.
 * The session key is never sent: both sides export it from the control
 * connection's TLS 1.3 handshake (tp_conn_export_key).  Pure functions:
 * parsing is strict (fixed size, magic, version, reserved bytes zero). */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/errbuf.h"
#include "transport/transport.h"

static const uint8_t challenge_magic[4] = { 'Q', 'M', 'T', 'C' };
static const uint8_t response_magic[4] = { 'Q', 'M', 'T', 'A' };
static const char mac_label[] = "qmig-chan-v2";

/* Layout of both: magic[4] version reserved[3] payload[32]. */
static void encode(const uint8_t magic[4], const uint8_t p[32], uint8_t out[TP_AUTH_LEN])
{
  memset(out, 0, TP_AUTH_LEN);
  memcpy(out, magic, 4);
  out[4] = TP_HELLO_VERSION;
  memcpy(out + 8, p, 32);
}

static int parse(const uint8_t magic[4], const char *what, const uint8_t *b, size_t len,
                 uint8_t p[32], char *err, size_t errlen)
{
  if (len != TP_AUTH_LEN) {
    errbuf_setf(err, errlen, "%s is %zu bytes, not %d", what, len, TP_AUTH_LEN);
    return -1;
  }
  if (memcmp(b, magic, 4) != 0) {
    errbuf_setf(err, errlen, "not a qmig %s (bad magic %02x%02x%02x%02x)", what, b[0], b[1], b[2],
                b[3]);
    return -1;
  }
  if (b[4] != TP_HELLO_VERSION) {
    errbuf_setf(err, errlen, "%s version %u not supported (this side speaks %d)", what, b[4],
                TP_HELLO_VERSION);
    return -1;
  }
  if (b[5] || b[6] || b[7]) {
    errbuf_setf(err, errlen, "reserved %s bytes are not zero", what);
    return -1;
  }
  memcpy(p, b + 8, 32);
  return 0;
}

void tp_challenge_encode(const uint8_t nonce[TP_NONCE_LEN], uint8_t out[TP_AUTH_LEN])
{
  encode(challenge_magic, nonce, out);
}

int tp_challenge_parse(const uint8_t *b, size_t len, uint8_t nonce[TP_NONCE_LEN], char *err,
                       size_t errlen)
{
  return parse(challenge_magic, "challenge", b, len, nonce, err, errlen);
}

void tp_response_encode(const uint8_t mac[TP_MAC_LEN], uint8_t out[TP_AUTH_LEN])
{
  encode(response_magic, mac, out);
}

int tp_response_parse(const uint8_t *b, size_t len, uint8_t mac[TP_MAC_LEN], char *err,
                      size_t errlen)
{
  return parse(response_magic, "challenge response", b, len, mac, err, errlen);
}

bool tp_is_challenge(const uint8_t *b, size_t len)
{
  return len >= 4 && memcmp(b, challenge_magic, 4) == 0;
}

/* HMAC-SHA256(key, "qmig-chan-v2" || nonce || kind || index(be16) || session). */
int tp_auth_mac(const uint8_t key[TP_KEY_LEN], const uint8_t nonce[TP_NONCE_LEN],
                const struct tp_hello *h, uint8_t mac[TP_MAC_LEN])
{
  uint8_t msg[sizeof mac_label - 1 + TP_NONCE_LEN + 3 + TP_SESSION_LEN], *p = msg;
  memcpy(p, mac_label, sizeof mac_label - 1);
  p += sizeof mac_label - 1;
  memcpy(p, nonce, TP_NONCE_LEN);
  p += TP_NONCE_LEN;
  *p++ = h->kind;
  *p++ = (uint8_t)(h->index >> 8);
  *p++ = (uint8_t)h->index;
  memcpy(p, h->session, TP_SESSION_LEN);
  unsigned len = 0;
  if (!HMAC(EVP_sha256(), key, TP_KEY_LEN, msg, sizeof msg, mac, &len) || len != TP_MAC_LEN)
    return -1;
  return 0;
}

bool tp_auth_verify(const uint8_t key[TP_KEY_LEN], const uint8_t nonce[TP_NONCE_LEN],
                    const struct tp_hello *h, const uint8_t mac[TP_MAC_LEN])
{
  uint8_t want[TP_MAC_LEN];
  bool ok = tp_auth_mac(key, nonce, h, want) == 0 && CRYPTO_memcmp(want, mac, TP_MAC_LEN) == 0;
  OPENSSL_cleanse(want, sizeof want);
  return ok;
}
