/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hello.c - the fixed-size hello that opens every tunnel connection, and the
 * agent's reply (wire protocol 2).  Both are parsed strictly: fixed sizes, known version and
 * kind, reserved bytes zero (docs/TUNNEL.md). */
#include <stdio.h>
#include <string.h>

#include "common/errbuf.h"
#include "transport/transport.h"

static const uint8_t hello_magic[4] = { 'Q', 'M', 'T', 'H' };
static const uint8_t reply_magic[4] = { 'Q', 'M', 'T', 'R' };

const char *tp_kind_name(unsigned kind)
{
  static const char *const n[] = { "?", "control", "qmp", "main", "multifd", "nbd" };
  return kind <= TP_K_MAX ? n[kind] : "?";
}

/* Layout: magic[4] version kind index(be16) session[16] reserved[8]. */
void tp_hello_encode(const struct tp_hello *h, uint8_t out[TP_HELLO_LEN])
{
  memset(out, 0, TP_HELLO_LEN);
  memcpy(out, hello_magic, 4);
  out[4] = h->version;
  out[5] = h->kind;
  out[6] = (uint8_t)(h->index >> 8);
  out[7] = (uint8_t)h->index;
  memcpy(out + 8, h->session, TP_SESSION_LEN);
}

int tp_hello_parse(const uint8_t *b, size_t len, struct tp_hello *h, char *err, size_t errlen)
{
  if (len != TP_HELLO_LEN) {
    errbuf_setf(err, errlen, "hello is %zu bytes, not %d", len, TP_HELLO_LEN);
    return -1;
  }
  if (memcmp(b, hello_magic, 4) != 0) {
    errbuf_setf(err, errlen, "not a qmig tunnel hello (bad magic %02x%02x%02x%02x)", b[0], b[1],
                b[2], b[3]);
    return -1;
  }
  if (b[4] != TP_HELLO_VERSION) {
    errbuf_setf(err, errlen, "hello version %u not supported (this agent speaks %d)", b[4],
                TP_HELLO_VERSION);
    return -1;
  }
  unsigned kind = b[5], index = (unsigned)b[6] << 8 | b[7];
  if (kind < TP_K_CONTROL || kind > TP_K_MAX) {
    errbuf_setf(err, errlen, "unknown channel kind %u", kind);
    return -1;
  }
  bool indexed = kind == TP_K_MULTIFD || kind == TP_K_NBD;
  if ((indexed && index > TP_MAX_INDEX) || (!indexed && index != 0)) {
    errbuf_setf(err, errlen, "channel index %u not valid for a %s channel", index,
                tp_kind_name(kind));
    return -1;
  }
  if (kind == TP_K_CONTROL)
    for (int i = 8; i < 8 + TP_SESSION_LEN; i++)
      if (b[i]) {
        errbuf_setf(err, errlen, "a control hello carries no session id (the agent issues it)");
        return -1;
      }
  for (int i = 8 + TP_SESSION_LEN; i < TP_HELLO_LEN; i++)
    if (b[i]) {
      errbuf_setf(err, errlen, "reserved hello byte %d is not zero", i);
      return -1;
    }
  h->version = b[4];
  h->kind = (uint8_t)kind;
  h->index = (uint16_t)index;
  memcpy(h->session, b + 8, TP_SESSION_LEN);
  return 0;
}

/* Layout: magic[4] status reserved msglen(be16) msg[msglen]. */
size_t tp_reply_encode(uint8_t status, const char *msg, uint8_t *out, size_t cap)
{
  size_t n = msg ? strlen(msg) : 0;
  if (n > TP_REPLY_MAX_MSG)
    n = TP_REPLY_MAX_MSG;
  if (cap < TP_REPLY_HDR)
    return 0;
  if (n > cap - TP_REPLY_HDR)
    n = cap - TP_REPLY_HDR;
  memcpy(out, reply_magic, 4);
  out[4] = status;
  out[5] = 0;
  out[6] = (uint8_t)(n >> 8);
  out[7] = (uint8_t)n;
  memcpy(out + TP_REPLY_HDR, msg, n);
  return TP_REPLY_HDR + n;
}

int tp_reply_parse_hdr(const uint8_t h[TP_REPLY_HDR], uint8_t *status, char *err, size_t errlen)
{
  if (memcmp(h, reply_magic, 4) != 0) {
    errbuf_setf(err, errlen, "the peer is not a qmig agent (reply starts %02x%02x%02x%02x)", h[0],
                h[1], h[2], h[3]);
    return -1;
  }
  unsigned n = (unsigned)h[6] << 8 | h[7];
  if (h[4] > TP_ST_BUSY || h[5] != 0 || n > TP_REPLY_MAX_MSG) {
    errbuf_setf(err, errlen, "malformed agent reply (status %u, length %u)", h[4], n);
    return -1;
  }
  *status = h[4];
  return (int)n;
}

/* QEMU's first bytes: main = "QEVM" then version 3; multifd = big-endian
 * magic 0x11223344, version 1, 16-byte UUID, channel id at offset 24. */
int tp_classify(const uint8_t *b, size_t n, unsigned *kind, unsigned *index)
{
  static const uint8_t qevm[8] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };
  static const uint8_t mfd[8] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
  size_t k = n < 8 ? n : 8;
  if (memcmp(b, qevm, k) == 0) {
    if (n < 8)
      return 1;
    *kind = TP_K_MAIN;
    *index = 0;
    return 0;
  }
  if (memcmp(b, mfd, k) == 0) {
    if (n < TP_CLASSIFY_NEED)
      return 1;
    *kind = TP_K_MULTIFD;
    *index = b[24];
    return 0;
  }
  return -1;
}
