/* guest/guest.c - the qmig test guest: fill memory, then dirty it at a set
 * rate and print heartbeats on COM1.
 *
 * Command line (multiboot cmdline, "key=value" words, others ignored):
 *   fill=MiB (64)  dirty=MiB/s (0 = idle)  hb=ms (2)  seed=N (1)
 * Serial protocol (one line each, decimal):
 *   QMIG-GUEST v1 base=0x1000000 pages=N fill=F dirty=D hb=H
 *   READY pos=N                after the first full fill
 *   HB <hb_seq> <pos>          every hb ms
 *   ERROR <why>                then the guest halts
 * Page contents and the progress rule are in guest/pattern.h. */
#include <stdint.h>

#include "guest/pattern.h"

_Static_assert(sizeof(struct qg_ctl) == 40, "control page layout");

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)

struct mb_info {
  uint32_t flags;
  uint32_t mem_lower, mem_upper; /* KiB below 1 MiB / above 1 MiB */
  uint32_t boot_device;
  uint32_t cmdline; /* physical address of a NUL-terminated string */
} __attribute__((packed));

extern volatile uint32_t g_ticks; /* boot.S: incremented by IRQ0 at 1 kHz */

void guest_main(uint32_t magic, const struct mb_info *mbi);
void guest_exception(uint32_t vector, uint32_t error, uint32_t eip);

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

/* ---- port I/O and COM1 ---- */

#define COM1 0x3F8

static inline void outb(uint16_t port, uint8_t v)
{
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static void serial_init(void)
{
  outb(COM1 + 1, 0x00); /* no UART interrupts: we poll */
  outb(COM1 + 3, 0x80); /* DLAB */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
  outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void putc_serial(char c)
{
  while (!(inb(COM1 + 5) & 0x20)) /* LSR.THRE */
    ;
  outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
  while (*s)
    putc_serial(*s++);
}

static void putu(uint32_t v)
{
  char buf[11];
  int n = 0;

  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    putc_serial(buf[--n]);
}

static void puthex(uint32_t v)
{
  int s;

  puts_serial("0x");
  for (s = 28; s > 0 && !(v >> s); s -= 4)
    ;
  for (; s >= 0; s -= 4)
    putc_serial("0123456789abcdef"[(v >> s) & 15]);
}

static void __attribute__((noreturn)) halt_forever(void)
{
  for (;;)
    __asm__ volatile("cli; hlt");
}

static void __attribute__((noreturn)) fail(const char *why, uint32_t v)
{
  puts_serial("ERROR ");
  puts_serial(why);
  putu(v);
  putc_serial('\n');
  halt_forever();
}

void guest_exception(uint32_t vector, uint32_t error, uint32_t eip)
{
  puts_serial("ERROR exception ");
  putu(vector);
  puts_serial(" error=");
  puthex(error);
  puts_serial(" eip=");
  puthex(eip);
  putc_serial('\n');
  halt_forever();
}

/* ---- command line ---- */

struct config {
  uint32_t fill_mib, dirty_mibps, hb_ms, seed;
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
  static const char *const keys[] = {"fill", "dirty", "hb", "seed"};
  uint32_t *vals[] = {&c->fill_mib, &c->dirty_mibps, &c->hb_ms, &c->seed};
  const char *cmdline = "";
  unsigned k;

  c->fill_mib = 64;
  c->dirty_mibps = 0;
  c->hb_ms = 2;
  c->seed = 1;
  if ((mbi->flags & MB_INFO_CMDLINE) && mbi->cmdline)
    cmdline = (const char *)(uintptr_t)mbi->cmdline;
  for (k = 0; k < 4; k++) {
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
}

/* ---- the work ---- */

static volatile struct qg_ctl *const ctl = (volatile struct qg_ctl *)QMIG_GUEST_BASE;

static uint32_t g_pos; /* our copy of ctl->pos */

/* Write the next page of the sweep and publish it with one store to pos. */
static void write_next_page(uint32_t npages, uint32_t seed)
{
  uint32_t i = g_pos % npages;
  volatile uint32_t *page =
      (volatile uint32_t *)(QMIG_GUEST_BASE + QG_PAGE_SIZE * (1 + i));

  qg_write_page(page, i, g_pos / npages + 1, seed);
  g_pos++;
  ctl->pos = g_pos; /* volatile: stays after the page's volatile stores */
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

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
  struct config c;
  uint64_t end, top;
  uint32_t npages, now, last, next_hb;
  uint64_t budget = 0, per_tick, cap;
  const uint64_t one = 1u << 16; /* budget is in pages, 16.16 fixed point */

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
  ctl->magic = QG_CTL_MAGIC;
  g_pos = 0;

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
  putc_serial('\n');

  __asm__ volatile("sti");
  while (g_pos < npages)
    write_next_page(npages, c.seed);
  ctl->ready = 1;
  puts_serial("READY pos=");
  putu(g_pos);
  putc_serial('\n');

  /* Pages per 1 ms tick; a guest that cannot keep up writes flat out, and
   * the cap keeps it from bursting after it falls behind. */
  per_tick = (uint64_t)c.dirty_mibps * QG_PAGES_PER_MIB * one / 1000;
  cap = per_tick * 4 + one;
  last = g_ticks;
  next_hb = last + c.hb_ms;
  for (;;) {
    now = g_ticks;
    if (now != last) {
      budget += per_tick * (now - last);
      if (budget > cap)
        budget = cap;
      last = now;
      ctl->ticks = now;
    }
    if ((int32_t)(now - next_hb) >= 0) {
      heartbeat();
      next_hb += c.hb_ms;
      if ((int32_t)(now - next_hb) >= 0) /* fell behind: don't catch up */
        next_hb = now + c.hb_ms;
    }
    /* pos must never wrap: that would rewind every page's generation */
    if (budget >= one && g_pos != 0xFFFFFFFFu) {
      write_next_page(npages, c.seed);
      budget -= one;
    } else {
      wait_tick(now);
    }
  }
}
