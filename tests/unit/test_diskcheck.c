/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_diskcheck: the disk checker against images built in host memory with
 * the guest's own generator (guest/pattern.h), and qmig_verify_disk_image()
 * on files (raw, and qcow2 when qemu-img is installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest/pattern.h"
#include "lab/diskcheck.h"

#define NUNITS 37u

struct image {
  unsigned char *b; /* control unit, then data units, then `tail` zero bytes */
  size_t len;
  uint32_t nunits, seed, dpos;
};

static unsigned char *unit_of(struct image *g, uint32_t i)
{
  return g->b + (size_t)QG_UNIT_SIZE * (1 + (size_t)i);
}

/* Sectors [from, to) of unit i at u := generation gen. */
static void write_unit(unsigned char *u, uint32_t i, uint32_t gen, uint32_t seed, uint32_t from,
                       uint32_t to)
{
  for (uint32_t s = from; s < to; s++)
    qg_fill_sector((uint32_t *)(u + (size_t)s * QG_SECTOR_SIZE), i, gen, s, seed);
}

/* The disk as the guest leaves it after `dpos` unit writes.  If new_sectors
 * >= 0, unit dpos % nunits holds that many sectors of its next generation
 * (8: all of them, the control sector not yet rewritten). */
static void build_tail(struct image *g, uint32_t nunits, uint32_t seed, uint32_t dpos,
                       int new_sectors, size_t tail)
{
  struct qg_dctl c = { QG_DCTL_MAGIC, QG_DCTL_VERSION, nunits, seed, dpos };

  g->nunits = nunits;
  g->seed = seed;
  g->dpos = dpos;
  g->len = (size_t)QG_UNIT_SIZE * (1 + nunits) + tail;
  g->b = calloc(1, g->len);
  assert_non_null(g->b);
  memcpy(g->b, &c, sizeof c);
  for (uint32_t i = 0; i < nunits; i++)
    write_unit(unit_of(g, i), i, qg_expected_gen(dpos, nunits, i), seed, 0, QG_UNIT_SECTORS);
  if (new_sectors >= 0)
    write_unit(unit_of(g, dpos % nunits), dpos % nunits, dpos / nunits + 1, seed, 0,
               (uint32_t)new_sectors);
}

static void build(struct image *g, uint32_t nunits, uint32_t seed, uint32_t dpos, int new_sectors)
{
  build_tail(g, nunits, seed, dpos, new_sectors, 0);
}

static void release(struct image *g)
{
  free(g->b);
}
static int check(struct image *g, struct qmig_diskcheck *r)
{
  return dc_check(g->b, g->len, r);
}
static void flip(struct image *g, size_t off)
{
  g->b[off] ^= 0xA5;
}
static size_t sector_off(uint32_t unit, uint32_t s)
{
  return (size_t)QG_UNIT_SIZE * (1 + unit) + (size_t)s * QG_SECTOR_SIZE;
}

/* During the fill, exact multiples, wrap-arounds, near the end of dpos. */
static const uint32_t positions[] = {
  0, 1, 17, NUNITS - 1, NUNITS, NUNITS + 1, 2 * NUNITS, 5 * NUNITS + 13, 1000003, 0xFFFFFFFFu - 5
};

static void test_good_positions(void **state)
{
  static const uint32_t seeds[] = { 1, 0, 0xFFFFFFFFu, 42 };
  (void)state;

  for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
    for (size_t k = 0; k < sizeof positions / sizeof *positions; k++) {
      struct image g;
      struct qmig_diskcheck r;

      build(&g, NUNITS, seeds[s], positions[k], -1);
      assert_int_equal(check(&g, &r), 0);
      assert_int_equal(r.units_checked, NUNITS);
      assert_int_equal(r.units_bad, 0);
      assert_int_equal(r.dpos, positions[k]);
      assert_int_equal(r.nunits, NUNITS);
      assert_false(r.excused);
      assert_non_null(strstr(r.detail, "match"));
      release(&g);
    }
  }
  /* one data unit; a zero tail past the units is fine */
  struct image g;
  struct qmig_diskcheck r;
  build_tail(&g, 1, 9, 7, -1, 3 * QG_SECTOR_SIZE);
  assert_int_equal(check(&g, &r), 0);
  release(&g);
}

/* The unit being written may hold any prefix of new sectors. */
static void test_partial_accepted(void **state)
{
  (void)state;
  for (size_t k = 0; k < sizeof positions / sizeof *positions; k++) {
    for (int n = 0; n <= (int)QG_UNIT_SECTORS; n++) {
      struct image g;
      struct qmig_diskcheck r;

      build(&g, NUNITS, 3, positions[k], n);
      assert_int_equal(check(&g, &r), 0);
      assert_int_equal(r.excused, n > 0);
      release(&g);
    }
  }
}

/* Flip one byte at `off` of an image at dpos with `new_sectors`; the check
 * must fail with rc `want_rc`, naming data unit `want_unit` if not -1. */
static void flip_caught(uint32_t dpos, int new_sectors, size_t off, int want_rc, int64_t want_unit)
{
  struct image g;
  struct qmig_diskcheck r;
  char name[32];

  build_tail(&g, NUNITS, 77, dpos, new_sectors, QG_SECTOR_SIZE);
  if (off == SIZE_MAX)
    off = g.len - 1;
  flip(&g, off);
  assert_int_equal(check(&g, &r), want_rc);
  if (want_rc == 1) {
    assert_true(r.units_bad >= 1);
    if (want_unit >= 0) {
      assert_int_equal(r.first_bad_unit, (uint64_t)want_unit);
      snprintf(name, sizeof name, "data unit %u ", (unsigned)want_unit);
      assert_non_null(strstr(r.detail, name));
    }
  }
  release(&g);
}

static void test_flips_caught(void **state)
{
  const uint32_t mid = 5 * NUNITS + 13; /* cur = 13: generation 6 below, 5 from it */
  (void)state;

  flip_caught(mid, -1, 0, -1, -1); /* magic: not the guest's disk */
  flip_caught(mid, -1, 4, -1, -1); /* version */
  for (size_t b = 16; b < 20; b++) /* every byte of dpos */
    flip_caught(mid, -1, b, 1, -1);
  flip_caught(mid, -1, 12, 1, -1);                     /* seed */
  flip_caught(mid, -1, sizeof(struct qg_dctl), 1, -1); /* control sector's zeros */
  flip_caught(mid, -1, QG_UNIT_SIZE - 1, 1, -1);       /* control unit's last byte */
  /* every header byte of a few sectors, below, at and above cur */
  static const uint32_t units[] = { 0, 12, 13, 14, NUNITS - 1 };
  for (size_t u = 0; u < sizeof units / sizeof *units; u++)
    for (uint32_t s = 0; s < QG_UNIT_SECTORS; s += 3)
      for (size_t b = 0; b < 4 * QG_SEC_HDR_WORDS; b++)
        flip_caught(mid, -1, sector_off(units[u], s) + b, 1, units[u]);
  /* random bytes of the data */
  srand(12345);
  for (int k = 0; k < 300; k++) {
    size_t off = QG_UNIT_SIZE + (size_t)rand() % (NUNITS * QG_UNIT_SIZE);
    flip_caught(mid, -1, off, 1, (int64_t)(off / QG_UNIT_SIZE - 1));
  }
  /* the first data byte, the last data byte, the last byte of the image */
  flip_caught(mid, -1, QG_UNIT_SIZE, 1, 0);
  flip_caught(mid, -1, QG_UNIT_SIZE * (1 + NUNITS) - 1, 1, NUNITS - 1);
  flip_caught(mid, -1, SIZE_MAX, 1, -1);
  /* during the fill: unwritten units are zero and stay so */
  flip_caught(20, -1, sector_off(30, 5) + 100, 1, 30);
  flip_caught(20, -1, sector_off(19, 0), 1, 19);
}

/* A flip in either part of a partial unit is not excused. */
static void test_flips_in_partial_unit(void **state)
{
  const uint32_t mid = 5 * NUNITS + 13;
  (void)state;

  for (int n = 1; n < (int)QG_UNIT_SECTORS; n++) {
    for (uint32_t s = 0; s < QG_UNIT_SECTORS; s++) {
      flip_caught(mid, n, sector_off(13, s) + 2, 1, 13);   /* header */
      flip_caught(mid, n, sector_off(13, s) + 511, 1, 13); /* last byte */
      flip_caught(20, n, sector_off(20, s) + 200, 1, 20);  /* fill: new vs zero */
    }
  }
}

static void test_stale_newer_misplaced(void **state)
{
  const uint32_t mid = 5 * NUNITS + 13;
  struct image g;
  struct qmig_diskcheck r;
  (void)state;

  /* a unit below cur still holds the previous generation */
  build(&g, NUNITS, 5, mid, -1);
  write_unit(unit_of(&g, 4), 4, 5, 5, 0, QG_UNIT_SECTORS);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_unit, 4);
  assert_int_equal(r.units_bad, 1);
  assert_non_null(strstr(r.detail, "stale"));
  assert_non_null(strstr(r.detail, "generation 5 where generation 6"));
  release(&g);

  /* one stale sector only (the last of the unit) */
  build(&g, NUNITS, 5, mid, -1);
  write_unit(unit_of(&g, 4), 4, 5, 5, 7, 8);
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(
      strstr(r.detail, "sector 7 holds generation 5 where generation 6 was expected (stale)"));
  release(&g);

  /* a unit above cur already new */
  build(&g, NUNITS, 5, mid, -1);
  write_unit(unit_of(&g, 20), 20, 6, 5, 0, QG_UNIT_SECTORS);
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(strstr(r.detail, "newer"));
  release(&g);

  /* unit 3's content written at unit 9; a zeroed unit; then count them all */
  build(&g, NUNITS, 5, mid, -1);
  memcpy(unit_of(&g, 9), unit_of(&g, 3), QG_UNIT_SIZE);
  memset(unit_of(&g, 30), 0, QG_UNIT_SIZE);
  flip(&g, sector_off(35, 2) + 300);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_unit, 9);
  assert_int_equal(r.units_bad, 3);
  assert_non_null(strstr(r.detail, "of unit 3 sector 0 (misplaced)"));
  assert_non_null(strstr(r.detail, "3 bad in total"));
  release(&g);

  /* the control sector lags by two units: unit cur + 1 is new too */
  build(&g, NUNITS, 5, mid, 8);
  write_unit(unit_of(&g, 14), 14, 6, 5, 0, 1);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_unit, 14);
  release(&g);
}

/* New and old sectors interleaved, or old before new, are not a prefix. */
static void test_partial_invalid(void **state)
{
  const uint32_t mid = 5 * NUNITS + 13;
  struct image g;
  struct qmig_diskcheck r;
  (void)state;

  build(&g, NUNITS, 5, mid, 3);
  write_unit(unit_of(&g, 13), 13, 6, 5, 4, 5); /* new 0-2, old 3, new 4 */
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_unit, 13);
  assert_non_null(strstr(r.detail, "being written"));
  release(&g);

  build(&g, NUNITS, 5, mid, -1);
  write_unit(unit_of(&g, 13), 13, 6, 5, 5, 8); /* old 0-4, new 5-7 */
  assert_int_equal(check(&g, &r), 1);
  release(&g);

  build(&g, NUNITS, 5, mid, 2);
  write_unit(unit_of(&g, 13), 13, 7, 5, 2, 3); /* a generation too far */
  assert_int_equal(check(&g, &r), 1);
  release(&g);
}

static void test_malformed(void **state)
{
  struct image g;
  struct qmig_diskcheck r;
  struct qg_dctl *c;
  (void)state;

  assert_int_equal(dc_check(NULL, 0, &r), -1);
  build(&g, NUNITS, 5, 100, -1);
  assert_int_equal(dc_check(g.b, QG_SECTOR_SIZE - 1, &r), -1);
  assert_int_equal(dc_check(g.b, g.len - 1, &r), -1); /* one byte short */
  assert_non_null(strstr(r.detail, "data units"));
  c = (struct qg_dctl *)g.b;
  c->version = 2;
  assert_int_equal(check(&g, &r), -1);
  assert_non_null(strstr(r.detail, "version"));
  c->version = QG_DCTL_VERSION;
  c->nunits = 0;
  assert_int_equal(check(&g, &r), -1);
  c->nunits = 0xFFFFFFFFu;
  assert_int_equal(check(&g, &r), -1);
  c->nunits = NUNITS + 1; /* more than the image holds */
  assert_int_equal(check(&g, &r), -1);
  c->nunits = NUNITS;
  memset(g.b, 0, 4);
  assert_int_equal(check(&g, &r), -1);
  assert_non_null(strstr(r.detail, "magic"));
  release(&g);
}

/* ---- qmig_verify_disk_image on files ---- */

static void write_file(const char *path, const struct image *g)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(g->b, 1, g->len, f), g->len);
  assert_int_equal(fclose(f), 0);
}

static void test_image_files(void **state)
{
  char dir[] = "/tmp/test_diskcheck.XXXXXX", raw[64], qcow2[64], cmd[256], err[512];
  struct image g;
  struct qmig_diskcheck r;
  (void)state;

  assert_non_null(mkdtemp(dir));
  snprintf(raw, sizeof raw, "%s/disk.raw", dir);
  snprintf(qcow2, sizeof qcow2, "%s/disk.qcow2", dir);
  build(&g, NUNITS, 8, 3 * NUNITS + 2, 4);
  write_file(raw, &g);
  assert_int_equal(qmig_verify_disk_image(raw, "raw", &r, err, sizeof err), 0);
  assert_true(r.excused);
  assert_int_equal(qmig_verify_disk_image(raw, NULL, &r, err, sizeof err), -1);
  assert_non_null(strstr(err, "never probes"));
  assert_int_equal(qmig_verify_disk_image(raw, "vmdk", &r, err, sizeof err), -1);
  assert_int_equal(qmig_verify_disk_image("/nonexistent/disk", "raw", &r, err, sizeof err), -1);

  snprintf(cmd, sizeof cmd, "qemu-img convert -f raw -O qcow2 %s %s 2>/dev/null", raw, qcow2);
  if (system(cmd) == 0) {
    assert_int_equal(qmig_verify_disk_image(qcow2, "qcow2", &r, err, sizeof err), 0);
    assert_int_equal(r.dpos, 3 * NUNITS + 2);
    /* a qcow2 read as raw is not the guest's disk */
    assert_int_equal(qmig_verify_disk_image(qcow2, "raw", &r, err, sizeof err), -1);
    /* a raw file said to be qcow2 fails in qemu-img */
    assert_int_equal(qmig_verify_disk_image(raw, "qcow2", &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "qemu-img"));
    unlink(qcow2);
  } else {
    fprintf(stderr, "test_image_files: qemu-img not usable, qcow2 part skipped\n");
  }
  flip(&g, sector_off(7, 3) + 10);
  write_file(raw, &g);
  assert_int_equal(qmig_verify_disk_image(raw, "raw", &r, err, sizeof err), 1);
  assert_int_equal(r.first_bad_unit, 7);
  unlink(raw);
  assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
  release(&g);
}

/* Sectors differ across sectors, generations, units and seeds, and from
 * the RAM pages' streams. */
static void test_pattern_distinct(void **state)
{
  uint32_t a[QG_SECTOR_WORDS], b[QG_SECTOR_WORDS], page[QG_PAGE_WORDS];
  size_t same = 0;
  (void)state;

  qg_fill_sector(a, 1, 1, 0, 1);
  const uint32_t other[][4] = { { 1, 1, 1, 1 }, { 1, 2, 0, 1 }, { 2, 1, 0, 1 }, { 1, 1, 0, 2 } };
  qg_write_page((volatile uint32_t *)page, 1, 1, 1);
  for (size_t k = 0; k < 5; k++) {
    if (k < 4)
      qg_fill_sector(b, other[k][0], other[k][1], other[k][2], other[k][3]);
    for (uint32_t w = QG_SEC_HDR_WORDS; w < QG_SECTOR_WORDS; w++)
      same += a[w] == (k < 4 ? b[w] : page[w]);
  }
  assert_true(same < 4);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good_positions),
    cmocka_unit_test(test_partial_accepted),
    cmocka_unit_test(test_flips_caught),
    cmocka_unit_test(test_flips_in_partial_unit),
    cmocka_unit_test(test_stale_newer_misplaced),
    cmocka_unit_test(test_partial_invalid),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_image_files),
    cmocka_unit_test(test_pattern_distinct),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
