/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/guest.h - what the freestanding guest's files share: guest.c (the
 * command line, RAM work and main loop), serial.c (COM1, failing) and
 * disk.c (the ATA PIO disk writer). */
#ifndef QMIG_GUEST_GUEST_H
#define QMIG_GUEST_GUEST_H

#include <stdint.h>

extern volatile uint32_t g_ticks; /* boot.S: incremented by IRQ0 at 1 kHz */

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

/* serial.c: COM1 output; fail() prints "ERROR <why><v>" and halts. */
void serial_init(void);
void puts_serial(const char *s);
void putu(uint32_t v);
void puthex(uint32_t v);
void putc_serial(char c);
void __attribute__((noreturn)) halt_forever(void);
void __attribute__((noreturn)) fail(const char *why, uint32_t v);

/* disk.c.  disk_init: IDENTIFY the primary master, check it holds `mib`
 * MiB, write the control unit with dpos 0; halts with "ERROR disk ..." on
 * any problem (as do the others).  Returns the number of data units. */
uint32_t disk_init(uint32_t mib, uint32_t seed);
/* Write unit dpos % nunits with generation dpos / nunits + 1, then the
 * control sector with dpos + 1; returns dpos + 1. */
uint32_t disk_write_unit(uint32_t dpos);

#endif
