/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transport session's pick (engine/frame.c) and the address helpers
 * (engine/addr.c): eng_begin picks native without the tunnel option and
 * the tunnel (keeping its agent) with it, the session answers for the mode
 * (agent, recover hint) without the config being asked again, ending it
 * twice is harmless; and the host/port parsing the native session uses. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "tests/unit/unit.h"
#include "engine/session.h"

static void test_pick_native(void **state)
{
  (void)state;
  struct qmig_migration *m = unit_mig("src", "unix:/s", "dst", "unix:/d", NULL);
  assert_null(m->session);
  assert_int_equal(eng_begin(m), 0);
  assert_ptr_equal(m->session, &eng_native_session);
  assert_null(m->tunnel);
  assert_null(m->session->agent(m));
  char hint[700];
  eng_recover_hint(m, hint, sizeof hint);
  assert_non_null(strstr(hint, "qmig recover --src unix:/s --dst unix:/d"));
  assert_int_equal(eng_begin(m), -1); /* once per object */
  assert_non_null(strstr(qmig_error(m), "already run"));
  eng_end(m, QMIG_NOT_STARTED);
  qmig_free(m);
}

static void test_pick_tunnel(void **state)
{
  (void)state;
  struct qmig_migration *m =
      unit_mig("src", "unix:/s", "tunnel", "198.18.0.2:7000", "tunnel-tls", "psk", NULL);
  assert_int_equal(eng_begin(m), 0);
  assert_ptr_equal(m->session, &eng_tunnel_session);
  assert_non_null(m->tunnel);
  assert_string_equal(m->session->agent(m), "198.18.0.2:7000");
  char hint[700];
  eng_recover_hint(m, hint, sizeof hint);
  assert_non_null(strstr(hint, " --src unix:/s --tunnel 198.18.0.2:7000 (and the same "
                               "--tunnel-tls options)"));
  /* Nothing was opened: no report section, the state freed, twice is fine. */
  eng_end(m, QMIG_NOT_STARTED);
  assert_null(m->tunnel);
  m->session->end(m);
  qmig_free(m); /* ends the session again */
}

static void test_addr(void **state)
{
  (void)state;
  char h[64], p[16];
  eng_tcp_host("tcp:10.0.0.1:4444", h, sizeof h);
  assert_string_equal(h, "10.0.0.1");
  eng_tcp_host("tls:[::1]:4444", h, sizeof h);
  assert_string_equal(h, "[::1]");
  eng_tcp_host("unix:/x", h, sizeof h);
  assert_string_equal(h, "");
  eng_tcp_host("tcp:abcdefghijklmnop:1", h, 5); /* truncated, terminated */
  assert_string_equal(h, "abcd");
  eng_split_tcp("tcp:[fd00::2]:10809", h, sizeof h, p, sizeof p);
  assert_string_equal(h, "fd00::2");
  assert_string_equal(p, "10809");
  eng_split_tcp("tcp:198.18.0.2:10809", h, sizeof h, p, sizeof p);
  assert_string_equal(h, "198.18.0.2");
  assert_string_equal(p, "10809");
  eng_split_tcp("tcp:198.18.0.2", h, sizeof h, p, sizeof p);
  assert_string_equal(h, "198.18.0.2");
  assert_string_equal(p, "");

  struct eng_config c;
  eng_config_init(&c);
  c.dst = strdup("tcp:198.18.0.3:4444");
  eng_data_host(&c, h, sizeof h);
  assert_string_equal(h, "198.18.0.3"); /* the tcp destination's host */
  free(c.dst);
  c.dst = strdup("unix:/d");
  eng_data_host(&c, h, sizeof h);
  assert_string_equal(h, "127.0.0.1");
  c.stream.host = strdup("198.18.0.4");
  eng_data_host(&c, h, sizeof h);
  assert_string_equal(h, "198.18.0.4");
  eng_config_free(&c);
}

/* The destination "QEMU": QMP's greeting and the qmp_capabilities reply on
 * its end of a socketpair, then, when dead, it is gone (closed). */
struct fake_dst {
  int fd;
  bool dead;
};

static void *fake_dst_main(void *arg)
{
  struct fake_dst *f = arg;
  static const char hello[] =
      "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
      "\"package\": \"\"}, \"capabilities\": []}}\r\n";
  static const char ok[] = "{\"return\": {}, \"id\": \"qmig-1\"}\r\n";
  char cmd[512];
  if (send(f->fd, hello, sizeof hello - 1, MSG_NOSIGNAL) < 0)
    return NULL;
  if (recv(f->fd, cmd, sizeof cmd, 0) <= 0) /* the qmp_capabilities command */
    return NULL;
  if (send(f->fd, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
    return NULL;
  if (f->dead) {
    close(f->fd);
    f->fd = -1;
  }
  return NULL;
}

static struct qmp_conn *dst_qmp(struct fake_dst *f)
{
  int sv[2];
  pthread_t t;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  f->fd = sv[1];
  assert_int_equal(pthread_create(&t, NULL, fake_dst_main, f), 0);
  char err[256] = "";
  struct qmp_conn *c = qmp_open_fd("destination", sv[0], 5000, err, sizeof err);
  pthread_join(t, NULL);
  if (!c)
    fail_msg("qmp_open_fd: %s", err);
  return c;
}

/* A native run that failed on the source ("Broken pipe") blames the
 * destination when its QMP is gone too (and only then), even when the
 * follow loop saw the source's failure before the destination's EOF. */
static void blame_with(bool dead)
{
  struct qmig_migration *m = unit_mig("src", "unix:/s", "dst", "unix:/d", NULL);
  assert_int_equal(eng_begin(m), 0);
  struct fake_dst f = { .dead = dead };
  m->dst = dst_qmp(&f);
  strcpy(m->err, "migration failed on the source: Unable to write to socket: Broken pipe");
  m->session->blame(m);
  if (dead != (strstr(m->err, "destination QEMU went away") != NULL))
    fail_msg("dead %d: '%s'", dead, m->err);
  assert_non_null(strstr(m->err, "Broken pipe"));
  qmig_free(m);
  if (f.fd >= 0)
    close(f.fd);
}

static void test_blame_dst_gone(void **state)
{
  (void)state;
  blame_with(true);
}

static void test_blame_dst_alive(void **state)
{
  (void)state;
  blame_with(false);
}

UNIT_MAIN(cmocka_unit_test(test_blame_dst_gone), cmocka_unit_test(test_blame_dst_alive),
          cmocka_unit_test(test_pick_native), cmocka_unit_test(test_pick_tunnel),
          cmocka_unit_test(test_addr))
