/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c - every option of the lab pair (struct qmig_lab_options), one
 * row each of a typed option table (common/opttab.h): qmig_lab_set, `qmig
 * lab start --help` and its long options, and the bench's lab knobs (the
 * rows marked OPT_F_BENCH) all come from it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errbuf.h"
#include "lab/lab.h"

static int one_of(const char *v, const char *const *choices, const char *bad, char *why, size_t len)
{
  for (size_t i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i]))
      return 0;
  errbuf_setf(why, len, "%s", bad);
  return -1;
}

static int check_accel(const char *v, char *why, size_t len)
{
  static const char *const c[] = { "kvm", "tcg", "auto", NULL };
  return one_of(v, c, "not kvm, tcg or auto", why, len);
}

static int check_format(const char *v, char *why, size_t len)
{
  static const char *const c[] = { "raw", "qcow2", NULL };
  return one_of(v, c, "not raw or qcow2", why, len);
}

static int check_cache(const char *v, char *why, size_t len)
{
  static const char *const c[] = { "none", "writeback", NULL };
  return one_of(v, c, "not none or writeback", why, len);
}

static int check_rate(const char *v, char *why, size_t len)
{
  uint64_t bps;
  if (lab_parse_rate(v, &bps) < 0) {
    errbuf_setf(why, len, "not a rate (tc units: 1gbit, 200mbit)");
    return -1;
  }
  return 0;
}

#define O(f) offsetof(struct qmig_lab_options, f)
#define STR(k, f, ...)                                   \
  {                                                      \
    .key = k, .type = OPT_CSTR, .off = O(f), __VA_ARGS__ \
  }
#define NUM(k, f, lo, hi, ...)                                                 \
  {                                                                            \
    .key = k, .type = OPT_UINT, .off = O(f), .min = lo, .max = hi, __VA_ARGS__ \
  }
#define FLAG(k, f, ...)                                                        \
  {                                                                            \
    .key = k, .type = OPT_BOOL, .off = O(f), .flags = OPT_F_FLAG | __VA_ARGS__ \
  }
/* Help in the order `qmig lab --help` has always listed the options. */
/* One row per option, laid out as a table reads. */
/* clang-format off */
static const struct opt_row rows[] = {
  STR("dir", dir),
  STR("qemu", qemu),
  STR("guest", guest, .arg = "G",
      .help = "the guest: the qmig test guest ELF at path G (default: built-in),\n"
              "or 'linux': a Debian kernel and qmig's initramfs (make deps),\n"
              "UDP echo on 198.18.1.2 port 7; with --netns on a switch\n"
              "(client namespace 198.18.1.1 in lab.json)"),
  NUM("fill", fill_mib, 0, 65536, .flags = OPT_F_BENCH, .arg = "MiB",
      .help = "memory the guest fills with verifiable data (default 64)"),
  NUM("mem", mem_mib, 0, 65536, .flags = OPT_F_BENCH, .arg = "MiB",
      .help = "guest RAM (default fill + 32)"),
  NUM("dirty", dirty_mibps, 0, 100000, .flags = OPT_F_BENCH, .arg = "MiB/s",
      .help = "rate at which the guest rewrites its pages (default 0)"),
  NUM("heartbeat", heartbeat_ms, 1, 10000, .flags = OPT_F_BENCH, .arg = "MS",
      .help = "serial heartbeat period (default 2)"),
  STR("accel", accel, .check = check_accel, .arg = "A",
      .help = "kvm, tcg, or auto: KVM, TCG if the guest is not ready in time"),
  STR("cpu", cpu, .flags = OPT_F_BENCH, .arg = "MODEL",
      .help = "-cpu of both QEMUs (default: QEMU's)"),
  STR("dst-cpu", dst_cpu, .arg = "MODEL", .help = "-cpu of the destination (default: --cpu)"),
  STR("dst-qemu", dst_qemu, .arg = "BIN",
      .help = "the destination's QEMU binary (default: --qemu); with another\n"
              "binary the destination gets the machine type the source's 'pc'\n"
              "stands for (pc-i440fx-7.2 on 7.2)"),
  STR("machine", machine, .arg = "TYPE",
      .help = "-machine of both QEMUs (default: pc, see --dst-qemu)"),
  FLAG("exact-mem", exact_mem, OPT_F_BENCH,
       .help = "RAM exactly --mem MiB (as --ram-align aligned)"),
  { .key = "ram-align", .type = OPT_ENUM, .off = O(ram_align), .choices = "auto|aligned|unaligned",
    .flags = OPT_F_BENCH, .arg = "A",
    .help = "auto (default): 8 KiB more than --mem only for QEMU < 9.0 under\n"
            "TCG, which loses dirty pages with RAM a multiple of 256 KiB (QEMU\n"
            "bug, docs/DESIGN.md); aligned: exactly --mem; unaligned: 8 KiB\n"
            "more whatever the QEMU (QEMU's slower per-page dirty sync: a\n"
            "guest freeze at setup, proportional to RAM; docs/REPORT.md)" },
  FLAG("ram-share", ram_share, OPT_F_BENCH,
       .help = "guest RAM in shared memory (live update: qmig update): a memfd\n"
               "with aux-ram-share=on where QEMU has it, else /dev/shm/qmig-*.ram"),
  FLAG("nic", nic, 0,
       .help = "an e1000 (MAC 52:54:00:71:6d:01) on a restricted user netdev;\n"
               "its frames go to DIR/src.pcap and DIR/dst.pcap"),
  NUM("disk", disk_mib, 0, 65536, .flags = OPT_F_BENCH, .arg = "MiB",
      .help = "an IDE disk DIR/disk.FORMAT, created anew and shared by both\n"
              "sides, that the guest fills with verifiable data before READY\n"
              "(check it with qmig verify-disk-image)"),
  STR("disk-format", disk_format, .flags = OPT_F_BENCH, .check = check_format, .arg = "F",
      .help = "raw (default) or qcow2"),
  NUM("disk-write", disk_write_kibps, 0, 32768, .flags = OPT_F_BENCH, .arg = "R",
      .help = "rate at which the guest rewrites its disk, KiB/s (default 0)"),
  STR("disk-cache", disk_cache, .flags = OPT_F_BENCH, .check = check_cache, .arg = "C",
      .help = "none (default; writeback where O_DIRECT fails) or writeback"),
  FLAG("disk-copy", disk_copy, OPT_F_BENCH,
       .help = "a non-shared disk: the destination opens its own empty\n"
               "DIR/disk-dst.FORMAT (copy it with qmig migrate --copy-disks drive0)"),
  STR("dst-disk-format", dst_disk_format, .check = check_format,
      .label = "--dst-disk-format F, --dst-disk MiB, --dst-no-disk",
      .help = "\na destination disk of another format or size, or none (to see\n"
              "the preflight refuse)"),
  NUM("dst-disk", dst_disk_mib, 0, 65536),
  FLAG("dst-no-disk", dst_no_disk, 0),
  NUM("data-disk", data_disk_mib, 0, 65536, .arg = "MiB",
      .help = "a second disk drive1 (raw, random content, shared by both sides)"),
  FLAG("data-disk-top", data_disk_top, 0,
       .help = "drive1 as a qcow2 overlay (1 MiB rewritten) over a shared raw\n"
               "base; with --disk-copy the destination gets its own empty overlay"),
  FLAG("data-disk-copy", data_disk_copy, 0,
       .help = "with --disk-copy: the destination's own empty raw drive1",
       .note = "Disks are attached with -blockdev as nodes drive0 (and drive1), formats "
               "explicit."),
  FLAG("netns", netns, OPT_F_BENCH,
       .help = "two hosts on one machine: each QEMU in a network namespace of\n"
               "its own (names in lab.json), joined by a veth pair: source\n"
               "198.18.0.1, destination 198.18.0.2; the stream goes there.\n"
               "Run qmig migrate in the source's namespace:\n"
               "ip netns exec $(jq -r .src_netns DIR/lab.json) qmig migrate --lab DIR"),
  STR("link-rate", link_rate, .flags = OPT_F_BENCH, .check = check_rate, .arg = "R",
      .help = "with --netns: shape both ends with tc tbf at R (1gbit, 200mbit)"),
  /* (its label is longer than the column: two spaces, as always) */
  STR("qmp-tls-dir", qmp_tls_dir, .arg = "DIR",
      .help = " each QEMU also gets a TLS QMP monitor on 127.0.0.1 (x509,\n"
              "verify-peer; DIR: ca-cert.pem, server-cert.pem, server-key.pem,\n"
              "and qmig's client-cert.pem, client-key.pem); qmig migrate --lab\n"
              "then controls both QEMUs over it (tls: addresses in lab.json)"),
};
/* clang-format on */
#define NROWS (sizeof rows / sizeof rows[0])
const struct opt_table lab_opt_table = { rows, NROWS, OPT_RANGE_FROM_TO, 18 };

const char *lab_opt_why(enum opt_err e, const char *why)
{
  return e == OPT_E_EMPTY ? "empty" : e == OPT_E_NOMEM ? "out of memory" : why;
}

int qmig_lab_set(struct qmig_lab_options *o, const char *key, const char *value, char *err,
                 size_t errlen)
{
  char why[256];
  if (key && !value) {
    errbuf_setf(err, errlen, "option '%s' needs a value", key);
    return -1;
  }
  const struct opt_row *r = opt_find(&lab_opt_table, key);
  if (o->size < sizeof o->size || (r && r->off >= o->size)) {
    errbuf_setf(err, errlen,
                "lab option '%s': struct qmig_lab_options has size %zu (start from "
                "QMIG_LAB_OPTIONS_INIT)",
                key, o->size);
    return -1;
  }
  enum opt_err e = opt_set(&lab_opt_table, o, key, value, why, sizeof why);
  if (e == OPT_OK)
    return 0;
  if (e == OPT_E_UNKNOWN)
    errbuf_setf(err, errlen, "unknown lab option '%s'", key ? key : "(null)");
  else if (e == OPT_E_EMPTY)
    errbuf_setf(err, errlen, "option '%s': empty value", key);
  else
    errbuf_setf(err, errlen, "option '%s': '%s' is %s", key, value, lab_opt_why(e, why));
  return -1;
}

static struct qmig_optkey public_keys[NROWS + 1];
const struct qmig_optkey *qmig_lab_option_keys(void)
{
  return opt_cli_keys(&lab_opt_table, public_keys);
}

char *qmig_lab_help(void)
{
  return opt_help_text(&lab_opt_table);
}
