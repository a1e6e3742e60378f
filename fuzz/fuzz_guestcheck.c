/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz/fuzz_guestcheck.c - libFuzzer target: the checkers behind
 * qmig_verify_memory() and qmig_verify_disk_image() read what a guest
 * wrote (a memory dump, a disk image), so whatever those bytes are they
 * must not crash, read out of bounds or loop; a valid region must pass and
 * every verdict must come with its detail.
 *
 * Byte 0 chooses: bit 0 memory (0) or disk (1); bit 1 raw (the rest of the
 * input is the region) or built.  Built: bytes 1..12 give the geometry
 * (1..4 data pages or units, seed, pos, how much of the current one is
 * already new, extra tail bytes) of a region written exactly as the guest
 * does (guest/pattern.h); the rest are (offset hi, offset lo, xor) triples
 * applied to it.  Without triples the region must pass.
 *
 *   make fuzz-guestcheck && build-fuzz/fuzz_guestcheck -max_total_time=60 fuzz/corpus/guestcheck
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/pattern.h"
#include "lab/diskcheck.h"
#include "lab/memcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 13

static uint32_t le32(const uint8_t *b)
{
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Memory: control page, then n data pages after `pos` page writes, page
 * pos % n holding its first `part` words of the next generation. */
static uint8_t *build_mem(const uint8_t *h, size_t *len)
{
  uint32_t n = 1 + h[0] % 4, seed = le32(h + 1), pos = le32(h + 5);
  uint32_t part = (uint32_t)(h[9] | h[10] << 8) % (QG_PAGE_WORDS + 1);
  size_t tail = h[11] % 3 * 512u;
  *len = (size_t)QG_PAGE_SIZE * (1 + n) + tail;
  uint8_t *b = calloc(1, *len);
  if (!b)
    return NULL;
  struct qg_ctl c = { .magic = QG_CTL_MAGIC,
                      .version = QG_CTL_VERSION,
                      .npages = n,
                      .seed = seed,
                      .pos = pos,
                      .ready = pos > n   ? 1
                               : pos < n ? 0
                                         : h[9] & 1 };
  memcpy(b, &c, sizeof c);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t *p = (uint32_t *)(b + (size_t)QG_PAGE_SIZE * (1 + i));
    uint32_t gen = qg_expected_gen(pos, n, i);
    if (gen)
      qg_write_page(p, i, gen, seed);
    if (i == pos % n && part) {
      uint32_t next[QG_PAGE_WORDS];
      qg_write_page(next, i, pos / n + 1, seed);
      memcpy(p, next, part * sizeof next[0]);
    }
  }
  return b;
}

/* Disk: control unit, then n data units after `dpos` unit writes, unit
 * dpos % n holding its first `part` sectors of the next generation. */
static uint8_t *build_disk(const uint8_t *h, size_t *len)
{
  uint32_t n = 1 + h[0] % 4, seed = le32(h + 1), dpos = le32(h + 5);
  uint32_t part = h[9] % (QG_UNIT_SECTORS + 1);
  size_t tail = h[11] % 3 * 512u;
  *len = (size_t)QG_UNIT_SIZE * (1 + n) + tail;
  uint8_t *b = calloc(1, *len);
  if (!b)
    return NULL;
  struct qg_dctl c = { QG_DCTL_MAGIC, QG_DCTL_VERSION, n, seed, dpos };
  memcpy(b, &c, sizeof c);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t gen = qg_expected_gen(dpos, n, i);
    uint32_t from = i == dpos % n ? part : 0;
    for (uint32_t s = 0; s < QG_UNIT_SECTORS; s++)
      qg_fill_sector((uint32_t *)(b + (size_t)QG_UNIT_SIZE * (1 + i) + s * QG_SECTOR_SIZE), i,
                     s < from ? dpos / n + 1 : gen, s, seed);
  }
  return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  bool disk = data[0] & 1, raw = data[0] & 2;
  uint8_t *b;
  size_t len;
  bool pristine = false;
  if (raw || size < HDR) {
    len = size - 1;
    b = malloc(len ? len : 1); /* exactly the input: ASan sees overreads */
    if (!b)
      return 0;
    memcpy(b, data + 1, len);
  } else {
    b = disk ? build_disk(data + 1, &len) : build_mem(data + 1, &len);
    if (!b)
      return 0;
    /* Pristine: what the guest can leave behind.  Not a generation that
     * wrapped to 0 ("never written"): 2^32 writes of one page, which no lab
     * guest (npages >= 256) reaches before pos itself wraps (FUZZING.md). */
    uint32_t n = 1 + data[1] % 4, pos = le32(data + 6);
    pristine = pos / n + 1 != 0;
    for (size_t k = HDR; k + 3 <= size; k += 3) {
      size_t off = ((size_t)data[k] << 8 | data[k + 1]) % len;
      b[off] ^= data[k + 2];
      pristine &= data[k + 2] == 0;
    }
  }
  int rc;
  const char *detail;
  struct qmig_diskcheck dr;
  struct qmig_memcheck mr;
  if (disk) {
    rc = dc_check(b, len, &dr);
    detail = dr.detail;
    if ((rc == 0 && dr.units_bad) || (rc == 1 && !dr.units_bad))
      abort();
  } else {
    rc = mc_check(b, len, &mr);
    detail = mr.detail;
    if ((rc == 0 && mr.pages_bad) || (rc == 1 && !mr.pages_bad))
      abort();
  }
  if (rc < -1 || rc > 1 || !detail[0] || strnlen(detail, 512) == 512 || (pristine && rc != 0))
    abort();
  free(b);
  return 0;
}
