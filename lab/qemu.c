/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qemu.c - one lab QEMU: its command line (test guest, disks, NIC, TLS
 * monitor, sandbox) and its start, daemonized, in its network namespace. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/files.h"
#include "common/run.h"
#include "lab/lab.h"

#ifndef QMIG_DATADIR
#define QMIG_DATADIR "/usr/local/share/qmig"
#endif

static const char *const side_name[2] = { "src", "dst" };

#define errf(err, errlen, ...) (errbuf_setf(err, errlen, __VA_ARGS__), -1)

/* The guest ELF: explicit, $QMIG_GUEST, next to the running binary (build
 * tree), or the installed data dir. */
int lab_find_guest(const char *given, char *out, size_t len)
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

/* The major.minor of QEMU binary `bin` from its `--version` line ("QEMU
 * emulator version 7.2.22 (Debian ...)"), bounded at 10 s.  0, or -1 when
 * it could not be run or said something else. */
static int qemu_version(const char *bin, int *major, int *minor)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(p[1], 1);
    dup2(null, 2);
    execlp(bin, bin, "--version", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char out[512];
  size_t n = 0;
  if (pid > 0) {
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    while (n + 1 < sizeof out && poll(&pf, 1, 10000) > 0) {
      ssize_t r = read(p[0], out + n, sizeof out - 1 - n);
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  }
  close(p[0]);
  int st;
  if (pid < 0 || run_wait(pid, &st, 10000) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return -1;
  out[n] = '\0';
  const char *v = strstr(out, "version ");
  return v && sscanf(v, "version %d.%d", major, minor) == 2 ? 0 : -1;
}

/* Guest RAM in KiB.  QEMU < 9.0 under TCG loses dirty pages when a RAM
 * block is a multiple of 256 KiB: the fast bitmap sync clears dirty bits
 * without resetting the TCG TLB (fixed upstream by 03bfc2188f, "physmem:
 * Fix migration dirty bitmap coherency with TCG memory access").  8 KiB
 * more makes QEMU take its per-page path, which costs a guest freeze at
 * setup and slower syncs in proportion to RAM (docs/REPORT.md), so only
 * there: never for QEMU >= 9.0 or KVM (ram-align auto).  A QEMU whose
 * version cannot be read counts as old: losing pages is worse. */
static unsigned mem_kib(const struct qmig_lab_options *o, const char *accel)
{
  int align = o->exact_mem ? 1 : o->ram_align, major = 0, minor = 0;
  bool extra = align == 2;
  if (align == 0 && !strcmp(accel, "tcg"))
    extra = qemu_version(o->qemu ? o->qemu : "qemu-system-x86_64", &major, &minor) < 0 || major < 9;
  return o->mem_mib * 1024 + (extra ? 8 : 0);
}

/* Start one QEMU daemonized; returns its pid (from the pidfile) or -1. */
int lab_start_qemu(const struct qmig_lab_options *o, const char *dir, int side, const char *accel,
                   const char *guest, const char *uuid, const struct lab_disk *disk,
                   const char *netns, int tls_port, const char *machine, const struct lab_linux *lx,
                   char *err, size_t errlen)
{
  char mem[32], append[256], chardev[PATH_MAX + 64], qmp[PATH_MAX + 32], pidfile[PATH_MAX],
      logf[PATH_MAX], name[64], acc[32];
  const char *s = side_name[side];
  /* Both sides get the source binary's size (RAM must match). */
  snprintf(mem, sizeof mem, "%uK", mem_kib(o, accel));
  snprintf(append, sizeof append, "fill=%u dirty=%u hb=%u", o->fill_mib, o->dirty_mibps,
           o->heartbeat_ms);
  if (lx)
    lab_linux_append(o, append, sizeof append);
  if (disk) {
    size_t k = strlen(append);
    snprintf(append + k, sizeof append - k, " disk=%u dwrite=%u", o->disk_mib, o->disk_write_kibps);
  }
  snprintf(chardev, sizeof chardev, "socket,id=ser0,path=%s/%s.serial,server=on,wait=off", dir, s);
  snprintf(qmp, sizeof qmp, "unix:%s/%s.qmp,server=on,wait=off", dir, s);
  snprintf(pidfile, sizeof pidfile, "%s/%s.pid", dir, s);
  snprintf(logf, sizeof logf, "%s/%s.log", dir, s);
  snprintf(name, sizeof name, "qmig-lab-%s", s);
  snprintf(acc, sizeof acc, "%s", accel);
  unlink(pidfile);

  const char *argv[72]; /* room for every option below at once */
  int n = 0;
  const char *bin = side == 1 && o->dst_qemu ? o->dst_qemu : o->qemu;
  argv[n++] = bin ? bin : "qemu-system-x86_64";
  argv[n++] = "-name";
  argv[n++] = name;
  /* -machine: the type (lab.c's choice: "pc", or the versioned type of
   * the source's "pc" for another binary), with the shared-RAM properties
   * of --ram-share (ramshare.c writes them after "pc"). */
  char ram_machine[128], mtype[192], ramobj[PATH_MAX + 128];
  if (lab_ram_share_args(o, argv[0], dir, side, mem, ramobj, sizeof ramobj, ram_machine,
                         sizeof ram_machine, err, errlen) < 0)
    return -1;
  snprintf(mtype, sizeof mtype, "%s%s", machine && machine[0] ? machine : "pc", ram_machine + 2);
  argv[n++] = "-machine";
  argv[n++] = mtype;
  if (ramobj[0]) {
    argv[n++] = "-object";
    argv[n++] = ramobj;
  }
  argv[n++] = "-accel";
  argv[n++] = acc;
  argv[n++] = "-m";
  argv[n++] = mem;
  argv[n++] = "-smp";
  argv[n++] = "1";
  const char *cpu = side == 1 && o->dst_cpu ? o->dst_cpu : o->cpu;
  if (cpu) {
    argv[n++] = "-cpu";
    argv[n++] = cpu;
  }
  argv[n++] = "-nodefaults";
  argv[n++] = "-no-user-config";
  argv[n++] = "-display";
  argv[n++] = "none";
  argv[n++] = "-uuid";
  argv[n++] = uuid;
  argv[n++] = "-kernel";
  argv[n++] = lx ? lx->kernel : guest;
  if (lx) {
    argv[n++] = "-initrd";
    argv[n++] = lx->initrd;
  }
  argv[n++] = "-append";
  argv[n++] = append;
  argv[n++] = "-chardev";
  argv[n++] = chardev;
  argv[n++] = "-serial";
  argv[n++] = "chardev:ser0";
  argv[n++] = "-qmp";
  argv[n++] = qmp;
  argv[n++] = "-pidfile";
  argv[n++] = pidfile;
  char tlsobj[PATH_MAX + 96], tlsdev[128];
  if (tls_port) {
    /* A second monitor: QEMU's TLS server (GnuTLS), which asks for and
     * verifies the client's certificate; the unix one stays for the
     * lab's own tools (verify-memory). */
    snprintf(tlsobj, sizeof tlsobj,
             "tls-creds-x509,id=qmptls,dir=%s,endpoint=server,"
             "verify-peer=on",
             o->qmp_tls_dir);
    snprintf(tlsdev, sizeof tlsdev,
             "socket,id=qmptls0,host=127.0.0.1,port=%d,server=on,"
             "wait=off,tls-creds=qmptls",
             tls_port);
    argv[n++] = "-object";
    argv[n++] = tlsobj;
    argv[n++] = "-chardev";
    argv[n++] = tlsdev;
    argv[n++] = "-mon";
    argv[n++] = "chardev=qmptls0,mode=control";
  }
  char dump[PATH_MAX + 48], tap[48];
  if (o->nic || lx) { /* the Linux guest always has its NIC */
    /* The same MAC on both sides, as a migrated guest keeps it; restrict=on
     * reaches nothing outside.  No option ROM: the guest boots with -kernel
     * and drives no NIC (QEMU itself sends the announcements' RARPs). */
    snprintf(dump, sizeof dump, "filter-dump,id=fd0,netdev=n0,file=%s/%s.pcap", dir, s);
    snprintf(tap, sizeof tap, "tap,id=n0,fd=%d", LAB_TAP_FD);
    argv[n++] = "-netdev";
    argv[n++] = lx && lx->sw_ns[0] ? tap : "user,id=n0,restrict=on";
    argv[n++] = "-device";
    argv[n++] = "e1000,netdev=n0,mac=52:54:00:71:6d:01,romfile=";
    argv[n++] = "-object";
    argv[n++] = dump;
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
    snprintf(bd[k][0], sizeof bd[k][0],
             "driver=file,filename=%s,node-name=drive%d-file,"
             "cache.direct=%s",
             path, k, strcmp(disk->cache, "none") ? "off" : "on");
    snprintf(bd[k][1], sizeof bd[k][1], "driver=%s,file=drive%d-file,node-name=drive%d", fmt, k, k);
    snprintf(dev[k], sizeof dev[k], "ide-hd,drive=drive%d,bus=ide.0,unit=%d,id=disk%d", k, k, k);
    argv[n++] = "-blockdev";
    argv[n++] = bd[k][0];
    argv[n++] = "-blockdev";
    argv[n++] = bd[k][1];
    argv[n++] = "-device";
    argv[n++] = dev[k];
  }
  /* seccomp: obsolete syscalls and resource control (scheduler, affinity)
   * denied.  elevateprivileges and spawn stay allowed: QEMU 7.2 applies the
   * filter before -daemonize, whose fork() and setsid() they would block
   * ("Bad system call"; checked).  The lab never uses exec: migration. */
  argv[n++] = "-sandbox";
  argv[n++] = "on,obsolete=deny,resourcecontrol=deny";
  argv[n++] = "-daemonize";
  if (side == 1) {
    argv[n++] = "-incoming";
    argv[n++] = "defer";
  }
  argv[n] = NULL;

  pid_t pid = fork();
  if (pid < 0)
    return errf(err, errlen, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = files_open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      dprintf(2, "lab: log %s: %s\n", logf, strerror(errno));
      _exit(126);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    if (nul >= 0)
      dup2(nul, 0);
    if (lx && lx->sw_ns[0]) { /* its tap on the lab's switch (switch.c) */
      int t = lab_sw_open_tap(lx->sw_ns, side);
      if (t < 0 || dup2(t, LAB_TAP_FD) < 0) {
        dprintf(2, "tap on the switch %s: %s\n", lx->sw_ns, strerror(errno));
        _exit(127);
      }
    }
    if (netns && lab_net_enter(netns) < 0) {
      dprintf(2, "cannot enter network namespace %s: %s\n", netns, strerror(errno));
      _exit(127);
    }
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  /* QEMU's -daemonize parent exits once the machine is set up: seconds. */
  int st;
  if (run_wait(pid, &st, RUN_TIMEOUT_MS) < 0)
    return errf(err, errlen, "%s QEMU (%s): %s", s, accel,
                errno == ETIMEDOUT ? "did not daemonize within 60 s (killed)" : strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char msg[512] = "";
    int lfd = files_open(logf, O_RDONLY, 0);
    FILE *f = lfd >= 0 ? fdopen(lfd, "r") : NULL;
    if (!f && lfd >= 0)
      close(lfd);
    if (f) {
      size_t k = fread(msg, 1, sizeof msg - 1, f);
      msg[k] = '\0';
      fclose(f);
      msg[strcspn(msg, "\n")] = '\0';
    }
    return errf(err, errlen, "%s QEMU (%s) did not start: %s", s, accel, msg[0] ? msg : "see log");
  }
  FILE *f = fopen(pidfile, "re");
  int qpid = 0;
  if (!f || fscanf(f, "%d", &qpid) != 1 || qpid <= 0) {
    if (f)
      fclose(f);
    return errf(err, errlen, "%s QEMU: no pid in %s", s, pidfile);
  }
  fclose(f);
  return qpid;
}

/* A TCP port on 127.0.0.1 nobody listens on now (QEMU binds it soon after:
 * a race another process may rarely win; QEMU then fails to start). */
int lab_free_port(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}
