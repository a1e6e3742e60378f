/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/: bounded child waits (run.c) and the file rules (files.c).
 * A child that outlives its bound is killed and reaped, and the message
 * names the command and the bound; private directories refuse symlinks,
 * other owners and group/other write; creation never follows a symlink;
 * secrets readable by group or others are refused as ssh does. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/errbuf.h"
#include "common/files.h"
#include "common/run.h"
#include "tests/unit/unit.h"

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_run_timeout(void **state)
{
  (void)state;
  char err[512] = "";
  const char *argv[] = { "sleep", "30", NULL };
  double t0 = mono_s();
  assert_int_equal(run_argv_timeout(argv, 300, err, sizeof err), -1);
  double took = mono_s() - t0;
  assert_true(took >= 0.29);
  assert_true(took < 10); /* killed, not waited out (30 s) */
  assert_non_null(strstr(err, "sleep 30: timed out after 0.3 s (killed)"));
  /* Reaped: no child of ours is left, not even a zombie. */
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static void test_run_ok_and_fail(void **state)
{
  (void)state;
  char err[512] = "";
  const char *ok[] = { "sleep", "0.05", NULL };
  assert_int_equal(run_argv_timeout(ok, 10000, err, sizeof err), 0);
  const char *bad[] = { "sh", "-c", "echo boom >&2; exit 3", NULL };
  assert_int_equal(run_argv(bad, err, sizeof err), -1);
  assert_string_equal(err, "sh: boom");
  const char *none[] = { "qmig-no-such-program", NULL };
  assert_int_equal(run_argv(none, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot run qmig-no-such-program"));
}

static void test_run_wait(void **state)
{
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    execlp("sleep", "sleep", "30", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  double t0 = mono_s();
  assert_int_equal(run_wait(pid, &st, 200), -1);
  assert_int_equal(errno, ETIMEDOUT);
  assert_true(mono_s() - t0 < 10);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* already reaped */
  pid = fork();
  if (pid == 0)
    _exit(7);
  assert_int_equal(run_wait(pid, &st, 10000), 0);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

struct tmp {
  char dir[64];
};

static int setup(void **state)
{
  struct tmp *t = calloc(1, sizeof *t);
  snprintf(t->dir, sizeof t->dir, "/tmp/qmig-test-files.XXXXXX");
  if (!mkdtemp(t->dir))
    return -1;
  *state = t;
  return 0;
}

static int teardown(void **state)
{
  struct tmp *t = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
  int rc = system(cmd);
  free(t);
  return rc;
}

static void test_private_dir(void **state)
{
  struct tmp *t = *state;
  char p[128], q[128], err[512];
  struct stat st;
  snprintf(p, sizeof p, "%s/lab", t->dir);
  assert_int_equal(files_private_dir(p, false, err, sizeof err), -1); /* missing */
  assert_int_equal(files_private_dir(p, true, err, sizeof err), 0);   /* created */
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(files_private_dir(p, true, err, sizeof err), 0); /* ours: reused */
  assert_int_equal(files_private_dir(p, false, err, sizeof err), 0);

  chmod(p, 0770);
  assert_int_equal(files_private_dir(p, true, err, sizeof err), -1);
  assert_non_null(strstr(err, "is writable by group or others"));
  chmod(p, 0755); /* readable is fine: nobody else can plant files */
  assert_int_equal(files_private_dir(p, true, err, sizeof err), 0);

  snprintf(q, sizeof q, "%s/link", t->dir);
  assert_int_equal(symlink(p, q), 0);
  assert_int_equal(files_private_dir(q, true, err, sizeof err), -1);
  assert_non_null(strstr(err, "is a symbolic link"));

  snprintf(q, sizeof q, "%s/file", t->dir);
  close(open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  assert_int_equal(files_private_dir(q, true, err, sizeof err), -1);
  assert_non_null(strstr(err, "is not a directory"));

  if (geteuid() == 0) { /* another owner can only be made as root */
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(files_private_dir(p, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "is owned by another user"));
    assert_non_null(strstr(err, p));
  }
}

static void test_open_nofollow(void **state)
{
  struct tmp *t = *state;
  char target[128], link[128], buf[16] = "";
  snprintf(target, sizeof target, "%s/precious", t->dir);
  snprintf(link, sizeof link, "%s/src.log", t->dir);
  int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_int_equal(write(fd, "keep", 4), 4);
  close(fd);
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(files_open(link, O_WRONLY | O_CREAT | O_TRUNC, 0600), -1);
  assert_int_equal(errno, ELOOP);
  fd = open(target, O_RDONLY | O_CLOEXEC);
  assert_int_equal(read(fd, buf, sizeof buf), 4); /* not truncated */
  close(fd);
  fd = files_open(target, O_RDONLY, 0);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  close(fd);
}

static void test_secret(void **state)
{
  struct tmp *t = *state;
  char p[128], err[512];
  snprintf(p, sizeof p, "%s/keys.psk", t->dir);
  close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  chmod(p, 0600);
  assert_int_equal(files_check_secret(p, err, sizeof err), 0);
  chmod(p, 0400);
  assert_int_equal(files_check_secret(p, err, sizeof err), 0);
  static const unsigned modes[] = { 0644, 0640, 0604, 0660, 0610 };
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    char want[256];
    chmod(p, modes[i]);
    assert_int_equal(files_check_secret(p, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "permissions %04o for %s are too open: it must not be "
             "accessible by group or others",
             modes[i], p);
    assert_non_null(strstr(err, want));
  }
  snprintf(p, sizeof p, "%s/missing", t->dir);
  assert_int_equal(files_check_secret(p, err, sizeof err), -1);
  assert_non_null(strstr(err, "No such file"));
}

static int labelf(char *buf, size_t len, const char *label, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = errbuf_vlabelf(buf, len, label, fmt, ap);
  va_end(ap);
  return rc;
}

/* The one error setter: -1 for `return errbuf_setf(...)`, NULL/0 ignored,
 * "LABEL: msg" built in one go, truncation always NUL-terminated. */
static void test_errbuf(void **state)
{
  (void)state;
  char b[16];
  assert_int_equal(errbuf_setf(b, sizeof b, "x %d", 1), -1);
  assert_string_equal(b, "x 1");
  assert_int_equal(errbuf_setf(NULL, 0, "x"), -1);
  assert_int_equal(labelf(b, sizeof b, "conn", "closed %s", "now"), -1);
  assert_string_equal(b, "conn: closed no");
  labelf(b, sizeof b, NULL, "plain");
  assert_string_equal(b, "plain");
  labelf(b, sizeof b, "", "plain");
  assert_string_equal(b, "plain");
  labelf(b, 4, "long label", "m");
  assert_string_equal(b, "lon");
  b[0] = '\0';
  errbuf_appendf(b, sizeof b, "a");
  errbuf_appendf(b, sizeof b, "b");
  assert_string_equal(b, "a; b");
  errbuf_appendf(b, sizeof b, "0123456789abcdef");
  assert_int_equal(strlen(b), sizeof b - 1);
  assert_memory_equal(b, "a; b; ", 6);
}

UNIT_MAIN(cmocka_unit_test(test_errbuf), cmocka_unit_test(test_run_timeout),
          cmocka_unit_test(test_run_ok_and_fail), cmocka_unit_test(test_run_wait),
          cmocka_unit_test_setup_teardown(test_private_dir, setup, teardown),
          cmocka_unit_test_setup_teardown(test_open_nofollow, setup, teardown),
          cmocka_unit_test_setup_teardown(test_secret, setup, teardown))
