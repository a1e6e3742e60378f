/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/soak.c - the library's soak test (make soak N=100): one process
 * migrates the lab guest back and forth between two QEMUs on this host N
 * times through libqmig, using nothing but include/qmig.h.
 *
 * A lab pair is started (qmig_lab_start: TCG, small guest).  Each round
 * migrates from the side holding the guest to the other one (qmig_run, the
 * source quits at the end), then checks that exactly one QEMU is left, that
 * it runs, and every page of the guest's memory (qmig_verify_memory, which
 * stops the guest; it is resumed).  The emptied side is then started again
 * with -incoming defer, from the lab destination's own command line, and
 * becomes the next destination.
 *
 * Prints the process's open file descriptors (/proc/self/fd) and resident
 * memory (VmRSS) at the start, every 10 rounds and at the end.  Exit 0 when
 * every round passed and, after the warm-up rounds, the fd count did not
 * grow and RSS grew by at most the bound; 1 otherwise; 77 when QEMU is
 * missing.  Usage: soak [-n ROUNDS] [-m RSS_BOUND_KIB] [-d LAB_DIR]
 */
#include <dirent.h>
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

#include "qmig.h"

#define MAX_ARGS 128
#define QMP_TIMEOUT_MS 20000

static const char *const side_name[2] = { "src", "dst" };

/* SIGINT/SIGTERM: cancel the migration under way, stop after the round,
 * stop the lab as on failure. */
static volatile sig_atomic_t stop_requested;
static struct qmig_migration *volatile current;

static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
  struct qmig_migration *m = current;
  if (m)
    qmig_cancel(m);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

static long rss_kib(void)
{
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

/* ---- the smallest QMP client: what qmig.h does not offer (cont) ---- */

/* Read one line (without \r\n) within the deadline; 0, or -1. */
static int read_line(int fd, char *buf, size_t len, double deadline)
{
  size_t n = 0;
  while (n + 1 < len) {
    int left = (int)((deadline - now_s()) * 1000);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (left <= 0 || poll(&p, 1, left) <= 0)
      return -1;
    char c;
    if (read(fd, &c, 1) != 1)
      return -1;
    if (c == '\n') {
      buf[n] = '\0';
      return 0;
    }
    if (c != '\r')
      buf[n++] = c;
  }
  return -1; /* a line longer than our buffer: not what we asked for */
}

/* Send cmd and return the reply line (events skipped) in buf: 0, or -1. */
static int qmp_ask(int fd, const char *cmd, char *buf, size_t len)
{
  double deadline = now_s() + QMP_TIMEOUT_MS / 1000.0;
  if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
    return -1;
  while (read_line(fd, buf, len, deadline) == 0)
    if (strstr(buf, "\"return\"") || strstr(buf, "\"error\""))
      return strstr(buf, "\"return\"") ? 0 : -1;
  return -1;
}

/* Resume the guest behind unix:PATH and check that it runs. */
static int resume(const char *qmp_addr, char *err, size_t errlen)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  char buf[8192];
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", qmp_addr + strlen("unix:"));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = -1;
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    snprintf(err, errlen, "resume: connect %s: %s", qmp_addr, strerror(errno));
  else if (read_line(fd, buf, sizeof buf, now_s() + QMP_TIMEOUT_MS / 1000.0) < 0 ||
           qmp_ask(fd, "{\"execute\":\"qmp_capabilities\"}\n", buf, sizeof buf) < 0)
    snprintf(err, errlen, "resume: no QMP greeting at %s", qmp_addr);
  else if (qmp_ask(fd, "{\"execute\":\"cont\"}\n", buf, sizeof buf) < 0)
    snprintf(err, errlen, "resume: cont at %s: %s", qmp_addr, buf);
  else if (qmp_ask(fd, "{\"execute\":\"query-status\"}\n", buf, sizeof buf) < 0 ||
           !strstr(buf, "\"running\": true"))
    snprintf(err, errlen, "resume: the guest at %s does not run: %s", qmp_addr, buf);
  else
    rc = 0;
  if (fd >= 0)
    close(fd);
  return rc;
}

/* ---- restarting the emptied side ---- */

struct template
{
  char *buf;            /* the lab destination's /proc/PID/cmdline */
  char *argv[MAX_ARGS]; /* into buf */
  int argc;
};

static int read_template(int pid, struct template *t, char *err, size_t errlen)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t cap = 1 << 16, n = 0;
  t->buf = calloc(1, cap + 1);
  ssize_t r = 1;
  while (fd >= 0 && t->buf && n < cap && (r = read(fd, t->buf + n, cap - n)) > 0)
    n += (size_t)r;
  if (fd >= 0)
    close(fd);
  if (!t->buf || n == 0 || r < 0 || n == cap) {
    snprintf(err, errlen, "cannot read %s", path);
    return -1;
  }
  t->argc = 0;
  for (size_t i = 0; i < n && t->argc < MAX_ARGS - 1; i += strlen(t->buf + i) + 1)
    t->argv[t->argc++] = t->buf + i;
  t->argv[t->argc] = NULL;
  for (int i = 0; i < t->argc; i++)
    if (!strcmp(t->argv[i], "-incoming") && i + 1 < t->argc && !strcmp(t->argv[i + 1], "defer"))
      return 0;
  snprintf(err, errlen, "the lab destination (pid %d) was not started with -incoming defer", pid);
  return -1;
}

/* `s` with every "/dst." and "qmig-lab-dst" made side `side`'s; caller frees. */
static char *for_side(const char *s, int side)
{
  size_t len = strlen(s);
  char *out = malloc(len + 1), *o = out;
  if (!out)
    return NULL;
  for (const char *p = s; *p;) {
    if (!strncmp(p, "/dst.", 5) || !strncmp(p, "qmig-lab-dst", 12)) {
      size_t k = p[0] == '/' ? 1 : 9;
      memcpy(o, p, k);
      memcpy(o + k, side_name[side], 3);
      o += k + 3;
      p += k + 3;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

/* Start side `side` as an empty destination (-incoming defer), daemonized
 * as the lab does, output to DIR/SIDE.log.  0, or -1 with err. */
static int restart_side(const struct template *t, const char *dir, int side, char *err,
                        size_t errlen)
{
  char *argv[MAX_ARGS] = { 0 }, log[PATH_MAX];
  int rc = -1;
  for (int i = 0; i < t->argc; i++)
    if (!(argv[i] = for_side(t->argv[i], side))) {
      snprintf(err, errlen, "out of memory");
      goto out;
    }
  snprintf(log, sizeof log, "%s/%s.log", dir, side_name[side]);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errlen, "fork: %s", strerror(errno));
    goto out;
  }
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (nul >= 0)
      dup2(nul, 0);
    execvp(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    snprintf(err, errlen, "%s QEMU did not start again (exit %d): see %s", side_name[side],
             WIFEXITED(st) ? WEXITSTATUS(st) : -1, log);
  else
    rc = 0;
out:
  for (int i = 0; i < t->argc; i++)
    free(argv[i]);
  return rc;
}

/* ---- one round ---- */

static int lab_pid(const char *dir, int side, char *err, size_t errlen)
{
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  if (qmig_lab_info(dir, &li, err, errlen) < 0)
    return -1;
  return side ? li.dst_pid : li.src_pid;
}

/* Wait up to 20 s for side's QEMU to be gone; 0 when it is. */
static int wait_gone(const char *dir, int side)
{
  char err[256];
  for (int i = 0; i < 200; i++) {
    if (lab_pid(dir, side, err, sizeof err) == 0)
      return 0;
    usleep(100 * 1000);
  }
  return -1;
}

static int migrate(const struct qmig_lab_info *li, int from, double *secs, double *pause_ms,
                   char *err, size_t errlen)
{
  const char *qmp[2] = { li->src_qmp, li->dst_qmp };
  const char *ser[2] = { li->src_serial, li->dst_serial };
  char hb[16];
  snprintf(hb, sizeof hb, "%u", li->heartbeat_ms);
  struct qmig_migration *m = qmig_new();
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  double t0 = now_s();
  int rc = -1;
  if (qmig_set(m, "src", qmp[from]) < 0 || qmig_set(m, "dst", qmp[!from]) < 0 ||
      qmig_set(m, "src-serial", ser[from]) < 0 || qmig_set(m, "dst-serial", ser[!from]) < 0 ||
      qmig_set(m, "heartbeat-ms", hb) < 0 || qmig_set(m, "quit-source", "on") < 0) {
    snprintf(err, errlen, "options: %s", qmig_error(m));
  } else if ((current = m, qmig_run(m)) != QMIG_MIGRATED) {
    snprintf(err, errlen, "migration %s -> %s: %s", side_name[from], side_name[!from],
             qmig_error(m));
  } else {
    *pause_ms = qmig_report(m)->pause_ms;
    rc = 0;
  }
  *secs = now_s() - t0;
  current = NULL;
  qmig_free(m);
  return rc;
}

/* One round: the guest moves from side `from` to the other.  0 or -1. */
static int round_once(const char *dir, const struct template *t, int from, double *secs,
                      double *pause_ms, char *err, size_t errlen)
{
  struct qmig_lab_info li = QMIG_LAB_INFO_INIT;
  char why[1024];
  int to = !from;
  if (qmig_lab_info(dir, &li, why, sizeof why) < 0) {
    snprintf(err, errlen, "lab: %s", why);
    return -1;
  }
  if (migrate(&li, from, secs, pause_ms, why, sizeof why) < 0) {
    snprintf(err, errlen, "%s", why);
    return -1;
  }
  /* Exactly one QEMU: the source quit, the destination runs the guest. */
  if (wait_gone(dir, from) < 0) {
    snprintf(err, errlen, "the %s QEMU is still there after the migration", side_name[from]);
    return -1;
  }
  if (lab_pid(dir, to, why, sizeof why) <= 0) {
    snprintf(err, errlen, "the %s QEMU is gone after the migration", side_name[to]);
    return -1;
  }
  const char *qmp = to ? li.dst_qmp : li.src_qmp;
  struct qmig_memcheck mc;
  int v = qmig_verify_memory(qmp, dir, &mc, why, sizeof why);
  if (v != 0) {
    snprintf(err, errlen, "memory on %s: %s", side_name[to], v < 0 ? why : mc.detail);
    return -1;
  }
  if (resume(qmp, why, sizeof why) < 0 || restart_side(t, dir, from, why, sizeof why) < 0) {
    snprintf(err, errlen, "%s", why);
    return -1;
  }
  if (lab_pid(dir, from, why, sizeof why) <= 0) {
    snprintf(err, errlen, "the restarted %s QEMU is not running", side_name[from]);
    return -1;
  }
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: soak [-n ROUNDS] [-m RSS_BOUND_KIB] [-d LAB_DIR]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  unsigned rounds = 100;
  long rss_bound = 8192;
  const char *given_dir = NULL;
  for (int c; (c = getopt(argc, argv, "n:m:d:")) != -1;) {
    if (c == 'n')
      rounds = (unsigned)strtoul(optarg, NULL, 10);
    else if (c == 'm')
      rss_bound = strtol(optarg, NULL, 10);
    else if (c == 'd')
      given_dir = optarg;
    else
      usage();
  }
  if (rounds == 0 || rss_bound < 0 || optind != argc)
    usage();
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = { .sa_handler = on_signal };
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
    printf("soak: SKIP: qemu-system-x86_64 not found\n");
    return 77;
  }

  char dir[PATH_MAX], err[1024];
  if (given_dir) {
    snprintf(dir, sizeof dir, "%s", given_dir);
  } else {
    snprintf(dir, sizeof dir, "%s/qmig-soak.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "soak: mkdtemp %s: %s\n", dir, strerror(errno));
      return 1;
    }
  }
  int fds0 = count_fds();
  long rss0 = rss_kib();
  printf("soak: %u rounds in %s; start: %d fds, RSS %ld KiB\n", rounds, dir, fds0, rss0);

  struct qmig_lab_options o = {
    .size = sizeof o, .dir = dir, .accel = "tcg", .mem_mib = 64, .fill_mib = 32, .dirty_mibps = 4
  };
  double t0 = now_s();
  struct template t = { 0 };
  int failed = 0;
  if (qmig_lab_start(&o, err, sizeof err) < 0) {
    printf("soak: %s\n", err);
    failed = 1;
  } else {
    int dst_pid = lab_pid(dir, 1, err, sizeof err);
    if (dst_pid <= 0 || read_template(dst_pid, &t, err, sizeof err) < 0) {
      printf("soak: lab destination: %s\n", err);
      failed = 1;
    }
  }

  /* Warm-up: the first rounds fill the allocator's arenas and the threads'
   * stacks; growth is measured from the end of them. */
  unsigned warm = rounds >= 20 ? 10 : 1;
  int fds_warm = -1;
  long rss_warm = -1;
  int side = 0;
  double slowest = 0;
  for (unsigned r = 1; !failed && r <= rounds; r++) {
    double secs = 0, pause_ms = -1;
    if (stop_requested) {
      printf("soak: interrupted before round %u\n", r);
      failed = 1;
      break;
    }
    if (round_once(dir, &t, side, &secs, &pause_ms, err, sizeof err) < 0) {
      printf("soak: round %u (%s -> %s) FAILED: %s\n", r, side_name[side], side_name[!side], err);
      failed = 1;
      break;
    }
    if (secs > slowest)
      slowest = secs;
    side = !side;
    if (r == warm) {
      fds_warm = count_fds();
      rss_warm = rss_kib();
    }
    if (r % 10 == 0 || r == warm || r == rounds)
      printf("soak: round %u/%u ok (%.1f s migration, pause %.0f ms): %d fds, RSS %ld KiB, "
             "%.0f s so far\n",
             r, rounds, secs, pause_ms, count_fds(), rss_kib(), now_s() - t0);
  }
  if (qmig_lab_stop(dir, err, sizeof err) < 0) {
    printf("soak: lab stop: %s\n", err);
    failed = 1;
  }
  free(t.buf);
  if (!given_dir) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      printf("soak: could not remove %s\n", dir);
  }

  int fds1 = count_fds();
  long rss1 = rss_kib();
  printf("soak: end: %d fds (start %d, after warm-up %d), RSS %ld KiB (start %ld, after "
         "warm-up %ld), %.0f s, slowest migration %.1f s\n",
         fds1, fds0, fds_warm, rss1, rss0, rss_warm, now_s() - t0, slowest);
  if (!failed && fds_warm >= 0 && fds1 > fds_warm) {
    printf("soak: FAILED: file descriptors grew from %d to %d\n", fds_warm, fds1);
    failed = 1;
  }
  if (!failed && rss_warm >= 0 && rss1 - rss_warm > rss_bound) {
    printf("soak: FAILED: RSS grew by %ld KiB after the warm-up (bound %ld KiB)\n", rss1 - rss_warm,
           rss_bound);
    failed = 1;
  }
  printf("soak: %s\n", failed ? "FAILED" : "passed");
  return failed;
}
