/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_qmpreply.c - libFuzzer target: whatever a (buggy, hostile or
 * future) QEMU answers to query-migrate, the engine's reading of it must not
 * crash or hit undefined behaviour (a huge or negative real converted to an
 * integer); the page size it uses is never 0.  fuzz_qmp covers the framing
 * before it.
 *
 *   make fuzz-qmpreply && build-fuzz/fuzz_qmpreply -max_total_time=60 fuzz/corpus/qmpreply
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_t *r = json_loadb((const char *)data, size, 0, NULL);
  struct eng_stats st;
  eng_stats_parse(r, &st);
  if (st.page_size == 0 || strnlen(st.status, sizeof st.status) == sizeof st.status ||
      strnlen(st.error_desc, sizeof st.error_desc) == sizeof st.error_desc)
    abort();
  json_decref(r);
  return 0;
}
