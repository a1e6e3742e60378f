/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_qmp_connect.c - the QMP client's transport against the
 * scripted fake server: passing a descriptor with SCM_RIGHTS (a pipe, a
 * socket used both ways, refused over TCP) and connecting by address (unix:,
 * tcp: over IPv4 and IPv6, and the errors of each).
 *
 * The fake server and fixture live in fake_qmp.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "qmp/qmp.h"

#include "tests/unit/fake_qmp.h"

/* ---- tests ---- */

static void script_getfd(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "getfd") < 0)
    return;
  const char *name =
      json_string_value(json_object_get(json_object_get(f->last, "arguments"), "fdname"));
  if (!name || strcmp(name, "mig") != 0) {
    fake_fail(f, "getfd without fdname");
    return;
  }
  if (f->passed_fd < 0) {
    fake_fail(f, "no fd received");
    return;
  }
  ssize_t n = read(f->passed_fd, f->fd_data, sizeof f->fd_data - 1);
  if (n < 0)
    fake_fail(f, "read passed fd: %s", strerror(errno));
  fake_reply(f, "{}");
}

static void test_scm_rights(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_getfd);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  const char msg[] = "hello through SCM_RIGHTS";
  assert_int_equal(write(p[1], msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
  close(p[1]);
  /* A bad fd is the caller's error, not the connection's. */
  assert_int_equal(qmp_execute_fd(c, "getfd", NULL, -1, NULL, T), -1);
  assert_false(qmp_broken(c));
  int r = qmp_execute_fd(c, "getfd", json_pack("{s:s}", "fdname", "mig"), p[0], NULL, T);
  close(p[0]);
  assert_int_equal(r, 0);
  fx_finish(FX);
  assert_string_equal(FX->f.fd_data, msg);
}

/* Socket handoff: a connected stream socket passed with getfd works both
 * ways in the receiver (QEMU's migration stream and its return path). */
static void script_getfd_socket(struct fake *f)
{
  if (fake_handshake(f) < 0 || fake_recv(f, "getfd") < 0)
    return;
  if (f->passed_fd < 0) {
    fake_fail(f, "no fd received");
    return;
  }
  ssize_t n = read(f->passed_fd, f->fd_data, sizeof f->fd_data - 1);
  if (n <= 0 || write(f->passed_fd, "return path", 11) != 11)
    fake_fail(f, "passed socket: %s", n < 0 ? strerror(errno) : "no data / write failed");
  fake_reply(f, "{}");
}

static void test_scm_rights_socket(void **state)
{
  struct qmp_conn *c = fx_open(FX, script_getfd_socket);
  int sv[2];
  char back[32] = "";
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(write(sv[0], "QEVM stream", 11), 11);
  int r = qmp_execute_fd(c, "getfd", json_pack("{s:s}", "fdname", "mig"), sv[1], NULL, T);
  close(sv[1]); /* ours: the receiver holds its own copy */
  assert_int_equal(r, 0);
  assert_int_equal(read(sv[0], back, sizeof back - 1), 11);
  assert_string_equal(back, "return path");
  close(sv[0]);
  fx_finish(FX);
  assert_string_equal(FX->f.fd_data, "QEVM stream");
}

/* ---- connecting by address ---- */

static void test_connect_errors(void **state)
{
  (void)state;
  char err[512];
  assert_null(qmp_connect("source", "unix:/nonexistent-qmig/x.qmp", 1000, err, sizeof err));
  assert_string_equal(err, "source QMP unix:/nonexistent-qmig/x.qmp: connect: "
                           "No such file or directory");
  assert_null(qmp_connect("source", "udp:1.2.3.4:5", 1000, err, sizeof err));
  assert_non_null(strstr(err, "source QMP udp:1.2.3.4:5: unsupported address"));
  assert_null(qmp_connect("dst", "tcp:nocolon", 1000, err, sizeof err));
  assert_non_null(strstr(err, "dst QMP tcp:nocolon: expected tcp:HOST:PORT"));
  /* QMP_TIMEOUT_DEFAULT would otherwise mean "no bound" at connect. */
  assert_null(
      qmp_connect("dst", "unix:/nonexistent-qmig/x.qmp", QMP_TIMEOUT_DEFAULT, err, sizeof err));
  assert_non_null(strstr(err, "no default timeout"));
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_null(qmp_open_fd("dst", sv[0], QMP_TIMEOUT_DEFAULT, err, sizeof err));
  assert_non_null(strstr(err, "no default timeout"));
  close(sv[1]);
  /* (A bad service name fails locally; a bad host name would ask DNS.) */
  assert_null(qmp_connect("dst", "tcp:127.0.0.1:no-such-service", 1000, err, sizeof err));
  assert_non_null(strstr(err, "dst QMP tcp:127.0.0.1:no-such-service: getaddrinfo: "));

  /* A port nobody listens on: bind one, don't listen. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof sin;
  assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", ntohs(sin.sin_port));
  struct qmp_conn *c = qmp_connect("dst", addr, 1000, err, sizeof err);
  close(s);
  assert_null(c);
  assert_non_null(strstr(err, "connect: Connection refused"));
}

/* Listen on `sa`, connect to `addr`, handshake. */
static void connect_to(void **state, const struct sockaddr *sa, socklen_t sl, const char *addr)
{
  struct fx *x = FX;
  x->f.listen_fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(x->f.listen_fd >= 0);
  assert_int_equal(bind(x->f.listen_fd, sa, sl), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  assert_int_equal(qmp_version(x->c)->major, 7);
  fx_finish(x);
}

static int port_of(int fd)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
}

/* connect_to() with a port chosen by the kernel: listen first, then name. */
static void test_connect_tcp(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  x->f.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(x->f.listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:localhost:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  assert_int_equal(qmp_version(x->c)->minor, 2);
  fx_finish(x);
}

/* Descriptors travel only on unix sockets: over TCP the call fails at once
 * with a clear message, sends nothing and leaves the connection usable. */
static void test_fd_needs_unix(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  x->f.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(x->f.listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64], err[512] = "";
  snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  x->c = qmp_connect("net", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(qmp_execute_fd(x->c, "getfd", json_pack("{s:s}", "fdname", "m"), p[0], NULL, T),
                   -1);
  close(p[0]);
  close(p[1]);
  assert_non_null(strstr(qmp_error(x->c), "getfd: passing a file descriptor needs a unix socket"));
  assert_false(qmp_broken(x->c));
  fx_finish(x);
}

static void test_connect_tcp6(void **state)
{
  struct fx *x = FX;
  struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  x->f.listen_fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (x->f.listen_fd < 0 || bind(x->f.listen_fd, (struct sockaddr *)&s6, sizeof s6) < 0) {
    print_message("skipping: no IPv6 loopback (%s)\n", strerror(errno));
    skip();
  }
  assert_int_equal(listen(x->f.listen_fd, 1), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "tcp:[::1]:%d", port_of(x->f.listen_fd));
  fx_start_thread(x, script_handshake);
  char err[512] = "";
  x->c = qmp_connect("net6", addr, T, err, sizeof err);
  if (!x->c)
    fail_msg("%s", err);
  fx_finish(x);
}

static void test_connect_unix(void **state)
{
  char dir[] = "/tmp/qmig-test-qmp-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s/qmp.sock", dir);
  char addr[160];
  snprintf(addr, sizeof addr, "unix:%s", sun.sun_path);
  connect_to(state, (struct sockaddr *)&sun, sizeof sun, addr);
  unlink(sun.sun_path);
  rmdir(dir);
}

int main(void)
{
  /* clang-format off */
  const struct CMUnitTest tests[] = {
    FXT(test_scm_rights),
    FXT(test_scm_rights_socket),
    FXT(test_fd_needs_unix),
    cmocka_unit_test(test_connect_errors),
    FXT(test_connect_tcp),
    FXT(test_connect_tcp6),
    FXT(test_connect_unix),
  };
  /* clang-format on */
  return cmocka_run_group_tests_name("qmp_connect", tests, NULL, NULL);
}
