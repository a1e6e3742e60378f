/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_psk.c - libFuzzer target: whatever a keys.psk file holds, the
 * parser must not crash or read out of bounds; a key it keeps is 16..64
 * bytes under a non-empty identity (the one asked for, if any), and a
 * refusal says why.
 *
 *   make fuzz-psk && build-fuzz/fuzz_psk -max_total_time=60 fuzz/corpus/psk
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const char *text, size_t size, const char *want)
{
  struct tp_psk keys[4];
  size_t n = 99;
  char err[256] = "";
  if (tp_psk_parse(text, size, want, keys, 4, &n, err, sizeof err) < 0) {
    if (!err[0])
      abort(); /* refused without saying why */
    return;
  }
  if (n == 0 || n > 4)
    abort();
  for (size_t i = 0; i < n; i++) {
    size_t idlen = strnlen(keys[i].id, sizeof keys[i].id);
    if (idlen == 0 || idlen == sizeof keys[i].id || strchr(keys[i].id, ':') ||
        keys[i].keylen < TP_PSK_KEY_MIN || keys[i].keylen > TP_PSK_KEY_MAX ||
        (want && strcmp(keys[i].id, want)))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* A copy of exactly the input size (no NUL): ASan sees any overread. */
  char *text = malloc(size ? size : 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  parse(text, size, NULL);   /* the agent: every key */
  parse(text, size, "qemu"); /* a client: its identity's */
  free(text);
  return 0;
}
