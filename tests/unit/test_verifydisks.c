/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_verifydisks: qmig_verify_disks() on real images served by real
 * qemu-nbd (through libnbd) and nbdkit.  Images live in a mkdtemp dir; they
 * are written here, converted with qemu-img.  Skips (77) without qemu-img,
 * qemu-nbd or nbdkit. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "qmig.h"

#define SIZE (10u << 20) /* 2.5 chunks of the comparison */

extern char **environ;
static char dir[] = "/tmp/qmig-vd-XXXXXX";
static struct qmig_diskdiff r;
static char err[1024];
static pid_t nbdkit_pid;
static char uri[600];

static const char *path(const char *name)
{
  static char p[4][300];
  static unsigned i;
  char *s = p[i++ % 4];
  snprintf(s, sizeof p[0], "%s/%s", dir, name);
  return s;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

/* `size` bytes from a seeded xorshift stream, or nbdkit's pattern (each
 * 8-byte word holds its offset, big-endian) when seed is 0. */
static void write_image(const char *name, uint64_t size, uint64_t seed)
{
  int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  static unsigned char buf[1 << 16];
  uint64_t x = seed;
  assert_true(fd >= 0);
  for (uint64_t off = 0; off < size; off += sizeof buf) {
    for (size_t i = 0; i < sizeof buf; i += 8) {
      uint64_t w = off + i;
      if (seed) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        w = x;
      }
      for (int b = 0; b < 8; b++)
        buf[i + b] = (unsigned char)(w >> (56 - 8 * b));
    }
    size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
  }
  close(fd);
}

/* Invert the byte at off (a real change whatever it held). */
static void flip(const char *name, uint64_t off)
{
  unsigned char c;
  int fd = open(path(name), O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
  c = (unsigned char)~c;
  assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
  close(fd);
}

static int verify(const char *a, const char *fa, const char *b, const char *fb)
{
  err[0] = '\0';
  int rc = qmig_verify_disks(a, fa, b, fb, &r, err, sizeof err);
  if (rc < 0)
    print_message("  (-1: %s)\n", err);
  return rc;
}

static int setup_pair(void **state)
{
  (void)state;
  write_image("a.raw", SIZE, 7);
  write_image("b.raw", SIZE, 7);
  return 0;
}

static void identical_raw(void **state)
{
  (void)state;
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), "raw"), 0);
  assert_int_equal(r.size_src, SIZE);
  assert_int_equal(r.bytes_compared, SIZE);
  assert_int_equal(r.bytes_differing, 0);
  assert_int_equal(r.nranges, 0);
}

static void one_flip(void **state)
{
  const uint64_t x = 5 * 1048576 + 1234; /* second chunk */
  (void)state;
  flip("b.raw", x);
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), "raw"), 1);
  assert_int_equal(r.nranges, 1);
  assert_true(r.bytes_differing >= 1 && r.bytes_differing <= 4096);
  assert_true(r.ranges[0].offset <= x && x < r.ranges[0].offset + r.ranges[0].length);
  assert_int_equal(r.ranges[0].offset, x); /* byte-exact */
  assert_int_equal(r.ranges[0].length, 1);
  assert_non_null(strstr(r.detail, "differ"));
}

static void two_far_flips(void **state)
{
  (void)state;
  flip("b.raw", 100);
  flip("b.raw", SIZE - 3); /* last, partial chunk */
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), "raw"), 1);
  assert_int_equal(r.nranges, 2);
  assert_int_equal(r.bytes_differing, 2);
  assert_int_equal(r.ranges[0].offset, 100);
  assert_int_equal(r.ranges[1].offset, SIZE - 3);
}

/* Adjacent 4 KiB blocks make one range, across a chunk boundary too; two
 * bytes of one block give one range from the first to the last. */
static void adjacent_blocks_coalesce(void **state)
{
  const uint64_t chunk_end = 4u << 20;
  (void)state;
  flip("b.raw", chunk_end - 1);
  flip("b.raw", chunk_end);
  flip("b.raw", chunk_end + 4096 + 10);
  flip("b.raw", 8000000);
  flip("b.raw", 8000100);
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), "raw"), 1);
  assert_int_equal(r.nranges, 2);
  assert_int_equal(r.bytes_differing, 5);
  assert_int_equal(r.ranges[0].offset, chunk_end - 1);
  assert_int_equal(r.ranges[0].length, 4096 + 10 + 2);
  assert_int_equal(r.ranges[1].offset, 8000000);
  assert_int_equal(r.ranges[1].length, 101);
}

/* All ranges are counted; the first ten are kept. */
static void many_ranges(void **state)
{
  (void)state;
  for (unsigned i = 0; i < 13; i++)
    flip("b.raw", (uint64_t)i * 65536 + 7);
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), "raw"), 1);
  assert_int_equal(r.nranges, 13);
  assert_int_equal(r.bytes_differing, 13);
  assert_int_equal(r.ranges[9].offset, 9 * 65536 + 7);
}

static void raw_vs_qcow2(void **state)
{
  (void)state;
  assert_int_equal(sh("qemu-img convert -f raw -O qcow2 %s %s", path("a.raw"), path("a.qcow2")), 0);
  assert_int_equal(verify(path("a.raw"), "raw", path("a.qcow2"), "qcow2"), 0);
  assert_int_equal(r.bytes_compared, SIZE);
  /* The classic trap: a qcow2 read as raw must never pass. */
  assert_int_not_equal(verify(path("a.raw"), "raw", path("a.qcow2"), "raw"), 0);
  /* And raw read as qcow2 is refused by qemu-nbd, with its reason. */
  assert_int_equal(verify(path("a.raw"), "qcow2", path("a.qcow2"), "qcow2"), -1);
  assert_non_null(strstr(err, "source"));
  assert_non_null(strstr(err, "not in qcow2 format"));
}

static void no_format_refused(void **state)
{
  (void)state;
  assert_int_equal(verify(path("a.raw"), NULL, path("b.raw"), "raw"), -1);
  assert_non_null(strstr(err, "source"));
  assert_non_null(strstr(err, "give its format (raw or qcow2); qmig never probes"));
  assert_int_equal(verify(path("a.raw"), "raw", path("b.raw"), NULL), -1);
  assert_non_null(strstr(err, "destination"));
  assert_int_equal(verify(path("a.raw"), "vmdk", path("b.raw"), "raw"), -1);
  assert_non_null(strstr(err, "'vmdk'"));
  assert_int_equal(verify(path("nope.raw"), "raw", path("b.raw"), "raw"), -1);
  assert_non_null(strstr(err, "No such file"));
}

static void size_mismatch(void **state)
{
  (void)state;
  write_image("c.raw", SIZE + 65536, 7);
  assert_int_equal(verify(path("a.raw"), "raw", path("c.raw"), "raw"), 1);
  assert_int_equal(r.size_src, SIZE);
  assert_int_equal(r.size_dst, SIZE + 65536);
  assert_int_equal(r.nranges, 0);
  assert_non_null(strstr(r.detail, "10485760"));
  assert_non_null(strstr(r.detail, "10551296"));
}

/* Holes on both sides are skipped by block status, and a hole on one side
 * against data on the other is still a difference. */
static void sparse_images(void **state)
{
  (void)state;
  assert_int_equal(
      sh("truncate -s 64M %s && cp %s %s", path("s1.raw"), path("s1.raw"), path("s2.raw")), 0);
  assert_int_equal(verify(path("s1.raw"), "raw", path("s2.raw"), "raw"), 0);
  assert_int_equal(r.bytes_compared, 64u << 20);
  assert_non_null(strstr(r.detail, "67108864 zero on both sides"));
  flip("s2.raw", 40000000);
  assert_int_equal(sh("qemu-img convert -f raw -O qcow2 %s %s", path("s2.raw"), path("s2.qcow2")),
                   0);
  assert_int_equal(verify(path("s1.raw"), "raw", path("s2.qcow2"), "qcow2"), 1);
  assert_int_equal(r.nranges, 1);
  assert_int_equal(r.ranges[0].offset, 40000000);
}

/* nbdkit on a unix socket in dir, with extra plugin/filter arguments. */
static int start_nbdkit(const char *const *args)
{
  char *argv[24] = { "nbdkit",
                     "-U",
                     (char *)path("nbdkit.sock"),
                     "-P",
                     (char *)path("nbdkit.pid"),
                     "-f",
                     "--exit-with-parent" };
  size_t n = 7;
  for (; *args && n < 23; args++)
    argv[n++] = (char *)*args;
  argv[n] = NULL;
  unlink(path("nbdkit.pid"));
  unlink(path("nbdkit.sock")); /* nbdkit leaves it behind on SIGTERM */
  if (posix_spawnp(&nbdkit_pid, "nbdkit", NULL, NULL, argv, environ) != 0)
    return -1;
  for (int i = 0; i < 500 && access(path("nbdkit.pid"), F_OK) < 0; i++)
    usleep(10000); /* nbdkit writes its pidfile once it accepts */
  snprintf(uri, sizeof uri, "nbd+unix:///?socket=%s", path("nbdkit.sock"));
  return access(path("nbdkit.pid"), F_OK);
}

static int stop_nbdkit(void **state)
{
  (void)state;
  if (nbdkit_pid > 0) {
    kill(nbdkit_pid, SIGTERM);
    waitpid(nbdkit_pid, NULL, 0);
    nbdkit_pid = 0;
  }
  return 0;
}

static void uri_vs_file(void **state)
{
  static const char *const args[] = { "pattern", "8M", NULL };
  (void)state;
  assert_int_equal(start_nbdkit(args), 0);
  write_image("pattern.raw", 8u << 20, 0);
  assert_int_equal(verify(uri, NULL, path("pattern.raw"), "raw"), 0);
  assert_int_equal(r.bytes_compared, 8u << 20);
  flip("pattern.raw", 3000000);
  assert_int_equal(verify(path("pattern.raw"), "raw", uri, "raw"), 1);
  assert_int_equal(r.ranges[0].offset, 3000000);
  /* A URI carries guest bytes: a container format makes no sense there. */
  assert_int_equal(verify(uri, "qcow2", path("pattern.raw"), "raw"), -1);
  assert_non_null(strstr(err, "does not apply"));
}

static void read_error(void **state)
{
  static const char *const args[] = { "--filter=error",        "pattern", "8M", "error=EIO",
                                      "error-pread-rate=100%", NULL };
  (void)state;
  assert_int_equal(start_nbdkit(args), 0);
  write_image("pattern.raw", 8u << 20, 0);
  assert_int_equal(verify(path("pattern.raw"), "raw", uri, NULL), -1);
  assert_non_null(strstr(err, "destination nbd+unix"));
  assert_non_null(strstr(err, "Input/output error"));
}

static void unreachable_uri(void **state)
{
  (void)state;
  assert_int_equal(verify("nbd+unix:///?socket=/nonexistent/qmig.sock", NULL, path("a.raw"), "raw"),
                   -1);
  assert_non_null(strstr(err, "source nbd+unix"));
}

/* Every qemu-nbd libnbd started has been reaped: no child of ours left,
 * not even a zombie. */
static void nothing_left(void **state)
{
  DIR *d = opendir("/proc");
  struct dirent *e;
  char p[300], buf[512];
  (void)state;
  assert_non_null(d);
  while ((e = readdir(d))) {
    int fd, ppid = 0;
    ssize_t n;
    snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
    if ((fd = open(p, O_RDONLY)) < 0)
      continue;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
      fail_msg("a child is left: %s", buf);
  }
  closedir(d);
}

static int need(const char *prog)
{
  char cmd[200];
  snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", prog);
  if (system(cmd) != 0) {
    printf("skip: %s not installed\n", prog);
    return -1;
  }
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(identical_raw, setup_pair),
    cmocka_unit_test_setup(one_flip, setup_pair),
    cmocka_unit_test_setup(two_far_flips, setup_pair),
    cmocka_unit_test_setup(adjacent_blocks_coalesce, setup_pair),
    cmocka_unit_test_setup(many_ranges, setup_pair),
    cmocka_unit_test_setup(raw_vs_qcow2, setup_pair),
    cmocka_unit_test_setup(no_format_refused, setup_pair),
    cmocka_unit_test_setup(size_mismatch, setup_pair),
    cmocka_unit_test(sparse_images),
    cmocka_unit_test_teardown(uri_vs_file, stop_nbdkit),
    cmocka_unit_test_teardown(read_error, stop_nbdkit),
    cmocka_unit_test_setup(unreachable_uri, setup_pair),
    cmocka_unit_test(nothing_left),
  };
  if (need("qemu-img") || need("qemu-nbd") || need("nbdkit"))
    return 77;
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  sh("rm -rf '%s'", dir);
  return rc;
}
