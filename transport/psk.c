/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* psk.c - QEMU's keys.psk format ("identity:hexkey" lines), parsed from
 * text in memory so that the parser alone can be fuzzed (fuzz/fuzz_psk.c);
 * tls.c reads the file. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "common/errbuf.h"
#include "transport/transport.h"

/* Longest line kept: an identity (< 128) and a 64-byte key written with
 * ':' between the bytes (191) fit with room to spare. */
#define PSK_LINE_MAX 511

int tp_psk_parse(const char *text, size_t len, const char *want, struct tp_psk *out, size_t max,
                 size_t *n, char *err, size_t errlen)
{
  char line[PSK_LINE_MAX + 1];
  unsigned ln = 0;
  int rc = 0;
  *n = 0;
  for (size_t at = 0; rc == 0 && at < len;) {
    const char *p = text + at, *nl = memchr(p, '\n', len - at);
    size_t ll = nl ? (size_t)(nl - p) : len - at;
    at += ll + (nl ? 1 : 0);
    ln++;
    if (ll > PSK_LINE_MAX) {
      errbuf_setf(err, errlen, "line %u: longer than %d characters", ln, PSK_LINE_MAX);
      rc = -1;
      break;
    }
    if (memchr(p, '\0', ll)) {
      errbuf_setf(err, errlen, "line %u: holds a NUL byte (not a text file?)", ln);
      rc = -1;
      break;
    }
    memcpy(line, p, ll);
    line[ll] = '\0';
    line[strcspn(line, "\r")] = '\0';
    if (!line[0] || line[0] == '#')
      continue;
    char *colon = strchr(line, ':');
    size_t idlen = colon ? (size_t)(colon - line) : 0;
    long klen = 0;
    unsigned char *key = colon ? OPENSSL_hexstr2buf(colon + 1, &klen) : NULL;
    if (!colon || idlen == 0 || idlen >= sizeof out->id || !key || klen < TP_PSK_KEY_MIN ||
        klen > TP_PSK_KEY_MAX) {
      errbuf_setf(err, errlen, "line %u: not IDENTITY:HEXKEY (%d to %d bytes)", ln, TP_PSK_KEY_MIN,
                  TP_PSK_KEY_MAX);
      rc = -1;
    } else if ((!want || (strlen(want) == idlen && !memcmp(line, want, idlen))) && *n < max) {
      struct tp_psk *k = &out[(*n)++];
      memcpy(k->id, line, idlen);
      k->id[idlen] = '\0';
      memcpy(k->key, key, (size_t)klen);
      k->keylen = (size_t)klen;
    }
    if (key)
      OPENSSL_clear_free(key, klen > 0 ? (size_t)klen : 0);
  }
  OPENSSL_cleanse(line, sizeof line);
  if (rc == 0 && *n == 0) {
    errbuf_setf(err, errlen, "has no key%s%s", want ? " for identity " : "", want ? want : "");
    rc = -1;
  }
  return rc;
}
