/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_tunnel.c - libFuzzer target: whatever a peer sends as a tunnel
 * hello, an agent reply header, a challenge or its response, a control line,
 * a clock answer or a session reply, and whatever a QEMU channel starts
 * with, the parsers must not crash, read out of bounds or accept what they
 * should refuse.  What parses must encode back to the same bytes (hello,
 * challenge, response) or carry fields within their bounds.
 *
 *   make fuzz-tunnel && build-fuzz/fuzz_tunnel -max_total_time=60 fuzz/corpus/tunnel
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void auth_messages(const uint8_t *b, size_t size)
{
  uint8_t p[32], again[TP_AUTH_LEN];
  char err[256];
  if (tp_challenge_parse(b, size, p, err, sizeof err) == 0) {
    tp_challenge_encode(p, again);
    if (size != TP_AUTH_LEN || memcmp(again, b, TP_AUTH_LEN) != 0 || !tp_is_challenge(b, size))
      abort();
  }
  if (tp_response_parse(b, size, p, err, sizeof err) == 0) {
    tp_response_encode(p, again);
    if (size != TP_AUTH_LEN || memcmp(again, b, TP_AUTH_LEN) != 0)
      abort();
  }
}

static void control_text(const uint8_t *b, size_t size)
{
  char err[256];
  struct tp_control_msg m;
  if (tp_control_parse((const char *)b, size, &m, err, sizeof err) == 0 && m.op != TP_CTL_CLOCK &&
      m.op != TP_CTL_HANDOFF)
    abort();
  int64_t t[3];
  tp_clock_reply_parse((const char *)b, size, t, err, sizeof err);
  struct tp_handoff_reply hr;
  if (tp_handoff_reply_parse((const char *)b, size, &hr, err, sizeof err) == 0 &&
      (strlen(hr.why) >= sizeof hr.why || strlen(hr.offload_why) >= sizeof hr.offload_why ||
       (hr.offload != TP_OFFLOAD_USER && hr.offload_why[0])))
    abort();
  struct tp_session_info s;
  if (tp_session_parse((const char *)b, size, &s, err, sizeof err) == 0 &&
      (strncmp(s.incoming, "unix:", 5) != 0 || strncmp(s.nbd, "unix:", 5) != 0 ||
       strlen(s.incoming) >= sizeof s.incoming || strlen(s.auth) >= sizeof s.auth))
    abort();
}

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
  auth_messages(b, size);
  control_text(b, size);
  unsigned kind, index;
  if (tp_classify(b, size, &kind, &index) == 0 &&
      (size < 8 || (kind == TP_K_MULTIFD && (size < TP_CLASSIFY_NEED || index > 255))))
    abort();
  free(b);
  return 0;
}
