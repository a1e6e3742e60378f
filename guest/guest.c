/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/guest.c - the qmig test guest: fill memory, then dirty it at a set
 * rate and print heartbeats on COM1.
 *
 * Command line (multiboot cmdline, "key=value" words, others ignored):
 *   fill=MiB (64)  dirty=MiB/s (0 = idle)  hb=ms (2)  seed=N (1)
 *   disk=MiB (0 = no disk)  dwrite=KiB/s (0 = no rewrites; at most 32768)
 * Serial protocol (one line each, decimal):
 *   QMIG-GUEST v1 base=0x1000000 pages=N fill=F dirty=D hb=H [disk=M dwrite=W]
 *   DREADY dpos=N              after the disk's first full fill (disk > 0)
 *   READY pos=N                after the first full fills (RAM, then disk)
 *   HB <hb_seq> <pos>          every hb ms
 *   ERROR <why>                then the guest halts
 * Page and disk contents and the progress rules are in guest/pattern.h;
 * the disk is written by disk.c. */
#include <stdint.h>

#include "guest/guest.h"
#include "guest/pattern.h"

_Static_assert(sizeof(struct qg_ctl) == 44, "control page layout");

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)

struct mb_info {
  uint32_t flags;
  uint32_t mem_lower, mem_upper; /* KiB below 1 MiB / above 1 MiB */
  uint32_t boot_device;
  uint32_t cmdline; /* physical address of a NUL-terminated string */
} __attribute__((packed));

void guest_main(uint32_t magic, const struct mb_info *mbi);

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n)
{
  unsigned char *p = d;
  while (n--)
    *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, unsigned long n)
{
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

/* ---- command line ---- */

struct config {
  uint32_t fill_mib, dirty_mibps, hb_ms, seed, disk_mib, dwrite_kibps;
};

/* Parse the decimal value of "key=" in cmdline into *out.  Returns 0 if the
 * key is absent, 1 if parsed, -1 if the value is not a decimal number that
 * fits 32 bits. */
static int cmdline_get(const char *cmdline, const char *key, uint32_t *out)
{
  const char *p = cmdline;

  while (*p) {
    const char *k = key, *q;
    uint64_t v = 0;

    while (*p == ' ')
      p++;
    q = p;
    while (*k && *q == *k)
      q++, k++;
    if (!*k && *q == '=') {
      q++;
      if (*q < '0' || *q > '9')
        return -1;
      while (*q >= '0' && *q <= '9') {
        v = v * 10 + (uint32_t)(*q++ - '0');
        if (v > 0xFFFFFFFFu)
          return -1;
      }
      if (*q && *q != ' ')
        return -1;
      *out = (uint32_t)v;
      return 1;
    }
    while (*p && *p != ' ')
      p++;
  }
  return 0;
}

static void parse_config(const struct mb_info *mbi, struct config *c)
{
  static const char *const keys[] = { "fill", "dirty", "hb", "seed", "disk", "dwrite" };
  uint32_t *vals[] = { &c->fill_mib, &c->dirty_mibps, &c->hb_ms,
                       &c->seed,     &c->disk_mib,    &c->dwrite_kibps };
  const char *cmdline = "";
  unsigned k;

  c->fill_mib = 64;
  c->dirty_mibps = 0;
  c->hb_ms = 2;
  c->seed = 1;
  c->disk_mib = 0;
  c->dwrite_kibps = 0;
  if ((mbi->flags & MB_INFO_CMDLINE) && mbi->cmdline)
    cmdline = (const char *)(uintptr_t)mbi->cmdline;
  for (k = 0; k < sizeof keys / sizeof *keys; k++) {
    if (cmdline_get(cmdline, keys[k], vals[k]) < 0) {
      puts_serial("ERROR bad value for ");
      puts_serial(keys[k]);
      puts_serial(" in command line\n");
      halt_forever();
    }
  }
  if (c->fill_mib == 0)
    fail("fill must be at least 1 MiB, got ", c->fill_mib);
  if (c->hb_ms == 0)
    fail("hb must be at least 1 ms, got ", c->hb_ms);
  if (c->fill_mib > QG_MAX_PAGES / QG_PAGES_PER_MIB)
    fail("fill too large for a 32-bit guest, MiB: ", c->fill_mib);
  if (c->disk_mib > QG_MAX_DISK_MIB)
    fail("disk too large for LBA28, MiB: ", c->disk_mib);
}

/* ---- the work ---- */

static volatile struct qg_ctl *const ctl = (volatile struct qg_ctl *)QMIG_GUEST_BASE;

static uint32_t g_pos;  /* our copy of ctl->pos */
static uint32_t g_dpos; /* our copy of the disk's dpos, mirrored in ctl->dpos */

/* Write the next page of the sweep and publish it with one store to pos. */
static void write_next_page(uint32_t npages, uint32_t seed)
{
  uint32_t i = g_pos % npages;
  volatile uint32_t *page = (volatile uint32_t *)(QMIG_GUEST_BASE + QG_PAGE_SIZE * (1 + i));

  qg_write_page(page, i, g_pos / npages + 1, seed);
  g_pos++;
  ctl->pos = g_pos; /* volatile: stays after the page's volatile stores */
}

/* Write the next disk unit (data, then control sector), then mirror dpos. */
static void write_next_unit(void)
{
  g_dpos = disk_write_unit(g_dpos);
  ctl->dpos = g_dpos;
}

static void heartbeat(void)
{
  uint32_t seq = ctl->hb_seq + 1;

  ctl->hb_seq = seq;
  puts_serial("HB ");
  putu(seq);
  putc_serial(' ');
  putu(g_pos);
  putc_serial('\n');
}

/* Wait for the next timer tick unless one already came since `seen`.
 * sti;hlt is atomic (sti's one-instruction shadow), so the tick cannot slip
 * in between the check and the hlt. */
static void wait_tick(uint32_t seen)
{
  __asm__ volatile("cli" ::: "memory");
  if (g_ticks == seen)
    __asm__ volatile("sti; hlt" ::: "memory");
  else
    __asm__ volatile("sti" ::: "memory");
}

/* Ticks and heartbeats: the one place that looks at the clock. */
struct clock {
  uint32_t last, next_hb, hb_ms;
};

/* Heartbeat if one is due; returns the ticks passed since the last call. */
static uint32_t clock_poll(struct clock *k)
{
  uint32_t now = g_ticks, passed = now - k->last;

  if (passed) {
    k->last = now;
    ctl->ticks = now;
  }
  if ((int32_t)(now - k->next_hb) >= 0) {
    heartbeat();
    k->next_hb += k->hb_ms;
    if ((int32_t)(now - k->next_hb) >= 0) /* fell behind: don't catch up */
      k->next_hb = now + k->hb_ms;
  }
  return passed;
}

/* 16.16 fixed-point budget of writes: `per_tick` more each tick, at most
 * `cap` (a guest that cannot keep up writes flat out, and the cap keeps it
 * from bursting after it falls behind). */
struct budget {
  uint64_t have, per_tick, cap;
};
#define ONE ((uint64_t)1 << 16)

static void budget_add(struct budget *b, uint32_t ticks)
{
  b->have += b->per_tick * ticks;
  if (b->have > b->cap)
    b->have = b->cap;
}

static int budget_take(struct budget *b)
{
  if (b->have < ONE)
    return 0;
  b->have -= ONE;
  return 1;
}

/* Disk units a 1 ms tick may ask for: a unit takes hundreds of us of PIO
 * under TCG, and heartbeats must not wait for many. */
#define MAX_UNITS_PER_TICK 8u
#define PAGES_PER_ROUND 16

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
  struct config c;
  uint64_t end, top;
  uint32_t npages, nunits = 0, passed;
  struct clock k;
  struct budget pages = { 0, 0, 0 }, units = { 0, 0, 0 };

  serial_init();
  if (magic != MB_BOOT_MAGIC)
    fail("not booted by a multiboot loader, eax=", magic);
  parse_config(mbi, &c);
  npages = c.fill_mib * QG_PAGES_PER_MIB;

  if (!(mbi->flags & MB_INFO_MEM))
    fail("multiboot loader gave no memory size, flags=", mbi->flags);
  end = QMIG_GUEST_BASE + (uint64_t)QG_PAGE_SIZE * (1 + (uint64_t)npages);
  top = 0x100000ull + (uint64_t)mbi->mem_upper * 1024;
  if (end > top) {
    puts_serial("ERROR region does not fit: needs memory up to ");
    putu((uint32_t)((end + 0xFFFFF) >> 20));
    puts_serial(" MiB, have ");
    putu((uint32_t)(top >> 20));
    puts_serial(" MiB contiguous\n");
    halt_forever();
  }

  /* Control page: everything before the magic (a reboot may leave an old
   * one behind; the data pages are rewritten by the fill anyway). */
  ctl->magic = 0;
  ctl->version = QG_CTL_VERSION;
  ctl->npages = npages;
  ctl->seed = c.seed;
  ctl->pos = 0;
  ctl->ticks = g_ticks;
  ctl->hb_seq = 0;
  ctl->dirty_mibps = c.dirty_mibps;
  ctl->hb_ms = c.hb_ms;
  ctl->ready = 0;
  ctl->dpos = 0;
  ctl->magic = QG_CTL_MAGIC;
  g_pos = 0;
  g_dpos = 0;

  puts_serial("QMIG-GUEST v1 base=");
  puthex(QMIG_GUEST_BASE);
  puts_serial(" pages=");
  putu(npages);
  puts_serial(" fill=");
  putu(c.fill_mib);
  puts_serial(" dirty=");
  putu(c.dirty_mibps);
  puts_serial(" hb=");
  putu(c.hb_ms);
  if (c.disk_mib) {
    puts_serial(" disk=");
    putu(c.disk_mib);
    puts_serial(" dwrite=");
    putu(c.dwrite_kibps);
  }
  putc_serial('\n');

  __asm__ volatile("sti"); /* before the disk: its timeouts count ticks */
  if (c.disk_mib)
    nunits = disk_init(c.disk_mib, c.seed);
  while (g_pos < npages)
    write_next_page(npages, c.seed);
  k.last = g_ticks;
  k.hb_ms = c.hb_ms;
  k.next_hb = k.last + c.hb_ms;
  if (c.disk_mib) {
    /* The disk is slow (PIO): heartbeats keep flowing during its fill. */
    while (g_dpos < nunits) {
      write_next_unit();
      clock_poll(&k);
    }
    puts_serial("DREADY dpos=");
    putu(g_dpos);
    putc_serial('\n');
  }
  ctl->ready = 1;
  puts_serial("READY pos=");
  putu(g_pos);
  putc_serial('\n');

  /* Pages and units per 1 ms tick.  Per round at most PAGES_PER_ROUND
   * pages (microseconds each) and one unit (a millisecond or more of PIO
   * with cache=none), so neither starves the other nor the heartbeat. */
  pages.per_tick = (uint64_t)c.dirty_mibps * QG_PAGES_PER_MIB * ONE / 1000;
  pages.cap = pages.per_tick * 4 + ONE;
  units.per_tick = (uint64_t)c.dwrite_kibps * ONE / (QG_UNIT_SIZE / 1024) / 1000;
  units.cap = units.per_tick * 4 + ONE;
  if (units.cap > MAX_UNITS_PER_TICK * ONE)
    units.cap = MAX_UNITS_PER_TICK * ONE;
  clock_poll(&k);
  for (;;) {
    int wrote = 0;

    passed = clock_poll(&k);
    budget_add(&pages, passed);
    budget_add(&units, passed);
    /* pos and dpos must never wrap: that would rewind every generation */
    for (int n = 0; n < PAGES_PER_ROUND && g_pos != 0xFFFFFFFFu && budget_take(&pages); n++) {
      write_next_page(npages, c.seed);
      wrote = 1;
    }
    if (nunits && g_dpos != 0xFFFFFFFFu && budget_take(&units)) {
      write_next_unit();
      wrote = 1;
    }
    if (!wrote)
      wait_tick(k.last);
  }
}
