/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/pattern.h - memory and disk layout and content of the qmig test guest.
 *
 * Shared by the freestanding guest (guest/guest.c, guest/disk.c) and the
 * host-side checkers (lab/memcheck.c, lab/diskcheck.c, tests): one
 * definition of what every page and disk sector must hold, so the two
 * cannot drift apart.  Only <stdint.h> types; no libc.
 *
 * Layout (guest-physical):
 *   QMIG_GUEST_BASE                     control page (struct qg_ctl)
 *   QMIG_GUEST_BASE + 4096 * (1 + i)    data page i, 0 <= i < npages
 *
 * Progress is defined by ctl.pos alone: the number of page writes the guest
 * has completed.  The guest writes data page (pos % npages) word by word in
 * ascending order, then stores pos + 1 with one aligned 32-bit store.  So
 * for a vCPU stopped between any two instructions, with full = pos / npages
 * and cur = pos % npages:
 *   page i < cur  holds generation full + 1,
 *   page i > cur  holds generation full,
 *   page cur      holds a prefix of words of generation full + 1 followed by
 *                 the rest of generation full (possibly all old or all new).
 * Generation 0 is "never written" and is all zero.
 *
 * One inherent blind spot: a pos exactly one too low is indistinguishable
 * from "page cur completely written, pos not yet stored".
 */
#ifndef QMIG_GUEST_PATTERN_H
#define QMIG_GUEST_PATTERN_H

#include <stdint.h>

#define QMIG_GUEST_BASE 0x01000000u /* 16 MiB */
#define QG_PAGE_SIZE 4096u
#define QG_PAGE_WORDS 1024u
#define QG_HDR_WORDS 4u
#define QG_PAGES_PER_MIB 256u

#define QG_CTL_MAGIC 0x43474D51u  /* "QMGC" little-endian */
#define QG_PAGE_MAGIC 0x50474D51u /* "QMGP" little-endian */
#define QG_CTL_VERSION 1u

/* The region must stay below 4 GiB: the guest is 32-bit without paging. */
#define QG_MAX_PAGES ((uint32_t)((0x100000000ull - QMIG_GUEST_BASE) / QG_PAGE_SIZE - 1))

/* The control page.  Fields are written by the guest only; `magic` is
 * written last at boot so a reader that sees it sees the rest valid. */
struct qg_ctl {
  uint32_t magic;   /* QG_CTL_MAGIC */
  uint32_t version; /* QG_CTL_VERSION */
  uint32_t npages;  /* data pages, fill MiB * 256 */
  uint32_t seed;
  uint32_t pos;         /* page writes completed; the only progress word */
  uint32_t ticks;       /* 1 ms PIT ticks seen (informational) */
  uint32_t hb_seq;      /* heartbeats printed */
  uint32_t dirty_mibps; /* requested dirty rate */
  uint32_t hb_ms;       /* heartbeat period */
  uint32_t ready;       /* 1 once the first fills (RAM, then disk) are done */
  uint32_t dpos;        /* mirror of the disk's dpos (below), stored after the
                           disk's control sector is written; 0 without a disk */
} __attribute__((packed));

/* Murmur3's 32-bit finalizer: a bijective avalanche mix. */
static inline uint32_t qg_mix32(uint32_t h)
{
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

/* Initial xorshift32 state of page `i`, generation `gen`; never zero. */
static inline uint32_t qg_page_state(uint32_t i, uint32_t gen, uint32_t seed)
{
  uint32_t h = qg_mix32(seed ^ 0x6A09E667u);
  h = qg_mix32(h ^ i);
  h = qg_mix32(h + gen * 0x9E3779B9u);
  return h ? h : 0xBB67AE85u;
}

static inline uint32_t qg_xorshift32(uint32_t x)
{
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

/* Expected generation of data page i given pos (see top of file). */
static inline uint32_t qg_expected_gen(uint32_t pos, uint32_t npages, uint32_t i)
{
  uint32_t full = pos / npages, cur = pos % npages;
  return i < cur ? full + 1 : full;
}

/* Write page i of generation gen >= 1, words in ascending order.  Volatile so
 * that the compiler keeps that order: a stop mid-page must leave a prefix. */
static inline void qg_write_page(volatile uint32_t *p, uint32_t i, uint32_t gen, uint32_t seed)
{
  uint32_t x = qg_page_state(i, gen, seed);
  uint32_t w;

  p[0] = QG_PAGE_MAGIC;
  p[1] = i;
  p[2] = gen;
  p[3] = seed;
  for (w = QG_HDR_WORDS; w < QG_PAGE_WORDS; w++) {
    x = qg_xorshift32(x);
    p[w] = x;
  }
}

/* The expected word `w` of page (i, gen), computed from scratch (slow: for
 * error messages only). */
static inline uint32_t qg_expected_word(uint32_t i, uint32_t gen, uint32_t seed, uint32_t w)
{
  uint32_t x, k;

  if (gen == 0)
    return 0;
  switch (w) {
  case 0: return QG_PAGE_MAGIC;
  case 1: return i;
  case 2: return gen;
  case 3: return seed;
  }
  x = qg_page_state(i, gen, seed);
  for (k = QG_HDR_WORDS; k <= w; k++)
    x = qg_xorshift32(x);
  return x;
}

/* Compare words [from, QG_PAGE_WORDS) of p with page (i, gen).  Returns the
 * index of the first differing word, or QG_PAGE_WORDS if they all match. */
static inline uint32_t qg_page_mismatch(const uint32_t *p, uint32_t from, uint32_t i, uint32_t gen,
                                        uint32_t seed)
{
  uint32_t x, w;

  if (gen == 0) {
    for (w = from; w < QG_PAGE_WORDS; w++)
      if (p[w] != 0)
        return w;
    return QG_PAGE_WORDS;
  }
  for (w = from; w < QG_HDR_WORDS; w++) {
    uint32_t want = w == 0 ? QG_PAGE_MAGIC : w == 1 ? i : w == 2 ? gen : seed;
    if (p[w] != want)
      return w;
  }
  x = qg_page_state(i, gen, seed);
  for (w = QG_HDR_WORDS; w < from; w++)
    x = qg_xorshift32(x);
  for (; w < QG_PAGE_WORDS; w++) {
    x = qg_xorshift32(x);
    if (p[w] != x)
      return w;
  }
  return QG_PAGE_WORDS;
}

/* ---- The disk (IDE primary master, ATA PIO, LBA28) ----
 *
 * Unit = 4 KiB = 8 sectors of 512 bytes.  Layout (LBA = 512-byte sector):
 *   LBA 0..7                  control unit: sector 0 starts with struct
 *                             qg_dctl, the rest of the unit is zero
 *   LBA 8 * (1 + i) .. + 7    data unit i, 0 <= i < nunits
 * nunits = disk MiB * 256 - 1: the control unit and the data fill the disk.
 *
 * dpos counts unit writes, the same rule as pos for RAM: unit i holds
 * generation dpos / nunits + (i < dpos % nunits), generation 0 (never
 * written) is zero.  Sector s of unit i, generation g >= 1, is a header
 * (QG_SECTOR_MAGIC, i, g, s, seed) then an xorshift32 stream seeded from
 * (i, g, s, seed).  Per unit the guest issues one WRITE SECTORS of 8 (QEMU
 * writes it sector by sector: sectors are atomic, the unit is not), waits
 * for it, then rewrites the control sector with dpos + 1 (a second
 * command).  So at a stop, unit cur = dpos % nunits may hold a prefix of
 * new sectors followed by old ones (all old, all new, or a mix); every other
 * unit holds exactly its generation.  As for RAM, a dpos one too low is
 * indistinguishable from "unit cur written, control not yet".
 */
#define QG_SECTOR_SIZE 512u
#define QG_SECTOR_WORDS 128u
#define QG_UNIT_SECTORS 8u
#define QG_UNIT_SIZE 4096u
#define QG_UNITS_PER_MIB 256u
#define QG_SEC_HDR_WORDS 5u

#define QG_DCTL_MAGIC 0x44474D51u   /* "QMGD" little-endian */
#define QG_SECTOR_MAGIC 0x53474D51u /* "QMGS" little-endian */
#define QG_DCTL_VERSION 1u

/* LBA28 addresses 2^28 - 1 sectors. */
#define QG_MAX_DISK_MIB 131071u

/* Sector 0 of the disk (the rest of the sector is zero). */
struct qg_dctl {
  uint32_t magic;   /* QG_DCTL_MAGIC */
  uint32_t version; /* QG_DCTL_VERSION */
  uint32_t nunits;  /* data units */
  uint32_t seed;    /* the guest's seed= (same as the RAM's) */
  uint32_t dpos;    /* unit writes completed */
} __attribute__((packed));

/* Initial xorshift32 state of sector `s` of unit `i`, generation `gen`;
 * never zero.  A different start constant than pages: a disk sector never
 * matches a RAM page's stream by accident. */
static inline uint32_t qg_sector_state(uint32_t i, uint32_t gen, uint32_t s, uint32_t seed)
{
  uint32_t h = qg_mix32(seed ^ 0x3C6EF372u);
  h = qg_mix32(h ^ i);
  h = qg_mix32(h + gen * 0x9E3779B9u);
  h = qg_mix32(h ^ (s * 0x85EBCA77u + 1u));
  return h ? h : 0xA54FF53Au;
}

/* The 128 words of sector s of unit i, generation gen (0 = zero). */
static inline void qg_fill_sector(uint32_t *w, uint32_t i, uint32_t gen, uint32_t s, uint32_t seed)
{
  uint32_t x, k;

  if (gen == 0) {
    for (k = 0; k < QG_SECTOR_WORDS; k++)
      w[k] = 0;
    return;
  }
  w[0] = QG_SECTOR_MAGIC;
  w[1] = i;
  w[2] = gen;
  w[3] = s;
  w[4] = seed;
  x = qg_sector_state(i, gen, s, seed);
  for (k = QG_SEC_HDR_WORDS; k < QG_SECTOR_WORDS; k++) {
    x = qg_xorshift32(x);
    w[k] = x;
  }
}

#endif
