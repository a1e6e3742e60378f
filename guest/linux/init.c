/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/linux/init.c - /init of the Linux lab guest's initramfs (static).
 *
 * The same duties as the freestanding lab guest (guest/guest.c), as a
 * Linux process: fill memory with the pattern of guest/pattern.h, rewrite
 * it at a set rate, print heartbeats on ttyS0 in the same format (so the
 * engine's heartbeat reader works unchanged), plus a network: load the
 * NIC driver from the initramfs, set a static IPv4 address and answer UDP
 * echo.  It checks its own working set on request.
 *
 * Kernel command line ("key=value" words, read from /proc/cmdline):
 *   fill=MiB (64)  dirty=MiB/s (0)  hb=ms (2)  seed=N (1)
 *   ip=A.B.C.D (none: no network)  prefix=N (24)  port=N (7, UDP echo)
 *   client=A.B.C.D (none)  greeted once at boot: see hello()
 * Serial output (one line each, decimal):
 *   QMIG-GUEST linux v1 pages=N fill=F dirty=D hb=H ip=A
 *   READY pos=N                  after the first full fill
 *   HB <seq> <pos>               every hb ms
 *   VERIFY OK pages=N pos=P      answer to a "VERIFY" line on ttyS0
 *   VERIFY FAILED bad=K first=I pos=P pages=N word=W
 *   ERROR <why>                  then the guest powers off
 * UDP on `port`: every datagram is echoed, except one that starts with
 * "QMIG-VERIFY", answered with the VERIFY line.
 *
 * Progress is pos alone, as in pattern.h; the check runs between two page
 * writes of this one thread, so no page is ever half written when checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest/pattern.h"

#define NIC_MODULE "/lib/modules/e1000.ko"

struct cfg {
  uint32_t fill_mib, dirty_mibps, hb_ms, seed, prefix, port;
  char ip[20], client[20];
};

static int tty = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof line)
    n = sizeof line - 1;
  for (int off = 0; off < n;) {
    ssize_t w = write(tty >= 0 ? tty : 2, line + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    off += (int)w;
  }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
  char why[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  say("ERROR %s\n", why);
  sync();
  reboot(RB_POWER_OFF);
  for (;;)
    pause();
}

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The value of "key=" among the words of cmdline, or NULL. */
static const char *arg(const char *cmdline, const char *key)
{
  size_t kl = strlen(key);
  for (const char *p = cmdline; *p;) {
    while (*p == ' ' || *p == '\n')
      p++;
    if (!strncmp(p, key, kl) && p[kl] == '=')
      return p + kl + 1;
    p += strcspn(p, " \n");
  }
  return NULL;
}

static uint32_t num(const char *cmdline, const char *key, uint32_t dflt)
{
  const char *v = arg(cmdline, key);
  if (!v)
    return dflt;
  char *end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 10);
  if (errno || end == v || (*end && *end != ' ' && *end != '\n') || x > UINT32_MAX)
    die("bad %s= on the kernel command line", key);
  return (uint32_t)x;
}

static void read_cfg(struct cfg *c)
{
  char cmdline[2048] = "";
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof cmdline - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n < 0)
    die("/proc/cmdline: %s", strerror(errno));
  cmdline[n] = '\0';
  c->fill_mib = num(cmdline, "fill", 64);
  c->dirty_mibps = num(cmdline, "dirty", 0);
  c->hb_ms = num(cmdline, "hb", 2);
  c->seed = num(cmdline, "seed", 1);
  c->prefix = num(cmdline, "prefix", 24);
  c->port = num(cmdline, "port", 7);
  if (c->fill_mib == 0 || c->fill_mib > 16384 || c->hb_ms == 0 || c->prefix < 8 || c->prefix > 30 ||
      c->port == 0 || c->port > 65535)
    die("fill, hb, prefix or port out of range");
  const char *ip = arg(cmdline, "ip"), *cl = arg(cmdline, "client");
  c->ip[0] = c->client[0] = '\0';
  if (ip)
    snprintf(c->ip, sizeof c->ip, "%.*s", (int)strcspn(ip, " \n"), ip);
  if (cl)
    snprintf(c->client, sizeof c->client, "%.*s", (int)strcspn(cl, " \n"), cl);
}

/* ttyS0 raw: whole lines in, bytes out untranslated. */
static void open_tty(void)
{
  tty = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    tty = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
  struct termios t;
  if (tty >= 0 && tcgetattr(tty, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(tty, TCSANOW, &t);
  }
}

static void load_nic_driver(void)
{
  int fd = open(NIC_MODULE, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die("%s: %s", NIC_MODULE, strerror(errno));
  if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
    die("loading %s: %s", NIC_MODULE, strerror(errno));
  close(fd);
}

/* Write value to /proc/sys/PATH. */
static void sysctl_set(const char *path, const char *value)
{
  char p[128];
  snprintf(p, sizeof p, "/proc/sys/%s", path);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
    die("%s: %s", p, strerror(errno));
  close(fd);
}

/* eth0 up with c->ip/c->prefix (the driver registers it during its load;
 * wait a little all the same).  Its neighbour entries stay reachable for
 * an hour (30-90 min): the guest sends no ARP of its own during a run, so
 * only an announcement, or the guest answering a frame that reached it,
 * tells a switch where it is (the kernel's default, 15-45 s, would have it
 * re-resolve the client now and then, at a moment no test controls). */
static void net_up(const struct cfg *c)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
  int tries = 0;
  while (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    if (++tries > 200)
      die("no eth0 after loading the NIC driver: %s", strerror(errno));
    usleep(10000);
  }
  sysctl_set("net/ipv4/neigh/eth0/base_reachable_time_ms", "3600000");
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  if (inet_pton(AF_INET, c->ip, &sin->sin_addr) != 1)
    die("ip=%s is not an IPv4 address", c->ip);
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
    die("eth0 address %s: %s", c->ip, strerror(errno));
  sin->sin_addr.s_addr = htonl(~0u << (32 - c->prefix));
  if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
    die("eth0 netmask /%u: %s", c->prefix, strerror(errno));
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    die("eth0 flags: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    die("eth0 up: %s", strerror(errno));
  close(s);
}

static int udp_echo_socket(uint32_t port)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("UDP port %u: %s", port, strerror(errno));
  return s;
}

static bool eth0_flag(int s, short flag)
{
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
  return ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & flag);
}

/* The client's address is resolved (a complete ARP entry). */
static bool resolved(int s, const struct sockaddr_in *client)
{
  struct arpreq r;
  memset(&r, 0, sizeof r);
  memcpy(&r.arp_pa, client, sizeof *client);
  snprintf(r.arp_dev, sizeof r.arp_dev, "eth0");
  return ioctl(s, SIOCGARP, &r) == 0 && (r.arp_flags & ATF_COM);
}

/* One datagram to the client's discard port at boot, as a machine that
 * comes up talks to someone: its ARP request teaches the switch the
 * guest's port and the client the guest's MAC (a host answering an ARP
 * request caches the asker), so the client never has to broadcast for the
 * guest.  Sent once the link is up (else the request is lost and retried
 * a second later) and waited for until the client's MAC is known (at most
 * 5 s each), before READY: the lab starts the destination after READY,
 * so none of the guest's broadcasts waits at the destination's NIC, to be
 * delivered to the guest when it resumes there.  The client's ICMP port
 * unreachable is ignored. */
static void hello(int s, const char *client)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
  if (inet_pton(AF_INET, client, &sa.sin_addr) != 1)
    die("client=%s is not an IPv4 address", client);
  for (int i = 0; i < 500 && !eth0_flag(s, IFF_RUNNING); i++)
    usleep(10000);
  static const char msg[] = "QMIG-GUEST hello\n";
  sendto(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&sa, sizeof sa);
  for (int i = 0; i < 500 && !resolved(s, &sa); i++)
    usleep(10000);
}

/* The working set. */
struct mem {
  uint32_t *base;
  uint32_t npages, seed, pos;
};

static uint32_t *page(const struct mem *m, uint32_t i)
{
  return m->base + (size_t)i * QG_PAGE_WORDS;
}

static void write_next(struct mem *m)
{
  uint32_t i = m->pos % m->npages;
  qg_write_page(page(m, i), i, m->pos / m->npages + 1, m->seed);
  m->pos++;
}

/* Check every page against pos; the result line into out. */
static int verify(const struct mem *m, char *out, size_t len)
{
  uint64_t bad = 0;
  uint32_t first = 0, word = 0;
  for (uint32_t i = 0; i < m->npages; i++) {
    uint32_t w = qg_page_mismatch(page(m, i), 0, i, qg_expected_gen(m->pos, m->npages, i), m->seed);
    if (w != QG_PAGE_WORDS && bad++ == 0)
      first = i, word = w;
  }
  if (bad)
    return snprintf(out, len, "VERIFY FAILED bad=%llu first=%u pos=%u pages=%u word=%u\n",
                    (unsigned long long)bad, first, m->pos, m->npages, word);
  return snprintf(out, len, "VERIFY OK pages=%u pos=%u\n", m->npages, m->pos);
}

/* Lines typed on ttyS0. */
static void tty_input(struct mem *m)
{
  static char line[64];
  static size_t len;
  char buf[64];
  ssize_t n = read(tty, buf, sizeof buf);
  for (ssize_t k = 0; k < n; k++) {
    if (buf[k] != '\n' && buf[k] != '\r') {
      if (len + 1 < sizeof line)
        line[len++] = buf[k];
      continue;
    }
    line[len] = '\0';
    if (!strcmp(line, "VERIFY")) {
      char out[160];
      verify(m, out, sizeof out);
      say("%s", out);
    }
    len = 0;
  }
}

/* The heartbeat: a line when one is due. */
struct beat {
  int64_t period_ns, next_ns;
  uint32_t seq;
};
static void beat(struct beat *b, const struct mem *m)
{
  int64_t now = mono_ns();
  if (now < b->next_ns)
    return;
  say("HB %u %u\n", b->seq++, m->pos);
  b->next_ns += b->period_ns;
  if (b->next_ns <= now) /* we were stopped: no burst of catch-up lines */
    b->next_ns = now + b->period_ns;
}

/* At most 64 datagrams, the heartbeat between them when due: after a pause
 * the requests queued meanwhile (80 at 1 kHz over 80 ms) cost ~0.3 ms each
 * under TCG, and answering them all first held the heartbeat back by
 * 15-100 ms behind the first reply (qmig calibrate, docs/REPORT.md). */
static void udp_input(int s, struct mem *m, struct beat *b)
{
  for (int k = 0; k < 64; k++) {
    beat(b, m);
    char buf[1500], out[160];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
      return;
    if (n >= 11 && !memcmp(buf, "QMIG-VERIFY", 11)) {
      int l = verify(m, out, sizeof out);
      sendto(s, out, (size_t)l, 0, (struct sockaddr *)&from, fl);
    } else {
      sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
  }
}

int main(void)
{
  mkdir("/proc", 0555);
  mkdir("/dev", 0755);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  open_tty();
  struct cfg c;
  read_cfg(&c);
  int us = -1;
  if (c.ip[0]) {
    load_nic_driver();
    net_up(&c);
    us = udp_echo_socket(c.port);
    if (c.client[0])
      hello(us, c.client);
  }
  struct mem m = { .npages = c.fill_mib * QG_PAGES_PER_MIB, .seed = c.seed };
  m.base = mmap(NULL, (size_t)m.npages * QG_PAGE_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m.base == MAP_FAILED)
    die("cannot map %u MiB: %s", c.fill_mib, strerror(errno));
  say("QMIG-GUEST linux v1 pages=%u fill=%u dirty=%u hb=%u ip=%s\n", m.npages, c.fill_mib,
      c.dirty_mibps, c.hb_ms, c.ip[0] ? c.ip : "none");

  const int64_t hb_ns = (int64_t)c.hb_ms * 1000000;
  /* Page writes per second once READY; the first fill goes flat out. */
  const uint64_t rate = (uint64_t)c.dirty_mibps * QG_PAGES_PER_MIB;
  struct beat hb = { hb_ns, mono_ns() + hb_ns, 0 };
  int64_t t_ready = 0;
  uint32_t ready_pos = 0;
  int ready = 0;
  for (;;) {
    beat(&hb, &m);
    int64_t now = mono_ns(), wake = hb.next_ns;
    if (!ready) {
      for (int k = 0; k < 256 && m.pos < m.npages; k++)
        write_next(&m);
      if (m.pos >= m.npages) {
        ready = 1;
        ready_pos = m.pos;
        t_ready = mono_ns();
        say("READY pos=%u\n", m.pos);
      }
      wake = now;
    } else if (rate) {
      uint64_t due = (uint64_t)(now - t_ready) / 1000 * rate / 1000000;
      uint64_t done = m.pos - ready_pos; /* wraps with pos: both 32-bit */
      for (int k = 0; k < 256 && (uint32_t)done < (uint32_t)due; k++, done++)
        write_next(&m);
      if ((uint32_t)done < (uint32_t)due)
        wake = now;
      else if (now + (int64_t)(1000000000 / rate) < wake)
        wake = now + (int64_t)(1000000000 / rate);
    }
    struct pollfd p[2] = { { .fd = tty, .events = POLLIN }, { .fd = us, .events = POLLIN } };
    int64_t d = wake - mono_ns();
    struct timespec ts = { d > 0 ? d / 1000000000 : 0, d > 0 ? d % 1000000000 : 0 };
    if (ppoll(p, 2, &ts, NULL) > 0) {
      if (p[0].revents & POLLIN)
        tty_input(&m);
      if (p[1].revents & POLLIN)
        udp_input(us, &m, &hb);
    }
  }
}
