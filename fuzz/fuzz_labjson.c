/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_labjson.c - libFuzzer target: whatever a lab directory's
 * lab.json holds (another user's directory, a truncated write), reading it
 * must not crash; accepted fields are NUL-terminated within their buffers,
 * a refusal says why.
 *
 *   make fuzz-labjson && build-fuzz/fuzz_labjson -max_total_time=60 fuzz/corpus/labjson
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* qmig_lab_info reads the file with json_load_file(path, 0, ...). */
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  struct qmig_lab_info li;
  memset(&li, 0, sizeof li);
  char err[256] = "";
  if (lab_info_from_json(j, &li, err, sizeof err) < 0) {
    if (!err[0])
      abort();
  } else if (!TERMINATED(li.src_qmp) || !TERMINATED(li.dst_qmp) || !TERMINATED(li.accel) ||
             !TERMINATED(li.disk) || !TERMINATED(li.disk_format) || !TERMINATED(li.disk_cache) ||
             !TERMINATED(li.dst_disk_format) || !TERMINATED(li.src_netns) ||
             !TERMINATED(li.src_addr)) {
    abort();
  }
  struct lab_net n;
  lab_net_names("/fuzz/lab", &n);
  lab_net_from_json(j, &n);
  for (int s = 0; s < 2; s++)
    if (!TERMINATED(n.ns[s]) || !TERMINATED(n.veth[s]))
      abort();
  json_decref(j);
  return 0;
}
