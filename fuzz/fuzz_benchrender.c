/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_benchrender.c - libFuzzer target: `qmig bench --render FILE`
 * reads the JSON lines of an earlier bench (anyone's file) and writes the
 * summary, CSV and HTML from them.  Whatever the file holds, that must not
 * crash, leak or take unbounded time; a refusal says why.
 *
 * Each input is written to a scratch directory of its own and rendered into
 * it (a few KiB), which is removed afterwards.
 *
 *   make fuzz-benchrender && build-fuzz/fuzz_benchrender -max_total_time=60 fuzz/corpus/benchrender
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scratch files of one input, removed after it: libFuzzer ends with
 * _Exit, so nothing could clean up at exit. */
static const char *const outputs[] = { "out/summary.txt", "out/summary.csv", "out/runs.csv",
                                       "out/report.html", "runs.jsonl" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char dir[PATH_MAX], jsonl[PATH_MAX + 16], out[PATH_MAX + 16], path[PATH_MAX + 32];
  const char *base = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/qmig-fuzz-render.XXXXXX", base ? base : "/tmp");
  if (!mkdtemp(dir))
    abort();
  snprintf(jsonl, sizeof jsonl, "%s/runs.jsonl", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  FILE *f = fopen(jsonl, "we");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    abort();
  struct qmig_bench *b = qmig_bench_new();
  if (b) {
    if (qmig_bench_set(b, "out", out) < 0)
      abort();
    if (qmig_bench_render(b, jsonl) < 0 && !qmig_bench_error(b)[0])
      abort(); /* refused without saying why */
    free(qmig_bench_summary(b));
  }
  qmig_bench_free(b);
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, outputs[i]);
    unlink(path);
  }
  rmdir(out);
  if (rmdir(dir) < 0)
    abort(); /* the render wrote a file this target does not know of */
  return 0;
}
