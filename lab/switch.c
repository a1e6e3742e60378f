/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab/switch.c - the switched L2 of a two-namespace lab with the Linux
 * guest: a "switch" namespace whose bridge joins a tap for each QEMU's NIC
 * and a veth to a "client" namespace (198.18.1.1/24, the guest is
 * 198.18.1.2), from which a prober reaches the guest wherever it runs.
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
  char cidr[32];
  snprintf(cidr, sizeof cidr, "%s/24", LAB_CLIENT_ADDR);
  const char *const add_w[] = { "ip", "netns", "add", W, NULL };
  const char *const add_c[] = { "ip", "netns", "add", C, NULL };
  const char *const lo_w[] = { "ip", "-n", W, "link", "set", "lo", "up", NULL };
  const char *const lo_c[] = { "ip", "-n", C, "link", "set", "lo", "up", NULL };
  /* STP off (the default): ports forward at once.  Default ageing (300 s):
   * a guest that moved is found on its new port only when it sends. */
  const char *const br[] = { "ip", "-n", W, "link", "add", "br0", "type", "bridge", NULL };
  const char *const tap_s[] = { "ip",  "-n",        W,      "tuntap", "add",
                                "dev", tap_name[0], "mode", "tap",    NULL };
  const char *const tap_d[] = { "ip",  "-n",        W,      "tuntap", "add",
                                "dev", tap_name[1], "mode", "tap",    NULL };
  const char *const m_s[] = {
    "ip", "-n", W, "link", "set", tap_name[0], "master", "br0", "up", NULL
  };
  const char *const m_d[] = {
    "ip", "-n", W, "link", "set", tap_name[1], "master", "br0", "up", NULL
  };
  const char *const veth[] = { "ip",   "link", "add",  "cli0",     "netns", C, "type",
                               "veth", "peer", "name", "cli-port", "netns", W, NULL };
  const char *const m_c[] = {
    "ip", "-n", W, "link", "set", "cli-port", "master", "br0", "up", NULL
  };
  const char *const br_up[] = { "ip", "-n", W, "link", "set", "br0", "up", NULL };
  const char *const c_addr[] = { "ip", "-n", C, "addr", "add", cidr, "dev", "cli0", NULL };
  const char *const c_up[] = { "ip", "-n", C, "link", "set", "cli0", "up", NULL };
  const char *const *const cmds[] = { add_w, add_c, lo_w, lo_c, br,    tap_s,  tap_d,
                                      m_s,   m_d,   veth, m_c,  br_up, c_addr, c_up };
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
