/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_scenario.c - libFuzzer target: whatever a scenario file holds,
 * loading, checking and sweeping it must not crash or leak; it is either
 * accepted or refused with a message.
 *
 * The input is the file's text; its first line, when it has the form
 * KEY=v1,v2, is also tried as a --sweep over what the rest defines.
 *
 *   make fuzz-scenario && build/fuzz_scenario -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  struct qmig_bench *b = qmig_bench_new();
  if (b) {
    char *nl = strchr(text, '\n');
    const char *body = nl ? nl + 1 : text;
    if (qmig_bench_load_text(b, body) == 0) {
      if (nl) {
        *nl = '\0';
        if (qmig_bench_sweep(b, text) < 0 && !qmig_bench_error(b)[0])
          abort();
      }
      qmig_bench_check(b);
    } else if (!qmig_bench_error(b)[0]) {
      abort(); /* refused without saying why */
    }
    for (size_t i = 0; i < qmig_bench_count(b); i++)
      if (!qmig_bench_name(b, i))
        abort();
  }
  qmig_bench_free(b);
  free(text);
  return 0;
}
