/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/ internals: the lab pair (lab.c, its lab.json in labinfo.c), its
 * shared disk (labdisk.c) and the guest checkers (memcheck.c, diskcheck.c,
 * see their headers).  Public entry points are in qmig.h. */
#ifndef QMIG_LAB_H
#define QMIG_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "common/opttab.h"
#include "qmig.h"

/* options.c: the lab's option table over struct qmig_lab_options (string
 * rows borrow the value they are set to); the rows flagged OPT_F_BENCH are
 * the bench's lab knobs.  lab_opt_why: why an opt_set() refused, in words. */
extern const struct opt_table lab_opt_table;
const char *lab_opt_why(enum opt_err e, const char *why);

/* The fields of a lab.json document j (as qmig_lab_start writes it) into
 * *li, which the caller cleared; pids are left alone.  0, or -1 with
 * jansson's reason in err.  Pure: fuzzed by fuzz/fuzz_labjson.c. */
int lab_info_from_json(json_t *j, struct qmig_lab_info *li, char *err, size_t errlen);

struct lab_disk;
struct lab_net;
/* labinfo.c, for lab.c: DIR/lab.json written for a lab just started (0, or
 * -1 with err); a lab.json at path loaded (NULL with the reason in je). */
int lab_info_write(const struct qmig_lab_options *o, const char *dir, const char *accel,
                   const char *uuid, const struct lab_disk *disk, const struct lab_net *net,
                   const int tls_port[2], char machine[2][64], char *err, size_t errlen);
json_t *lab_info_load(const char *path, json_error_t *je);

/* Pid of the lab's QEMU on side 0 (source) or 1 (destination) in the run
 * directory `dir` (absolute), or 0 if it is not running. */
int lab_side_pid(const char *dir, int side);

/* CPU seconds (user + system) the lab's QEMU on `side` has used so far,
 * from /proc/PID/stat; -1 when it is not running.  lab_pid_cpu_s: the
 * same for any process. */
double lab_side_cpu_s(const char *dir, int side);
double lab_pid_cpu_s(int pid);

struct lab_disk;
struct lab_linux;
/* qemu.c: the test guest ELF (given, $QMIG_GUEST, beside the binary, or
 * installed) into out; 0 when readable. */
int lab_find_guest(const char *given, char *out, size_t len);
/* Start the lab's QEMU for side 0 (source) or 1 (destination, -incoming
 * defer), daemonized, in namespace netns (NULL: ours), the Linux guest
 * when lx (else the ELF `guest`), with a TLS QMP
 * monitor on 127.0.0.1:tls_port when tls_port (o->qmp_tls_dir's
 * credentials), as -machine `machine`; its binary is o->qemu (the
 * destination's o->dst_qemu when set); its pid, or -1 with err. */
/* ramshare.c: with o->ram_share, the -object of guest RAM into obj and the
 * -machine value into machine (else machine is "pc", obj ""); -1 with the
 * reason in err. */
int lab_ram_share_args(const struct qmig_lab_options *o, const char *qemu, const char *dir,
                       int side, const char *size, char *obj, size_t olen, char *machine,
                       size_t mlen, char *err, size_t errlen);
/* Remove the /dev/shm RAM files of the lab in dir (absent ones are fine). */
void lab_ram_share_unlink(const char *dir);
int lab_start_qemu(const struct qmig_lab_options *o, const char *dir, int side, const char *accel,
                   const char *guest, const char *uuid, const struct lab_disk *disk,
                   const char *netns, int tls_port, const char *machine, const struct lab_linux *lx,
                   char *err, size_t errlen);
/* A TCP port on 127.0.0.1 nobody listens on now; -1 if none. */
int lab_free_port(void);

/* The lab's disk image, as both QEMUs attach it. */
struct lab_disk {
  char path[PATH_MAX]; /* DIR/disk.FORMAT */
  const char *format;  /* "raw" or "qcow2" (static strings or o's) */
  const char *cache;   /* "none" or "writeback" */
  /* the destination's: the same image (shared) or its own (disk_copy) */
  char dst_path[PATH_MAX];
  const char *dst_format;       /* NULL: the destination has no disk */
  char data_path[PATH_MAX];     /* "drive1", "" without */
  char dst_data_path[PATH_MAX]; /* the destination's: data_path if shared */
  const char *data_format;
};

/* Check o's disk options and create DIR/disk.FORMAT of o->disk_mib MiB
 * anew with qemu-img (explicit format).  Picks the cache mode: o's, else
 * none, or writeback where O_DIRECT is refused.  0, or -1 with err. */
int lab_disk_create(const struct qmig_lab_options *o, const char *dir, struct lab_disk *d,
                    char *err, size_t errlen);

/* The lab's network (netns.c): two namespaces joined by a veth pair. */
struct lab_net {
  char ns[2][32];       /* namespace names: source, destination ("" = none) */
  char veth[2][16];     /* their ends of the veth pair */
  char addr[2][20];     /* IPv4 addresses on them (198.18.0.0/15) */
  uint64_t rate_bps;    /* tbf rate on both ends, bit/s; 0 = not shaped */
  uint64_t burst_bytes; /* tbf bucket, set by lab_net_up */
  /* The switched L2 (switch.c), only with the Linux guest (l2 set): */
  bool l2;
  char sw_ns[32];  /* the bridge's namespace */
  char cli_ns[32]; /* the client's namespace (LAB_CLIENT_ADDR) */
};

/* The names a lab in the absolute run directory `dir` uses (unique per
 * directory); rate 0. */
void lab_net_names(const char *dir, struct lab_net *n);
/* "200mbit", "1gbit", "125mbps" (tc's units, bytes with "bps") into bit/s;
 * -1 when not such a rate. */
int lab_parse_rate(const char *s, uint64_t *bps);
/* The namespace and veth names a lab.json document j records over those
 * already in *n (kept when j is NULL or lacks any of the four). */
void lab_net_from_json(json_t *j, struct lab_net *n);
/* Create both namespaces (loopback up), the veth pair with its addresses,
 * and the shaping when n->rate_bps; removes leftovers of the same names
 * first.  0, or -1 with err (and nothing left behind). */
int lab_net_up(struct lab_net *n, char *err, size_t errlen);
/* Remove whatever of n exists (idempotent).  Processes still inside keep
 * their namespace alive: stop them first.  0, or -1 with err. */
int lab_net_down(const struct lab_net *n, char *err, size_t errlen);
/* Move the calling thread into namespace `ns` (in a child before exec);
 * -1 with errno. */
int lab_net_enter(const char *ns);

/* switch.c: the client's and the Linux guest's addresses on the switch. */
#define LAB_CLIENT_ADDR "198.18.1.1"
#define LAB_GUEST_ADDR "198.18.1.2"
#define LAB_GUEST_PORT 7    /* the guest's UDP echo */
#define LAB_SW_AGEING_S 300 /* the switch forgets a silent MAC (Linux's default) */
/* Create n's switch and client namespaces, the bridge, both taps and the
 * client's veth (lab_net_down removes them).  0, or -1 with err. */
int lab_sw_up(const struct lab_net *n, char *err, size_t errlen);
/* In a child before exec: enter sw_ns and attach to side's tap there; the
 * fd, or -1 with errno.  The caller enters the QEMU's namespace next. */
int lab_sw_open_tap(const char *sw_ns, int side);

/* linux.c: the Linux lab guest (o->guest "linux"). */
struct lab_linux {
  char kernel[PATH_MAX]; /* build/linux/vmlinuz or installed */
  char initrd[PATH_MAX];
  char sw_ns[32]; /* its NIC's taps are in this namespace; "" = a user netdev */
};
#define LAB_TAP_FD 10 /* where a QEMU child finds its tap */
/* o asks for the Linux guest. */
bool lab_guest_is_linux(const struct qmig_lab_options *o);
/* Find the kernel and initramfs; 0, or -1 with err. */
int lab_linux_find(struct lab_linux *lx, char *err, size_t errlen);
/* The kernel command line for o into out. */
void lab_linux_append(const struct qmig_lab_options *o, char *out, size_t len);

#endif
