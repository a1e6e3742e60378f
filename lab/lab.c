/* lab.c - a source/destination QEMU pair running the qmig test guest on this
 * host.  Everything lives in one run directory: QMP and serial sockets,
 * pidfiles, logs and lab.json (the description other processes read). */
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
#include "lab/lab.h"
#include "qmp/qmp.h"

#ifndef QMIG_DATADIR
#define QMIG_DATADIR "/usr/local/share/qmig"
#endif

static const char *const side_name[2] = { "src", "dst" };

static int errf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* The guest ELF: explicit, $QMIG_GUEST, next to the running binary (build
 * tree), or the installed data dir. */
static int find_guest(const char *given, char *out, size_t len)
{
  if (given) {
    snprintf(out, len, "%s", given);
    return access(out, R_OK);
  }
  const char *env = getenv("QMIG_GUEST");
  if (env) {
    snprintf(out, len, "%s", env);
    return access(out, R_OK);
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      static const char *const rel[] = { "guest/qmig-guest.elf", "../share/qmig/qmig-guest.elf" };
      for (size_t i = 0; i < 2; i++) {
        snprintf(out, len, "%s/%s", exe, rel[i]);
        if (access(out, R_OK) == 0)
          return 0;
      }
    }
  }
  snprintf(out, len, "%s/qmig-guest.elf", QMIG_DATADIR);
  return access(out, R_OK);
}

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
  snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
           b[13], b[14], b[15]);
}

/* Start one QEMU daemonized; returns its pid (from the pidfile) or -1. */
static int start_qemu(const struct qmig_lab_options *o, const char *dir, int side,
                      const char *accel, const char *guest, const char *uuid,
                      const struct lab_disk *disk, const char *netns, char *err,
                      size_t errlen)
{
  char mem[32], append[128], chardev[PATH_MAX + 64], qmp[PATH_MAX + 32], pidfile[PATH_MAX],
      logf[PATH_MAX], name[64], acc[32];
  const char *s = side_name[side];
  /* QEMU < 9.0 under TCG loses dirty pages when a RAM block is a multiple
   * of 256 KiB: the fast bitmap sync clears dirty bits without resetting
   * the TCG TLB (fixed upstream by 03bfc2188f, "physmem: Fix migration
   * dirty bitmap coherency with TCG memory access").  8 KiB more makes QEMU
   * take its per-page path.  docs/DESIGN.md, "Known QEMU bugs". */
  bool workaround = !strcmp(accel, "tcg") && !o->exact_mem;
  snprintf(mem, sizeof mem, "%uK", o->mem_mib * 1024 + (workaround ? 8 : 0));
  snprintf(append, sizeof append, "fill=%u dirty=%u hb=%u", o->fill_mib, o->dirty_mibps,
           o->heartbeat_ms);
  if (disk) {
    size_t k = strlen(append);
    snprintf(append + k, sizeof append - k, " disk=%u dwrite=%u", o->disk_mib,
             o->disk_write_kibps);
  }
  snprintf(chardev, sizeof chardev, "socket,id=ser0,path=%s/%s.serial,server=on,wait=off", dir, s);
  snprintf(qmp, sizeof qmp, "unix:%s/%s.qmp,server=on,wait=off", dir, s);
  snprintf(pidfile, sizeof pidfile, "%s/%s.pid", dir, s);
  snprintf(logf, sizeof logf, "%s/%s.log", dir, s);
  snprintf(name, sizeof name, "qmig-lab-%s", s);
  snprintf(acc, sizeof acc, "%s", accel);
  unlink(pidfile);

  const char *argv[64];
  int n = 0;
  argv[n++] = o->qemu ? o->qemu : "qemu-system-x86_64";
  argv[n++] = "-name"; argv[n++] = name;
  argv[n++] = "-machine"; argv[n++] = "pc";
  argv[n++] = "-accel"; argv[n++] = acc;
  argv[n++] = "-m"; argv[n++] = mem;
  argv[n++] = "-smp"; argv[n++] = "1";
  const char *cpu = side == 1 && o->dst_cpu ? o->dst_cpu : o->cpu;
  if (cpu) {
    argv[n++] = "-cpu"; argv[n++] = cpu;
  }
  argv[n++] = "-nodefaults"; argv[n++] = "-no-user-config";
  argv[n++] = "-display"; argv[n++] = "none";
  argv[n++] = "-uuid"; argv[n++] = uuid;
  argv[n++] = "-kernel"; argv[n++] = guest;
  argv[n++] = "-append"; argv[n++] = append;
  argv[n++] = "-chardev"; argv[n++] = chardev;
  argv[n++] = "-serial"; argv[n++] = "chardev:ser0";
  argv[n++] = "-qmp"; argv[n++] = qmp;
  argv[n++] = "-pidfile"; argv[n++] = pidfile;
  char dump[PATH_MAX + 48];
  if (o->nic) {
    /* The same MAC on both sides, as a migrated guest keeps it; restrict=on
     * reaches nothing outside.  No option ROM: the guest boots with -kernel
     * and drives no NIC (QEMU itself sends the announcements' RARPs). */
    snprintf(dump, sizeof dump, "filter-dump,id=fd0,netdev=n0,file=%s/%s.pcap", dir, s);
    argv[n++] = "-netdev"; argv[n++] = "user,id=n0,restrict=on";
    argv[n++] = "-device"; argv[n++] = "e1000,netdev=n0,mac=52:54:00:71:6d:01,romfile=";
    argv[n++] = "-object"; argv[n++] = dump;
  }
  char bd[2][2][PATH_MAX + 96], dev[2][64];
  /* -blockdev with explicit node names and formats ("drive0": the guest's
   * disk; "drive1": the shared data disk).  Shared storage: both sides
   * open the same image and the destination, -incoming, keeps it inactive
   * until the switchover.  A non-shared disk: the destination opens its own
   * image, which qmig's NBD mirror fills. */
  for (int k = 0; disk && k < 2; k++) {
    const char *path = k ? (side == 0 ? disk->data_path : disk->dst_data_path)
                         : (side == 0 ? disk->path : disk->dst_path);
    const char *fmt = k ? disk->data_format : side == 0 ? disk->format : disk->dst_format;
    if (!fmt || !path[0])
      continue;
    snprintf(bd[k][0], sizeof bd[k][0], "driver=file,filename=%s,node-name=drive%d-file,"
             "cache.direct=%s", path, k, strcmp(disk->cache, "none") ? "off" : "on");
    snprintf(bd[k][1], sizeof bd[k][1], "driver=%s,file=drive%d-file,node-name=drive%d",
             fmt, k, k);
    snprintf(dev[k], sizeof dev[k], "ide-hd,drive=drive%d,bus=ide.0,unit=%d,id=disk%d", k, k, k);
    argv[n++] = "-blockdev"; argv[n++] = bd[k][0];
    argv[n++] = "-blockdev"; argv[n++] = bd[k][1];
    argv[n++] = "-device"; argv[n++] = dev[k];
  }
  argv[n++] = "-daemonize";
  if (side == 1) {
    argv[n++] = "-incoming"; argv[n++] = "defer";
  }
  argv[n] = NULL;

  pid_t pid = fork();
  if (pid < 0)
    return errf(err, errlen, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (nul >= 0)
      dup2(nul, 0);
    if (netns && lab_net_enter(netns) < 0) {
      dprintf(2, "cannot enter network namespace %s: %s\n", netns, strerror(errno));
      _exit(127);
    }
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char msg[512] = "";
    FILE *f = fopen(logf, "r");
    if (f) {
      size_t k = fread(msg, 1, sizeof msg - 1, f);
      msg[k] = '\0';
      fclose(f);
      msg[strcspn(msg, "\n")] = '\0';
    }
    return errf(err, errlen, "%s QEMU (%s) did not start: %s", s, accel,
                msg[0] ? msg : "see log");
  }
  FILE *f = fopen(pidfile, "r");
  int qpid = 0;
  if (!f || fscanf(f, "%d", &qpid) != 1 || qpid <= 0) {
    if (f)
      fclose(f);
    return errf(err, errlen, "%s QEMU: no pid in %s", s, pidfile);
  }
  fclose(f);
  return qpid;
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
    return errf(err, errlen, "serial %s: %s", sa.sun_path, strerror(errno));
  }
  char buf[8192];
  size_t len = 0;
  int64_t end = now_ms() + (int64_t)timeout_s * 1000;
  int rc = -1;
  errf(err, errlen, "guest did not report READY within %u s", timeout_s);
  for (int64_t left; (left = end - now_ms()) > 0;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, (int)left) <= 0)
      continue;
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
      errf(err, errlen, "guest serial closed before READY");
      break;
    }
    len += (size_t)n;
    buf[len] = '\0';
    char *e = strstr(buf, "ERROR");
    if (e) {
      e[strcspn(e, "\n")] = '\0';
      errf(err, errlen, "guest: %s", e);
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
  FILE *f = fopen(path, "r");
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
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                   &stime) != 2)
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
      rc = errf(err, errlen, "%s QEMU does not die", side_name[s]);
    static const char *const files[] = { "pid", "qmp", "serial" };
    for (int i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "%s/%s.%s", dir, side_name[s], files[i]);
      unlink(path);
    }
  }
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
  json_t *j = json_load_file(path, 0, NULL);
  lab_net_from_json(j, n);
  json_decref(j);
}

void lab_net_from_json(json_t *j, struct lab_net *n)
{
  const char *ns[2] = { NULL, NULL }, *veth[2] = { NULL, NULL };
  if (j && json_unpack(j, "{s:s,s:s,s:s,s:s}", "src_netns", &ns[0], "dst_netns", &ns[1],
                       "src_veth", &veth[0], "dst_veth", &veth[1]) == 0) {
    for (int s = 0; s < 2; s++) {
      snprintf(n->ns[s], sizeof n->ns[s], "%s", ns[s]);
      snprintf(n->veth[s], sizeof n->veth[s], "%s", veth[s]);
    }
  }
}

int qmig_lab_stop(const char *dir, char *err, size_t errlen)
{
  struct lab_net n;
  char why[512];
  /* QEMUs first: a namespace lives on while a process is inside. */
  int rc = stop_qemus(dir, err, errlen);
  net_of(dir, &n);
  if (lab_net_down(&n, why, sizeof why) < 0 && rc == 0)
    rc = -1, errbuf_setf(err, errlen, "%s", why);
  return rc;
}

static int write_info(const struct qmig_lab_options *o, const char *dir, const char *accel,
                      const char *uuid, const struct lab_disk *disk, const struct lab_net *net,
                      char *err, size_t errlen)
{
  char path[PATH_MAX], a[2][PATH_MAX + 8], ser[2][PATH_MAX];
  for (int s = 0; s < 2; s++) {
    snprintf(a[s], sizeof a[s], "unix:%s/%s.qmp", dir, side_name[s]);
    snprintf(ser[s], sizeof ser[s], "%s/%s.serial", dir, side_name[s]);
  }
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i}", "src_qmp", a[0],
                        "dst_qmp", a[1], "src_serial", ser[0], "dst_serial", ser[1], "accel",
                        accel, "uuid", uuid, "mem_mib", (int)o->mem_mib, "fill_mib",
                        (int)o->fill_mib, "dirty_mibps", (int)o->dirty_mibps, "heartbeat_ms",
                        (int)o->heartbeat_ms);
  if (j && disk) {
    json_object_set_new(j, "disk", json_string(disk->path));
    json_object_set_new(j, "disk_format", json_string(disk->format));
    json_object_set_new(j, "disk_cache", json_string(disk->cache));
    json_object_set_new(j, "disk_mib", json_integer(o->disk_mib));
    json_object_set_new(j, "disk_write_kibps", json_integer(o->disk_write_kibps));
    json_object_set_new(j, "dst_disk", json_string(disk->dst_path));
    json_object_set_new(j, "dst_disk_format", json_string(disk->dst_format ?: ""));
    json_object_set_new(j, "data_disk", json_string(disk->data_path));
    json_object_set_new(j, "dst_data_disk", json_string(disk->dst_data_path));
    json_object_set_new(j, "data_disk_format", json_string(disk->data_format));
  }
  if (j && net) {
    json_t *nj = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "src_netns", net->ns[0],
                           "dst_netns", net->ns[1], "src_veth", net->veth[0], "dst_veth",
                           net->veth[1], "src_addr", net->addr[0], "dst_addr", net->addr[1],
                           "link_rate_bps", (json_int_t)net->rate_bps, "link_burst_bytes",
                           (json_int_t)net->burst_bytes);
    json_object_update(j, nj);
    json_decref(nj);
  }
  snprintf(path, sizeof path, "%s/lab.json", dir);
  int rc = json_dump_file(j, path, JSON_INDENT(2));
  json_decref(j);
  return rc < 0 ? errf(err, errlen, "cannot write %s", path) : 0;
}

int qmig_lab_start(const struct qmig_lab_options *given, char *err, size_t errlen)
{
  struct qmig_lab_options o = *given;
  char dir[PATH_MAX], guest[PATH_MAX], uuid[40], why[512] = "";
  if (!o.dir)
    return errf(err, errlen, "lab: no run directory given");
  if (o.fill_mib == 0)
    o.fill_mib = 64;
  if (o.heartbeat_ms == 0)
    o.heartbeat_ms = 2;
  if (o.mem_mib == 0)
    o.mem_mib = o.fill_mib + 32;
  if (o.ready_timeout_s == 0)
    o.ready_timeout_s = 60;
  const char *accel = o.accel ? o.accel : "auto";
  if (strcmp(accel, "kvm") && strcmp(accel, "tcg") && strcmp(accel, "auto"))
    return errf(err, errlen, "lab: accel '%s' is not kvm, tcg or auto", accel);
  if (o.mem_mib < o.fill_mib + 20 || o.fill_mib > 3000)
    return errf(err, errlen, "lab: fill %u MiB does not fit in %u MiB of guest RAM "
                "(needs fill + 20 MiB, fill at most 3000)", o.fill_mib, o.mem_mib);
  if (mkdir(o.dir, 0700) < 0 && errno != EEXIST)
    return errf(err, errlen, "lab: mkdir %s: %s", o.dir, strerror(errno));
  if (!realpath(o.dir, dir))
    return errf(err, errlen, "lab: %s: %s", o.dir, strerror(errno));
  if (lab_side_pid(dir, 0) || lab_side_pid(dir, 1))
    return errf(err, errlen, "lab: a pair is already running in %s (qmig lab stop first)", dir);
  if (find_guest(o.guest, guest, sizeof guest) < 0)
    return errf(err, errlen, "lab: guest image %s not found (build it with make)", guest);
  struct lab_disk disk_, *disk = NULL;
  if (o.disk_mib) {
    if (lab_disk_create(&o, dir, &disk_, why, sizeof why) < 0)
      return errf(err, errlen, "lab: disk: %s", why);
    disk = &disk_;
  } else if (o.disk_write_kibps || o.disk_format || o.disk_cache || o.disk_copy ||
             o.data_disk_mib || o.data_disk_top) {
    return errf(err, errlen, "lab: disk options given without a disk size");
  }
  random_uuid(uuid, sizeof uuid);
  struct lab_net net_, *net = NULL;
  if (o.netns) {
    lab_net_names(dir, &net_);
    if (o.link_rate && lab_parse_rate(o.link_rate, &net_.rate_bps) < 0)
      return errf(err, errlen, "lab: link rate '%s' is not a rate (e.g. 1gbit, 200mbit)",
                  o.link_rate);
    if (lab_net_up(&net_, why, sizeof why) < 0)
      return errf(err, errlen, "lab: %s", why);
    net = &net_;
  } else if (o.link_rate) {
    return errf(err, errlen, "lab: a link rate needs the two-namespace lab (netns)");
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
  for (int i = 0; i < ntries; i++) {
    if (start_qemu(&o, dir, 0, tries[i], guest, uuid, disk, net ? net->ns[0] : NULL, why,
                   sizeof why) < 0 ||
        wait_ready(dir, tmo[i] + disk_s, why, sizeof why) < 0) {
      stop_qemus(dir, NULL, 0);
      continue;
    }
    if (start_qemu(&o, dir, 1, tries[i], guest, uuid, disk, net ? net->ns[1] : NULL, why,
                   sizeof why) < 0) {
      qmig_lab_stop(dir, NULL, 0);
      return errf(err, errlen, "lab: %s", why);
    }
    char a[PATH_MAX + 8];
    snprintf(a, sizeof a, "unix:%s/dst.qmp", dir);
    struct qmp_conn *c = qmp_connect("destination", a, 10000, why, sizeof why);
    if (!c) {
      qmig_lab_stop(dir, NULL, 0);
      return errf(err, errlen, "lab: %s", why);
    }
    qmp_close(c);
    if (write_info(&o, dir, tries[i], uuid, disk, net, err, errlen) < 0) {
      qmig_lab_stop(dir, NULL, 0);
      return -1;
    }
    return 0;
  }
  if (net)
    lab_net_down(net, NULL, 0);
  return errf(err, errlen, "lab: %s", why);
}

int qmig_lab_info(const char *dir, struct qmig_lab_info *li, char *err, size_t errlen)
{
  char path[PATH_MAX], real[PATH_MAX], why[256];
  memset(li, 0, sizeof *li);
  if (!realpath(dir, real))
    return errf(err, errlen, "%s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/lab.json", real);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j)
    return errf(err, errlen, "%s: %s (no lab here? qmig lab start first)", path, je.text);
  int rc = lab_info_from_json(j, li, why, sizeof why);
  json_decref(j);
  if (rc < 0)
    return errf(err, errlen, "%s: %s", path, why);
  li->src_pid = lab_side_pid(real, 0);
  li->dst_pid = lab_side_pid(real, 1);
  return 0;
}

int lab_info_from_json(json_t *j, struct qmig_lab_info *li, char *err, size_t errlen)
{
  json_error_t je;
  const char *ss = NULL, *ds = NULL, *sser = NULL, *dser = NULL, *acc = NULL;
  int mem = 0, fill = 0, dirty = 0, hb = 0;
  if (json_unpack_ex(j, &je, 0, "{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i}", "src_qmp", &ss,
                     "dst_qmp", &ds, "src_serial", &sser, "dst_serial", &dser, "accel", &acc,
                     "mem_mib", &mem, "fill_mib", &fill, "dirty_mibps", &dirty, "heartbeat_ms",
                     &hb) < 0)
    return errf(err, errlen, "%s", je.text);
  snprintf(li->src_qmp, sizeof li->src_qmp, "%s", ss);
  snprintf(li->dst_qmp, sizeof li->dst_qmp, "%s", ds);
  snprintf(li->src_serial, sizeof li->src_serial, "%s", sser);
  snprintf(li->dst_serial, sizeof li->dst_serial, "%s", dser);
  snprintf(li->accel, sizeof li->accel, "%s", acc);
  li->mem_mib = (unsigned)mem;
  li->fill_mib = (unsigned)fill;
  li->dirty_mibps = (unsigned)dirty;
  li->heartbeat_ms = (unsigned)hb;
  const char *disk = NULL, *dfmt = NULL, *dcache = NULL, *ddisk = NULL, *ddfmt = NULL,
             *data = NULL, *ddata = NULL, *datafmt = NULL;
  int dmib = 0, dw = 0; /* optional: absent without a disk (and before disks) */
  json_unpack(j, "{s?s,s?s,s?s,s?i,s?i,s?s,s?s,s?s,s?s,s?s}", "disk", &disk, "disk_format",
              &dfmt, "disk_cache", &dcache, "disk_mib", &dmib, "disk_write_kibps", &dw,
              "dst_disk", &ddisk, "dst_disk_format", &ddfmt, "data_disk", &data, "dst_data_disk",
              &ddata, "data_disk_format", &datafmt);
  snprintf(li->dst_data_disk, sizeof li->dst_data_disk, "%s", ddata ? ddata : "");
  snprintf(li->data_disk_format, sizeof li->data_disk_format, "%s", datafmt ? datafmt : "");
  snprintf(li->dst_disk, sizeof li->dst_disk, "%s", ddisk ? ddisk : "");
  snprintf(li->dst_disk_format, sizeof li->dst_disk_format, "%s", ddfmt ? ddfmt : "");
  snprintf(li->data_disk, sizeof li->data_disk, "%s", data ? data : "");
  snprintf(li->disk, sizeof li->disk, "%s", disk ? disk : "");
  snprintf(li->disk_format, sizeof li->disk_format, "%s", dfmt ? dfmt : "");
  snprintf(li->disk_cache, sizeof li->disk_cache, "%s", dcache ? dcache : "");
  li->disk_mib = (unsigned)dmib;
  li->disk_write_kibps = (unsigned)dw;
  const char *nss = NULL, *nsd = NULL, *as = NULL, *ad = NULL;
  json_int_t rate = 0; /* optional: only a netns lab has them */
  json_unpack(j, "{s?s,s?s,s?s,s?s,s?I}", "src_netns", &nss, "dst_netns", &nsd, "src_addr", &as,
              "dst_addr", &ad, "link_rate_bps", &rate);
  snprintf(li->src_netns, sizeof li->src_netns, "%s", nss ? nss : "");
  snprintf(li->dst_netns, sizeof li->dst_netns, "%s", nsd ? nsd : "");
  snprintf(li->src_addr, sizeof li->src_addr, "%s", as ? as : "");
  snprintf(li->dst_addr, sizeof li->dst_addr, "%s", ad ? ad : "");
  li->link_rate_bps = rate > 0 ? (uint64_t)rate : 0;
  return 0;
}
