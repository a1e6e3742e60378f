/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/disk.c - the test guest's disk writer: ATA PIO, LBA28, on the
 * primary IDE channel's master; the vCPU sleeps until the drive interrupts.  What it writes
 * and in which order is the contract in guest/pattern.h. */
#include <stdint.h>

#include "guest/guest.h"
#include "guest/pattern.h"

_Static_assert(sizeof(struct qg_dctl) == 20, "disk control sector layout");

#define ATA_DATA 0x1F0
#define ATA_ERROR 0x1F1
#define ATA_COUNT 0x1F2
#define ATA_LBA0 0x1F3
#define ATA_LBA1 0x1F4
#define ATA_LBA2 0x1F5
#define ATA_DRIVE 0x1F6
#define ATA_STATUS 0x1F7 /* read; the command register when written */
#define ATA_CTRL 0x3F6   /* device control when written, alternate status read */

#define ST_BSY 0x80
#define ST_DF 0x20
#define ST_DRQ 0x08
#define ST_ERR 0x01

#define CMD_WRITE_SECTORS 0x30
#define CMD_IDENTIFY 0xEC

/* A command that takes longer than this is a dead disk, not a slow one. */
#define ATA_TIMEOUT_TICKS 10000u

static uint32_t d_nunits, d_seed;
static uint32_t d_sector[QG_SECTOR_WORDS];

/* 32-bit PIO (the PIIX IDE data port takes it): half the port accesses of
 * 16-bit, and each costs an exit to QEMU's device model under TCG. */
static void outsl(uint16_t port, const void *buf, uint32_t ndwords)
{
  __asm__ volatile("rep outsl" : "+S"(buf), "+c"(ndwords) : "d"(port) : "memory");
}

static void insw(uint16_t port, void *buf, uint32_t nwords)
{
  __asm__ volatile("rep insw" : "+D"(buf), "+c"(nwords) : "d"(port) : "memory");
}

static void __attribute__((noreturn)) disk_fail(const char *what, uint32_t lba, uint8_t st)
{
  puts_serial("ERROR disk ");
  puts_serial(what);
  puts_serial(" at LBA ");
  putu(lba);
  puts_serial(": status ");
  putu(st);
  puts_serial(" error ");
  putu(inb(ATA_ERROR));
  putc_serial('\n');
  halt_forever();
}

/* Wait until the drive is not busy and DRQ is `drq` (ST_DRQ: it wants the
 * next sector; 0: the command is over).  ERR or DF fail, as does a drive
 * that stays busy for ATA_TIMEOUT_TICKS.  The vCPU sleeps in hlt between
 * looks: the drive's IRQ14 (or the next tick) wakes it.  A spinning vCPU
 * would take QEMU's global lock for every status read and starve the main
 * loop that completes the write (under TCG that halved the throughput). */
static void ata_wait(uint8_t drq, const char *what, uint32_t lba)
{
  uint32_t start = g_ticks;
  uint8_t st;

  for (;;) {
    __asm__ volatile("cli" ::: "memory");
    st = inb(ATA_STATUS); /* also acknowledges the drive's interrupt */
    if (!(st & ST_BSY)) {
      __asm__ volatile("sti" ::: "memory");
      if (st & (ST_ERR | ST_DF))
        disk_fail(what, lba, st);
      if ((st & ST_DRQ) == drq)
        return;
    } else {
      /* sti;hlt is atomic: an IRQ that came after the read still wakes us */
      __asm__ volatile("sti; hlt" ::: "memory");
    }
    if (g_ticks - start > ATA_TIMEOUT_TICKS)
      disk_fail(drq ? "timeout waiting for DRQ" : "timeout waiting for completion", lba, st);
  }
}

static void ata_command(uint8_t cmd, uint32_t lba, uint8_t count)
{
  ata_wait(0, "busy before a command", lba);
  outb(ATA_DRIVE, (uint8_t)(0xE0 | ((lba >> 24) & 0x0F))); /* master, LBA */
  outb(ATA_COUNT, count);
  outb(ATA_LBA0, (uint8_t)lba);
  outb(ATA_LBA1, (uint8_t)(lba >> 8));
  outb(ATA_LBA2, (uint8_t)(lba >> 16));
  outb(ATA_STATUS, cmd);
  for (int i = 0; i < 4; i++) /* the 400 ns a drive may take to raise BSY */
    (void)inb(ATA_CTRL);
}

/* d_sector := the control sector saying `dpos`. */
static void build_control(uint32_t dpos)
{
  struct qg_dctl *c = (struct qg_dctl *)d_sector;

  qg_fill_sector(d_sector, 0, 0, 0, 0);
  c->magic = QG_DCTL_MAGIC;
  c->version = QG_DCTL_VERSION;
  c->nunits = d_nunits;
  c->seed = d_seed;
  c->dpos = dpos;
}

uint32_t disk_init(uint32_t mib, uint32_t seed)
{
  uint16_t id[256];
  uint32_t sectors, need = mib * (QG_UNIT_SECTORS * QG_UNITS_PER_MIB), s;
  uint8_t st;

  outb(ATA_CTRL, 0x00);          /* nIEN clear: the drive interrupts */
  outb(0x21, inb(0x21) & ~0x04); /* master PIC: cascade (IRQ2) */
  outb(0xA1, inb(0xA1) & ~0x40); /* slave PIC: IRQ14 */
  outb(ATA_DRIVE, 0xA0);
  for (int i = 0; i < 4; i++)
    (void)inb(ATA_CTRL);
  outb(ATA_COUNT, 0);
  outb(ATA_LBA0, 0);
  outb(ATA_LBA1, 0);
  outb(ATA_LBA2, 0);
  outb(ATA_STATUS, CMD_IDENTIFY);
  st = inb(ATA_STATUS);
  if (st == 0 || st == 0xFF) {
    puts_serial("ERROR disk: no drive on the primary IDE channel (disk=");
    putu(mib);
    puts_serial(" needs one)\n");
    halt_forever();
  }
  ata_wait(ST_DRQ, "IDENTIFY (not an ATA disk?)", 0);
  insw(ATA_DATA, id, 256);
  sectors = (uint32_t)id[60] | (uint32_t)id[61] << 16;
  if (sectors < need) {
    puts_serial("ERROR disk has ");
    putu(sectors);
    puts_serial(" sectors, disk=");
    putu(mib);
    puts_serial(" needs ");
    putu(need);
    putc_serial('\n');
    halt_forever();
  }
  d_nunits = mib * QG_UNITS_PER_MIB - 1;
  d_seed = seed;

  /* The whole control unit: sectors 1..7 must read as zero, whatever a
   * previous run left there. */
  ata_command(CMD_WRITE_SECTORS, 0, QG_UNIT_SECTORS);
  for (s = 0; s < QG_UNIT_SECTORS; s++) {
    if (s == 0)
      build_control(0);
    else
      qg_fill_sector(d_sector, 0, 0, 0, 0);
    ata_wait(ST_DRQ, "control unit write", s);
    outsl(ATA_DATA, d_sector, QG_SECTOR_WORDS);
  }
  ata_wait(0, "control unit write", 0);
  return d_nunits;
}

uint32_t disk_write_unit(uint32_t dpos)
{
  uint32_t i = dpos % d_nunits, gen = dpos / d_nunits + 1;
  uint32_t lba = QG_UNIT_SECTORS * (1 + i), s;

  ata_command(CMD_WRITE_SECTORS, lba, QG_UNIT_SECTORS);
  for (s = 0; s < QG_UNIT_SECTORS; s++) {
    qg_fill_sector(d_sector, i, gen, s, d_seed);
    ata_wait(ST_DRQ, "data write", lba + s);
    outsl(ATA_DATA, d_sector, QG_SECTOR_WORDS);
  }
  ata_wait(0, "data write", lba);

  /* Only now the control sector: it must never claim a unit not on disk. */
  build_control(dpos + 1);
  ata_command(CMD_WRITE_SECTORS, 0, 1);
  ata_wait(ST_DRQ, "control sector write", 0);
  outsl(ATA_DATA, d_sector, QG_SECTOR_WORDS);
  ata_wait(0, "control sector write", 0);
  return dpos + 1;
}
