/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/serial.c - COM1 output (polled, 115200 8N1) and the guest's ways
 * to stop: fail() and the CPU exception report. */
#include <stdint.h>

#include "guest/guest.h"

#define COM1 0x3F8

void guest_exception(uint32_t vector, uint32_t error, uint32_t eip); /* boot.S */

void serial_init(void)
{
  outb(COM1 + 1, 0x00); /* no UART interrupts: we poll */
  outb(COM1 + 3, 0x80); /* DLAB */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
  outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void putc_serial(char c)
{
  while (!(inb(COM1 + 5) & 0x20)) /* LSR.THRE */
    ;
  outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
  while (*s)
    putc_serial(*s++);
}

void putu(uint32_t v)
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

void puthex(uint32_t v)
{
  int s;

  puts_serial("0x");
  for (s = 28; s > 0 && !(v >> s); s -= 4)
    ;
  for (; s >= 0; s -= 4)
    putc_serial("0123456789abcdef"[(v >> s) & 15]);
}

void halt_forever(void)
{
  for (;;)
    __asm__ volatile("cli; hlt");
}

void fail(const char *why, uint32_t v)
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
