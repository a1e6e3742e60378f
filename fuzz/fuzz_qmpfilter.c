/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the agent's QMP allow-list: any bytes, parsed as
 * the relay parses a command (one JSON object, duplicates rejected), then
 * decided with a session's rules.  run: make fuzz-qmpfilter; build-fuzz/fuzz_qmpfilter -max_total_time=60 CORPUS_DIR fuzz/corpus/qmpfilter
 * (a corpus dir of its own first: libFuzzer writes into the first dir). */
#include <stddef.h>
#include <stdint.h>

#include "agent/qmpfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct agt_qmp_rules r = { "unix:/run/q/incoming-0.sock", "/run/q/nbd-0.sock",
                                          "/etc/qmig/pki" };
  json_error_t je;
  json_t *j =
      json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
  char why[300];
  if (j) {
    agt_qmp_check(j, &r, why, sizeof why);
    (void)agt_qmp_name(j);
  }
  json_decref(j);
  return 0;
}
