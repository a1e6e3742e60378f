/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lab.c - a source/destination QEMU pair running the qmig test guest on this
 * host.  Everything lives in one run directory: QMP and serial sockets,
 * pidfiles, logs and lab.json (the description other processes read).
 * lab.json itself (written, read back): labinfo.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errbuf.h"
#include "common/files.h"
#include "lab/lab.h"
#include "qmp/qmp.h"

static const char *const side_name[2] = { "src", "dst" };

static void random_uuid(char *out, size_t len)
{
  unsigned char b[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
    for (int i = 0; i < 16; i++)
      b[i] = (unsigned char)(rand() ^ (getpid() >> (i % 8)));
  }
  if (fd >= 0)
    close(fd);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the source guest's serial until READY (0), ERROR or timeout (-1). */
static int wait_ready(const char *dir, unsigned timeout_s, char *err, size_t errlen)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/src.serial", dir);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0)
      close(fd);
    return errbuf_setf(err, errlen, "serial %s: %s", sa.sun_path, strerror(errno));
  }
  char buf[8192];
  size_t len = 0;
  int64_t end = now_ms() + (int64_t)timeout_s * 1000;
  int rc = -1;
  errbuf_setf(err, errlen, "guest did not report READY within %u s", timeout_s);
  for (int64_t left; (left = end - now_ms()) > 0;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, (int)left) <= 0)
      continue;
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
      errbuf_setf(err, errlen, "guest serial closed before READY");
      break;
    }
    len += (size_t)n;
    buf[len] = '\0';
    char *e = strstr(buf, "ERROR");
    if (e) {
      e[strcspn(e, "\n")] = '\0';
      errbuf_setf(err, errlen, "guest: %s", e);
      break;
    }
    if (!strncmp(buf, "READY", 5) || strstr(buf, "\nREADY")) { /* not DREADY */
      rc = 0;
      break;
    }
    char *nl = strrchr(buf, '\n'); /* keep only the unfinished line */
    if (nl) {
      len = strlen(nl + 1);
      memmove(buf, nl + 1, len + 1);
    } else if (len > sizeof buf / 2) {
      len = 0;
    }
  }
  close(fd);
  return rc;
}

/* Read /proc/PID/NAME into buf (NUL-terminated); bytes read, or -1. */
static ssize_t read_proc(int pid, const char *name, char *buf, size_t len)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n > 0 ? n : -1;
}

static bool pid_is_ours(int pid, const char *dir)
{
  char cmd[8192];
  ssize_t n = read_proc(pid, "cmdline", cmd, sizeof cmd);
  for (ssize_t i = 0; i < n; i++)
    if (cmd[i] == '\0')
      cmd[i] = ' ';
  return n > 0 && strstr(cmd, dir) != NULL && strstr(cmd, "qmig-lab-") != NULL;
}

/* Alive and not a zombie (pid 1 may reap a daemonized QEMU late). */
static bool pid_alive(int pid)
{
  char st[256];
  if (read_proc(pid, "stat", st, sizeof st) < 0)
    return false;
  const char *paren = strrchr(st, ')');
  return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

int lab_side_pid(const char *dir, int side)
{
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s.pid", dir, side_name[side]);
  FILE *f = fopen(path, "re");
  int pid = 0;
  if (!f)
    return 0;
  if (fscanf(f, "%d", &pid) != 1)
    pid = 0;
  fclose(f);
  return pid > 0 && pid_alive(pid) && pid_is_ours(pid, dir) ? pid : 0;
}

double lab_side_cpu_s(const char *dir, int side)
{
  int pid = lab_side_pid(dir, side);
  return pid ? lab_pid_cpu_s(pid) : -1;
}

double lab_pid_cpu_s(int pid)
{
  char st[1024];
  if (pid <= 0 || read_proc(pid, "stat", st, sizeof st) < 0)
    return -1;
  /* Fields after the command's closing parenthesis: state is field 3,
   * utime and stime fields 14 and 15. */
  const char *p = strrchr(st, ')');
  unsigned long long ut, stime;
  if (!p ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
    return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return (double)(ut + stime) / (double)(hz > 0 ? hz : 100);
}

/* End one side by its pid: SIGTERM, then SIGKILL after 5 s. */
static int stop_side(const char *dir, int side)
{
  int pid = lab_side_pid(dir, side);
  if (!pid)
    return 0;
  kill(pid, SIGTERM);
  for (int i = 0; i < 500 && pid_alive(pid); i++)
    usleep(10000);
  if (pid_alive(pid)) {
    kill(pid, SIGKILL);
    for (int i = 0; i < 200 && pid_alive(pid); i++)
      usleep(10000);
  }
  return pid_alive(pid) ? -1 : 0;
}

static int stop_qemus(const char *dir, char *err, size_t errlen)
{
  int rc = 0;
  char path[PATH_MAX];
  for (int s = 0; s < 2; s++) {
    if (stop_side(dir, s) < 0)
      rc = errbuf_setf(err, errlen, "%s QEMU does not die", side_name[s]);
    static const char *const files[] = { "pid", "qmp", "serial" };
    for (int i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "%s/%s.%s", dir, side_name[s], files[i]);
      unlink(path);
    }
  }
  lab_ram_share_unlink(dir);
  return rc;
}

/* The lab's network by the names lab.json recorded; a lab whose start
 * crashed before writing it by the names its directory gives.  A lab
 * without a network gets names that do not exist: removing is a no-op. */
static void net_of(const char *dir, struct lab_net *n)
{
  char real[PATH_MAX], path[PATH_MAX + 16];
  if (!realpath(dir, real))
    snprintf(real, sizeof real, "%s", dir);
  lab_net_names(real, n);
  snprintf(path, sizeof path, "%s/lab.json", real);
  json_error_t je;
  json_t *j = lab_info_load(path, &je);
  lab_net_from_json(j, n);
  json_decref(j);
}

int qmig_lab_stop(const char *dir, char *err, size_t errlen)
{
  struct lab_net n;
  char why[512];
  struct stat st;
  /* A lab that is gone stops as a no-op; one in a directory another user
   * controls is not ours to act on. */
  if (lstat(dir, &st) == 0 && files_private_dir(dir, false, why, sizeof why) < 0)
    return errbuf_setf(err, errlen, "lab: %s", why);
  /* QEMUs first: a namespace lives on while a process is inside. */
  int rc = stop_qemus(dir, err, errlen);
  net_of(dir, &n);
  if (lab_net_down(&n, why, sizeof why) < 0 && rc == 0)
    rc = -1, errbuf_setf(err, errlen, "%s", why);
  return rc;
}

/* The machine type the source QEMU's "pc" stands for (query-machines:
 * the entry whose alias is "pc"), into out; 0, or -1 with err.  A newer
 * destination's "pc" is its own newest type, which an older source cannot
 * be migrated to. */
static int src_machine(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
  char a[PATH_MAX + 8];
  snprintf(a, sizeof a, "unix:%s/src.qmp", dir);
  struct qmp_conn *c = qmp_connect("source", a, 10000, err, errlen);
  json_t *ms = NULL, *v;
  size_t i;
  if (!c)
    return -1;
  int rc = qmp_cmd(c, &ms, QMP_TIMEOUT_DEFAULT, "query-machines", NULL);
  if (rc < 0)
    errbuf_setf(err, errlen, "%s", qmp_error(c));
  qmp_close(c);
  if (rc < 0)
    return -1;
  rc = errbuf_setf(err, errlen, "source QEMU: no machine type is an alias of 'pc'");
  json_array_foreach(ms, i, v)
  {
    const char *alias = json_string_value(json_object_get(v, "alias"));
    const char *name = json_string_value(json_object_get(v, "name"));
    if (alias && name && !strcmp(alias, "pc")) {
      snprintf(out, len, "%s", name);
      rc = 0;
      break;
    }
  }
  json_decref(ms);
  return rc;
}

int qmig_lab_start(const struct qmig_lab_options *given, char *err, size_t errlen)
{
  struct qmig_lab_options o = QMIG_LAB_OPTIONS_INIT;
  if (given->size < sizeof given->size)
    return errbuf_setf(err, errlen,
                       "lab: struct qmig_lab_options has size %zu: start from "
                       "QMIG_LAB_OPTIONS_INIT",
                       given->size);
  memcpy(&o, given, given->size < sizeof o ? given->size : sizeof o);
  o.size = sizeof o;
  char dir[PATH_MAX], guest[PATH_MAX], uuid[40], why[512] = "";
  if (!o.dir)
    return errbuf_setf(err, errlen, "lab: no run directory given");
  if (o.fill_mib == 0)
    o.fill_mib = 64;
  const bool linux_guest = lab_guest_is_linux(&o);
  /* The Linux guest: its kernel and initramfs take about 64 MiB more. */
  const unsigned os_mib = linux_guest ? 64 : 20;
  if (o.heartbeat_ms == 0)
    o.heartbeat_ms = 2;
  if (o.mem_mib == 0)
    o.mem_mib = o.fill_mib + (linux_guest ? 96 : 32);
  if (o.ready_timeout_s == 0) /* a Linux boot under TCG on a loaded host: a minute */
    o.ready_timeout_s = linux_guest ? 120 : 60;
  const char *accel = o.accel ? o.accel : "auto";
  if (strcmp(accel, "kvm") && strcmp(accel, "tcg") && strcmp(accel, "auto"))
    return errbuf_setf(err, errlen, "lab: accel '%s' is not kvm, tcg or auto", accel);
  if (o.mem_mib < o.fill_mib + os_mib || o.fill_mib > 3000)
    return errbuf_setf(err, errlen,
                       "lab: fill %u MiB does not fit in %u MiB of guest RAM "
                       "(needs fill + %u MiB, fill at most 3000)",
                       o.fill_mib, o.mem_mib, os_mib);
  /* Everything the lab writes goes here (logs, lab.json, pidfiles,
   * sockets, disks): a directory someone else planted, or can write to,
   * could redirect those writes (a symlink as src.log truncated its target). */
  if (files_private_dir(o.dir, true, why, sizeof why) < 0)
    return errbuf_setf(err, errlen, "lab: %s", why);
  if (!realpath(o.dir, dir))
    return errbuf_setf(err, errlen, "lab: %s: %s", o.dir, strerror(errno));
  if (lab_side_pid(dir, 0) || lab_side_pid(dir, 1))
    return errbuf_setf(err, errlen, "lab: a pair is already running in %s (qmig lab stop first)",
                       dir);
  struct lab_linux lx_, *lx = NULL;
  if (linux_guest) {
    memset(&lx_, 0, sizeof lx_);
    if (lab_linux_find(&lx_, why, sizeof why) < 0)
      return errbuf_setf(err, errlen, "lab: %s", why);
    lx = &lx_;
    guest[0] = '\0';
  } else if (lab_find_guest(o.guest, guest, sizeof guest) < 0) {
    return errbuf_setf(err, errlen, "lab: guest image %s not found (build it with make)", guest);
  }
  struct lab_disk disk_, *disk = NULL;
  if (o.disk_mib) {
    if (lab_disk_create(&o, dir, &disk_, why, sizeof why) < 0)
      return errbuf_setf(err, errlen, "lab: disk: %s", why);
    disk = &disk_;
  } else if (o.disk_write_kibps || o.disk_format || o.disk_cache || o.disk_copy ||
             o.data_disk_mib || o.data_disk_top) {
    return errbuf_setf(err, errlen, "lab: disk options given without a disk size");
  }
  random_uuid(uuid, sizeof uuid);
  int tls_port[2] = { 0, 0 };
  char tlsdir[PATH_MAX];
  if (o.qmp_tls_dir) {
    if (o.netns)
      return errbuf_setf(err, errlen, "lab: a TLS QMP monitor is not available with netns");
    if (!realpath(o.qmp_tls_dir, tlsdir))
      return errbuf_setf(err, errlen, "lab: QMP TLS directory %s: %s", o.qmp_tls_dir,
                         strerror(errno));
    o.qmp_tls_dir = tlsdir;
    for (int s = 0; s < 2; s++)
      if ((tls_port[s] = lab_free_port()) <= 0)
        return errbuf_setf(err, errlen, "lab: no free TCP port on 127.0.0.1 for a TLS QMP monitor");
    if (tls_port[0] == tls_port[1])
      return errbuf_setf(err, errlen, "lab: no two free TCP ports on 127.0.0.1 (try again)");
  }
  struct lab_net net_, *net = NULL;
  if (o.netns) {
    lab_net_names(dir, &net_);
    net_.l2 = linux_guest; /* a switch joins the guest's NIC to a client */
    if (o.link_rate && lab_parse_rate(o.link_rate, &net_.rate_bps) < 0)
      return errbuf_setf(err, errlen, "lab: link rate '%s' is not a rate (e.g. 1gbit, 200mbit)",
                         o.link_rate);
    if (lab_net_up(&net_, why, sizeof why) < 0)
      return errbuf_setf(err, errlen, "lab: %s", why);
    net = &net_;
    if (lx)
      snprintf(lx->sw_ns, sizeof lx->sw_ns, "%s", net_.sw_ns);
  } else if (o.link_rate) {
    return errbuf_setf(err, errlen, "lab: a link rate needs the two-namespace lab (netns)");
  }

  /* auto: KVM first when /dev/kvm is usable, TCG if the guest does not come
   * up in time (a KVM that cannot run this guest usefully). */
  const char *tries[2];
  int ntries = 0;
  unsigned tmo[2];
  if (!strcmp(accel, "auto")) {
    if (access("/dev/kvm", R_OK | W_OK) == 0) {
      tries[ntries] = "kvm";
      tmo[ntries++] = o.ready_timeout_s < 10 ? o.ready_timeout_s : 10;
    }
    tries[ntries] = "tcg";
    tmo[ntries++] = o.ready_timeout_s;
  } else {
    tries[ntries] = accel;
    tmo[ntries++] = o.ready_timeout_s;
  }
  /* The disk fill goes sector by sector through emulated PIO: with
   * cache=none about 2 MiB/s under TCG on a loaded host, 7 with writeback. */
  unsigned disk_s = 2 * o.disk_mib;
  /* Another binary on the destination (another QEMU version) gets the
   * source's versioned machine type unless one was given. */
  bool other = o.dst_qemu && strcmp(o.dst_qemu, o.qemu ? o.qemu : "qemu-system-x86_64");
  char machine[2][64];
  for (int i = 0; i < ntries; i++) {
    snprintf(machine[0], sizeof machine[0], "%s", o.machine ? o.machine : "pc");
    snprintf(machine[1], sizeof machine[1], "%s", machine[0]);
    if (lab_start_qemu(&o, dir, 0, tries[i], guest, uuid, disk, net ? net->ns[0] : NULL,
                       tls_port[0], machine[0], lx, why, sizeof why) < 0 ||
        wait_ready(dir, tmo[i] + disk_s, why, sizeof why) < 0) {
      stop_qemus(dir, NULL, 0);
      continue;
    }
    if ((!o.machine && other &&
         src_machine(dir, machine[1], sizeof machine[1], why, sizeof why) < 0) ||
        lab_start_qemu(&o, dir, 1, tries[i], guest, uuid, disk, net ? net->ns[1] : NULL,
                       tls_port[1], machine[1], lx, why, sizeof why) < 0) {
      qmig_lab_stop(dir, NULL, 0);
      return errbuf_setf(err, errlen, "lab: %s", why);
    }
    char a[PATH_MAX + 8];
    snprintf(a, sizeof a, "unix:%s/dst.qmp", dir);
    struct qmp_conn *c = qmp_connect("destination", a, 10000, why, sizeof why);
    if (!c) {
      qmig_lab_stop(dir, NULL, 0);
      return errbuf_setf(err, errlen, "lab: %s", why);
    }
    qmp_close(c);
    if (lab_info_write(&o, dir, tries[i], uuid, disk, net, tls_port, machine, err, errlen) < 0) {
      qmig_lab_stop(dir, NULL, 0);
      return -1;
    }
    return 0;
  }
  if (net)
    lab_net_down(net, NULL, 0);
  return errbuf_setf(err, errlen, "lab: %s", why);
}
