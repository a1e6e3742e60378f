/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab.c - `qmig lab start|stop|status`, `qmig verify-memory`, `qmig demo`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void lab_help(FILE *f)
{
  char *opts = qmig_lab_help();
  fprintf(
      f,
      "usage: qmig lab start [--dir DIR] [--fill MiB] [--mem MiB] [--dirty MiB/s]\n"
      "                      [--heartbeat MS] [--accel kvm|tcg|auto] [--qemu BIN] [--guest ELF|linux]\n"
      "                      [--dst-qemu BIN] [--machine TYPE]\n"
      "                      [--cpu MODEL] [--dst-cpu MODEL] [--nic]\n"
      "                      [--disk MiB [--disk-format raw|qcow2] [--disk-write KiB/s]\n"
      "                       [--disk-cache none|writeback] [--disk-copy\n"
      "                       [--dst-disk-format F] [--dst-disk MiB] [--dst-no-disk]]\n"
      "                       [--data-disk MiB]]\n"
      "                      [--netns [--link-rate RATE]] [--qmp-tls-dir DIR]\n"
      "       qmig lab stop [--dir DIR]\n"
      "       qmig lab status [--dir DIR] [--json FILE|-]\n\n"
      "Starts a source and a destination QEMU (-incoming defer) running the qmig\n"
      "test guest; QMP and serial on unix sockets in DIR (default %s; created\n"
      "0700, or refused when it is a symlink, another user's or writable by others).\n%s",
      cli_default_lab_dir(), opts ? opts : "");
  free(opts);
}

/* Options shared by lab start and demo: the lab's option table
 * (qmig_lab_option_keys) as long options.  0 to go on, 1 when --help was
 * printed, -1 on a usage error (message printed). */
static int parse_lab_opts(int argc, char **argv, struct qmig_lab_options *o, const char *who,
                          const char **json)
{
  static const struct option own[] = {
    { "help", no_argument, NULL, 'h' },
    { "json", required_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  const struct qmig_optkey *keys = qmig_lab_option_keys();
  size_t nk;
  struct option *lo = cli_longopts(keys, own, &nk);
  if (!lo) {
    fprintf(stderr, "qmig %s: out of memory\n", who);
    return -1;
  }
  int c, k, rc = 0;
  char err[512];
  optind = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    if ((k = cli_key_index(c, nk)) >= 0) {
      if (qmig_lab_set(o, keys[k].key, keys[k].flag ? "on" : optarg, err, sizeof err) < 0) {
        fprintf(stderr, "qmig %s: %s\n", who, err);
        rc = -1;
      }
    } else if (c == 'h') {
      lab_help(stdout);
      rc = 1;
    } else if (c == 'j' && json) {
      *json = optarg;
    } else {
      fprintf(stderr, "qmig %s: try --help\n", who);
      rc = -1;
    }
  }
  free(lo);
  if (rc)
    return rc;
  if (optind < argc) {
    fprintf(stderr, "qmig %s: unexpected argument '%s'\n", who, argv[optind]);
    return -1;
  }
  if (!o->dir)
    o->dir = cli_default_lab_dir();
  return 0;
}

int cmd_lab(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    lab_help(argc < 2 ? stderr : stdout);
    return argc < 2 ? QMIG_USAGE : 0;
  }
  const char *sub = argv[1];
  struct qmig_lab_options o = QMIG_LAB_OPTIONS_INIT;
  const char *json = NULL;
  int p = parse_lab_opts(argc - 1, argv + 1, &o, "lab", &json);
  if (p)
    return p > 0 ? 0 : QMIG_USAGE;
  char err[512];
  if (!strcmp(sub, "start")) {
    if (qmig_lab_start(&o, err, sizeof err) < 0) {
      fprintf(stderr, "qmig lab start: %s\n", err);
      return QMIG_NOT_STARTED;
    }
    struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
    if (qmig_lab_info(o.dir, &li, err, sizeof err) == 0)
      printf("lab started in %s (accel %s): source pid %d, destination pid %d\n"
             "migrate it with: qmig migrate --lab %s\n",
             o.dir, li.accel, li.src_pid, li.dst_pid, o.dir);
    return 0;
  }
  if (!strcmp(sub, "stop")) {
    if (qmig_lab_stop(o.dir, err, sizeof err) < 0) {
      fprintf(stderr, "qmig lab stop: %s\n", err);
      return 1;
    }
    return 0;
  }
  if (json && strcmp(sub, "status")) {
    fprintf(stderr, "qmig lab %s: --json is for lab status\n", sub);
    return QMIG_USAGE;
  }
  if (!strcmp(sub, "status")) {
    struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
    if (qmig_lab_info(o.dir, &li, err, sizeof err) < 0) {
      fprintf(stderr, "qmig lab status: %s\n", err);
      return 1;
    }
    if (json)
      return cli_write_json(cli_lab_json(o.dir, &li), json, "lab status") < 0 ? 1 : 0;
    printf("lab %s (accel %s, %u MiB RAM, fill %u MiB, dirty %u MiB/s, heartbeat %u ms)\n"
           "  source:      %s  pid %d%s\n  destination: %s  pid %d%s\n",
           o.dir, li.accel, li.mem_mib, li.fill_mib, li.dirty_mibps, li.heartbeat_ms, li.src_qmp,
           li.src_pid, li.src_pid ? "" : " (not running)", li.dst_qmp, li.dst_pid,
           li.dst_pid ? "" : " (not running)");
    if (li.src_netns[0])
      printf("  network:     source %s in netns %s, destination %s in netns %s, %s\n", li.src_addr,
             li.src_netns, li.dst_addr, li.dst_netns,
             li.link_rate_bps ? "shaped (tc tbf, see lab.json)" : "not shaped");
    if (li.src_qmp_tls[0])
      printf("  TLS QMP:     source %s, destination %s (x509 in %s)\n", li.src_qmp_tls,
             li.dst_qmp_tls, li.qmp_tls_dir);
    if (li.disk_mib)
      printf("  disk:        %s (%s, %u MiB, cache=%s, rewritten at %u KiB/s)\n", li.disk,
             li.disk_format, li.disk_mib, li.disk_cache, li.disk_write_kibps);
    if (li.disk_mib && strcmp(li.dst_disk, li.disk))
      printf("  dst disk:    %s (%s, not shared)\n", li.dst_disk[0] ? li.dst_disk : "none",
             li.dst_disk_format[0] ? li.dst_disk_format : "-");
    if (li.data_disk[0])
      printf("  data disk:   %s (%s, %s)\n", li.data_disk, li.data_disk_format,
             strcmp(li.data_disk, li.dst_data_disk) ? "not shared" : "shared");
    return 0;
  }
  fprintf(stderr, "qmig lab: unknown subcommand '%s' (start, stop, status)\n", sub);
  return QMIG_USAGE;
}

/* QMP address of the lab side that runs the guest (the destination once
 * it has one). */
static int lab_guest_qmp(const char *dir, char *out, size_t len)
{
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  char err[512];
  if (qmig_lab_info(dir, &li, err, sizeof err) < 0) {
    fprintf(stderr, "qmig: %s\n", err);
    return -1;
  }
  snprintf(out, len, "%s", li.dst_pid ? li.dst_qmp : li.src_qmp);
  return 0;
}

static int verify(const char *addr, const char *tmpdir, const char *json)
{
  struct qmig_memcheck r;
  char err[512];
  int rc = qmig_verify_memory(addr, tmpdir, &r, err, sizeof err);
  if (json && cli_write_json(cli_memcheck_json(addr, rc, &r, err), json, "verify-memory") < 0)
    return 3;
  if (json && !strcmp(json, "-")) /* the JSON is the output */
    return rc < 0 ? 3 : rc;
  if (rc < 0) {
    fprintf(stderr, "qmig verify-memory: %s\n", err);
    return 3;
  }
  printf("memory check: %s: %llu pages checked, %llu bad%s (guest page writes %u",
         rc == 0 ? "OK" : "FAILED", (unsigned long long)r.pages_checked,
         (unsigned long long)r.pages_bad, r.excused ? ", 1 page mid-write excused" : "", r.pos);
  if (r.dpos)
    printf(", disk unit writes %u", r.dpos);
  printf(")\n");
  if (rc)
    printf("  %s\n", r.detail);
  return rc;
}

static int verify_serial(const char *path)
{
  struct qmig_memcheck r;
  char err[512];
  int rc = qmig_verify_guest_serial(path, 60000, &r, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "qmig verify-memory: %s\n", err);
    return 3;
  }
  printf("memory check (by the guest): %s: %llu pages checked, %llu bad (guest page writes %u)\n",
         rc == 0 ? "OK" : "FAILED", (unsigned long long)r.pages_checked,
         (unsigned long long)r.pages_bad, r.pos);
  if (rc)
    printf("  %s\n", r.detail);
  return rc;
}

int cmd_verify_memory(int argc, char **argv)
{
  static const struct option lo[] = {
    { "qmp", required_argument, NULL, 'q' },
    { "lab", required_argument, NULL, 'l' },
    { "tmpdir", required_argument, NULL, 't' },
    { "serial", required_argument, NULL, 's' },
    { "json", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *addr = NULL, *lab = NULL, *tmp = NULL, *serial = NULL, *json = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'q': addr = optarg; break;
    case 'l': lab = optarg; break;
    case 't': tmp = optarg; break;
    case 's': serial = optarg; break;
    case 'j': json = optarg; break;
    case 'h':
      printf("usage: qmig verify-memory --qmp ADDR | --lab DIR [--tmpdir DIR] [--json FILE|-]\n"
             "       qmig verify-memory --serial PATH\n\n"
             "Stops the guest behind ADDR (with --lab: the side that runs it), dumps its\n"
             "memory and checks every page against what the qmig test guest last wrote.\n"
             "--serial: the Linux lab guest (lab --guest linux) checks its own working set\n"
             "when asked on its serial socket PATH (DIR/src.serial, DIR/dst.serial); it\n"
             "keeps running.\n"
             "Exit: 0 all pages right, 1 wrong pages, 3 the check could not run.\n\n"
             "  --json FILE|-   write the result as JSON (- = stdout, instead of the text;\n"
             "                  not with --serial)\n");
      return 0;
    default: return QMIG_USAGE;
    }
  }
  if (serial && json) {
    fprintf(stderr, "qmig verify-memory: --json is for --qmp/--lab, not --serial\n");
    return QMIG_USAGE;
  }
  if (serial)
    return verify_serial(serial);
  char a[300];
  if (lab) {
    if (lab_guest_qmp(lab, a, sizeof a) < 0)
      return 3;
    addr = a;
  }
  if (!addr) {
    fprintf(stderr, "qmig verify-memory: --qmp ADDR or --lab DIR needed\n");
    return QMIG_USAGE;
  }
  return verify(addr, tmp ? tmp : lab ? lab : "/tmp", json);
}

int cmd_demo(int argc, char **argv)
{
  struct qmig_lab_options o = QMIG_LAB_OPTIONS_INIT;
  o.fill_mib = 256;
  o.dirty_mibps = 20;
  char dir[] = "/tmp/qmig-demo-XXXXXX";
  int p = parse_lab_opts(argc, argv, &o, "demo", NULL);
  if (p)
    return p > 0 ? 0 : QMIG_USAGE;
  if (!strcmp(o.dir, cli_default_lab_dir())) {
    if (!mkdtemp(dir)) {
      perror("qmig demo: mkdtemp");
      return QMIG_NOT_STARTED;
    }
    o.dir = dir;
  }
  char err[512];
  printf("qmig demo: starting a lab pair in %s (guest fills %u MiB, dirties %u MiB/s)\n", o.dir,
         o.fill_mib, o.dirty_mibps);
  fflush(stdout);
  if (qmig_lab_start(&o, err, sizeof err) < 0) {
    fprintf(stderr, "qmig demo: %s\n", err);
    return QMIG_NOT_STARTED;
  }
  struct qmig_migration *m = qmig_new();
  int rc = QMIG_NOT_STARTED;
  if (m && qmig_lab_apply(m, o.dir, err, sizeof err) == 0) {
    printf("qmig demo: live-migrating...\n");
    fflush(stdout);
    rc = qmig_run(m);
    FILE *sum = rc == QMIG_MIGRATED ? stdout : stderr;
    cli_print_summary(sum, qmig_report(m));
    cli_print_stalls(sum, m);
    char a[300];
    if (rc == QMIG_MIGRATED &&
        (lab_guest_qmp(o.dir, a, sizeof a) < 0 || verify(a, o.dir, NULL) != 0))
      rc = QMIG_UNCERTAIN;
  } else if (m) {
    fprintf(stderr, "qmig demo: %s\n", err);
  }
  qmig_free(m);
  qmig_lab_stop(o.dir, err, sizeof err);
  if (o.dir == dir) { /* our temporary run directory: leave nothing */
    static const char *const files[] = { "lab.json",      "src.log",      "dst.log",
                                         "src.pcap",      "dst.pcap",     "disk.raw",
                                         "disk.qcow2",    "disk-dst.raw", "disk-dst.qcow2",
                                         "data.raw",      "data.qcow2",   "data-dst.qcow2",
                                         "data-base.raw", "data-dst.raw" };
    char path[600];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", dir, files[i]);
      unlink(path);
    }
    rmdir(dir);
  }
  return rc;
}
