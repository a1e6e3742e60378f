/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's QMP relay (agent/qmprelay.c) over socketpairs: its framing
 * (split and pipelined objects, refusals answered with the id echoed and
 * never sent on, oversized and malformed input) and the agent's own
 * commands on it (socket handoff).  The allow-list's rules themselves are
 * tested in test_qmpfilter.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/qmpfilter.h"
#include "tests/unit/unit.h"

static const struct agt_qmp_rules R = {
  .incoming = "unix:/run/qa/incoming-01020304.sock",
  .nbd = "/run/qa/nbd-01020304.sock",
  .tls_dir = "/etc/qmig/pki",
};

/* ---- the relay ---- */

struct rig {
  struct agt_qmp_relay *q;
  int client; /* the engine's side */
  int qemu;   /* the fake QEMU's side */
  char log[2048];
};

static void on_log(void *ud, const char *line)
{
  struct rig *r = ud;
  snprintf(r->log + strlen(r->log), sizeof r->log - strlen(r->log), "%s\n", line);
}

static void rig_up(struct rig *r)
{
  int sv[2];
  char err[256];
  memset(r, 0, sizeof *r);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  r->qemu = sv[0];
  r->q = agt_qmp_relay_start(sv[1], &R, "test qmp", on_log, r, &r->client, err, sizeof err);
  assert_non_null(r->q);
}

static void rig_down(struct rig *r)
{
  close(r->client);
  close(r->qemu);
  agt_qmp_relay_join(r->q);
}

static void send_all(int fd, const char *s, size_t n)
{
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    assert_true(w > 0);
    s += w;
    n -= (size_t)w;
  }
}

static void send_str(int fd, const char *s)
{
  send_all(fd, s, strlen(s));
}

/* Read from fd until `want` appears or 3 s pass; the text read so far. */
static const char *read_until(int fd, char *buf, size_t cap, const char *want)
{
  size_t have = 0;
  buf[0] = '\0';
  for (int i = 0; i < 30 && !strstr(buf, want); i++) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 100) <= 0)
      continue;
    ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
    if (r <= 0)
      break;
    have += (size_t)r;
    buf[have] = '\0';
  }
  return buf;
}

/* ---- the agent's own commands on the relay (socket handoff) ---- */

struct exec_arg {
  struct agt_qmp_relay *q;
  const char *cmd;
  int fd, rc;
  char err[256];
};

static void *exec_thread(void *p)
{
  struct exec_arg *x = p;
  x->rc = agt_qmp_relay_exec(x->q, x->cmd, json_pack("{s:s}", "fdname", "qmig-in-1"), x->fd, 3000,
                             x->err, sizeof x->err);
  return NULL;
}

/* The fake QEMU reads one command; the descriptor that came with it (or
 * -1) in *fd, its id in id. */
static void qemu_read_cmd(int qemu, char *id, size_t idlen, int *fd)
{
  char b[1024] = "";
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = { .iov_base = b, .iov_len = sizeof b - 1 };
  struct msghdr mh = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
  };
  struct pollfd p = { .fd = qemu, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 3000), 1);
  assert_true(recvmsg(qemu, &mh, MSG_CMSG_CLOEXEC) > 0);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  *fd = -1;
  if (cm && cm->cmsg_type == SCM_RIGHTS)
    memcpy(fd, CMSG_DATA(cm), sizeof(int));
  json_error_t je;
  json_t *j = json_loads(b, JSON_DISABLE_EOF_CHECK, &je);
  if (!j)
    fail_msg("fake QEMU got '%s': %s", b, je.text);
  assert_non_null(j);
  snprintf(id, idlen, "%s", json_string_value(json_object_get(j, "id")));
  json_decref(j);
}

static void test_relay_exec(void **state)
{
  (void)state;
  struct rig r;
  char buf[8192], id[64], reply[256];
  int qfd, pp[2];
  rig_up(&r);
  /* Not before the client negotiated QMP. */
  assert_false(agt_qmp_relay_ready(r.q));
  send_str(r.client, "{\"execute\":\"qmp_capabilities\"}");
  read_until(r.qemu, buf, sizeof buf, "qmp_capabilities\"}\n"); /* its newline too */
  send_str(r.qemu, "{\"return\": {}}\r\n");
  read_until(r.client, buf, sizeof buf, "return");
  assert_true(agt_qmp_relay_ready(r.q));
  /* getfd with a descriptor: QEMU gets both in one message; its reply
   * is kept from the client, an event split around it is not. */
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  assert_int_equal(write(pp[1], "stream", 6), 6);
  struct exec_arg x = { .q = r.q, .cmd = "getfd", .fd = pp[0] };
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, exec_thread, &x), 0);
  qemu_read_cmd(r.qemu, id, sizeof id, &qfd);
  assert_true(qfd >= 0);
  char got[8] = "";
  assert_int_equal(read(qfd, got, sizeof got - 1), 6);
  assert_string_equal(got, "stream");
  close(qfd);
  send_str(r.qemu, "{\"event\": \"A\", ");
  snprintf(reply, sizeof reply, "\"data\": {}}\r\n{\"return\": {}, \"id\": \"%s\"}\r\n{\"ev", id);
  send_str(r.qemu, reply);
  send_str(r.qemu, "ent\": \"B\"}\r\n");
  pthread_join(t, NULL);
  assert_int_equal(x.rc, 0);
  read_until(r.client, buf, sizeof buf, "\"B\"");
  assert_non_null(strstr(buf, "{\"event\": \"A\", \"data\": {}}\r\n{\"event\": \"B\"}\r\n"));
  assert_null(strstr(buf, id)); /* the client never sees our reply */
  /* QEMU's error comes back to the caller. */
  x = (struct exec_arg){ .q = r.q, .cmd = "migrate-incoming", .fd = -1 };
  assert_int_equal(pthread_create(&t, NULL, exec_thread, &x), 0);
  qemu_read_cmd(r.qemu, id, sizeof id, &qfd);
  assert_int_equal(qfd, -1);
  snprintf(reply, sizeof reply,
           "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": \"%s\"}\r\n", id);
  send_str(r.qemu, reply);
  pthread_join(t, NULL);
  assert_int_equal(x.rc, -1);
  assert_string_equal(x.err, "migrate-incoming: no");
  close(pp[0]);
  close(pp[1]);
  rig_down(&r);
}

static void test_relay_framing(void **state)
{
  (void)state;
  struct rig r;
  char buf[8192];
  rig_up(&r);
  /* QEMU's greeting goes straight through. */
  send_str(r.qemu, "{\"QMP\":{}}\r\n");
  assert_non_null(strstr(read_until(r.client, buf, sizeof buf, "QMP"), "{\"QMP\":{}}"));
  /* One allowed object split in two writes, then a refused one pipelined
   * with an allowed one in a single write. */
  const char *a = "{\"execute\":\"qmp_capa", *b = "bilities\",\"id\":1}\r\n";
  send_all(r.client, a, strlen(a));
  usleep(50000);
  send_all(r.client, b, strlen(b));
  const char *c = "{\"execute\":\"human-monitor-command\",\"id\":\"h1\",\"arguments\":"
                  "{\"command-line\":\"info\"}}{\"execute\":\"query-status\",\"id\":2}";
  send_all(r.client, c, strlen(c));
  read_until(r.qemu, buf, sizeof buf, "query-status");
  assert_non_null(strstr(buf, "qmp_capabilities"));
  assert_non_null(strstr(buf, "query-status"));
  assert_null(strstr(buf, "human-monitor-command"));
  read_until(r.client, buf, sizeof buf, "h1");
  assert_non_null(strstr(buf, "\"id\":\"h1\""));
  assert_non_null(strstr(buf, "qmig agent: human-monitor-command refused: HMP"));
  assert_non_null(strstr(buf, "GenericError"));
  assert_non_null(strstr(r.log, "test qmp: refused human-monitor-command"));
  rig_down(&r);
}

static void test_relay_refusal_between_messages(void **state)
{
  (void)state;
  struct rig r;
  char buf[8192];
  rig_up(&r);
  /* QEMU is in the middle of a message when the refusal is due: it must
   * come after QEMU's newline, not inside the message. */
  send_str(r.qemu, "{\"return\":{\"status\":");
  read_until(r.client, buf, sizeof buf, "status");
  const char *c = "{\"execute\":\"getfd\",\"id\":9,\"arguments\":{\"fdname\":\"x\"}}";
  send_all(r.client, c, strlen(c));
  usleep(100000);
  send_str(r.qemu, "\"running\"}}\r\n");
  read_until(r.client, buf, sizeof buf, "\"id\":9");
  if (!strstr(buf, "\"running\"}}\r\n{\"error\""))
    fail_msg("got: %s", buf);
  rig_down(&r);
}

static void test_relay_oversized(void **state)
{
  (void)state;
  struct rig r;
  char buf[8192];
  rig_up(&r);
  size_t n = AGT_QMP_MAX_CMD + 100;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, ' ', n);
  const char *head = "{\"execute\":\"query-status\",\"arguments\":{\"x\":\"";
  memcpy(big, head, strlen(head));
  memset(big + strlen(head), 'a', n - strlen(head));
  send_all(r.client, big, n);
  free(big);
  read_until(r.client, buf, sizeof buf, "closing");
  if (!strstr(buf, "longer than 65536 bytes"))
    fail_msg("got: %s", buf);
  /* Nothing of it reached QEMU, and the relay ended the channel. */
  struct pollfd p = { .fd = r.qemu, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 2000), 1);
  assert_int_equal(recv(r.qemu, buf, sizeof buf, 0), 0);
  rig_down(&r);
}

static void malformed(const char *bytes, size_t n)
{
  struct rig r;
  char buf[8192];
  rig_up(&r);
  send_all(r.client, bytes, n);
  read_until(r.client, buf, sizeof buf, "closing");
  assert_non_null(strstr(buf, "qmig agent: refused input"));
  struct pollfd p = { .fd = r.qemu, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 2000), 1);
  assert_int_equal(recv(r.qemu, buf, sizeof buf, 0), 0);
  rig_down(&r);
}

static void test_relay_malformed(void **state)
{
  (void)state;
#define MALFORMED(lit) malformed(lit, sizeof lit - 1)
  MALFORMED("{\"execute\":]}");
  MALFORMED("\0{\"execute\":\"cont\"}");                    /* a NUL is not whitespace */
  MALFORMED("{\"execute\":\"cont\",\"execute\":\"quit\"}"); /* duplicate keys */
}

UNIT_MAIN(cmocka_unit_test(test_relay_framing), cmocka_unit_test(test_relay_exec),
          cmocka_unit_test(test_relay_refusal_between_messages),
          cmocka_unit_test(test_relay_oversized), cmocka_unit_test(test_relay_malformed))
