/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_memcheck: the page checker against regions built in host memory with
 * the guest's own generator (guest/pattern.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/pattern.h"
#include "lab/memcheck.h"

#define NPAGES 64u

struct region {
  uint32_t *w; /* control page, then data pages */
  size_t len;
  uint32_t npages, seed, pos;
};

static uint32_t *page_of(struct region *g, uint32_t i)
{
  return g->w + (size_t)QG_PAGE_WORDS * (1 + (size_t)i);
}

static struct qg_ctl *ctl_of(struct region *g)
{
  return (struct qg_ctl *)g->w;
}

static void write_gen(uint32_t *p, uint32_t i, uint32_t gen, uint32_t seed)
{
  if (gen == 0)
    memset(p, 0, QG_PAGE_SIZE);
  else
    qg_write_page((volatile uint32_t *)p, i, gen, seed);
}

/* A region as the guest leaves it after `pos` page writes.  If partial >= 0
 * the page being written (pos % npages) holds its first `partial` words of
 * the next generation, as if stopped mid-page. */
static void build(struct region *g, uint32_t npages, uint32_t seed, uint32_t pos, int partial)
{
  struct qg_ctl *c;
  uint32_t i;

  g->npages = npages;
  g->seed = seed;
  g->pos = pos;
  g->len = (size_t)QG_PAGE_SIZE * (1 + npages);
  g->w = calloc(1, g->len);
  assert_non_null(g->w);
  c = ctl_of(g);
  c->magic = QG_CTL_MAGIC;
  c->version = QG_CTL_VERSION;
  c->npages = npages;
  c->seed = seed;
  c->pos = pos;
  c->ticks = 12345;
  c->hb_seq = 678;
  c->dirty_mibps = 50;
  c->hb_ms = 2;
  c->ready = pos >= npages;
  for (i = 0; i < npages; i++)
    write_gen(page_of(g, i), i, qg_expected_gen(pos, npages, i), seed);
  if (partial >= 0) {
    uint32_t cur = pos % npages, next[QG_PAGE_WORDS];

    write_gen(next, cur, pos / npages + 1, seed);
    memcpy(page_of(g, cur), next, (size_t)partial * 4);
  }
}

static void release(struct region *g)
{
  free(g->w);
  g->w = NULL;
}

static int check(struct region *g, struct qmig_memcheck *r)
{
  return mc_check(g->w, g->len, r);
}

static void flip(struct region *g, size_t off)
{
  ((unsigned char *)g->w)[off] ^= 0xA5; /* never a +-1 change of a word */
}

/* ---- good regions ---- */

static void test_good_positions(void **state)
{
  static const uint32_t seeds[] = { 1, 0, 0xFFFFFFFFu, 42 };
  const uint32_t positions[] = { 0,
                                 1,
                                 17,
                                 NPAGES - 1,
                                 NPAGES, /* fill just done */
                                 NPAGES + 1,
                                 2 * NPAGES, /* exact multiple */
                                 5 * NPAGES + 31,
                                 1000003, /* many wrap-arounds */
                                 0xFFFFFFFFu - 5 };
  size_t s, k;
  (void)state;

  for (s = 0; s < sizeof seeds / sizeof *seeds; s++) {
    for (k = 0; k < sizeof positions / sizeof *positions; k++) {
      struct region g;
      struct qmig_memcheck r;

      build(&g, NPAGES, seeds[s], positions[k], -1);
      assert_int_equal(check(&g, &r), 0);
      assert_int_equal(r.pages_checked, NPAGES);
      assert_int_equal(r.pages_bad, 0);
      assert_int_equal(r.pos, positions[k]);
      assert_int_equal(r.npages, NPAGES);
      assert_false(r.excused);
      assert_non_null(strstr(r.detail, "match"));
      release(&g);
    }
  }
}

static void test_single_page_region(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  (void)state;

  build(&g, 1, 9, 7, -1);
  assert_int_equal(check(&g, &r), 0);
  release(&g);
  build(&g, 1, 9, 7, 300);
  assert_int_equal(check(&g, &r), 0);
  assert_true(r.excused);
  release(&g);
}

/* A stop mid-page is fine, whatever the split, during the first fill (old
 * generation = zeros) and later. */
static void test_partial_accepted(void **state)
{
  const uint32_t positions[] = { 0, 17, NPAGES - 1, 2 * NPAGES, 3 * NPAGES + 40 };
  const int splits[] = { 0, 1, 2, 3, 4, 5, 100, 1023, 1024 };
  size_t a, b;
  (void)state;

  for (a = 0; a < sizeof positions / sizeof *positions; a++) {
    for (b = 0; b < sizeof splits / sizeof *splits; b++) {
      struct region g;
      struct qmig_memcheck r;

      build(&g, NPAGES, 3, positions[a], splits[b]);
      assert_int_equal(check(&g, &r), 0);
      assert_int_equal(r.pages_bad, 0);
      if (splits[b] >= 5) /* beyond the header both generations differ */
        assert_true(r.excused);
      if (splits[b] == 0)
        assert_false(r.excused);
      release(&g);
    }
  }
}

/* ---- single-byte corruption ---- */

static void expect_caught(struct region *g, size_t off, int want)
{
  struct qmig_memcheck r;
  int rc;

  flip(g, off);
  rc = check(g, &r);
  if (rc != want)
    fail_msg("flip at byte %zu (pos=%u, page %zd, offset %zu): rc %d, want %d: %s", off, g->pos,
             (ssize_t)(off / QG_PAGE_SIZE) - 1, off % QG_PAGE_SIZE, rc, want, r.detail);
  if (want == 1 && off >= QG_PAGE_SIZE) {
    assert_int_equal(r.first_bad_page, off / QG_PAGE_SIZE - 1);
    assert_int_equal(r.pages_bad, 1);
  }
  assert_true(r.detail[0] != '\0');
  flip(g, off);
}

static void flips_in(struct region *g)
{
  const size_t pos_off = offsetof(struct qg_ctl, pos);
  const size_t seed_off = offsetof(struct qg_ctl, seed);
  const size_t ready_off = offsetof(struct qg_ctl, ready);
  const uint32_t cur = g->pos % g->npages;
  const uint32_t pages[] = { 0, 1, cur ? cur - 1 : 0, cur, g->npages - 1 };
  struct qmig_memcheck r;
  size_t k, off;

  assert_int_equal(check(g, &r), 0);
  /* control page: progress, seed, ready are checked; magic/version make the
   * region unrecognisable */
  for (k = 0; k < 4; k++) {
    expect_caught(g, pos_off + k, 1);
    expect_caught(g, seed_off + k, 1);
    expect_caught(g, ready_off + k, 1);
    expect_caught(g, offsetof(struct qg_ctl, magic) + k, -1);
    expect_caught(g, offsetof(struct qg_ctl, version) + k, -1);
  }
  /* first and last byte of the region, every byte of the header words and
   * the first/last bytes of the random part of chosen pages */
  expect_caught(g, QG_PAGE_SIZE, 1);
  expect_caught(g, g->len - 1, 1);
  for (k = 0; k < sizeof pages / sizeof *pages; k++) {
    size_t base = (size_t)QG_PAGE_SIZE * (1 + pages[k]);

    for (off = 0; off < 4 * QG_HDR_WORDS + 4; off++)
      expect_caught(g, base + off, 1);
    expect_caught(g, base + 2047, 1);
    expect_caught(g, base + QG_PAGE_SIZE - 4, 1);
    expect_caught(g, base + QG_PAGE_SIZE - 1, 1);
  }
  /* and a sweep over the whole data area */
  for (off = QG_PAGE_SIZE; off < g->len; off += 127)
    expect_caught(g, off, 1);
}

static void test_flips_caught(void **state)
{
  /* during the first fill, exactly at a wrap, after wraps */
  const uint32_t positions[] = { 20, NPAGES, 3 * NPAGES + 20 };
  size_t k;
  (void)state;

  for (k = 0; k < sizeof positions / sizeof *positions; k++) {
    struct region g;

    /* during the fill, pages from cur on are still zero: flips show too */
    build(&g, NPAGES, 5, positions[k], -1);
    flips_in(&g);
    release(&g);
  }
}

/* In the page being written, a flip is caught unless the page is still a
 * valid old-prefix/new-suffix mix: with a split at word 500, flipping any
 * byte breaks the mix (XOR never turns an old word into the new one). */
static void test_flips_in_partial_page(void **state)
{
  const uint32_t positions[] = { 20, 3 * NPAGES + 20 };
  size_t k, off;
  (void)state;

  for (k = 0; k < sizeof positions / sizeof *positions; k++) {
    struct region g;
    size_t base;

    build(&g, NPAGES, 5, positions[k], 500);
    base = (size_t)QG_PAGE_SIZE * (1 + g.pos % NPAGES);
    for (off = 0; off < QG_PAGE_SIZE; off++)
      expect_caught(&g, base + off, 1);
    release(&g);
  }
}

/* ---- specific faults and their messages ---- */

static void test_stale_page(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  uint32_t pos = 6 * NPAGES + 30; /* pages < 30: gen 7, others gen 6 */
  (void)state;

  build(&g, NPAGES, 11, pos, -1);
  write_gen(page_of(&g, 12), 12, 5, g.seed);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 12);
  assert_int_equal(r.pages_bad, 1);
  assert_non_null(strstr(r.detail, "stale"));
  assert_non_null(strstr(r.detail, "generation 5 where 7"));
  /* a page left at the previous generation just below cur */
  write_gen(page_of(&g, 12), 12, 7, g.seed);
  write_gen(page_of(&g, 29), 29, 6, g.seed);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 29);
  assert_non_null(strstr(r.detail, "generation 6 where 7"));
  /* newer than pos allows */
  write_gen(page_of(&g, 29), 29, 7, g.seed);
  write_gen(page_of(&g, 40), 40, 7, g.seed);
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(strstr(r.detail, "newer"));
  write_gen(page_of(&g, 40), 40, 6, g.seed);
  assert_int_equal(check(&g, &r), 0);
  release(&g);
}

static void test_misplaced_zero_and_many(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  (void)state;

  build(&g, NPAGES, 11, 2 * NPAGES + 3, -1);
  memcpy(page_of(&g, 8), page_of(&g, 9), QG_PAGE_SIZE);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 8);
  assert_non_null(strstr(r.detail, "misplaced"));
  memset(page_of(&g, 8), 0, QG_PAGE_SIZE);
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(strstr(r.detail, "all zero"));
  memset(page_of(&g, 50), 0, QG_PAGE_SIZE);
  page_of(&g, 60)[700] ^= 1;
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 8);
  assert_int_equal(r.pages_bad, 3);
  assert_int_equal(r.pages_checked, NPAGES);
  assert_non_null(strstr(r.detail, "3 bad in total"));
  release(&g);

  build(&g, NPAGES, 11, 2 * NPAGES + 3, -1);
  page_of(&g, 60)[700] ^= 1;
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(strstr(r.detail, "corrupt word at byte offset 0xaf0"));
  release(&g);
}

/* Mixes that no stop can produce: a gap of old words inside the new
 * prefix, or new words after old ones. */
static void test_partial_invalid(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  uint32_t pos = 2 * NPAGES + 10, next[QG_PAGE_WORDS], old[QG_PAGE_WORDS];
  uint32_t *p;
  (void)state;

  build(&g, NPAGES, 2, pos, 600);
  p = page_of(&g, 10);
  write_gen(next, 10, 3, g.seed);
  write_gen(old, 10, 2, g.seed);
  p[300] = old[300];
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 10);
  assert_non_null(strstr(r.detail, "not a valid partial write"));
  release(&g);

  build(&g, NPAGES, 2, pos, -1);
  p = page_of(&g, 10);
  memcpy(p + 800, next + 800, 224 * 4); /* old prefix, new suffix */
  assert_int_equal(check(&g, &r), 1);
  release(&g);

  /* during the fill: a new page followed by a zero gap is no prefix */
  build(&g, NPAGES, 2, 10, 1024);
  page_of(&g, 10)[512] = 0;
  assert_int_equal(check(&g, &r), 1);
  release(&g);

  /* only the page at cur is excused: a half-written page next to it isn't */
  build(&g, NPAGES, 2, pos, -1);
  write_gen(page_of(&g, 11), 11, 3, g.seed);
  memcpy(page_of(&g, 11) + 512, old + 512, 512 * 4);
  assert_int_equal(check(&g, &r), 1);
  assert_int_equal(r.first_bad_page, 11);
  release(&g);
}

static void test_control_inconsistent(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  (void)state;

  build(&g, NPAGES, 2, 3 * NPAGES, -1);
  ctl_of(&g)->ready = 0;
  assert_int_equal(check(&g, &r), 1);
  assert_non_null(strstr(r.detail, "control page inconsistent"));
  assert_int_equal(r.first_bad_page, UINT64_MAX);
  release(&g);
}

static void test_malformed(void **state)
{
  struct region g;
  struct qmig_memcheck r;
  (void)state;

  build(&g, NPAGES, 2, 100, -1);
  assert_int_equal(mc_check(g.w, QG_PAGE_SIZE - 1, &r), -1);
  assert_non_null(strstr(r.detail, "smaller than"));
  assert_int_equal(mc_check(NULL, 0, &r), -1);
  assert_int_equal(mc_check(g.w, g.len - 1, &r), -1);
  assert_non_null(strstr(r.detail, "64 data pages"));
  assert_int_equal(mc_check(g.w, QG_PAGE_SIZE, &r), -1);
  ctl_of(&g)->npages = 0;
  assert_int_equal(mc_check(g.w, g.len, &r), -1);
  assert_non_null(strstr(r.detail, "npages=0"));
  ctl_of(&g)->npages = NPAGES;
  ctl_of(&g)->version = 2;
  assert_int_equal(mc_check(g.w, g.len, &r), -1);
  assert_non_null(strstr(r.detail, "version 2"));
  ctl_of(&g)->version = QG_CTL_VERSION;
  ctl_of(&g)->magic = 0;
  assert_int_equal(mc_check(g.w, g.len, &r), -1);
  assert_non_null(strstr(r.detail, "no control page magic"));
  memset(g.w, 0, g.len); /* a guest that has not booted */
  assert_int_equal(mc_check(g.w, g.len, &r), -1);
  release(&g);

  /* a buffer bigger than the region is fine: only npages pages count */
  build(&g, NPAGES, 2, NPAGES, -1);
  ctl_of(&g)->npages = NPAGES - 1;
  ctl_of(&g)->pos = NPAGES - 1;
  assert_int_equal(mc_check(g.w, g.len, &r), 0);
  assert_int_equal(r.pages_checked, NPAGES - 1);
  release(&g);
}

/* The generator must give distinct, non-zero, non-repeating pages across
 * page index, generation and seed (so a stale or misplaced page shows). */
static void test_pattern_distinct(void **state)
{
  static uint32_t pages[3][3][2][QG_PAGE_WORDS];
  size_t a, b, c, w;
  (void)state;

  for (a = 0; a < 3; a++)
    for (b = 0; b < 3; b++)
      for (c = 0; c < 2; c++)
        write_gen(pages[a][b][c], (uint32_t)a, (uint32_t)b + 1, (uint32_t)c);
  for (a = 0; a < 18; a++) {
    const uint32_t *p = pages[0][0][0] + a * QG_PAGE_WORDS;

    for (w = QG_HDR_WORDS; w < QG_PAGE_WORDS; w++) {
      assert_int_not_equal(p[w], 0);
      if (w > QG_HDR_WORDS)
        assert_int_not_equal(p[w], p[w - 1]);
    }
    for (b = 0; b < a; b++) {
      const uint32_t *q = pages[0][0][0] + b * QG_PAGE_WORDS;
      size_t same = 0;

      for (w = QG_HDR_WORDS; w < QG_PAGE_WORDS; w++)
        same += p[w] == q[w];
      assert_true(same < 4);
    }
  }
  /* qg_expected_word agrees with the writer */
  for (w = 0; w < QG_PAGE_WORDS; w += 37)
    assert_int_equal(qg_expected_word(2, 3, 1, (uint32_t)w), pages[2][2][1][w]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good_positions),          cmocka_unit_test(test_single_page_region),
    cmocka_unit_test(test_partial_accepted),        cmocka_unit_test(test_flips_caught),
    cmocka_unit_test(test_flips_in_partial_page),   cmocka_unit_test(test_stale_page),
    cmocka_unit_test(test_misplaced_zero_and_many), cmocka_unit_test(test_partial_invalid),
    cmocka_unit_test(test_control_inconsistent),    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_pattern_distinct),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
