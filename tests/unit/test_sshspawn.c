/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The remote script's image-lock check of dst-spawn over ssh
 * (engine/sshspawn.c, eng_sshspawn_script_locks): run by /bin/sh here on
 * real files locked as QEMU locks them (OFD locks on its permission bytes
 * from offset 100), it must refuse exactly the images the local check
 * (eng_spawn_image_locked) refuses, and name the image. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/update.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/qmig-test-sshspawn.XXXXXX";

/* A new file NAME in dir (path into out), with an OFD lock of type on
 * [start, start+len) (len 0: to EOF) unless type is F_UNLCK; returns the
 * fd holding the lock (closed by the caller). */
static int image(const char *name, short type, off_t start, off_t len, char *out, size_t olen)
{
  snprintf(out, olen, "%s/%s", dir, name);
  int fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 4096), 0);
  if (type != F_UNLCK) {
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
  }
  return fd;
}

/* The check for one image run by sh: its output (static). */
static const char *run_check(const char *path)
{
  static char out[2048];
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  fputs("sf() { echo \"qmig-spawn: failed: $*\"; exit 1; }; ", f);
  struct eng_strv imgs = { 0 };
  assert_int_equal(eng_strv_push(&imgs, path), 0);
  eng_sshspawn_script_locks(f, &imgs);
  eng_strv_free(&imgs);
  fputs("echo free", f);
  assert_int_equal(fclose(f), 0);
  char script[PATH_MAX];
  snprintf(script, sizeof script, "%s/script.sh", dir);
  FILE *s = fopen(script, "w");
  assert_non_null(s);
  fputs(buf, s);
  assert_int_equal(fclose(s), 0);
  free(buf);
  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof cmd, "/bin/sh '%s' 2>&1", script);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  pclose(p);
  return out;
}

/* Each case: the script's verdict and the local check's agree. */
static void test_locks(void **state)
{
  (void)state;
  assert_non_null(mkdtemp(dir));
  static const struct {
    const char *name;
    short type;
    off_t start, len;
    bool locked;
  } c[] = {
    { "free.img", F_UNLCK, 0, 0, false },
    { "write100.img", F_WRLCK, 100, 1, true },  /* a QEMU with write permission */
    { "read201.img", F_RDLCK, 201, 1, true },   /* a QEMU sharing nothing */
    { "to-eof.img", F_RDLCK, 50, 0, true },     /* "50 EOF" in /proc/locks */
    { "below.img", F_WRLCK, 0, 100, false },    /* bytes 0-99: not QEMU's */
    { "above.img", F_WRLCK, 300, 10, false },   /* bytes 300-309 */
    { "it's here.img", F_WRLCK, 100, 1, true }, /* quote and space in the name */
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    char path[PATH_MAX], err[256];
    int fd = image(c[i].name, c[i].type, c[i].start, c[i].len, path, sizeof path);
    if (!strcmp(c[i].name, "flock.img")) /* a BSD lock: not QEMU's kind */
      assert_int_equal(flock(fd, LOCK_EX), 0);
    /* Another open file description asks, as another process would. */
    assert_int_equal(eng_spawn_image_locked(path, err, sizeof err), c[i].locked);
    const char *out = run_check(path);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "qmig-spawn: failed: image %s (--map) is locked by another process",
             path);
    if (c[i].locked ? !strstr(out, want) : strcmp(out, "free\n") != 0)
      fail_msg("%s: wanted %s, got: %s", c[i].name, c[i].locked ? want : "free", out);
    close(fd);
    /* Unlocked now (the lock went with its descriptor): free. */
    if (strcmp(run_check(path), "free\n") != 0)
      fail_msg("%s after unlock: %s", c[i].name, run_check(path));
    unlink(path);
  }
  /* A file that is not there (create-disks makes it later): free. */
  char missing[PATH_MAX];
  snprintf(missing, sizeof missing, "%s/missing.img", dir);
  assert_string_equal(run_check(missing), "free\n");
  char script[PATH_MAX];
  snprintf(script, sizeof script, "%s/script.sh", dir);
  unlink(script);
  rmdir(dir);
}

UNIT_MAIN(cmocka_unit_test(test_locks))
