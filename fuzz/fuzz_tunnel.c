/* fuzz/fuzz_tunnel.c - libFuzzer target: whatever a peer sends as a tunnel
 * hello or an agent reply header, and whatever a QEMU channel starts with,
 * the parsers must not crash, read out of bounds or accept what they should
 * refuse.  A hello that parses must encode back to the same bytes.
 *
 *   make fuzz-tunnel && build/fuzz_tunnel -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* Copies of exactly the input size, so ASan sees any overread. */
  uint8_t *b = malloc(size ? size : 1);
  if (!b)
    return 0;
  memcpy(b, data, size);
  struct tp_hello h;
  char err[256];
  if (tp_hello_parse(b, size, &h, err, sizeof err) == 0) {
    uint8_t again[TP_HELLO_LEN];
    tp_hello_encode(&h, again);
    if (size != TP_HELLO_LEN || memcmp(again, b, TP_HELLO_LEN) != 0)
      abort(); /* accepted something that is not its own canonical form */
  }
  if (size >= TP_REPLY_HDR) {
    uint8_t st;
    int n = tp_reply_parse_hdr(b, &st, err, sizeof err);
    if (n > TP_REPLY_MAX_MSG || (n >= 0 && st > TP_ST_BUSY))
      abort();
  }
  unsigned kind, index;
  if (tp_classify(b, size, &kind, &index) == 0 &&
      (size < 8 || (kind == TP_K_MULTIFD && (size < TP_CLASSIFY_NEED || index > 255))))
    abort();
  free(b);
  return 0;
}
