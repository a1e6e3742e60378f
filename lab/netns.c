/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/netns.c - the lab's two hosts on one machine: the source and the
 * destination QEMU each in a network namespace of its own, joined by a veth
 * pair with addresses from 198.18.0.0/15 (RFC 2544 benchmarking space),
 * optionally shaped with tc tbf.  Everything is done with iproute2's `ip`
 * and `tc`, run with argv (run_argv), so each failure names the command and
 * what it printed.  Names derive from the run directory, so a lab's network
 * can be found and removed after a crash even without its lab.json. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"
#include "lab/lab.h"

/* A /30 inside 198.18.0.0/15: each lab's pair lives in namespaces of its
 * own, so every lab can use the same two addresses. */
static const char *const net_addr[2] = { "198.18.0.1", "198.18.0.2" };
#define NET_PREFIX "/30"

/* tbf: the bucket holds 2 ms at the rate and never less than 256 KiB, so
 * the shaper can reach the rate with 64 KiB GSO packets and a 250 Hz
 * timer; packets wait at most 50 ms in its queue (then dropped: TCP backs
 * off to the rate instead of queueing seconds of data). */
#define TBF_MIN_BURST (256u * 1024)
#define TBF_LATENCY "50ms"

void lab_net_names(const char *dir, struct lab_net *n)
{
  uint32_t h = 2166136261u; /* FNV-1a of the absolute run directory */
  for (const char *p = dir; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  memset(n, 0, sizeof *n);
  for (int s = 0; s < 2; s++) {
    snprintf(n->ns[s], sizeof n->ns[s], "qmig-%08" PRIx32 "-%s", h, s ? "dst" : "src");
    snprintf(n->veth[s], sizeof n->veth[s], "qm%08" PRIx32 "%c", h, s ? 'd' : 's');
    snprintf(n->addr[s], sizeof n->addr[s], "%s", net_addr[s]);
  }
  snprintf(n->sw_ns, sizeof n->sw_ns, "qmig-%08" PRIx32 "-sw", h);
  snprintf(n->cli_ns, sizeof n->cli_ns, "qmig-%08" PRIx32 "-cli", h);
}

int lab_parse_rate(const char *s, uint64_t *bps)
{
  static const struct {
    const char *unit;
    uint64_t mul; /* bit/s */
  } units[] = {
    { "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 },
    { "bps", 8 }, { "kbps", 8000 }, { "mbps", 8000000 }, { "gbps", 8000000000 },
  };
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || s[0] == '-' || v == 0)
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) == 0) {
      if (v > UINT64_MAX / units[i].mul || v * units[i].mul < 8000) /* 1 KB/s at least */
        return -1;
      *bps = v * units[i].mul;
      return 0;
    }
  }
  return -1;
}

static bool ns_exists(const char *ns)
{
  char path[64];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  return access(path, F_OK) == 0;
}

/* The veth of an interrupted start may be left in the host's namespace. */
static bool host_link_exists(const char *ifname)
{
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s", ifname);
  return access(path, F_OK) == 0;
}

int lab_net_down(const struct lab_net *n, char *err, size_t errlen)
{
  char why[512];
  int rc = 0;
  for (int s = 0; s < 2; s++) {
    if (host_link_exists(n->veth[s])) {
      const char *argv[] = { "ip", "link", "del", n->veth[s], NULL };
      if (run_argv(argv, why, sizeof why) < 0 && host_link_exists(n->veth[s]))
        rc = -1, errbuf_setf(err, errlen, "network: %s", why);
    }
    if (n->ns[s][0] && ns_exists(n->ns[s])) {
      /* Deleting a namespace deletes its end of the veth (and the peer). */
      const char *argv[] = { "ip", "netns", "del", n->ns[s], NULL };
      if (run_argv(argv, why, sizeof why) < 0 && ns_exists(n->ns[s]))
        rc = -1, errbuf_setf(err, errlen, "network: %s", why);
    }
  }
  /* The switch's namespaces (a lab with the Linux guest); deleting them
   * deletes the taps, the bridge and the client's veth. */
  const char *const sw[] = { n->sw_ns, n->cli_ns };
  for (int k = 0; k < 2; k++) {
    if (sw[k][0] && ns_exists(sw[k])) {
      const char *argv[] = { "ip", "netns", "del", sw[k], NULL };
      if (run_argv(argv, why, sizeof why) < 0 && ns_exists(sw[k]))
        rc = -1, errbuf_setf(err, errlen, "network: %s", why);
    }
  }
  return rc;
}

/* Runs each NULL-terminated argv of the list in turn; stops at the first
 * failure. */
static int run_all(const char *const *const *cmds, size_t ncmds, char *err, size_t errlen)
{
  char why[512];
  for (size_t i = 0; i < ncmds; i++)
    if (run_argv(cmds[i], why, sizeof why) < 0) {
      errbuf_setf(err, errlen, "network: %s", why);
      return -1;
    }
  return 0;
}

int lab_net_up(struct lab_net *n, char *err, size_t errlen)
{
  char cidr[2][32], rate[32] = "", burst[32] = "";
  for (int s = 0; s < 2; s++)
    snprintf(cidr[s], sizeof cidr[s], "%s" NET_PREFIX, n->addr[s]);
  if (n->rate_bps) {
    uint64_t b = n->rate_bps / 8 / 500; /* 2 ms at the rate */
    n->burst_bytes = b > TBF_MIN_BURST ? b : TBF_MIN_BURST;
    snprintf(rate, sizeof rate, "%" PRIu64 "bit", n->rate_bps);
    snprintf(burst, sizeof burst, "%" PRIu64 "b", n->burst_bytes);
  }
  const char *S = n->ns[0], *D = n->ns[1], *VS = n->veth[0], *VD = n->veth[1];
  const char *const add_s[] = { "ip", "netns", "add", S, NULL };
  const char *const add_d[] = { "ip", "netns", "add", D, NULL };
  const char *const veth[] = { "ip",   "link", "add",  VS, "netns", S, "type",
                               "veth", "peer", "name", VD, "netns", D, NULL };
  const char *const lo_s[] = { "ip", "-n", S, "link", "set", "lo", "up", NULL };
  const char *const lo_d[] = { "ip", "-n", D, "link", "set", "lo", "up", NULL };
  const char *const ad_s[] = { "ip", "-n", S, "addr", "add", cidr[0], "dev", VS, NULL };
  const char *const ad_d[] = { "ip", "-n", D, "addr", "add", cidr[1], "dev", VD, NULL };
  const char *const up_s[] = { "ip", "-n", S, "link", "set", VS, "up", NULL };
  const char *const up_d[] = { "ip", "-n", D, "link", "set", VD, "up", NULL };
  const char *const tc_s[] = { "tc",  "-n",   S,    "qdisc", "add", "dev",     VS,          "root",
                               "tbf", "rate", rate, "burst", burst, "latency", TBF_LATENCY, NULL };
  const char *const tc_d[] = { "tc",  "-n",   D,    "qdisc", "add", "dev",     VD,          "root",
                               "tbf", "rate", rate, "burst", burst, "latency", TBF_LATENCY, NULL };
  const char *const *const cmds[] = { add_s, add_d, veth, lo_s, lo_d, ad_s,
                                      ad_d,  up_s,  up_d, tc_s, tc_d };
  size_t ncmds = sizeof cmds / sizeof cmds[0] - (n->rate_bps ? 0 : 2);

  lab_net_down(n, NULL, 0); /* leftovers of a crashed lab in this directory */
  if (run_all(cmds, ncmds, err, errlen) < 0 || (n->l2 && lab_sw_up(n, err, errlen) < 0)) {
    lab_net_down(n, NULL, 0);
    return -1;
  }
  return 0;
}

int lab_net_enter(const char *ns)
{
  char path[64];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}
