/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eng_mirror_sweep_stale (engine/mirror_found.c): the private NBD socket
 * directories a dead run left in /tmp go, a live one (something listens)
 * and a fresh empty one (a run between mkdtemp and its listener) stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "engine/mirror.h"

/* A directory like mirror.c's with a socket bound in it; the listening fd,
 * or (listening false) closed so that nobody listens. */
static int make_dir(char *dir, size_t len, bool with_socket, bool listening)
{
  snprintf(dir, len, ENG_MIRROR_SOCKDIR "XXXXXX");
  assert_non_null(mkdtemp(dir));
  if (!with_socket)
    return -1;
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf(a.sun_path, sizeof a.sun_path, "%s/nbd.sock", dir);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 1), 0);
  if (listening)
    return fd;
  close(fd);
  return -1;
}

static bool exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

static void test_sweep(void **state)
{
  (void)state;
  char dead[64], live[64], fresh[64], p[96];
  make_dir(dead, sizeof dead, true, false);
  int fd = make_dir(live, sizeof live, true, true);
  make_dir(fresh, sizeof fresh, false, false);
  assert_true(eng_mirror_sweep_stale() >= 1);
  assert_false(exists(dead));
  assert_true(exists(live));
  assert_true(exists(fresh));
  /* Once nobody listens, the live one is debris too. */
  close(fd);
  eng_mirror_sweep_stale();
  assert_false(exists(live));
  assert_true(exists(fresh));
  snprintf(p, sizeof p, "%s", fresh);
  assert_int_equal(rmdir(p), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
