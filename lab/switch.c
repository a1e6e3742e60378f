/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/switch.c - the switched L2 of a two-namespace lab with the Linux
 * guest: a "switch" namespace whose bridge br0 joins each side's "host"
 * and a veth to a "client" namespace (198.18.1.1/24, the guest is
 * 198.18.1.2), from which a prober reaches the guest wherever it runs.
 * Each host is a bridge of its own (hb-src, hb-dst) holding its QEMU's tap
 * and an uplink veth to br0, as a hypervisor's bridge is cabled to a
 * switch: when a QEMU quits its tap goes down on its host's bridge while
 * the switch port stays up, so the switch keeps the guest's MAC on the old
 * port until it hears the guest elsewhere (an announcement, or the guest
 * sending) or the entry ages out (LAB_SW_AGEING_S).
 * Each QEMU lives in its own namespace (netns.c) but gets its tap as a file
 * descriptor opened in the switch namespace (lab_sw_open_tap), so the
 * migration stream and the guest's network are apart.  Interface names are
 * fixed: they live in namespaces of this lab alone. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/run.h"
#include "lab/lab.h"

static const char *const tap_name[2] = { "tap-src", "tap-dst" };

int lab_sw_up(const struct lab_net *n, char *err, size_t errlen)
{
  const char *W = n->sw_ns, *C = n->cli_ns;
  char cidr[32], ageing[16];
  snprintf(cidr, sizeof cidr, "%s/24", LAB_CLIENT_ADDR);
  snprintf(ageing, sizeof ageing, "%u", LAB_SW_AGEING_S * 100); /* centiseconds */
  /* STP off (the default): ports forward at once.  IPv6 off in both
   * namespaces before any interface exists (the guest has none either): no
   * router solicitation, DAD or MLD report floods the switch, so nothing
   * waits at the destination's tap that the guest would answer once it
   * resumes, which would teach the switch its new port without any
   * announcement (docs/REPORT.md, `network`).  -e: a kernel without IPv6. */
  /* clang-format off */
  const char *const cmds[][14] = {
    { "ip", "netns", "add", W },
    { "ip", "netns", "add", C },
    { "ip", "netns", "exec", W, "sysctl", "-q", "-e", "-w",
      "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1" },
    { "ip", "netns", "exec", C, "sysctl", "-q", "-e", "-w",
      "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1" },
    { "ip", "-n", W, "link", "set", "lo", "up" },
    { "ip", "-n", C, "link", "set", "lo", "up" },
    { "ip", "-n", W, "link", "add", "br0", "type", "bridge", "ageing_time", ageing },
    { "ip", "-n", W, "link", "add", "hb-src", "type", "bridge" },
    { "ip", "-n", W, "link", "add", "hb-dst", "type", "bridge" },
    { "ip", "-n", W, "tuntap", "add", "dev", tap_name[0], "mode", "tap" },
    { "ip", "-n", W, "tuntap", "add", "dev", tap_name[1], "mode", "tap" },
    { "ip", "-n", W, "link", "set", tap_name[0], "master", "hb-src", "up" },
    { "ip", "-n", W, "link", "set", tap_name[1], "master", "hb-dst", "up" },
    { "ip", "-n", W, "link", "add", "up-src", "type", "veth", "peer", "name", "port-src" },
    { "ip", "-n", W, "link", "add", "up-dst", "type", "veth", "peer", "name", "port-dst" },
    { "ip", "-n", W, "link", "set", "up-src", "master", "hb-src", "up" },
    { "ip", "-n", W, "link", "set", "up-dst", "master", "hb-dst", "up" },
    { "ip", "-n", W, "link", "set", "port-src", "master", "br0", "up" },
    { "ip", "-n", W, "link", "set", "port-dst", "master", "br0", "up" },
    { "ip", "-n", W, "link", "set", "hb-src", "up" },
    { "ip", "-n", W, "link", "set", "hb-dst", "up" },
    { "ip", "link", "add", "cli0", "netns", C, "type", "veth", "peer", "name", "cli-port", "netns", W },
    { "ip", "-n", W, "link", "set", "cli-port", "master", "br0", "up" },
    { "ip", "-n", W, "link", "set", "br0", "up" },
    { "ip", "-n", C, "addr", "add", cidr, "dev", "cli0" },
    { "ip", "-n", C, "link", "set", "cli0", "up" },
  };
  /* clang-format on */
  char why[512];
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (run_argv(cmds[i], why, sizeof why) < 0)
      return errbuf_setf(err, errlen, "switch: %s", why);
  return 0;
}

int lab_sw_open_tap(const char *sw_ns, int side)
{
  if (lab_net_enter(sw_ns) < 0)
    return -1;
  int fd = open("/dev/net/tun", O_RDWR);
  if (fd < 0)
    return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", tap_name[side]);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}
